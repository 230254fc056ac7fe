"""The ticket's own audit timeline and its domain events, written together with the change."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.clock import utcnow
from frontdesk.core.db import new_row_stamps
from frontdesk.core.events import (
    OutboxEvent,
    emit_and_react,
    emit_many,
    event_row,
    in_transaction,
    jsonable,
    react_ahead,
)
from frontdesk.core.ids import new_id
from frontdesk.tickets.models import Ticket, TicketAudit, TicketMessage

#: Changes of these fields are internal: a contact never sees them in the timeline.
INTERNAL_FIELDS = frozenset(
    {
        "group_id",
        "assignee_id",
        "category_id",
        "tags",
        "custom_fields",
        "due_at",
        "ai_mode",
        "ai_summary",
        "ai_confidence",
        "ai_auto_resolved",
        "orchestration_ref",
        "unread_by_agent",
    }
)


def audit(
    session: AsyncSession,
    ticket: Ticket,
    action: str,
    *,
    field: str | None = None,
    before: Any = None,
    after: Any = None,
    internal: bool = False,
) -> None:
    values = {
        "tenant_id": ticket.tenant_id,
        "ticket_id": ticket.id,
        "action": action,
        "field": field,
        "before": jsonable(before),
        "after": jsonable(after),
        "is_internal": internal or (field in INTERNAL_FIELDS),
    }
    batch: TimelineBatch | None = session.info.get(_BATCH)
    if batch is None:
        session.add(TicketAudit(**values))
        return
    batch.audits.append(values | {"id": new_id()} | new_row_stamps(session, utcnow()))


def audit_fields(session: AsyncSession, ticket: Ticket, delta: dict[str, list[Any]]) -> None:
    """One `field_changed` entry per changed field."""
    for field, (before, after) in delta.items():
        audit(session, ticket, "field_changed", field=field, before=before, after=after)


async def ticket_event(
    session: AsyncSession,
    ticket: Ticket,
    action: str,
    snapshot: dict[str, Any],
    delta: dict[str, Any] | None = None,
    *,
    subject_type: str = "ticket",
    subject_id: Any = None,
) -> None:
    """Emit the ticket's event; its in-transaction subscribers (SLA state) react before commit."""
    batch: TimelineBatch | None = session.info.get(_BATCH)
    if batch is None:
        await emit_and_react(
            session,
            subject_type=subject_type,
            action=action,
            tenant_id=ticket.tenant_id,
            subject_id=subject_id or ticket.id,
            snapshot=snapshot,
            delta=delta,
        )
        return
    row = event_row(
        session,
        subject_type=subject_type,
        action=action,
        tenant_id=ticket.tenant_id,
        subject_id=subject_id or ticket.id,
        snapshot=snapshot,
        delta=delta,
    )
    batch.events.append(row)
    await in_transaction.react(session, OutboxEvent(**row))


@dataclasses.dataclass
class TimelineBatch:
    """Timeline entries and events held back, to be written with one multi-row INSERT each
    (a bulk change: `held` per ticket, `write_held` once for the tickets that succeeded)."""

    audits: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def extend(self, other: TimelineBatch) -> None:
        self.audits.extend(other.audits)
        self.events.extend(other.events)


_BATCH = "frontdesk.timeline_batch"


@contextmanager
def held(session: AsyncSession) -> Iterator[TimelineBatch]:
    """Collect the timeline entries and events of the changes made inside, instead of adding
    them to the session; the caller writes or drops them."""
    previous = session.info.get(_BATCH)
    batch = session.info[_BATCH] = TimelineBatch()
    try:
        yield batch
    finally:
        if previous is None:
            session.info.pop(_BATCH, None)
        else:
            session.info[_BATCH] = previous


async def write_held(session: AsyncSession, batch: TimelineBatch) -> None:
    """The held entries and events, in the caller's transaction: one INSERT each."""
    if batch.audits:
        await session.execute(insert(cast(Table, TicketAudit.__table__)), batch.audits)
    await emit_many(session, batch.events)


async def before_write(
    session: AsyncSession,
    ticket: Ticket,
    action: str,
    delta: dict[str, Any] | None = None,
    *,
    message: TicketMessage | None = None,
) -> None:
    """Let the in-transaction subscribers (SLA state) follow the change while the ticket's own
    row is still unwritten, so what they keep on it (the SLA summary) goes out in the same
    INSERT or UPDATE. Call it right before the flush that writes the ticket, then emit with
    `ticket_event` (`action` and `message` as there; the delta's keys are what is read)."""
    if message is None:
        await react_ahead(
            session,
            subject_type="ticket",
            action=action,
            tenant_id=ticket.tenant_id,
            subject_id=ticket.id,
            snapshot={},
            delta=delta,
        )
        return
    await react_ahead(
        session,
        subject_type="ticket_message",
        action=action,
        tenant_id=ticket.tenant_id,
        subject_id=message.id,
        snapshot={
            "ticket_id": str(ticket.id),
            "author_type": message.author_type,
            "is_internal": message.is_internal,
        },
    )
