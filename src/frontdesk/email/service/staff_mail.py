"""Mail from a staff member's address about a ticket.

A From header proves nothing, so such a mail never speaks to the customer on its own: it
becomes an internal note by that agent, marked "received by mail, not verified", and the
assignee is told in the app. Only a channel with `trust_staff_mail` turns it into the agent's
public reply, and only when the channel's own receiving server (its authserv-id) reports an
aligned DKIM or SPF pass for the From domain.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from frontdesk.core.errors import FrontdeskError
from frontdesk.email.authentication import from_domain_authenticated
from frontdesk.email.models import InboundOutcome
from frontdesk.email.service.conversation import (
    MAX_BODY,
    Conversation,
    Delivered,
    as_intake,
    find_ticket,
    is_participant,
    mail_body,
    store_files,
)
from frontdesk.email.threads import ticket_number_in_subject
from frontdesk.identity.context import Principal, TenantContext
from frontdesk.identity.models import Membership, User
from frontdesk.identity.policy import Role
from frontdesk.identity.repository import contact_id_by_email
from frontdesk.notifications.kinds import NotificationKind
from frontdesk.notifications.service import notify_users
from frontdesk.tickets.models import Channel, Ticket
from frontdesk.tickets.schemas import MessageCreate
from frontdesk.tickets.service.messages import add_message
from frontdesk.tickets.service.tickets import get_ticket

NOT_VERIFIED = "received by mail, not verified"
#: Marks the message's stored headers, so the API and pages can show the flag.
VERIFICATION_KEY = "x-frontdesk-verification"


@dataclass(frozen=True)
class StaffSender:
    user: User
    role: Role


async def staff_sender(conversation: Conversation) -> StaffSender | None:
    """The active staff member of the tenant whose address the mail is from, if any."""
    sender = conversation.mail.sender
    if not sender:
        return None
    row = (
        await conversation.session.execute(
            select(User, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.tenant_id == conversation.tenant.id,
                User.email == sender.lower(),
                User.is_active.is_(True),
            )
        )
    ).first()
    if row is None:
        return None
    user, role = row
    return StaffSender(user, Role(role))


async def deliver_from_staff(conversation: Conversation) -> Delivered | None:
    """File a staff member's mail on the ticket it answers; None when it is not one (the
    customer path takes it: a staff member may open a ticket by mail like anyone)."""
    if not _may_answer_a_ticket(conversation):
        return None
    staff = await staff_sender(conversation)
    if staff is None:
        return None
    ticket = await find_ticket(conversation)
    if ticket is None or await _customer_on(conversation, ticket):
        return None
    ctx = TenantContext(
        conversation.tenant, Principal(staff.user, "session"), staff.role, conversation.session
    )
    if not await _may_write(ctx, ticket):
        return await _note(conversation, as_intake(conversation), ticket, staff, review=True)
    if staff.role is not Role.LIGHT_AGENT and _verified(conversation):
        return await _public_reply(conversation, ctx, ticket)
    return await _note(conversation, ctx, ticket, staff, review=False)


async def _customer_on(conversation: Conversation, ticket: Ticket) -> bool:
    """A staff member who is the ticket's requester or a cc (an internal helpdesk) writes as
    that customer, with the trust any customer's mail has, never as an agent."""
    assert conversation.mail.sender is not None
    contact_id = await contact_id_by_email(
        conversation.session, ticket.tenant_id, conversation.mail.sender
    )
    return contact_id is not None and await is_participant(conversation.session, ticket, contact_id)


def _may_answer_a_ticket(conversation: Conversation) -> bool:
    """Cheap pre-check: only a mail that names a thread or a ticket token can answer one."""
    mail = conversation.mail
    prefix = conversation.tenant.ticket_prefix
    return bool(mail.thread_ids) or ticket_number_in_subject(mail.subject, prefix) is not None


def _verified(conversation: Conversation) -> bool:
    channel, mail = conversation.channel, conversation.mail
    if not channel.trust_staff_mail:
        return False
    return from_domain_authenticated(
        mail.authentication_results, channel.trusted_authserv_id, mail.sender
    )


async def _may_write(ctx: TenantContext, ticket: Ticket) -> bool:
    try:
        await get_ticket(ctx, ticket.id, for_write=True)
    except FrontdeskError:
        return False
    return True


async def _public_reply(
    conversation: Conversation, ctx: TenantContext, ticket: Ticket
) -> Delivered:
    mail = conversation.mail
    message, _ = await add_message(
        ctx,
        ticket,
        MessageCreate(
            body=mail_body(mail),
            body_html=mail.html[:MAX_BODY] if mail.html else None,
            external_message_id=mail.message_id,
        ),
        channel=Channel.EMAIL,
        email_headers=mail.headers | {VERIFICATION_KEY: "verified"},
    )
    notes = await store_files(conversation, ctx, ticket, message.id)
    notes.append(f"public reply by staff member {mail.sender}, verified by its server")
    return Delivered(InboundOutcome.APPENDED, ticket.id, message.id, notes=notes)


async def _note(
    conversation: Conversation,
    author: TenantContext,
    ticket: Ticket,
    staff: StaffSender,
    *,
    review: bool,
) -> Delivered:
    mail = conversation.mail
    heading = (
        f"[{NOT_VERIFIED}] From {mail.sender}, a staff member's address. Nothing proves the "
        "mail came from them, so it was not sent to the customer.\n\n"
    )
    message, _ = await add_message(
        author,
        ticket,
        MessageCreate(
            body=(heading + mail_body(mail))[:MAX_BODY],
            is_internal=True,
            # Filed by the intake when the agent may not write here: no user stands behind it.
            author_type="system" if review else None,
            external_message_id=mail.message_id,
        ),
        channel=Channel.EMAIL,
        email_headers=mail.headers | {VERIFICATION_KEY: NOT_VERIFIED},
    )
    notes = await store_files(conversation, author, ticket, message.id)
    await _tell_assignee(conversation, ticket, message.body_text)
    notes.append(f"internal note: {NOT_VERIFIED}")
    if review:
        notes.append(f"{mail.sender} may not write to ticket {ticket.number}")
    return Delivered(InboundOutcome.INTERNAL_NOTE, ticket.id, message.id, review, notes)


async def _tell_assignee(conversation: Conversation, ticket: Ticket, body: str) -> None:
    # Even when the From names the assignee: if it was forged, they are the one to know.
    if ticket.assignee_id is None:
        return
    display_id = f"{conversation.tenant.ticket_prefix}-{ticket.number}"
    await notify_users(
        conversation.session,
        tenant_id=ticket.tenant_id,
        user_ids=[ticket.assignee_id],
        kind=NotificationKind.MENTIONED,
        title=f"{display_id}: mail from {conversation.mail.sender} ({NOT_VERIFIED})",
        body=body[:500],
        ticket_id=ticket.id,
    )
