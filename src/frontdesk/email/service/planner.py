"""Turning relayed ticket events into queued mail.

The planner reads the event outbox behind a cursor of (published_at, id). The relay publishes
one batch at a time (an advisory lock on PostgreSQL, a single writer on SQLite), so events
become visible to the planner in that order and the cursor never skips one. The cursor moves
in the same transaction as the mail it queued: a crash re-plans the batch, nothing is queued
twice (and `dedup_key` would refuse it anyway). On the very first run it starts an hour back
rather than mailing about the whole history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.clock import utcnow
from frontdesk.core.config import Settings
from frontdesk.core.events import OutboxEvent
from frontdesk.core.ids import new_id
from frontdesk.core.repository import scoped
from frontdesk.email.models import (
    EmailEventCursor,
    EmailTemplate,
    InboundChannel,
    InboundMail,
    OutboundMail,
    OutboundStatus,
)
from frontdesk.email.quotes import REPLY_MARKER
from frontdesk.email.rendering import Override, render
from frontdesk.email.service import recipients as who
from frontdesk.email.service.preferences import wants
from frontdesk.email.service.recipients import Recipient
from frontdesk.email.service.tenant_settings import status_mail_categories
from frontdesk.email.threads import subject_with_token
from frontdesk.identity.models import Contact, Membership, User
from frontdesk.notifications.kinds import NotificationKind
from frontdesk.notifications.service import notify_users
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.models import AuthorType, Ticket, TicketMessage, TicketStatus

CURSOR = "outbound"
FIRST_RUN_LOOKBACK = timedelta(hours=1)
ZERO_ID = UUID(int=0)
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9._%+-]+(?:@[A-Za-z0-9.-]+)?)")


class MailKind(StrEnum):
    """The mails the desk sends; each is named after its template."""

    ACKNOWLEDGEMENT = "acknowledgement"
    AGENT_REPLY = "agent_reply"
    STATUS_CHANGED = "status_changed"
    CUSTOMER_REPLY = "customer_reply"
    NEW_TICKET = "new_ticket"
    ASSIGNMENT = "assignment"
    MENTION = "mention"


#: The notification kind each mail is (what recipients opt out of).
NOTIFICATION_KINDS = {
    MailKind.ACKNOWLEDGEMENT: NotificationKind.ACKNOWLEDGEMENT,
    MailKind.AGENT_REPLY: NotificationKind.AGENT_REPLIED,
    MailKind.STATUS_CHANGED: NotificationKind.STATUS_CHANGED,
    MailKind.CUSTOMER_REPLY: NotificationKind.CUSTOMER_REPLIED,
    MailKind.NEW_TICKET: NotificationKind.TICKET_CREATED,
    MailKind.ASSIGNMENT: NotificationKind.TICKET_ASSIGNED,
    MailKind.MENTION: NotificationKind.MENTIONED,
}


@dataclass
class Plan:
    """The context every mail of one event shares."""

    session: AsyncSession
    settings: Settings
    event: OutboxEvent
    tenant: Tenant
    ticket: Ticket
    channel: InboundChannel | None


def event_types(settings: Settings) -> list[str]:
    exchange = settings.event_exchange
    return [f"{exchange}.ticket.created", f"{exchange}.ticket.updated",
            f"{exchange}.ticket_message.created"]  # fmt: skip


async def plan_batch(session: AsyncSession, settings: Settings, batch_size: int = 200) -> int:
    """Queue the mail of the next relayed events; returns how many events were read."""
    cursor = await session.get(EmailEventCursor, CURSOR, with_for_update=True)
    if cursor is None:
        cursor = EmailEventCursor(
            name=CURSOR, published_at=utcnow() - FIRST_RUN_LOOKBACK, event_id=ZERO_ID
        )
        session.add(cursor)
    events = list(
        await session.scalars(
            select(OutboxEvent)
            .where(
                OutboxEvent.published_at.is_not(None),
                tuple_(OutboxEvent.published_at, OutboxEvent.id)
                > tuple_(cursor.published_at, cursor.event_id),
            )
            .order_by(OutboxEvent.published_at, OutboxEvent.id)
            .limit(batch_size)
        )
    )
    for event in events:
        if event.type in event_types(settings) and event.tenant_id is not None:
            await plan_event(session, settings, event)
    if events:
        last = events[-1]
        assert last.published_at is not None
        cursor.published_at, cursor.event_id = last.published_at, last.id
    await session.flush()
    return len(events)


async def plan_event(session: AsyncSession, settings: Settings, event: OutboxEvent) -> None:
    snapshot = event.snapshot
    ticket_id = snapshot.get("ticket_id") if event.subject_type == "ticket_message" else None
    ticket_id = ticket_id or (str(event.subject_id) if event.subject_type == "ticket" else None)
    if ticket_id is None or event.tenant_id is None:
        return
    ticket = await session.get(Ticket, (event.tenant_id, UUID(str(ticket_id))))
    tenant = await session.get(Tenant, event.tenant_id)
    if ticket is None or tenant is None or ticket.deleted_at is not None:
        return
    plan = Plan(session, settings, event, tenant, ticket, await channel_of(session, ticket))
    action = event.type.rsplit(".", 1)[-1]
    if event.subject_type == "ticket" and action == "created":
        await _ticket_created(plan)
    elif event.subject_type == "ticket" and action == "updated":
        await _ticket_updated(plan, event.delta)
    elif event.subject_type == "ticket_message":
        await _message_created(plan, snapshot)


async def channel_of(session: AsyncSession, ticket: Ticket) -> InboundChannel | None:
    """The channel the ticket came in by, else the tenant's first active email channel."""
    channel_id = await session.scalar(
        scoped(InboundMail, ticket.tenant_id)
        .where(InboundMail.ticket_id == ticket.id)
        .with_only_columns(InboundMail.channel_id)
        .order_by(InboundMail.created_at)
        .limit(1)
    )
    if channel_id is not None:
        channel = await session.get(InboundChannel, (ticket.tenant_id, channel_id))
        if channel is not None and channel.is_active:
            return channel
    return await session.scalar(
        scoped(InboundChannel, ticket.tenant_id)
        .where(InboundChannel.kind == "email", InboundChannel.is_active.is_(True))
        .order_by(InboundChannel.created_at, InboundChannel.id)
        .limit(1)
    )


