"""Many new tickets at once, each opened by its requester's first message (the mail intake's
batches): the rows, audit entries and events `create_ticket`, `add_message` and
`add_attachment` write one at a time, written table by table with multi-row INSERTs and
executemany UPDATEs.

The result matches the one-at-a-time path: numbers from the tenant's sequence in input order,
the same rows and timeline entries, the same events in the same order per ticket, and the SLA
engine follows each `ticket.created` and `ticket_message.created` event in the transaction.
What needs a decision per ticket (follow-ups, status changes on a customer's word, files that
break a limit) is the caller's to route to the one-at-a-time path before calling this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from frontdesk.core.clock import utcnow
from frontdesk.core.db import actor_of
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
from frontdesk.tickets.service.timeline import audit
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
        customer message. Each `group_id` must be an active group of the tenant."""
        if status.category not in ("new", "open"):
            raise ValueError("bulk-opened tickets start in a `new` or `open` status")
        if not openings:
            return []
        session, tenant = self.session, self.tenant
        tickets = await _insert_tickets(session, tenant, openings, status, channel)
        await _assign(session, tickets, openings)
        await self._react(await _created_events(session, tenant, tickets))
        messages = await _insert_messages(session, tickets, openings, channel)
        await self._react(
            [_event(session, m.tenant_id, m.id, message_public(m, [])) for m in messages]
        )
        return [Opened(t, m) for t, m in zip(tickets, messages, strict=True)]

    async def attach(self, opened: Sequence[Opened], files: Sequence[Sequence[StoredFile]]) -> None:
        """Each opened ticket's files (already in the blob store) on its opening message, as
        `add_attachment` records them."""
        attachments = await _insert_files(self.session, opened, files)
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


async def _insert_tickets(
    session: AsyncSession,
    tenant: Tenant,
    openings: Sequence[Opening],
    status: TicketStatus,
    channel: Channel,
) -> list[Ticket]:
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
    await session.flush()
    for ticket in tickets:
        # Flushed with the next rows: one INSERT for the batch's audit rows, not one per step.
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
    A plain queue (no agent to pick) is the same change for every ticket: written in bulk."""
    by_group: dict[UUID, list[Ticket]] = {}
    for ticket, opening in zip(tickets, openings, strict=True):
        if opening.data.group_id is not None:
            by_group.setdefault(opening.data.group_id, []).append(ticket)
    moved = False
    for group_id, members in by_group.items():
        group = await assignment.check_group(session, members[0].tenant_id, group_id)
        assert group is not None
        if group.assignment_strategy == AssignmentStrategy.QUEUE_ONLY:
            await _queue_in(session, members, group_id)
            continue
        for ticket in members:  # each pick sees the ones before it
            moved |= await assignment.assign(session, ticket, group_id=group_id, assignee_id=None)
    if moved:
        await session.flush()


async def _queue_in(session: AsyncSession, tickets: Sequence[Ticket], group_id: UUID) -> None:
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
    await update_new_tickets(session, tickets, [{"group_id": group_id}] * len(tickets))


async def update_new_tickets(
    session: AsyncSession, tickets: Sequence[Ticket], changes: Sequence[dict[str, Any]]
) -> None:
    """What a flush of these changes would write (a new version, `updated_at`/`updated_by`),
    as one executemany UPDATE instead of one statement per ticket. Every change names the
    same columns. The tickets were inserted in this transaction, so no one else can have
    changed them: there is no version to check."""
    if not tickets:
        return
    now, actor = utcnow(), actor_of(session)
    names = sorted(changes[0])
    table = cast(Table, Ticket.__table__)
    statement = (
        update(table)
        .where(table.c.tenant_id == bindparam("t_tenant"), table.c.id == bindparam("t_id"))
        .values(
            version=bindparam("t_version"),
            updated_at=bindparam("t_updated_at"),
            updated_by=bindparam("t_updated_by"),
            **{name: bindparam(f"v_{name}") for name in names},
        )
    )
    rows = []
    for ticket, change in zip(tickets, changes, strict=True):
        values = {"version": ticket.version + 1, "updated_at": now, "updated_by": actor} | change
        rows.append(
            {"t_tenant": ticket.tenant_id, "t_id": ticket.id, "t_version": values["version"],
             "t_updated_at": now, "t_updated_by": actor}
            | {f"v_{name}": change[name] for name in names}
        )  # fmt: skip
        for name, value in values.items():
            set_committed_value(ticket, name, value)
    await session.execute(statement, rows)


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


async def _insert_messages(
    session: AsyncSession, tickets: Sequence[Ticket], openings: Sequence[Opening], channel: Channel
) -> list[TicketMessage]:
    now = utcnow()
    messages = [
        _message(ticket, opening, channel, now)
        for ticket, opening in zip(tickets, openings, strict=True)
    ]
    session.add_all(messages)
    for ticket, message in zip(tickets, messages, strict=True):
        audit(session, ticket, "message_added", after=str(message.id), internal=False)
    await session.flush()
    # What `add_message` changes on the ticket for a customer's public message.
    await update_new_tickets(
        session,
        tickets,
        [
            {
                "message_count": ticket.message_count + 1,
                "last_message_at": now,
                "public_message_count": ticket.public_message_count + 1,
                "last_public_author_type": AuthorType.CONTACT.value,
                "unread_by_agent": ticket.unread_by_agent + 1,
            }
            for ticket in tickets
        ],
    )
    return messages


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


async def _insert_files(
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
