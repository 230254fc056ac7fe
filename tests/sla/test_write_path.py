"""The ticket write path keeps the SLA clocks and the ticket's SLA summary exactly in step, and
writes the ticket row once per change: the summary rides in the ticket's own INSERT or UPDATE."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from frontdesk.core.events import OutboxEvent
from frontdesk.sla.models import TicketSlaState
from frontdesk.tickets.models import Ticket, TicketAudit
from tests.identity.test_query_counts import statements_of
from tests.sla.conftest import Desk

Maker = async_sessionmaker[AsyncSession]


def _ticket_writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith(("UPDATE ticket ", "INSERT INTO ticket ("))]


async def _stored(maker: Maker, ticket_id: str) -> tuple[Ticket, list[TicketSlaState]]:
    async with maker() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.id == UUID(ticket_id)))
        clocks = await session.scalars(
            select(TicketSlaState).where(TicketSlaState.ticket_id == UUID(ticket_id))
        )
        assert ticket is not None
        return ticket, list(clocks)


def _expected_summary(clocks: list[TicketSlaState]) -> dict[str, Any]:
    """Worked out here from the stored clocks, independently of the engine's code."""
    running = [
        c for c in clocks if c.status in ("active", "paused", "breached") and c.met_at is None
    ]
    dues: list[datetime] = [c.due_at for c in running if c.due_at is not None]
    risks: list[datetime] = [c.at_risk_at for c in running if c.due_at and c.at_risk_at]
    return {
        "sla_next_due_at": min(dues, default=None),
        "sla_at_risk_at": min(risks, default=None),
        "sla_breached": any(
            c.breached_at is not None and c.status != "cancelled" and c.met_at is None
            for c in clocks
        ),
    }


async def _check(maker: Maker, ticket_id: str) -> dict[str, TicketSlaState]:
    ticket, clocks = await _stored(maker, ticket_id)
    stored = {
        "sla_next_due_at": ticket.sla_next_due_at,
        "sla_at_risk_at": ticket.sla_at_risk_at,
        "sla_breached": ticket.sla_breached,
    }
    assert stored == _expected_summary(clocks)
    return {clock.metric: clock for clock in clocks}


async def _written_once(
    engine: AsyncEngine, maker: Maker, ticket_id: str, change: Callable[[], Awaitable[Any]]
) -> dict[str, TicketSlaState]:
    """Run one change; the ticket row is written by exactly one statement, and its summary is
    the one its clocks give."""
    with statements_of(engine) as statements:
        await change()
    assert len(_ticket_writes(statements)) == 1, _ticket_writes(statements)
    return await _check(maker, ticket_id)


async def test_create_writes_the_ticket_once_with_its_summary(
    desk: Desk, engine: AsyncEngine, sessionmaker: Maker
) -> None:
    await desk.policy(at_risk_percent=50)
    group = await desk.post("/groups", {"name": "Desk"})
    made: dict[str, Any] = {}

    async def create() -> None:
        made.update(await desk.ticket(group_id=group["id"], tags=["a"]))

    with statements_of(engine) as statements:
        await create()
    assert len(_ticket_writes(statements)) == 1, _ticket_writes(statements)
    clocks = await _check(sessionmaker, made["id"])
    assert set(clocks) == {"first_response", "resolution"}
    ticket, _ = await _stored(sessionmaker, made["id"])
    assert ticket.sla_next_due_at == clocks["first_response"].due_at
    assert ticket.sla_at_risk_at is not None
    assert ticket.group_id == UUID(group["id"])
    # The API shows the same summary the row holds.
    shown = await desk.get(f"/tickets/{made['id']}")
    assert shown["version"] == ticket.version
    assert datetime.fromisoformat(shown["sla_next_due_at"]) == ticket.sla_next_due_at


async def test_every_kind_of_change_keeps_the_summary_exact(
    desk: Desk, engine: AsyncEngine, sessionmaker: Maker
) -> None:
    await desk.policy()
    vip = await desk.policy(
        name="VIP",
        is_default=False,
        position=1,
        conditions={"all": [{"field": "tags", "op": "contains", "value": "vip"}]},
        targets=[
            {"priority": "high", "metric": "first_response", "minutes": 15},
            {"priority": "high", "metric": "resolution", "minutes": 100},
        ],
    )
    group = await desk.post("/groups", {"name": "Desk"})
    ticket = await desk.ticket()
    tid, path = ticket["id"], f"/tickets/{ticket['id']}"
    messages = f"{path}/messages"

    clocks = await _written_once(
        engine, sessionmaker, tid, lambda: desk.patch(path, {"priority": "high"})
    )
    assert clocks["first_response"].target_minutes == 30
    clocks = await _written_once(
        engine, sessionmaker, tid, lambda: desk.patch(path, {"group_id": group["id"]})
    )
    assert clocks["resolution"].group_id == UUID(group["id"])
    clocks = await _written_once(
        engine, sessionmaker, tid, lambda: desk.patch(path, {"tags": ["vip"]})
    )
    assert clocks["first_response"].policy_id == UUID(vip["id"])
    assert clocks["resolution"].target_minutes == 100
    clocks = await _written_once(engine, sessionmaker, tid, lambda: desk.patch(path, {"tags": []}))
    assert clocks["resolution"].target_minutes == 240  # the default policy again
    clocks = await _written_once(
        engine, sessionmaker, tid, lambda: desk.patch(path, {"priority": "normal"})
    )
    assert clocks["resolution"].target_minutes == 480
    clocks = await _written_once(
        engine, sessionmaker, tid, lambda: desk.patch(path, {"status": "pending_customer"})
    )
    assert clocks["resolution"].status == "paused"
    assert (await _stored(sessionmaker, tid))[0].sla_next_due_at is None
    clocks = await _written_once(
        engine, sessionmaker, tid, lambda: desk.patch(path, {"status": "open"})
    )
    assert clocks["resolution"].status == "active"
    clocks = await _written_once(
        engine, sessionmaker, tid, lambda: desk.post(messages, {"body": "Looking."})
    )
    assert clocks["first_response"].status == "met"
    clocks = await _written_once(
        engine, sessionmaker, tid, lambda: desk.post(messages, {"body": "Any news?"}, desk.contact)
    )
    assert clocks["next_response"].status == "active"
    clocks = await _written_once(
        engine, sessionmaker, tid, lambda: desk.patch(path, {"status": "resolved"})
    )
    assert clocks["resolution"].status == "met"
    assert clocks["next_response"].status == "cancelled"
    assert (await _stored(sessionmaker, tid))[0].sla_next_due_at is None
    clocks = await _written_once(
        engine,
        sessionmaker,
        tid,
        lambda: desk.post(messages, {"body": "Still broken"}, desk.contact),
    )
    assert clocks["resolution"].status == "active"
    assert clocks["resolution"].met_at is None