async def _ticket_created(plan: Plan) -> None:
    session, ticket = plan.session, plan.ticket
    opening = await session.scalar(
        scoped(InboundMail, ticket.tenant_id)
        .where(InboundMail.ticket_id == ticket.id)
        .order_by(InboundMail.created_at)
        .limit(1)
    )
    channel = plan.channel
    wanted = channel is not None and channel.auto_acknowledge
    if wanted and not (opening is not None and opening.is_auto_reply):
        requester = [r for r in await who.customers(session, ticket) if r.contact_id]
        for recipient in requester[:1]:
            if await queue(plan, MailKind.ACKNOWLEDGEMENT, recipient) and opening is not None:
                opening.acknowledged = True
    # The group the event recorded, not the ticket's group now: planning runs later, and a
    # move in between must not take the new-ticket mail from the group the ticket came to.
    members = await who.group_members(session, ticket.tenant_id, _recorded_group(plan.event))
    await notice(plan, MailKind.NEW_TICKET, members)
    for recipient in await who.users(session, members):
        await queue(plan, MailKind.NEW_TICKET, recipient)


def _recorded_group(event: OutboxEvent) -> UUID | None:
    group_id = event.snapshot.get("group_id")
    return UUID(str(group_id)) if group_id else None


async def _ticket_updated(plan: Plan, delta: dict[str, Any]) -> None:
    session, ticket = plan.session, plan.ticket
    if "status_category" in delta:
        category = delta["status_category"][1]
        if category in await status_mail_categories(session, ticket.tenant_id):
            for recipient in await who.customers(session, ticket):
                await queue(plan, MailKind.STATUS_CHANGED, recipient)
    if "assignee_id" in delta and delta["assignee_id"][1] is not None:
        assignee = UUID(str(delta["assignee_id"][1]))
        if plan.event.actor != f"user:{assignee}":
            await notice(plan, MailKind.ASSIGNMENT, [assignee])
            for recipient in await who.users(session, [assignee]):
                await queue(plan, MailKind.ASSIGNMENT, recipient)


