"""The conversation: append-only messages and internal notes, and what each one moves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.clock import utcnow
from frontdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from frontdesk.core.html import html_to_text, sanitize_html
from frontdesk.core.repository import scoped
from frontdesk.identity.context import TenantContext
from frontdesk.identity.policy import Role
from frontdesk.tickets.models import (
    AuthorType,
    Channel,
    Direction,
    Priority,
    StatusCategory,
    Ticket,
    TicketAttachment,
    TicketMessage,
    TicketType,
)
from frontdesk.tickets.repository import default_status
from frontdesk.tickets.schemas import MessageCreate, MessagePublic, TicketCreate
from frontdesk.tickets.service.tickets import change_status, create_ticket
from frontdesk.tickets.service.timeline import audit, before_write, ticket_event
from frontdesk.tickets.service.transitions import within_reopen_window


class EmptyMessage(ValidationFailed):
    code = "empty_message"
    title = "A message needs a body"


class DedupKeyTaken(Conflict):
    code = "dedup_key_taken"
    title = "Another message already carries this dedup key"


def message_public(message: TicketMessage, attachment_ids: list[UUID]) -> MessagePublic:
    return MessagePublic(
        id=message.id,
        ticket_id=message.ticket_id,
        author_type=AuthorType(message.author_type),
        author_user_id=message.author_user_id,
        author_contact_id=message.author_contact_id,
        body_text=message.body_text,
        body_html=message.body_html,
        is_internal=message.is_internal,
        direction=message.direction,
        channel=message.channel,
        external_message_id=message.external_message_id,
        attachment_ids=attachment_ids,
        redacted_at=message.redacted_at,
        created_at=message.created_at,
    )


async def publics(session: AsyncSession, messages: list[TicketMessage]) -> list[MessagePublic]:
    if not messages:
        return []
    tenant_id = messages[0].tenant_id
    rows = await session.execute(
        select(TicketAttachment.message_id, TicketAttachment.id)
        .where(
            TicketAttachment.tenant_id == tenant_id,
            TicketAttachment.message_id.in_([m.id for m in messages]),
        )
        .order_by(TicketAttachment.id)
    )
    by_message: dict[UUID, list[UUID]] = {m.id: [] for m in messages}
    for message_id, attachment_id in rows.all():
        if message_id is not None:
            by_message[message_id].append(attachment_id)
    return [message_public(m, by_message[m.id]) for m in messages]


def _bodies(data: MessageCreate) -> tuple[str, str | None]:
    body_html = sanitize_html(data.body_html) if data.body_html else None
    body_text = data.body.strip() or (html_to_text(body_html) if body_html else "")
    if not body_text and not body_html:
        raise EmptyMessage()
    return body_text, body_html


def _check_author(ctx: TenantContext, data: MessageCreate) -> AuthorType:
    if ctx.role is Role.CONTACT:
        if data.is_internal:
            raise Forbidden("customers cannot write internal notes")
        if data.author_type is not None or data.status is not None:
            raise Forbidden("customers cannot set author_type or status on a message")
        return AuthorType.CONTACT
    if ctx.role is Role.LIGHT_AGENT and not data.is_internal:
        raise Forbidden("light agents write internal notes only")
    if data.status is not None and data.is_internal:
        raise ValidationFailed("status can be set with a public reply only", field="status")
    return AuthorType(data.author_type or AuthorType.AGENT.value)


async def _existing(session: AsyncSession, tenant_id: UUID, dedup_key: str) -> TicketMessage | None:
    return await session.scalar(
        scoped(TicketMessage, tenant_id).where(TicketMessage.dedup_key == dedup_key)
    )


def _replayed(ctx: TenantContext, first: TicketMessage) -> TicketMessage:
    """The message a repeated `dedup_key` names, when the caller wrote it. A key is unique in the
    tenant, so anyone else's key (another customer's, an internal note's) must not hand them
    that message: it is a conflict that shows nothing of it."""
    if ctx.role is Role.CONTACT:
        mine = first.author_contact_id is not None and first.author_contact_id == ctx.contact_id
    else:
        mine = first.author_user_id is not None and first.author_user_id == ctx.user_id
    if not mine:
        raise DedupKeyTaken()
    return first


async def add_message(
    ctx: TenantContext,
    ticket: Ticket,
    data: MessageCreate,
    *,
    channel: Channel | None = None,
    email_headers: dict[str, Any] | None = None,
) -> tuple[TicketMessage, bool]:
    """Append a message; returns it and whether it is new.

    A repeated `dedup_key` returns the first message and changes nothing. A customer message
    reopens a pending or recently closed ticket; to a ticket closed longer than the tenant's
    reopen window it opens a follow-up ticket linked to the closed one, and the message goes
    there (its `ticket_id` says which). An agent's public reply may set the status. The mail
    intake names the `channel` and the message's `email_headers`.
    """
    session = ctx.session
    author_type = _check_author(ctx, data)
    if data.dedup_key is not None:
        first = await _existing(session, ctx.tenant_id, data.dedup_key)
        if first is not None:
            return _replayed(ctx, first), False
    body_text, body_html = _bodies(data)
    is_customer = author_type is AuthorType.CONTACT
    if is_customer and _closed_for_good(ctx, ticket):
        ticket = await open_follow_up(ctx, ticket, channel=channel)
    message = TicketMessage(
        tenant_id=ctx.tenant_id,
        ticket_id=ticket.id,
        author_type=author_type.value,
        author_user_id=None if is_customer else ctx.user_id,
        author_contact_id=ctx.contact_id if is_customer else None,
        body_text=body_text,
        body_html=body_html,
        is_internal=data.is_internal,
        direction=(Direction.INBOUND if is_customer else Direction.OUTBOUND).value,
        channel=channel.value if channel else ("portal" if is_customer else "api"),
        external_message_id=data.external_message_id,
        dedup_key=data.dedup_key,
        email_headers=email_headers or {},
    )
    if data.dedup_key is not None:
        try:
            async with session.begin_nested():
                session.add(message)
        except IntegrityError:
            # Another request stored the same key first: theirs is the message.
            first = await _existing(session, ctx.tenant_id, data.dedup_key)
            if first is None:
                raise
            return _replayed(ctx, first), False
    else:
        session.add(message)
    await session.flush()
    await _apply_effects(ctx, ticket, message, data.status)
    return message, True


async def _apply_effects(
    ctx: TenantContext, ticket: Ticket, message: TicketMessage, status: str | None
) -> None:
    session = ctx.session
    # The reads below (statuses) need nothing of this change: the ticket is written once, with
    # its SLA summary, by the flush after `before_write`.
    with session.no_autoflush:
        await _follow_message(ctx, ticket, message, status)
    await before_write(session, ticket, "created", message=message)
    await session.flush()
    (public,) = await publics(session, [message])
    await ticket_event(
        session,
        ticket,
        "created",
        public.model_dump(mode="json"),
        subject_type="ticket_message",
        subject_id=message.id,
    )


async def _follow_message(
    ctx: TenantContext, ticket: Ticket, message: TicketMessage, status: str | None
) -> None:
    """The ticket's counters, first response and status after the message."""
    session = ctx.session
    now = message.created_at
    ticket.message_count += 1
    ticket.last_message_at = now
    audit(session, ticket, "message_added", after=str(message.id), internal=message.is_internal)
    if not message.is_internal:
        ticket.public_message_count += 1
        ticket.last_public_author_type = message.author_type
        if message.author_type == AuthorType.CONTACT:
            ticket.unread_by_agent += 1
            await _customer_wrote(ctx, ticket)
        else:
            ticket.unread_by_customer += 1
            if ticket.first_response_at is None and message.author_type == AuthorType.AGENT:
                ticket.first_response_at = now
            if ticket.ai_first_response_at is None and message.author_type == AuthorType.AI:
                ticket.ai_first_response_at = now
            if status is not None:
                await change_status(ctx, ticket, status)


