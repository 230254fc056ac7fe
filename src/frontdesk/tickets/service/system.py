"""Changes the system makes to a ticket on its own (SLA escalations): no principal calls them.

Each change goes through the same primitives as a person's (assignment, tags, timeline), is
written to the ticket's timeline under the session's actor, and emits `ticket.updated` (and
`ticket_message.created` for a note) like any other change.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from frontdesk.core.audit import delta_between
from frontdesk.core.errors import FrontdeskError
from frontdesk.core.logs import get_logger
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.models import (
    PRIORITY_RANK,
    AuthorType,
    Channel,
    Direction,
    Priority,
    Ticket,
    TicketMessage,
)
from frontdesk.tickets.service import assignment, tags
from frontdesk.tickets.service.timeline import audit, audit_fields, ticket_event
from frontdesk.tickets.service.views import staff_views

log = get_logger(__name__)

RANKED = sorted(Priority, key=lambda priority: PRIORITY_RANK[priority])


@dataclass(frozen=True)
class SystemChange:
    reason: str
    raise_priority: bool = False
    move_to_group_id: UUID | None = None
    assign_to_user_id: UUID | None = None
    add_tags: tuple[str, ...] = ()
    internal_note: str | None = None


async def apply_system_change(
    session: AsyncSession, tenant: Tenant, ticket: Ticket, change: SystemChange
) -> list[str]:
    """Apply what can be applied; returns the parts refused (an agent no longer in the group…).

    A refused part is logged and skipped: an escalation must not stop because one action no
    longer fits the tenant.
    """
    (before_view,) = await staff_views(session, tenant.id, tenant.ticket_prefix, [ticket])
    before = before_view.model_dump(mode="json")
    refused: list[str] = []
    if change.raise_priority:
        rank = min(PRIORITY_RANK[Priority(ticket.priority)] + 1, len(RANKED) - 1)
        ticket.priority, ticket.priority_rank = RANKED[rank].value, rank
    if change.move_to_group_id is not None or change.assign_to_user_id is not None:
        refused += await _reassign(session, ticket, change)
    if change.add_tags:
        await tags.change_tags(session, ticket, list(change.add_tags), [])
    if change.internal_note:
        await _note(session, ticket, change.internal_note)
    await _finish(session, tenant, ticket, before)
    return refused


async def _reassign(session: AsyncSession, ticket: Ticket, change: SystemChange) -> list[str]:
    group_id = change.move_to_group_id or ticket.group_id
    assignee_id = change.assign_to_user_id
    if assignee_id is None and group_id == ticket.group_id:
        assignee_id = ticket.assignee_id
    try:
        async with session.begin_nested():
            await assignment.assign(
                session,
                ticket,
                group_id=group_id,
                assignee_id=assignee_id,
                reason=change.reason,
            )
    except FrontdeskError as exc:
        log.warning("system_change_refused", ticket_id=str(ticket.id), error=exc.detail)
        return [f"assignment: {exc.detail}"]
    return []


async def _note(session: AsyncSession, ticket: Ticket, body: str) -> None:
    message = TicketMessage(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        author_type=AuthorType.SYSTEM.value,
        body_text=body,
        is_internal=True,
        direction=Direction.OUTBOUND.value,
        channel=Channel.SYSTEM.value,
    )
    session.add(message)
    await session.flush()
    ticket.message_count += 1
    ticket.last_message_at = message.created_at
    audit(session, ticket, "message_added", after=str(message.id), internal=True)
    snapshot = {
        "id": str(message.id),
        "ticket_id": str(ticket.id),
        "author_type": message.author_type,
        "is_internal": True,
        "body_text": body,
    }
    await ticket_event(
        session,
        ticket,
        "created",
        snapshot,
        subject_type="ticket_message",
        subject_id=message.id,
    )


async def _finish(
    session: AsyncSession, tenant: Tenant, ticket: Ticket, before: dict[str, object]
) -> None:
    await session.flush()
    (after_view,) = await staff_views(session, tenant.id, tenant.ticket_prefix, [ticket])
    after = after_view.model_dump(mode="json")
    delta = delta_between(before, after)
    for bookkeeping in ("version", "updated_at", "updated_by"):
        delta.pop(bookkeeping, None)
    if not delta:
        return
    if ticket.version == before["version"]:
        flag_modified(ticket, "subject")
        await session.flush()
        after = (await staff_views(session, tenant.id, tenant.ticket_prefix, [ticket]))[
            0
        ].model_dump(mode="json")
    if "priority" in delta:
        audit_fields(session, ticket, {"priority": delta["priority"]})
    await ticket_event(session, ticket, "updated", after, delta_between(before, after))
