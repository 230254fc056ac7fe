"""Where a mail goes: the ticket it answers, a new ticket, or a note for review.

Threading: In-Reply-To/References against the Message-IDs we received (ticket messages) and
sent (outbound mail), else the `[PREFIX-123]` token in the subject, else a new ticket. A mail
that matches a ticket but comes from someone who is not its requester or a cc is never simply
appended: per channel it opens a new ticket or becomes an internal note flagged for review.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.errors import AlreadyExists, Conflict, FrontdeskError, PayloadTooLarge
from frontdesk.core.repository import scoped
from frontdesk.core.storage import BlobStore
from frontdesk.email.models import InboundChannel, InboundOutcome, NonParticipantPolicy
from frontdesk.email.models import OutboundMail as Outbound
from frontdesk.email.parsing import MailPart, ParsedMail
from frontdesk.email.threads import ticket_number_in_subject
from frontdesk.identity.context import Principal, TenantContext
from frontdesk.identity.models import Contact, Group, User
from frontdesk.identity.policy import Role
from frontdesk.identity.repository import contact_id_by_email, normalize_email
from frontdesk.identity.schemas import ContactCreate
from frontdesk.identity.service.contacts import contacts_for_senders
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.models import (
    Channel,
    ParticipantRole,
    Priority,
    Ticket,
    TicketMessage,
    TicketParticipant,
    TicketType,
)
from frontdesk.tickets.repository import status_by_key
from frontdesk.tickets.schemas import MessageCreate, ParticipantCreate, TicketCreate
from frontdesk.tickets.service.attachments import SkippingScanner, Upload, add_attachment
from frontdesk.tickets.service.messages import add_message
from frontdesk.tickets.service.participants import add_participant
from frontdesk.tickets.service.tickets import create_ticket

MAX_BODY = 200_000


@dataclass
class Conversation:
    session: AsyncSession
    store: BlobStore
    tenant: Tenant
    channel: InboundChannel
    mail: ParsedMail
    own: frozenset[str]


@dataclass
class Delivered:
    outcome: InboundOutcome
    ticket_id: UUID | None = None
    message_id: UUID | None = None
    needs_review: bool = False
    notes: list[str] = field(default_factory=list)


def _stand_in(user_id: UUID, email: str, name: str) -> User:
    # Never added to the session: it only carries who is acting into the context.
    return User(id=user_id, email=email, display_name=name or email)


def as_contact(conversation: Conversation, contact_id: UUID) -> TenantContext:
    mail = conversation.mail
    user = _stand_in(contact_id, mail.sender or "", mail.sender_name)
    return TenantContext(
        conversation.tenant, Principal(user, "session"), Role.CONTACT, conversation.session,
        contact_id,
    )  # fmt: skip


def as_intake(conversation: Conversation) -> TenantContext:
    """The mail intake filing for a customer: staff rights, no real user behind them."""
    user = _stand_in(conversation.channel.id, conversation.channel.address or "", "Mail intake")
    return TenantContext(
        conversation.tenant, Principal(user, "session"), Role.ADMIN, conversation.session
    )


async def find_ticket(conversation: Conversation) -> Ticket | None:
    session, tenant_id, mail = conversation.session, conversation.tenant.id, conversation.mail
    ids = mail.thread_ids[:50]
    if ids:
        ticket_id = await session.scalar(
            scoped(TicketMessage, tenant_id)
            .where(TicketMessage.external_message_id.in_(ids))
            .with_only_columns(TicketMessage.ticket_id)
            .limit(1)
        )
        if ticket_id is None:
            ticket_id = await session.scalar(
                scoped(Outbound, tenant_id)
                .where(Outbound.message_id.in_(ids), Outbound.ticket_id.is_not(None))
                .with_only_columns(Outbound.ticket_id)
                .limit(1)
            )
        if ticket_id is not None:
            ticket = await _live_ticket(session, tenant_id, ticket_id)
            if ticket is not None:
                return ticket
    number = ticket_number_in_subject(mail.subject, conversation.tenant.ticket_prefix)
    if number is None:
        return None
    return await session.scalar(
        scoped(Ticket, tenant_id).where(Ticket.number == number, Ticket.deleted_at.is_(None))
    )


async def _live_ticket(session: AsyncSession, tenant_id: UUID, ticket_id: UUID) -> Ticket | None:
    return await session.scalar(
        scoped(Ticket, tenant_id).where(Ticket.id == ticket_id, Ticket.deleted_at.is_(None))
    )


async def sender_contact(conversation: Conversation) -> UUID:
    """The sender's contact, created (linked to an organization by domain) when unknown."""
    mail, session, tenant_id = conversation.mail, conversation.session, conversation.tenant.id
    assert mail.sender is not None
    found = await contact_id_by_email(session, tenant_id, mail.sender)
    if found is not None:
        return found
    name = mail.sender_name.strip() or mail.sender.split("@", 1)[0]
    data = ContactCreate(name=name, emails=[mail.sender])
    created = await contacts_for_senders(session, tenant_id, [data])
    return created[normalize_email(mail.sender)].id


