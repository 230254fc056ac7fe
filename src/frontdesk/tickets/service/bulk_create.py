"""Many new tickets at once, each opened by its requester's first message (the mail intake's
batches): the rows, audit entries and events `create_ticket`, `add_message` and
`add_attachment` write one at a time, written table by table with multi-row INSERTs.

The result matches the one-at-a-time path: numbers from the tenant's sequence in input order,
the same rows and timeline entries, the same events in the same order per ticket, and the SLA
engine follows each `ticket.created` and `ticket_message.created` event in the transaction.
What needs a decision per ticket (follow-ups, status changes on a customer's word, files that
break a limit) is the caller's to route to the one-at-a-time path before calling this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.clock import utcnow
from frontdesk.core.events import OutboxEvent, emit_many, event_row, in_transaction
from frontdesk.core.html import html_to_text, sanitize_html
from frontdesk.core.ids import new_id
from frontdesk.sla.service.engine import remember_clocks
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.models import (
    PRIORITY_RANK,
    AuthorType,
    Channel,
    Direction,
    ParticipantRole,
    ScanStatus,
    Ticket,
    TicketAttachment,
    TicketMessage,
    TicketNumberSequence,
    TicketParticipant,
    TicketStatus,
)
from frontdesk.tickets.repository import remember_tags
from frontdesk.tickets.schemas import TicketCreate
from frontdesk.tickets.service import assignment
from frontdesk.tickets.service.attachments import Found, public
from frontdesk.tickets.service.messages import message_public
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
    files: Sequence[StoredFile] = ()


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


async def open_tickets(
    session: AsyncSession,
    tenant: Tenant,
    openings: Sequence[Opening],
    *,
    status: TicketStatus,
    channel: Channel,
) -> list[Opened]:
    """Create a ticket per opening, in `status` (of the `new` or `open` category), with its
    customer message and files. Each `group_id` must be an active group of the tenant."""
    if status.category not in ("new", "open"):
        raise ValueError("bulk-opened tickets start in a `new` or `open` status")
    if not openings:
        return []
    tickets = await _insert_tickets(session, tenant, openings, status, channel)
    await _assign(session, tickets, openings)
    await _react_created(session, tenant, tickets)
    messages = await _insert_messages(session, tickets, openings, channel)
    opened = [Opened(t, m) for t, m in zip(tickets, messages, strict=True)]
    await _insert_files(session, opened, openings)
    return opened


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
    for ticket in tickets:
        audit(session, ticket, "created", after={"subject": ticket.subject, "status": status.key})
        remember_tags(session, ticket.id, [])  # a new ticket has none: no need to ask
    remember_clocks(session, {ticket.id: [] for ticket in tickets})  # nor SLA clocks
    await session.flush()
    return tickets


def _ticket(
    tenant_id: UUID, opening: Opening, number: int, status: TicketStatus, channel: Channel
) -> Ticket:
    data = opening.data
    return Ticket(
        id=new_id(),
        tenant_id=tenant_id,
        number=number,
        subject=data.subject,
        description=data.description,
        status_id=status.id,
        status_category=status.category,
        priority=data.priority.value,
        priority_rank=PRIORITY_RANK[data.priority],
        type=data.type.value,
        channel=channel.value,
        requester_id=opening.requester_id,
        organization_id=opening.organization_id,
        category_id=data.category_id,
        custom_fields=data.custom_fields,
        due_at=data.due_at,
        ai_mode=data.ai_mode,
        orchestration_ref=data.orchestration_ref,
        resolved_at=None,
        closed_at=None,
        follow_up_of_id=None,
    )


async def _assign(
    session: AsyncSession, tickets: Sequence[Ticket], openings: Sequence[Opening]
) -> None:
    """The group (and a round-robin pick) per ticket, in order, as `create_ticket` does."""
    moved = False
    for ticket, opening in zip(tickets, openings, strict=True):
        if opening.data.group_id is not None:
            moved |= await assignment.assign(
                session, ticket, group_id=opening.data.group_id, assignee_id=None
            )
    if moved:
        await session.flush()


async def _react_created(session: AsyncSession, tenant: Tenant, tickets: Sequence[Ticket]) -> None:
    views = await staff_views(session, tenant.id, tenant.ticket_prefix, tickets)
    rows = [
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
    await _emit_and_react(session, rows)


async def _emit_and_react(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """`emit_and_react` for many events: one INSERT, then each event's reactions in order."""
    await emit_many(session, rows)
    for row in rows:
        await in_transaction.react(session, OutboxEvent(**row))


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
        # What `add_message` does for a customer's public message on a new ticket.
        ticket.message_count += 1
        ticket.last_message_at = now
        audit(session, ticket, "message_added", after=str(message.id), internal=False)
        ticket.public_message_count += 1
        ticket.last_public_author_type = message.author_type
        ticket.unread_by_agent += 1
    await session.flush()
    rows = [
        event_row(
            session,
            subject_type="ticket_message",
            action="created",
            tenant_id=message.tenant_id,
            subject_id=message.id,
            snapshot=message_public(message, []).model_dump(mode="json"),
        )
        for message in messages
    ]
    await _emit_and_react(session, rows)
    return messages


def _message(ticket: Ticket, opening: Opening, channel: Channel, now: Any) -> TicketMessage:
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
    session: AsyncSession, opened: Sequence[Opened], openings: Sequence[Opening]
) -> None:
    for item, opening in zip(opened, openings, strict=True):
        for file in opening.files:
            item.attachments.append(
                TicketAttachment(
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
                )
            )
    if not any(item.attachments for item in opened):
        return
    for item in opened:
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
    await session.flush()
    rows = [
        event_row(
            session,
            subject_type="ticket_attachment",
            action="created",
            tenant_id=attachment.tenant_id,
            subject_id=attachment.id,
            snapshot=public(Found(attachment, is_public=True)).model_dump(mode="json"),
        )
        for item in opened
        for attachment in item.attachments
    ]
    await _emit_and_react(session, rows)