async def test_tags_and_deletion_through_their_own_routes(
    desk: Desk, engine: AsyncEngine, sessionmaker: Maker
) -> None:
    await desk.policy()
    await desk.policy(
        name="VIP",
        is_default=False,
        position=1,
        conditions={"all": [{"field": "tags", "op": "contains", "value": "vip"}]},
        targets=[{"priority": "normal", "metric": "resolution", "minutes": 30}],
    )
    ticket = await desk.ticket()
    tid, path = ticket["id"], f"/tickets/{ticket['id']}"
    clocks = await _written_once(
        engine, sessionmaker, tid, lambda: desk.post(f"{path}/tags", {"tag": "vip"})
    )
    assert clocks["resolution"].target_minutes == 30

    async def delete() -> None:
        response = await desk.client.delete(f"/api/v1/tenants/acme{path}", headers=desk.owner)
        assert response.status_code in (200, 204), response.text

    clocks = await _written_once(engine, sessionmaker, tid, delete)
    assert clocks["resolution"].status == "paused"


async def _timeline_and_events(maker: Maker, ticket_id: str) -> tuple[int, int]:
    async with maker() as session:
        audits = await session.scalars(
            select(TicketAudit.id).where(TicketAudit.ticket_id == UUID(ticket_id))
        )
        events = await session.scalars(
            select(OutboxEvent.id).where(OutboxEvent.subject_id == UUID(ticket_id))
        )
        return len(list(audits)), len(list(events))


async def test_a_bulk_change_writes_each_ticket_once_and_drops_a_failed_one_whole(
    desk: Desk, engine: AsyncEngine, sessionmaker: Maker
) -> None:
    await desk.policy()
    agent_id = str(desk.world.a["agent"].user_id)
    mine = await desk.post("/groups", {"name": "Mine"})
    await desk.post(f"/groups/{mine['id']}/members", {"user_id": agent_id, "role": "agent"})
    other = await desk.post("/groups", {"name": "Other"})
    first = await desk.ticket(group_id=mine["id"])
    refused = await desk.ticket(group_id=other["id"])
    last = await desk.ticket(group_id=mine["id"])
    ids = [first["id"], refused["id"], last["id"]]
    before = {tid: await _stored(sessionmaker, tid) for tid in ids}
    trail = {tid: await _timeline_and_events(sessionmaker, tid) for tid in ids}
    # The status change is applied before the assignment, which fails for the other group.
    body = {
        "ticket_ids": ids,
        "changes": {"status": "pending_customer", "assignee_id": agent_id, "priority": "high"},
    }
    with statements_of(engine) as statements:
        answer = await desk.post("/tickets/bulk", body)
    results = {result["id"]: result for result in answer["results"]}
    assert [results[tid]["ok"] for tid in ids] == [True, False, True]
    assert results[refused["id"]]["status"] == 422
    assert results[refused["id"]]["code"] == "not_assignable"
    assert len(_ticket_writes(statements)) == 2
    assert len([s for s in statements if s.startswith("SELECT ticket_sla_state.")]) == 1
    assert len([s for s in statements if s.startswith("INSERT INTO ticket_audit")]) == 1
    assert len([s for s in statements if s.startswith("INSERT INTO event_outbox")]) == 1
    for tid in (first["id"], last["id"]):
        clocks = await _check(sessionmaker, tid)
        assert {clock.status for clock in clocks.values()} == {"paused"}
        assert clocks["first_response"].target_minutes == 30
        ticket, _ = await _stored(sessionmaker, tid)
        assert (ticket.status_category, ticket.priority) == ("pending", "high")
        assert str(ticket.assignee_id) == agent_id
        assert ticket.version == results[tid]["version"] == before[tid][0].version + 1
        audits, events = await _timeline_and_events(sessionmaker, tid)
        assert audits > trail[tid][0]
        assert events == trail[tid][1] + 1
    # The refused ticket is exactly as it was: row, clocks, timeline and events.
    ticket, clocks = await _stored(sessionmaker, refused["id"])
    was, clocks_were = before[refused["id"]]
    assert (ticket.status_id, ticket.priority, ticket.assignee_id, ticket.version) == (
        was.status_id,
        was.priority,
        was.assignee_id,
        was.version,
    )
    assert ticket.sla_next_due_at == was.sla_next_due_at
    assert [(c.status, c.due_at, c.target_minutes) for c in clocks] == [
        (c.status, c.due_at, c.target_minutes) for c in clocks_were
    ]
    assert await _timeline_and_events(sessionmaker, refused["id"]) == trail[refused["id"]]
