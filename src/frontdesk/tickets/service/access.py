"""Sharing a ticket with another group, for reading or for working it."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.errors import NotFound
from frontdesk.core.repository import get_scoped, scoped
from frontdesk.tickets.models import Ticket, TicketAccess
from frontdesk.tickets.schemas import AccessCreate
from frontdesk.tickets.service.assignment import check_group
from frontdesk.tickets.service.timeline import audit


async def list_grants(session: AsyncSession, ticket: Ticket) -> list[TicketAccess]:
    statement = scoped(TicketAccess, ticket.tenant_id).where(TicketAccess.ticket_id == ticket.id)
    return list((await session.scalars(statement.order_by(TicketAccess.id))).all())


async def grant(session: AsyncSession, ticket: Ticket, data: AccessCreate) -> TicketAccess:
    """Grant (or change) a group's access; granting again updates the level."""
    await check_group(session, ticket.tenant_id, data.group_id)
    existing = await session.scalar(
        scoped(TicketAccess, ticket.tenant_id).where(
            TicketAccess.ticket_id == ticket.id, TicketAccess.group_id == data.group_id
        )
    )
    before = existing.level if existing else None
    if existing is None:
        existing = TicketAccess(
            tenant_id=ticket.tenant_id,
            ticket_id=ticket.id,
            group_id=data.group_id,
            level=data.level,
        )
        session.add(existing)
    existing.level = data.level.value
    if before != existing.level:
        audit(
            session,
            ticket,
            "access_granted",
            field=str(data.group_id),
            before=before,
            after=existing.level,
            internal=True,
        )
    await session.flush()
    return existing


async def revoke(session: AsyncSession, ticket: Ticket, grant_id: UUID) -> None:
    found = await get_scoped(session, TicketAccess, ticket.tenant_id, grant_id, what="access grant")
    if found.ticket_id != ticket.id:
        raise NotFound("access grant not found")
    audit(
        session,
        ticket,
        "access_revoked",
        field=str(found.group_id),
        before=found.level,
        internal=True,
    )
    await session.delete(found)
    await session.flush()