async def is_participant(session: AsyncSession, ticket: Ticket, contact_id: UUID) -> bool:
    found = await session.scalar(
        select(TicketParticipant.id).where(
            TicketParticipant.tenant_id == ticket.tenant_id,
            TicketParticipant.ticket_id == ticket.id,
            TicketParticipant.contact_id == contact_id,
            TicketParticipant.role.in_([ParticipantRole.REQUESTER.value, ParticipantRole.CC.value]),
        )
    )
    return found is not None


async def deliver(conversation: Conversation) -> Delivered:
    try:
        contact_id = await sender_contact(conversation)
    except ValidationError:
        return Delivered(
            InboundOutcome.UNPARSEABLE,
            needs_review=True,
            notes=[f"the sender address {conversation.mail.sender!r} is not usable"],
        )
    ticket = await find_ticket(conversation)
    if ticket is None:
        return await _new_ticket(conversation, contact_id)
    if not await is_participant(conversation.session, ticket, contact_id):
        policy = NonParticipantPolicy(conversation.channel.non_participant_policy)
        if policy is NonParticipantPolicy.INTERNAL_NOTE:
            return await _note_for_review(conversation, ticket)
        delivered = await _new_ticket(conversation, contact_id)
        delivered.notes.append(f"the sender is not a participant of ticket {ticket.number}")
        return delivered
    return await _append(conversation, ticket, contact_id)


def mail_body(mail: ParsedMail) -> str:
    return (mail.text or mail.full_text or "(no text)")[:MAX_BODY]


async def _new_ticket(conversation: Conversation, contact_id: UUID) -> Delivered:
    channel, mail = conversation.channel, conversation.mail
    intake = as_intake(conversation)
    group_id = await _default_group(conversation)
    status = channel.default_status
    if status is not None and await status_by_key(intake.session, intake.tenant_id, status) is None:
        status = None
    ticket = await create_ticket(
        intake,
        TicketCreate(
            subject=mail.subject.strip() or "(no subject)",
            description=mail_body(mail),
            requester_id=contact_id,
            channel=Channel.EMAIL,
            priority=Priority(channel.default_priority),
            type=TicketType(channel.default_type),
            status=status,
            group_id=group_id,
        ),
    )
    delivered = await _append(conversation, ticket, contact_id)
    delivered.outcome = InboundOutcome.NEW_TICKET
    return delivered


async def _default_group(conversation: Conversation) -> UUID | None:
    group_id = conversation.channel.default_group_id
    if group_id is None:
        return None
    group = await conversation.session.get(Group, (conversation.tenant.id, group_id))
    return group.id if group is not None and group.is_active else None


