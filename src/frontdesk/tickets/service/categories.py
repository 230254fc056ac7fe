"""The tenant's hierarchical ticket categories."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.audit import record_change, record_update
from frontdesk.core.errors import AlreadyExists, Conflict, NotFound
from frontdesk.core.repository import get_scoped, scoped
from frontdesk.tickets.models import Ticket, TicketCategory
from frontdesk.tickets.schemas import CategoryCreate, CategoryPublic, CategoryUpdate

MAX_DEPTH = 8


class CategoryCycle(Conflict):
    code = "category_cycle"
    title = "A category cannot be placed under itself or its descendants"


class CategoryHasChildren(Conflict):
    code = "category_has_children"
    title = "Move or delete the subcategories first"


def category_snapshot(category: TicketCategory) -> dict[str, object]:
    return CategoryPublic.model_validate(category).model_dump(mode="json")


async def get_category(session: AsyncSession, tenant_id: UUID, category_id: UUID) -> TicketCategory:
    return await get_scoped(session, TicketCategory, tenant_id, category_id, what="category")


async def list_categories(session: AsyncSession, tenant_id: UUID) -> list[TicketCategory]:
    statement = scoped(TicketCategory, tenant_id).order_by(
        TicketCategory.position, TicketCategory.name, TicketCategory.id
    )
    return list((await session.scalars(statement)).all())


async def _check_parent(
    session: AsyncSession, tenant_id: UUID, parent_id: UUID | None, moving: UUID | None
) -> None:
    depth = 0
    current = parent_id
    while current is not None:
        if current == moving:
            raise CategoryCycle()
        try:
            node = await get_category(session, tenant_id, current)
        except NotFound as exc:
            raise NotFound("parent category not found", field="parent_id") from exc
        depth += 1
        if depth >= MAX_DEPTH:
            raise Conflict(f"categories nest at most {MAX_DEPTH} levels deep")
        current = node.parent_id


async def _ensure_name_free(
    session: AsyncSession,
    tenant_id: UUID,
    parent_id: UUID | None,
    name: str,
    except_id: UUID | None,
) -> None:
    statement = scoped(TicketCategory, tenant_id).where(
        TicketCategory.name == name,
        TicketCategory.parent_id.is_(None)
        if parent_id is None
        else TicketCategory.parent_id == parent_id,
    )
    if except_id is not None:
        statement = statement.where(TicketCategory.id != except_id)
    if await session.scalar(statement) is not None:
        raise AlreadyExists(f"a category named {name!r} exists here", field="name")


async def create_category(
    session: AsyncSession, tenant_id: UUID, data: CategoryCreate
) -> TicketCategory:
    await _check_parent(session, tenant_id, data.parent_id, None)
    await _ensure_name_free(session, tenant_id, data.parent_id, data.name, None)
    category = TicketCategory(tenant_id=tenant_id, **data.model_dump())
    session.add(category)
    await session.flush()
    record_change(
        session,
        subject_type="ticket_category",
        action="created",
        tenant_id=tenant_id,
        subject_id=category.id,
        snapshot=category_snapshot(category),
    )
    return category


async def update_category(
    session: AsyncSession, category: TicketCategory, data: CategoryUpdate
) -> TicketCategory:
    await _check_parent(session, category.tenant_id, data.parent_id, category.id)
    await _ensure_name_free(session, category.tenant_id, data.parent_id, data.name, category.id)
    before = category_snapshot(category)
    for field, value in data.model_dump().items():
        setattr(category, field, value)
    await session.flush()
    after = category_snapshot(category)
    record_update(
        session,
        subject_type="ticket_category",
        tenant_id=category.tenant_id,
        subject_id=category.id,
        before=before,
        after=after,
    )
    return category


async def delete_category(session: AsyncSession, category: TicketCategory) -> None:
    """Delete a leaf category; its tickets keep no category."""
    child = await session.scalar(
        scoped(TicketCategory, category.tenant_id)
        .where(TicketCategory.parent_id == category.id)
        .limit(1)
    )
    if child is not None:
        raise CategoryHasChildren()
    await session.execute(
        update(Ticket)
        .where(Ticket.tenant_id == category.tenant_id, Ticket.category_id == category.id)
        .values(category_id=None)
        .execution_options(synchronize_session="fetch")
    )
    snapshot = category_snapshot(category)
    await session.delete(category)
    await session.flush()
    record_change(
        session,
        subject_type="ticket_category",
        action="deleted",
        tenant_id=category.tenant_id,
        subject_id=category.id,
        snapshot=snapshot,
    )
