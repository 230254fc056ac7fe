"""Many new tickets at once, each opened by its requester's first message (the mail intake's
batches): the rows, audit entries and events `create_ticket`, `add_message` and
`add_attachment` write one at a time, written table by table with multi-row INSERTs, each
ticket row once (with what its first message and the SLA engine set on it).

The result matches the one-at-a-time path: numbers from the tenant's sequence in input order,
the same rows and timeline entries, the same events in the same order per ticket, and the SLA
engine follows each `ticket.created` and `ticket_message.created` event in the transaction.
What needs a decision per ticket (follow-ups, status changes on a customer's word, files that
break a limit) is the caller's to route to the one-at-a-time path before calling this.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from frontdesk.core.clock import utcnow
from frontdesk.core.events import OutboxEvent, emit_many, event_row, in_transaction
from frontdesk.core.html import html_to_text, sanitize_html
from frontdesk.core.ids import new_id
from frontdesk.identity.models import AssignmentStrategy
from frontdesk.sla.service.engine import remember_clocks
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.models import (
    AuthorType,
    Channel,
    Direction,
    ParticipantRole,
    ScanStatus,
    Ticket,
    TicketAssignment,
    TicketAttachment,
    TicketMessage,
    TicketNumberSequence,
    TicketParticipant,
    TicketStatus,
)
from frontdesk.tickets.repository import remember_tags
from frontdesk.tickets.schemas import AttachmentPublic, MessagePublic, TicketCreate
from frontdesk.tickets.service import assignment
from frontdesk.tickets.service.attachments import Found, public
from frontdesk.tickets.service.messages import message_public
from frontdesk.tickets.service.tickets import new_ticket
from frontdesk.tickets.service.timeline import audit, before_write, held, write_held
from frontdesk.tickets.service.views import staff_views


@dataclass(frozen=True)
class StoredFile:
    """A file already in the blob store, to attach to the opening message."""

    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str
    content_id: str | None = None


@dataclass(frozen=True)
class Opening:
    """One new ticket: its fields (validated), its requester, and the requester's message."""

    data: TicketCreate
    requester_id: UUID
    organization_id: UUID | None
    body: str
    body_html: str | None
    external_message_id: str | None
    email_headers: dict[str, Any]


@dataclass
class Opened:
    ticket: Ticket
    message: TicketMessage
    attachments: list[TicketAttachment] = field(default_factory=list)


async def reserve_numbers(session: AsyncSession, tenant_id: UUID, count: int) -> list[int]:
    """`count` consecutive ticket numbers from the tenant's sequence (its row lock orders
    concurrent creations, as for one number)."""
    last = await session.scalar(
        update(TicketNumberSequence)
        .where(TicketNumberSequence.tenant_id == tenant_id)
        .values(last_number=TicketNumberSequence.last_number + count)
        .returning(TicketNumberSequence.last_number)
    )
    if last is None:
        await session.execute(
            insert(TicketNumberSequence).values(tenant_id=tenant_id, last_number=count)
        )
        last = count
    return list(range(int(last) - count + 1, int(last) + 1))


class BulkOpening:
    """One batch of new tickets in a session: `open` them with their messages, `attach` their
    files, then `finish`, which writes the batch's events with one INSERT."""

    def __init__(self, session: AsyncSession, tenant: Tenant) -> None:
        self.session = session
        self.tenant = tenant
        self._events: list[dict[str, Any]] = []

    async def open(
        self, openings: Sequence[Opening], *, status: TicketStatus, channel: Channel
    ) -> list[Opened]:
        """A ticket per opening, in `status` (of the `new` or `open` category), with its
        customer message. Each `group_id` must be an active group of the tenant.

        Each ticket row is written once, by one INSERT for the batch: its group, its first
        message's counters and the SLA summary are set before (the SLA engine follows both
        events ahead, as `before_write` lets it for `create_ticket` and `add_message`)."""
        if status.category not in ("new", "open"):
            raise ValueError("bulk-opened tickets start in a `new` or `open` status")
        if not openings:
            return []
        session, tenant = self.session, self.tenant
        now = utcnow()
        with held(session) as timeline:
            tickets = await _new_tickets(session, tenant, openings, status, channel)
            messages = [
                _message(t, o, channel, now) for t, o in zip(tickets, openings, strict=True)
            ]
            with session.no_autoflush:
                await _assign(session, tickets, openings)
                for ticket in tickets:
                    await before_write(session, ticket, "created")
                created = [_as_created(ticket) for ticket in tickets]
                for ticket, message in zip(tickets, messages, strict=True):
                    _follow_first_message(session, ticket, message)
                    await before_write(session, ticket, "created", message=message)
            await session.flush()
            session.add_all(messages)
            await session.flush()
        await write_held(session, timeline)
        with _as_they_were(tickets, created):
            await self._react(await _created_events(session, tenant, tickets))
        await self._react(
            [_event(session, m.tenant_id, m.id, message_public(m, [])) for m in messages]
        )
        return [Opened(t, m) for t, m in zip(tickets, messages, strict=True)]

    async def attach(self, opened: Sequence[Opened], files: Sequence[Sequence[StoredFile]]) -> None:
        """Each opened ticket's files (already in the blob store) on its opening message, as
        `add_attachment` records them."""
        with held(self.session) as timeline:
            attachments = _new_attachments(self.session, opened, files)
        await self.session.flush()
        await write_held(self.session, timeline)
        await self._react(
            [
                _event(self.session, a.tenant_id, a.id, public(Found(a, is_public=True)))
                for a in attachments
            ]
        )

    async def finish(self) -> None:
        await emit_many(self.session, self._events)
        self._events = []

    async def _react(self, rows: list[dict[str, Any]]) -> None:
        """`emit_and_react` for many events: each event's in-transaction reactions in order,
        the events themselves written by `finish`. The reactions' new rows (SLA clocks) are
        flushed together afterwards, not one by one."""
        self._events += rows
        with self.session.no_autoflush:
            for row in rows:
                await in_transaction.react(self.session, OutboxEvent(**row))


