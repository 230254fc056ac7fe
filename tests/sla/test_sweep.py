"""The worker's sweep announces at-risk and breached clocks once, notifies and escalates."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.events import OutboxEvent
from frontdesk.notifications.models import Notification
from frontdesk.sla import repository
from frontdesk.sla.service.sweep import sweep
from frontdesk.tickets.models import Ticket
from tests.sla.conftest import Desk


def at(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


async def count_events(sessionmaker: async_sessionmaker[AsyncSession], suffix: str) -> int:
    async with sessionmaker() as session:
        found = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type.endswith(suffix))
        )
    return int(found or 0)


async def notices(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[Any, str]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Notification.user_id, Notification.kind).order_by(Notification.created_at)
        )
    return [(user_id, kind) for user_id, kind in rows.all()]


async def escalating_ticket(desk: Desk) -> tuple[dict[str, Any], dict[str, Any]]:
    group = await desk.post("/groups", {"name": "Tier 2"})
    agent = desk.world.a["agent"]
    admin = desk.world.a["admin"]
    await desk.post(f"/groups/{group['id']}/members", {"user_id": str(agent.user_id)})
    await desk.post(
        f"/groups/{group['id']}/members", {"user_id": str(admin.user_id), "role": "lead"}
    )
    await desk.policy(
        at_risk_percent=50,
        notify_at_risk=["assignee"],
        notify_breach=["assignee", "group_leads"],
        escalation=[
            {"action": "raise_priority"},
            {"action": "add_tag", "tag": "escalated"},
            {"action": "add_internal_note", "body": "SLA breached: take a look."},
        ],
    )
    ticket = await desk.ticket(group_id=group["id"], assignee_id=str(agent.user_id))
    return ticket, await desk.sla(ticket["id"])


async def test_at_risk_then_breach_each_announced_once(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ticket, clocks = await escalating_ticket(desk)
    first = clocks["first_response"]
    assert at(first["at_risk_at"]) == at(first["started_at"]) + timedelta(minutes=30)
    agent, lead = desk.world.a["agent"].user_id, desk.world.a["admin"].user_id

    assert await sweep(sessionmaker, now=at(first["started_at"]) + timedelta(minutes=10)) == 0
    risky = at(first["at_risk_at"]) + timedelta(seconds=1)
    assert await sweep(sessionmaker, now=risky) == 1
    assert await sweep(sessionmaker, now=risky) == 0
    assert await count_events(sessionmaker, ".sla.at_risk") == 1
    assert await notices(sessionmaker) == [(agent, "sla_at_risk")]
    assert (await desk.sla(ticket["id"]))["first_response"]["at_risk_notified_at"] is not None
    shown = await desk.get(f"/tickets/{ticket['id']}")
    assert shown["sla_breached"] is False

    late = at(first["due_at"]) + timedelta(seconds=1)
    assert await sweep(sessionmaker, now=late) == 1
    assert await sweep(sessionmaker, now=late + timedelta(minutes=1)) == 0
    assert await count_events(sessionmaker, ".sla.breached") == 1
    assert sorted(
        map(str, [u for u, kind in await notices(sessionmaker) if kind == "sla_breached"])
    ) == sorted([str(agent), str(lead)])
    after = await desk.sla(ticket["id"])
    assert after["first_response"]["status"] == "breached"
    assert at(after["first_response"]["breached_at"]) == at(first["due_at"])
    # Escalated through the tickets services: priority raised, tagged, noted, all audited.
    shown = await desk.get(f"/tickets/{ticket['id']}")
    assert shown["priority"] == "high"
    assert "escalated" in shown["tags"]
    assert shown["sla_breached"] is True
    messages = await desk.get(f"/tickets/{ticket['id']}/messages")
    assert [m["author_type"] for m in messages["items"]] == ["system"]
    assert messages["items"][0]["is_internal"] is True
    timeline = [e["action"] for e in (await desk.get(f"/tickets/{ticket['id']}/audit"))["items"]]
    assert "sla_breached" in timeline
    assert "tag_added" in timeline
    assert (await desk.get("/tickets?sla_breached=true"))["items"][0]["id"] == ticket["id"]
    # Met late: still counted as a breach.
    await desk.post(f"/tickets/{ticket['id']}/messages", {"body": "Sorry!"}, desk.agent)
    first_after = (await desk.sla(ticket["id"]))["first_response"]
    assert first_after["status"] == "breached"
    assert first_after["met_at"] is not None


async def test_a_sweep_after_downtime_announces_only_the_breach(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ticket, clocks = await escalating_ticket(desk)
    resolution = clocks["resolution"]
    much_later = at(resolution["due_at"]) + timedelta(days=2)
    assert await sweep(sessionmaker, now=much_later) == 2  # first response and resolution
    assert await sweep(sessionmaker, now=much_later) == 0
    assert await count_events(sessionmaker, ".sla.at_risk") == 0
    assert await count_events(sessionmaker, ".sla.breached") == 2
    after = await desk.sla(ticket["id"])
    # Both were late at the catch-up: each breached at its own due time. The escalation that
    # follows raised the priority, re-targeting the (still breached) resolution clock.
    assert at(after["resolution"]["breached_at"]) == at(resolution["due_at"])
    assert after["resolution"]["status"] == "breached"
    assert after["resolution"]["target_minutes"] == 240


async def test_concurrent_sweeps_never_announce_twice(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await desk.policy(notify_breach=["admins"])
    tickets = [await desk.ticket() for _ in range(12)]
    later = datetime.fromisoformat(tickets[-1]["created_at"]) + timedelta(days=1)
    handled = await asyncio.gather(
        *(sweep(sessionmaker, now=later, batch_size=5) for _ in range(4))
    )
    while sum(handled) < 24:
        more = await asyncio.gather(
            *(sweep(sessionmaker, now=later, batch_size=5) for _ in range(2))
        )
        assert sum(more) > 0
        handled += more
    assert sum(handled) == 24
    assert await count_events(sessionmaker, ".sla.breached") == 24
    admins = {desk.world.a["owner"].user_id, desk.world.a["admin"].user_id}
    assert len(await notices(sessionmaker)) == 24 * len(admins)


async def test_a_ticket_being_written_is_left_to_the_next_sweep(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    """A request holds its ticket's row while it writes the ticket and then its clocks; the
    sweep claims clock and ticket together and skips what is held instead of waiting for it
    (waiting while holding the clock is how the two would deadlock)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks need PostgreSQL (SQLite serializes writers)")
    await desk.policy(notify_breach=["admins"])
    busy, free = await desk.ticket(), await desk.ticket()
    later = datetime.fromisoformat(free["created_at"]) + timedelta(days=1)
    async with sessionmaker() as writer, writer.begin():
        await writer.execute(
            select(Ticket.id).where(Ticket.id == UUID(busy["id"])).with_for_update()
        )
        handled = await asyncio.wait_for(sweep(sessionmaker, now=later), timeout=60)
        assert handled == 2
        assert (await desk.sla(busy["id"]))["resolution"]["breached_at"] is None
        assert (await desk.sla(free["id"]))["resolution"]["breached_at"] is not None
    assert await sweep(sessionmaker, now=later) == 2
    assert await count_events(sessionmaker, ".sla.breached") == 4


async def test_the_batch_reads_each_tenants_rules_fingerprint_as_a_lone_read_would(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await desk.policy()
    tenants = [desk.world.a.id, desk.world.b.id]
    async with sessionmaker() as session:
        together = await repository.rules_fingerprints(session, tenants)
        alone = {t: await repository.rules_fingerprint(session, t) for t in tenants}
    assert together == alone
    assert together[desk.world.a.id] != together[desk.world.b.id]  # a has a policy, b none