async def _append(conversation: Conversation, ticket: Ticket, contact_id: UUID) -> Delivered:
    mail = conversation.mail
    ctx = as_contact(conversation, contact_id)
    message, _ = await add_message(
        ctx,
        ticket,
        MessageCreate(
            body=mail_body(mail),
            body_html=mail.html[:MAX_BODY] if mail.html else None,
            external_message_id=mail.message_id,
        ),
        channel=Channel.EMAIL,
        email_headers=mail.headers,
    )
    target: Ticket | None = ticket
    if message.ticket_id != ticket.id:  # a follow-up of a long-closed ticket took it
        target = await _live_ticket(conversation.session, ticket.tenant_id, message.ticket_id)
    assert target is not None
    notes = await store_files(conversation, ctx, target, message.id)
    if conversation.channel.add_cc_participants:
        notes += await _add_ccs(conversation, target, contact_id)
    outcome = InboundOutcome.APPENDED
    if target.id != ticket.id:
        outcome = InboundOutcome.FOLLOW_UP
    return Delivered(outcome, target.id, message.id, notes=notes)


async def _note_for_review(conversation: Conversation, ticket: Ticket) -> Delivered:
    mail = conversation.mail
    intake = as_intake(conversation)
    heading = (
        f"Mail from {mail.sender}, who is not a participant of this ticket; "
        "not sent to the customer. Review before acting on it.\n\n"
    )
    message, _ = await add_message(
        intake,
        ticket,
        MessageCreate(
            body=(heading + mail_body(mail))[:MAX_BODY],
            is_internal=True,
            author_type="system",
            external_message_id=mail.message_id,
        ),
        channel=Channel.EMAIL,
        email_headers=mail.headers,
    )
    notes = await store_files(conversation, intake, ticket, message.id)
    return Delivered(InboundOutcome.INTERNAL_NOTE, ticket.id, message.id, True, notes)


async def store_files(
    conversation: Conversation, ctx: TenantContext, ticket: Ticket, message_id: UUID
) -> list[str]:
    """Each file of the mail on its message; one that breaks a limit is left out, and said so."""
    notes: list[str] = []
    for part in conversation.mail.parts:
        try:
            async with conversation.session.begin_nested():
                await add_attachment(
                    ctx,
                    ticket,
                    Upload(part.filename or default_file_name(part), _chunks(part.payload)),
                    message_id=message_id,
                    store=conversation.store,
                    scanner=SkippingScanner(),
                    content_id=part.content_id if part.is_inline else None,
                )
        except (PayloadTooLarge, Conflict, FrontdeskError) as exc:
            notes.append(f"attachment {part.filename or part.content_type!r} not stored: {exc}")
    return notes


def default_file_name(part: MailPart) -> str:
    if part.content_type == "text/calendar":
        return "invite.ics"
    subtype = part.content_type.split("/", 1)[-1]
    return f"attachment.{subtype[:20]}"


async def _chunks(payload: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(payload), 64 * 1024):
        yield payload[start : start + 64 * 1024]


async def _add_ccs(conversation: Conversation, ticket: Ticket, sender_id: UUID) -> list[str]:
    notes: list[str] = []
    mail = conversation.mail
    for address in dict.fromkeys(mail.cc):
        if address in conversation.own or address == mail.sender:
            continue
        try:
            data = ParticipantCreate(role="cc", email=address)
        except ValidationError:
            notes.append(f"cc {address!r} is not a usable address")
            continue
        if await _contact_is_requester(conversation.session, ticket, address):
            continue
        try:
            async with conversation.session.begin_nested():
                await add_participant(conversation.session, ticket, data)
        except AlreadyExists:
            continue
    return notes


async def _contact_is_requester(session: AsyncSession, ticket: Ticket, address: str) -> bool:
    contact_id = await contact_id_by_email(session, ticket.tenant_id, address)
    if contact_id is None:
        return False
    contact = await session.get(Contact, (ticket.tenant_id, contact_id))
    return contact is not None and ticket.requester_id == contact.id