def _event(
    session: AsyncSession, tenant_id: UUID, subject_id: UUID, view: MessagePublic | AttachmentPublic
) -> dict[str, Any]:
    subject_type = "ticket_message" if isinstance(view, MessagePublic) else "ticket_attachment"
    return event_row(
        session,
        subject_type=subject_type,
        action="created",
        tenant_id=tenant_id,
        subject_id=subject_id,
        snapshot=view.model_dump(mode="json"),
    )


async def _new_tickets(
    session: AsyncSession,
    tenant: Tenant,
    openings: Sequence[Opening],
    status: TicketStatus,
    channel: Channel,
) -> list[Ticket]:
    """The tickets and their requesters, numbered and added to the session, not written yet."""
    numbers = await reserve_numbers(session, tenant.id, len(openings))
    tickets = [
        _ticket(tenant.id, o, n, status, channel) for o, n in zip(openings, numbers, strict=True)
    ]
    session.add_all(tickets)
    session.add_all(
        TicketParticipant(
            tenant_id=tenant.id,
            ticket_id=ticket.id,
            role=ParticipantRole.REQUESTER.value,
            contact_id=ticket.requester_id,
            party_key=f"contact:{ticket.requester_id}",
        )
        for ticket in tickets
    )
    for ticket in tickets:
        audit(session, ticket, "created", after={"subject": ticket.subject, "status": status.key})
        remember_tags(session, ticket.id, [])  # a new ticket has none: no need to ask
    remember_clocks(session, {ticket.id: [] for ticket in tickets})  # nor SLA clocks
    return tickets


def _ticket(
    tenant_id: UUID, opening: Opening, number: int, status: TicketStatus, channel: Channel
) -> Ticket:
    return new_ticket(
        tenant_id,
        opening.data,
        number=number,
        status=status,
        channel=channel,
        requester_id=opening.requester_id,
        organization_id=opening.organization_id,
    )


async def _assign(
    session: AsyncSession, tickets: Sequence[Ticket], openings: Sequence[Opening]
) -> None:
    """The group per ticket as `create_ticket` does (`assignment.assign` on the new ticket).
    A plain queue (no agent to pick) is the same change for every ticket, made before the
    tickets are written. A group that picks an agent sees the tickets picked before: those
    are written first (their later changes then take an UPDATE)."""
    by_group: dict[UUID, list[Ticket]] = {}
    for ticket, opening in zip(tickets, openings, strict=True):
        if opening.data.group_id is not None:
            by_group.setdefault(opening.data.group_id, []).append(ticket)
    for group_id, members in by_group.items():
        group = await assignment.check_group(session, members[0].tenant_id, group_id)
        assert group is not None
        if group.assignment_strategy == AssignmentStrategy.QUEUE_ONLY:
            _queue_in(session, members, group_id)
            continue
        for ticket in members:
            await session.flush()
            await assignment.assign(session, ticket, group_id=group_id, assignee_id=None)


def _queue_in(session: AsyncSession, tickets: Sequence[Ticket], group_id: UUID) -> None:
    session.add_all(
        TicketAssignment(
            tenant_id=ticket.tenant_id,
            ticket_id=ticket.id,
            from_group_id=None,
            to_group_id=group_id,
            from_user_id=None,
            to_user_id=None,
            reason=None,
            ai_session_ref=None,
        )
        for ticket in tickets
    )
    for ticket in tickets:
        audit(session, ticket, "assigned", field="group_id", before=None, after=group_id)
        ticket.group_id = group_id


