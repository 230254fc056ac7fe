"""Who gets a ticket's mail: its customers (requester and cc's) or its staff."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.identity.models import Contact, ContactEmail, GroupMember, User
from frontdesk.tickets.models import ParticipantRole, Ticket, TicketParticipant


@dataclass(frozen=True)
class Recipient:
    address: str
    name: str
    user_id: UUID | None = None
    contact_id: UUID | None = None
    locale: str | None = None
    #: A contact's portal login: the preferences they set there are theirs.
    portal_user_id: UUID | None = None


async def customers(session: AsyncSession, ticket: Ticket) -> list[Recipient]:
    """The requester and cc contacts, each at their primary address."""
    rows = await session.execute(
        select(Contact.id, Contact.name, ContactEmail.email, Contact.user_id)
        .join(
            TicketParticipant,
            (TicketParticipant.tenant_id == Contact.tenant_id)
            & (TicketParticipant.contact_id == Contact.id),
        )
        .join(
            ContactEmail,
            (ContactEmail.tenant_id == Contact.tenant_id)
            & (ContactEmail.contact_id == Contact.id)
            & ContactEmail.is_primary.is_(True),
        )
        .where(
            TicketParticipant.tenant_id == ticket.tenant_id,
            TicketParticipant.ticket_id == ticket.id,
            TicketParticipant.role.in_([ParticipantRole.REQUESTER.value, ParticipantRole.CC.value]),
        )
        .order_by(TicketParticipant.role.desc(), Contact.id)
    )
    found: dict[str, Recipient] = {}
    for contact_id, name, email, user_id in rows:
        found.setdefault(
            email, Recipient(email, name, contact_id=contact_id, portal_user_id=user_id)
        )
    return list(found.values())


async def users(session: AsyncSession, user_ids: list[UUID]) -> list[Recipient]:
    if not user_ids:
        return []
    rows = await session.scalars(
        select(User).where(User.id.in_(set(user_ids)), User.is_active.is_(True)).order_by(User.id)
    )
    return [Recipient(u.email, u.display_name, user_id=u.id, locale=u.locale) for u in rows]


async def staff_of(session: AsyncSession, ticket: Ticket) -> list[UUID]:
    """The assignee, else the group's members; plus the ticket's staff followers and cc's."""
    ids: list[UUID] = []
    if ticket.assignee_id is not None:
        ids.append(ticket.assignee_id)
    elif ticket.group_id is not None:
        ids += await group_members(session, ticket.tenant_id, ticket.group_id)
    followers = await session.scalars(
        select(TicketParticipant.user_id).where(
            TicketParticipant.tenant_id == ticket.tenant_id,
            TicketParticipant.ticket_id == ticket.id,
            TicketParticipant.user_id.is_not(None),
        )
    )
    ids += [user_id for user_id in followers if user_id is not None]
    return list(dict.fromkeys(ids))


async def group_members(
    session: AsyncSession, tenant_id: UUID, group_id: UUID | None
) -> list[UUID]:
    if group_id is None:
        return []
    rows = await session.scalars(
        select(GroupMember.user_id)
        .where(GroupMember.tenant_id == tenant_id, GroupMember.group_id == group_id)
        .order_by(GroupMember.id)
    )
    return list(rows)
