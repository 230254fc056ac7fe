"""Per-tenant statuses, each in one of the six fixed categories."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.audit import record_change, record_update
from frontdesk.core.errors import AlreadyExists, Conflict
from frontdesk.core.repository import get_scoped, scoped
from frontdesk.tickets.models import StatusCategory, Ticket, TicketStatus
from frontdesk.tickets.schemas import StatusCreate, StatusPublic, StatusUpdate

DEFAULT_STATUSES = [
    ("new", "New", StatusCategory.NEW),
    ("open", "Open", StatusCategory.OPEN),
    ("pending_customer", "Pending customer", StatusCategory.PENDING),
    ("on_hold", "On hold", StatusCategory.ON_HOLD),
    ("resolved", "Resolved", StatusCategory.RESOLVED),
    ("closed", "Closed", StatusCategory.CLOSED),
]


class StatusInUse(Conflict):
    code = "status_in_use"
    title = "Tickets still have this status"


class LastStatusOfCategory(Conflict):
    code = "last_status_of_category"
    title = "Every category keeps one active status"


def status_snapshot(status: TicketStatus) -> dict[str, object]:
    return StatusPublic.model_validate(status).model_dump(mode="json")


async def seed_default_statuses(session: AsyncSession, tenant_id: UUID) -> None:
    """The six default statuses of a new tenant, each the default of its category."""
    for position, (key, label, category) in enumerate(DEFAULT_STATUSES):
        session.add(
            TicketStatus(
                tenant_id=tenant_id,
                key=key,
                label=label,
                category=category.value,
                position=position * 10,
                is_default=True,
            )
        )
    await session.flush()


async def list_statuses(session: AsyncSession, tenant_id: UUID) -> list[TicketStatus]:
    statement = scoped(TicketStatus, tenant_id).order_by(TicketStatus.position, TicketStatus.key)
    return list((await session.scalars(statement)).all())


async def get_status(session: AsyncSession, tenant_id: UUID, status_id: UUID) -> TicketStatus:
    return await get_scoped(session, TicketStatus, tenant_id, status_id, what="status")


async def _make_only_default(session: AsyncSession, status: TicketStatus) -> None:
    await session.execute(
        update(TicketStatus)
        .where(
            TicketStatus.tenant_id == status.tenant_id,
            TicketStatus.category == status.category,
            TicketStatus.id != status.id,
            TicketStatus.is_default.is_(True),
        )
        .values(is_default=False, version=TicketStatus.version + 1)
        .execution_options(synchronize_session="fetch")
    )


async def create_status(session: AsyncSession, tenant_id: UUID, data: StatusCreate) -> TicketStatus:
    taken = await session.scalar(
        scoped(TicketStatus, tenant_id).where(TicketStatus.key == data.key)
    )
    if taken is not None:
        raise AlreadyExists(f"a status with key {data.key!r} exists", field="key")
    status = TicketStatus(tenant_id=tenant_id, **data.model_dump(mode="json"))
    session.add(status)
    await session.flush()
    if status.is_default:
        await _make_only_default(session, status)
    record_change(
        session,
        subject_type="ticket_status",
        action="created",
        tenant_id=tenant_id,
        subject_id=status.id,
        snapshot=status_snapshot(status),
    )
    return status


async def _active_in_category(session: AsyncSession, status: TicketStatus) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(TicketStatus)
        .where(
            TicketStatus.tenant_id == status.tenant_id,
            TicketStatus.category == status.category,
            TicketStatus.is_active.is_(True),
        )
    )
    return int(count or 0)


async def update_status(
    session: AsyncSession, status: TicketStatus, data: StatusUpdate
) -> TicketStatus:
    """Relabel, reorder, (de)activate; a category always keeps one active status."""
    if status.is_active and not data.is_active and await _active_in_category(session, status) <= 1:
        raise LastStatusOfCategory()
    before = status_snapshot(status)
    for field, value in data.model_dump(mode="json").items():
        setattr(status, field, value)
    await session.flush()
    if status.is_default:
        await _make_only_default(session, status)
    after = status_snapshot(status)
    record_update(
        session,
        subject_type="ticket_status",
        tenant_id=status.tenant_id,
        subject_id=status.id,
        before=before,
        after=after,
    )
    return status


async def delete_status(session: AsyncSession, status: TicketStatus) -> None:
    """Delete an unused status; one in use can only be deactivated."""
    used = await session.scalar(
        select(Ticket.id)
        .where(Ticket.tenant_id == status.tenant_id, Ticket.status_id == status.id)
        .limit(1)
    )
    if used is not None:
        raise StatusInUse("deactivate it instead, or move its tickets first")
    if status.is_active and await _active_in_category(session, status) <= 1:
        raise LastStatusOfCategory()
    snapshot = status_snapshot(status)
    await session.delete(status)
    await session.flush()
    record_change(
        session,
        subject_type="ticket_status",
        action="deleted",
        tenant_id=status.tenant_id,
        subject_id=status.id,
        snapshot=snapshot,
    )