async def _created_events(
    session: AsyncSession, tenant: Tenant, tickets: Sequence[Ticket]
) -> list[dict[str, Any]]:
    views = await staff_views(session, tenant.id, tenant.ticket_prefix, tickets)
    return [
        event_row(
            session,
            subject_type="ticket",
            action="created",
            tenant_id=tenant.id,
            subject_id=ticket.id,
            snapshot=view.model_dump(mode="json"),
        )
        for ticket, view in zip(tickets, views, strict=True)
    ]


#: What a ticket's first message changes on it, and the SLA summary the message may move.
FIRST_MESSAGE_FIELDS = (
    "message_count",
    "public_message_count",
    "unread_by_agent",
    "last_message_at",
    "last_public_author_type",
    "sla_next_due_at",
    "sla_at_risk_at",
    "sla_breached",
)


def _as_created(ticket: Ticket) -> dict[str, Any]:
    """The ticket's values of FIRST_MESSAGE_FIELDS before its first message (unwritten: a
    field not set yet has its column default)."""
    return {
        "message_count": 0,
        "public_message_count": 0,
        "unread_by_agent": 0,
        "last_message_at": None,
        "last_public_author_type": None,
        "sla_next_due_at": ticket.sla_next_due_at,
        "sla_at_risk_at": ticket.sla_at_risk_at,
        "sla_breached": bool(ticket.sla_breached),
    }


def _follow_first_message(session: AsyncSession, ticket: Ticket, message: TicketMessage) -> None:
    """What `add_message` changes on a new ticket for its requester's public message."""
    ticket.message_count = 1
    ticket.last_message_at = message.created_at
    ticket.public_message_count = 1
    ticket.last_public_author_type = AuthorType.CONTACT.value
    ticket.unread_by_agent = 1
    audit(session, ticket, "message_added", after=str(message.id), internal=False)


@contextmanager
def _as_they_were(tickets: Sequence[Ticket], values: Sequence[dict[str, Any]]) -> Iterator[None]:
    """The written tickets showing `values` for a while (the `ticket.created` snapshot is of
    the ticket before its first message, as `create_ticket` takes it), nothing marked as
    changed; their own values come back afterwards."""
    own = [{name: getattr(ticket, name) for name in FIRST_MESSAGE_FIELDS} for ticket in tickets]
    for ticket, shown in zip(tickets, values, strict=True):
        for name, value in shown.items():
            set_committed_value(ticket, name, value)
    try:
        yield
    finally:
        for ticket, kept in zip(tickets, own, strict=True):
            for name, value in kept.items():
                set_committed_value(ticket, name, value)


def _message(ticket: Ticket, opening: Opening, channel: Channel, now: datetime) -> TicketMessage:
    body_html = sanitize_html(opening.body_html) if opening.body_html else None
    body_text = opening.body.strip() or (html_to_text(body_html) if body_html else "")
    if not body_text and not body_html:
        raise ValueError("an opening message needs a body")
    return TicketMessage(
        id=new_id(),
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        author_type=AuthorType.CONTACT.value,
        author_user_id=None,
        author_contact_id=ticket.requester_id,
        body_text=body_text,
        body_html=body_html,
        is_internal=False,
        direction=Direction.INBOUND.value,
        channel=channel.value,
        external_message_id=opening.external_message_id,
        dedup_key=None,
        email_headers=opening.email_headers or {},
        created_at=now,
    )


def _new_attachments(
    session: AsyncSession, opened: Sequence[Opened], files: Sequence[Sequence[StoredFile]]
) -> list[TicketAttachment]:
    now = utcnow()
    for item, stored in zip(opened, files, strict=True):
        item.attachments += [_attachment(item, file, now) for file in stored]
        session.add_all(item.attachments)
        for attachment in item.attachments:
            audit(
                session,
                item.ticket,
                "attachment_added",
                after={
                    "id": attachment.id,
                    "filename": attachment.filename,
                    "message_id": attachment.message_id,
                },
                internal=False,
            )
    return [attachment for item in opened for attachment in item.attachments]


def _attachment(item: Opened, file: StoredFile, now: datetime) -> TicketAttachment:
    return TicketAttachment(
        id=new_id(),
        tenant_id=item.ticket.tenant_id,
        ticket_id=item.ticket.id,
        message_id=item.message.id,
        filename=file.filename,
        content_type=file.content_type,
        size=file.size,
        sha256=file.sha256,
        storage_key=file.storage_key,
        scan_status=ScanStatus.SKIPPED.value,
        is_inline=file.content_id is not None,
        content_id=file.content_id,
        created_at=now,
    )
