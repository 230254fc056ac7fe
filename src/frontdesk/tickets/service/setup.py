"""What a new tenant needs before its first ticket."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.tickets.models import TicketNumberSequence
from frontdesk.tickets.service.statuses import seed_default_statuses


async def prepare_ticketing(session: AsyncSession, tenant_id: UUID) -> None:
    """Seed the default statuses and the ticket number sequence of a new tenant."""
    await seed_default_statuses(session, tenant_id)
    session.add(TicketNumberSequence(tenant_id=tenant_id, last_number=0))
    await session.flush()