async def _message_created(plan: Plan, snapshot: dict[str, Any]) -> None:
    session, ticket = plan.session, plan.ticket
    message = await session.get(TicketMessage, (ticket.tenant_id, UUID(str(snapshot["id"]))))
    if message is None or message.redacted_at is not None:
        return
    if message.is_internal:
        await _mentions(plan, message)
        return
    if message.author_type == AuthorType.CONTACT.value:
        staff = [u for u in await who.staff_of(session, ticket) if u != message.author_user_id]
        await notice(plan, MailKind.CUSTOMER_REPLY, staff, message)
        for recipient in await who.users(session, staff):
            await queue(plan, MailKind.CUSTOMER_REPLY, recipient, message)
        return
    for recipient in await who.customers(session, ticket):
        await queue(plan, MailKind.AGENT_REPLY, recipient, message)


async def _mentions(plan: Plan, message: TicketMessage) -> None:
    names = {name.lower() for name in MENTION.findall(message.body_text)}
    if not names:
        return
    rows = await plan.session.execute(
        select(User.id, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.tenant_id == plan.ticket.tenant_id)
    )
    mentioned = [
        user_id
        for user_id, email in rows
        if user_id != message.author_user_id
        and (email.lower() in names or email.lower().split("@", 1)[0] in names)
    ]
    await notice(plan, MailKind.MENTION, mentioned, message)
    for recipient in await who.users(plan.session, mentioned):
        await queue(plan, MailKind.MENTION, recipient, message)


async def notice(
    plan: Plan, kind: MailKind, user_ids: list[UUID], message: TicketMessage | None = None
) -> None:
    """The in-app counterpart of a staff mail (the notifications domain skips the muted)."""
    ticket = plan.ticket
    display_id = f"{plan.tenant.ticket_prefix}-{ticket.number}"
    await notify_users(
        plan.session,
        tenant_id=ticket.tenant_id,
        user_ids=user_ids,
        kind=NOTIFICATION_KINDS[kind],
        title=f"{display_id}: {ticket.subject}",
        body=(message.body_text if message else ticket.description)[:500],
        ticket_id=ticket.id,
        data={"event_id": str(plan.event.id)},
    )


CUSTOMER_KINDS = frozenset(
    {MailKind.ACKNOWLEDGEMENT, MailKind.AGENT_REPLY, MailKind.STATUS_CHANGED}
)


async def queue(
    plan: Plan, kind: MailKind, recipient: Recipient, message: TicketMessage | None = None
) -> bool:
    """Render and queue one mail, unless opted out, over the sender's limit or queued before."""
    session, ticket = plan.session, plan.ticket
    if not await wants(session, ticket.tenant_id, NOTIFICATION_KINDS[kind], recipient):
        return False
    automatic = kind is not MailKind.AGENT_REPLY
    if automatic and kind in CUSTOMER_KINDS and await _over_limit(plan, recipient.address):
        return False
    dedup_key = f"{plan.event.id}:{kind.value}:{recipient.address}"[:500]
    exists = await session.scalar(
        scoped(OutboundMail, ticket.tenant_id)
        .where(OutboundMail.dedup_key == dedup_key)
        .with_only_columns(OutboundMail.id)
    )
    if exists is not None:
        return False
    sender = (plan.channel.address if plan.channel else None) or plan.settings.mail_from
    context = await _context(plan, recipient, message)
    locale = recipient.locale or str(plan.tenant.settings.get("locale", "en"))
    rendered = render(kind.value, locale, context, await _override(plan, kind.value, locale))
    in_reply_to, references = await thread_headers(session, ticket, sender)
    mail_id = new_id()
    mail = OutboundMail(
        id=mail_id,
        tenant_id=ticket.tenant_id,
        dedup_key=dedup_key,
        kind=kind.value,
        ticket_id=ticket.id,
        ticket_message_id=message.id if message else None,
        recipient=recipient.address,
        recipient_user_id=recipient.user_id,
        recipient_contact_id=recipient.contact_id,
        from_address=sender,
        reply_to=plan.channel.address if plan.channel else None,
        subject=subject_with_token(rendered.subject, plan.tenant.ticket_prefix, ticket.number),
        body_text=_with_marker(rendered.body_text, kind),
        body_html=rendered.body_html,
        in_reply_to=in_reply_to,
        references=references,
        is_automatic=automatic,
        status=OutboundStatus.PENDING.value,
        next_attempt_at=utcnow(),
        message_id=f"<{mail_id}@{_domain(sender)}>",
    )
    session.add(mail)
    await session.flush()
    return True


