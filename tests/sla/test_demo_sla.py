"""The demo desk shows SLA clocks in every state."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.db import transaction
from frontdesk.demo import load_demo
from frontdesk.sla.models import SlaCalendar, SlaPolicy, TicketSlaState
from frontdesk.tickets.models import Ticket

NOW = datetime(2026, 3, 16, 15, 30, tzinfo=UTC)


async def test_the_demo_has_calendars_policies_and_every_sla_state(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with transaction(sessionmaker, actor="system:test") as session:
        assert await load_demo(session, store=app.state.blob_store, tickets=80, now=NOW)
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(SlaCalendar)) == 2
        assert await session.scalar(select(func.count()).select_from(SlaPolicy)) == 2
        rows = await session.execute(
            select(TicketSlaState.status, func.count()).group_by(TicketSlaState.status)
        )
        by_status = dict(rows.all())
        assert set(by_status) == {"active", "paused", "met", "breached", "cancelled"}, by_status
        met_late = await session.scalar(
            select(func.count())
            .select_from(TicketSlaState)
            .where(TicketSlaState.met_at.is_not(None), TicketSlaState.breached_at.is_not(None))
        )
        assert met_late
        flagged = await session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.sla_breached.is_(True))
        )
        assert flagged
        at_risk = await session.scalar(
            select(func.count())
            .select_from(TicketSlaState)
            .where(TicketSlaState.at_risk_notified_at.is_not(None))
        )
        assert at_risk is not None
