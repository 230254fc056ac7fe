"""Who else is on a ticket: CCs and followers, contacts or agents."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.errors import AlreadyExists, Conflict, NotFound
from frontdesk.core.repository import get_scoped, scoped
from frontdesk.identity.models import Contact, ContactEmail, Membership, User
from frontdesk.identity.repository import user_by_email
from frontdesk.identity.service.contacts import contact_for_email
from frontdesk.tickets.models import ParticipantRole, Ticket, TicketParticipant
from frontdesk.tickets.schemas import ParticipantCreate, ParticipantPublic
from frontdesk.tickets.service.timeline import audit


class RequesterIsFixed(Conflict):
    code = "requester_is_fixed"
    title = "Change the requester on the ticket itself"


async def list_participants(session: AsyncSession, ticket: Ticket) -> list[ParticipantPublic]:
    rows = (
        await session.scalars(
            scoped(TicketParticipant, ticket.tenant_id)
            .where(TicketParticipant.ticket_id == ticket.id)
            .order_by(TicketParticipant.role, TicketParticipant.id)
        )
    ).all()
    contact_ids = [p.contact_id for p in rows if p.contact_id is not None]
    user_ids = [p.user_id for p in rows if p.user_id is not None]
    contacts = {
        c.id: c
        for c in await session.scalars(
            scoped(Contact, ticket.tenant_id).where(Contact.id.in_(contact_ids))
        )
    }
    emails = dict(
        (
            await session.execute(
                select(ContactEmail.contact_id, ContactEmail.email).where(
                    ContactEmail.tenant_id == ticket.tenant_id,
                    ContactEmail.contact_id.in_(contact_ids),
                    ContactEmail.is_primary.is_(True),
                )
            )
        ).all()
    )
    users = {u.id: u for u in await session.scalars(select(User).where(User.id.in_(user_ids)))}
    return [_public(p, contacts, emails, users) for p in rows]


def _public(
    participant: TicketParticipant,
    contacts: dict[UUID, Contact],
    emails: dict[UUID, str],
    users: dict[UUID, User],
) -> ParticipantPublic:
    if participant.contact_id is not None:
        contact = contacts[participant.contact_id]
        name, email = contact.name, emails.get(contact.id)
    else:
        assert participant.user_id is not None
        user = users[participant.user_id]
        name, email = user.display_name, user.email
    return ParticipantPublic(
        id=participant.id,
        role=ParticipantRole(participant.role),
        contact_id=participant.contact_id,
        user_id=participant.user_id,
        name=name,
        email=email,
    )


async def _party(
    session: AsyncSession, tenant_id: UUID, data: ParticipantCreate
) -> tuple[str, UUID]:
    if data.contact_id is not None:
        try:
            await get_scoped(session, Contact, tenant_id, data.contact_id, what="contact")
        except NotFound as exc:
            raise NotFound("contact not found", field="contact_id") from exc
        return "contact", data.contact_id
    if data.user_id is not None:
        if await _member(session, tenant_id, data.user_id) is None:
            raise NotFound("user not found", field="user_id")
        return "user", data.user_id
    assert data.email is not None
    user = await user_by_email(session, data.email)
    if user is not None and await _member(session, tenant_id, user.id) is not None:
        return "user", user.id
    return "contact", await contact_for_email(session, tenant_id, data.email)


async def _member(session: AsyncSession, tenant_id: UUID, user_id: UUID) -> UUID | None:
    return await session.scalar(
        select(Membership.id).where(
            Membership.tenant_id == tenant_id, Membership.user_id == user_id
        )
    )


async def add_participant(
    session: AsyncSession, ticket: Ticket, data: ParticipantCreate
) -> TicketParticipant:
    kind, party_id = await _party(session, ticket.tenant_id, data)
    key = f"{kind}:{party_id}"
    existing = await session.scalar(
        scoped(TicketParticipant, ticket.tenant_id).where(
            TicketParticipant.ticket_id == ticket.id,
            TicketParticipant.role == data.role,
            TicketParticipant.party_key == key,
        )
    )
    if existing is not None:
        raise AlreadyExists(f"already a {data.role} of this ticket")
    participant = TicketParticipant(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        role=data.role,
        contact_id=party_id if kind == "contact" else None,
        user_id=party_id if kind == "user" else None,
        party_key=key,
    )
    session.add(participant)
    audit(
        session,
        ticket,
        "participant_added",
        field=data.role,
        after=key,
        internal=data.role == ParticipantRole.FOLLOWER.value or kind == "user",
    )
    await session.flush()
    return participant


async def remove_participant(session: AsyncSession, ticket: Ticket, participant_id: UUID) -> None:
    participant = await get_scoped(
        session, TicketParticipant, ticket.tenant_id, participant_id, what="participant"
    )
    if participant.ticket_id != ticket.id:
        raise NotFound("participant not found")
    if participant.role == ParticipantRole.REQUESTER:
        raise RequesterIsFixed()
    audit(
        session,
        ticket,
        "participant_removed",
        field=participant.role,
        before=participant.party_key,
        internal=participant.role == ParticipantRole.FOLLOWER or participant.user_id is not None,
    )
    await session.delete(participant)
    await session.flush()