def _with_marker(text: str, kind: MailKind) -> str:
    if kind in CUSTOMER_KINDS:
        return f"{REPLY_MARKER}\n\n{text}"
    return text


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1] or "localhost"


def ticket_root_id(ticket: Ticket, sender: str) -> str:
    """A stable id that every mail about the ticket references, so clients thread them."""
    return f"<ticket-{ticket.id}@{_domain(sender)}>"


async def thread_headers(session: AsyncSession, ticket: Ticket, sender: str) -> tuple[str, str]:
    """In-Reply-To: the customer's latest mail (else the ticket's root id); References: the
    root id, the mail that opened the ticket and the latest one."""
    external = list(
        await session.scalars(
            scoped(TicketMessage, ticket.tenant_id)
            .where(
                TicketMessage.ticket_id == ticket.id,
                TicketMessage.external_message_id.is_not(None),
                TicketMessage.is_internal.is_(False),
            )
            .with_only_columns(TicketMessage.external_message_id)
            .order_by(TicketMessage.created_at, TicketMessage.id)
        )
    )
    root = ticket_root_id(ticket, sender)
    ids = [i for i in external if i]
    references = list(dict.fromkeys([root, *ids[:1], *ids[-1:]]))
    return (ids[-1] if ids else root), " ".join(references)


async def _over_limit(plan: Plan, address: str) -> bool:
    limit = plan.channel.auto_reply_limit_per_hour if plan.channel else 5
    sent = await plan.session.scalar(
        select(func.count())
        .select_from(OutboundMail)
        .where(
            OutboundMail.tenant_id == plan.ticket.tenant_id,
            OutboundMail.recipient == address,
            OutboundMail.is_automatic.is_(True),
            OutboundMail.created_at >= utcnow() - timedelta(hours=1),
        )
    )
    return (sent or 0) >= limit


async def _override(plan: Plan, kind: str, locale: str) -> Override | None:
    language = locale.replace("_", "-").split("-", 1)[0].lower()
    row = await plan.session.scalar(
        scoped(EmailTemplate, plan.ticket.tenant_id)
        .where(EmailTemplate.kind == kind, EmailTemplate.locale.in_([locale, language]))
        .order_by(EmailTemplate.locale.desc())
        .limit(1)
    )
    if row is None:
        return None
    return Override(row.subject, row.body_text, row.body_html)


async def _context(
    plan: Plan, recipient: Recipient, message: TicketMessage | None
) -> dict[str, Any]:
    ticket, tenant = plan.ticket, plan.tenant
    status = await plan.session.get(TicketStatus, (ticket.tenant_id, ticket.status_id))
    author_name = tenant.name
    if message is not None and message.author_user_id is not None:
        author = await plan.session.get(User, message.author_user_id)
        author_name = author.display_name if author else author_name
    elif message is not None and message.author_contact_id is not None:
        author_name = recipient.name if recipient.contact_id == message.author_contact_id else ""
        author_name = author_name or await _contact_name(plan, message.author_contact_id)
    base = plan.settings.public_base_url.rstrip("/")
    return {
        "tenant_name": tenant.name,
        "recipient_name": recipient.name,
        "author_name": author_name,
        "ticket_url": f"{base}/tickets/{ticket.id}",
        "ticket": {
            "id": str(ticket.id),
            "number": ticket.number,
            "display_id": f"{tenant.ticket_prefix}-{ticket.number}",
            "subject": ticket.subject,
            "description": ticket.description,
            "status": status.key if status else "",
            "status_label": status.label if status else "",
            "priority": ticket.priority,
        },
        "message": {
            "body_text": message.body_text if message else "",
            "body_html": message.body_html if message else None,
        },
    }


async def _contact_name(plan: Plan, contact_id: UUID) -> str:
    contact = await plan.session.get(Contact, (plan.ticket.tenant_id, contact_id))
    return contact.name if contact else ""