def _closed_for_good(ctx: TenantContext, ticket: Ticket) -> bool:
    """Closed longer ago than the tenant's reopen window: a customer's word opens a new ticket."""
    if ticket.status_category != StatusCategory.CLOSED.value:
        return False
    window = timedelta(days=int(ctx.tenant.settings.get("reopen_window_days", 14)))
    return not within_reopen_window(ticket.closed_at, utcnow(), window)


async def open_follow_up(
    ctx: TenantContext, closed: Ticket, *, channel: Channel | None = None
) -> Ticket:
    """A new ticket for the closed one's requester, linked to it, in the same group."""
    follow_up = await create_ticket(
        ctx,
        TicketCreate(
            subject=closed.subject,
            requester_id=closed.requester_id,
            priority=Priority(closed.priority),
            type=TicketType(closed.type),
            channel=channel,
        ),
        follow_up_of=closed,
    )
    audit(ctx.session, closed, "follow_up_opened", after=str(follow_up.id))
    return follow_up


async def _customer_wrote(ctx: TenantContext, ticket: Ticket) -> None:
    category = StatusCategory(ticket.status_category)
    if category in (StatusCategory.PENDING, StatusCategory.RESOLVED, StatusCategory.CLOSED):
        target = await default_status(ctx.session, ctx.tenant_id, StatusCategory.OPEN.value)
        if target is not None:
            await change_status(ctx, ticket, target.key)


def visible_messages(ctx: TenantContext, ticket: Ticket) -> Select[TicketMessage]:
    statement = scoped(TicketMessage, ctx.tenant_id).where(TicketMessage.ticket_id == ticket.id)
    if ctx.role is Role.CONTACT:
        statement = statement.where(TicketMessage.is_internal.is_(False))
    return statement


async def get_message(ctx: TenantContext, ticket: Ticket, message_id: UUID) -> TicketMessage:
    message = await ctx.session.scalar(
        visible_messages(ctx, ticket).where(TicketMessage.id == message_id)
    )
    if message is None:
        raise NotFound("message not found")
    return message


async def redact(ctx: TenantContext, ticket: Ticket, message: TicketMessage) -> TicketMessage:
    """Remove a message's content for good (an admin's act); the audit keeps who and when."""
    if message.redacted_at is not None:
        return message
    message.body_text = ""
    message.body_html = None
    message.email_headers = {}
    message.redacted_at = utcnow()
    message.redacted_by = ctx.principal.actor
    audit(
        ctx.session, ticket, "message_redacted", after=str(message.id), internal=message.is_internal
    )
    await ctx.session.flush()
    await ticket_event(
        ctx.session,
        ticket,
        "redacted",
        {"id": str(message.id), "ticket_id": str(ticket.id), "is_internal": message.is_internal},
        subject_type="ticket_message",
        subject_id=message.id,
    )
    return message
