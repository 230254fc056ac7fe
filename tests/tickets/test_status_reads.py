"""The tenant's statuses are read once per unit of work, and never go stale within it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.tickets.models import StatusCategory
from frontdesk.tickets.repository import statuses_by_id
from frontdesk.tickets.schemas import StatusCreate
from frontdesk.tickets.service.statuses import create_status, delete_status
from tests.factories import World


async def test_statuses_are_read_once_and_follow_additions_and_deletions(
    sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    tenant_id = world.a.id
    async with sessionmaker() as session:
        first = await statuses_by_id(session, tenant_id)
        assert await statuses_by_id(session, tenant_id) is first
        assert {s.key for s in first.values()} >= {"new", "open", "closed"}

        triage = await create_status(
            session,
            tenant_id,
            StatusCreate(key="triage", label="Triage", category=StatusCategory.OPEN),
        )
        await session.flush()
        after_add = await statuses_by_id(session, tenant_id)
        assert triage.id in after_add

        await delete_status(session, triage)
        await session.flush()
        assert triage.id not in await statuses_by_id(session, tenant_id)
        # Another tenant's statuses are their own.
        other = await statuses_by_id(session, world.b.id)
        assert not set(other) & set(await statuses_by_id(session, tenant_id))
        await session.rollback()
