"""Edits of a policy or calendar move the clocks of open tickets, through the worker's job."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.sla.service.retarget import retarget_marked
from frontdesk.sla.service.sweep import sweep
from tests.sla.conftest import Desk
from tests.sla.test_sweep import count_events

NORMAL_TARGETS = [
    {"priority": "normal", "metric": "first_response", "minutes": 60},
    {"priority": "normal", "metric": "resolution", "minutes": 480},
]


def at(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


async def timeline(desk: Desk, ticket_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await desk.get(f"/tickets/{ticket_id}/audit"))["items"]
    return found


async def test_a_shorter_target_moves_due_at_and_the_breach_is_announced_at_it(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    policy = await desk.policy(targets=NORMAL_TARGETS, notify_breach=["admins"])
    ticket = await desk.ticket()
    first = (await desk.sla(ticket["id"]))["first_response"]
    started = at(first["started_at"])
    assert at(first["due_at"]) == started + timedelta(minutes=60)

    shorter = [dict(NORMAL_TARGETS[0], minutes=20), NORMAL_TARGETS[1]]
    await desk.patch(f"/sla/policies/{policy['id']}", {"targets": shorter})
    # The edit only marks the ticket: its clock moves when the worker's job runs.
    assert (await desk.sla(ticket["id"]))["first_response"]["due_at"] == first["due_at"]
    edited = started + timedelta(minutes=5)
    assert await retarget_marked(sessionmaker, now=edited) == 1
    assert await retarget_marked(sessionmaker, now=edited) == 0

    moved = (await desk.sla(ticket["id"]))["first_response"]
    assert moved["target_minutes"] == 20
    assert moved["status"] == "active"
    # Elapsed time kept: the 5 minutes before the edit count against the new 20.
    assert at(moved["due_at"]) == started + timedelta(minutes=20)
    assert (await desk.sla(ticket["id"]))["resolution"]["due_at"] is not None
    shown = await desk.get(f"/tickets/{ticket['id']}")
    assert at(shown["sla_next_due_at"]) == started + timedelta(minutes=20)
    entries = [e for e in await timeline(desk, ticket["id"]) if e["action"] == "sla_retargeted"]
    assert len(entries) == 1
    assert entries[0]["before"]["first_response"]["target_minutes"] == 60
    assert entries[0]["after"]["first_response"]["target_minutes"] == 20
    assert entries[0]["after"]["reason"] == "policy targets edited"
    assert await count_events(sessionmaker, ".sla.retargeted") == 1

    # At risk, then breached, at the new times, each announced once.
    assert await sweep(sessionmaker, now=started + timedelta(minutes=12)) == 0
    assert await sweep(sessionmaker, now=started + timedelta(minutes=19)) == 1
    assert await count_events(sessionmaker, ".sla.at_risk") == 1
    late = started + timedelta(minutes=21)
    assert await sweep(sessionmaker, now=late) == 1
    assert await sweep(sessionmaker, now=late) == 0
    assert await count_events(sessionmaker, ".sla.breached") == 1
    breached = (await desk.sla(ticket["id"]))["first_response"]
    assert breached["status"] == "breached"
    assert at(breached["breached_at"]) == started + timedelta(minutes=20)


async def test_edits_that_cannot_move_a_clock_mark_nothing(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    policy = await desk.policy(targets=NORMAL_TARGETS)
    await desk.ticket()
    await desk.patch(f"/sla/policies/{policy['id']}", {"name": "Renamed"})
    await desk.patch(f"/sla/policies/{policy['id']}", {"notify_breach": ["assignee"]})
    assert await retarget_marked(sessionmaker) == 0


async def test_new_conditions_move_tickets_to_another_policy(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await desk.policy(targets=NORMAL_TARGETS)
    gold = await desk.policy(
        name="Gold",
        is_default=False,
        position=1,
        conditions={"all": [{"field": "priority", "op": "is", "value": "urgent"}]},
        targets=[dict(target, minutes=10) for target in NORMAL_TARGETS],
    )
    ticket = await desk.ticket()
    assert (await desk.sla(ticket["id"]))["first_response"]["target_minutes"] == 60
    await desk.patch(
        f"/sla/policies/{gold['id']}",
        {"conditions": {"all": [{"field": "priority", "op": "is", "value": "normal"}]}},
    )
    assert await retarget_marked(sessionmaker) == 1
    clocks = await desk.sla(ticket["id"])
    assert clocks["first_response"]["policy_id"] == gold["id"]
    assert clocks["first_response"]["target_minutes"] == 10
    reasons = [
        e["after"]["reason"]
        for e in await timeline(desk, ticket["id"])
        if e["action"] == "sla_retargeted"
    ]
    assert reasons == ["policy conditions edited"]


async def test_a_calendar_edit_moves_the_clocks_on_it(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    week = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}
    calendar = await desk.post(
        "/sla/calendars",
        {"name": "Almost always", "timezone": "UTC", "schedule": week | {"sun": []}},
    )
    await desk.policy(targets=NORMAL_TARGETS, calendar_id=calendar["id"], business_hours_only=True)
    ticket = await desk.ticket()
    before = (await desk.sla(ticket["id"]))["resolution"]
    await desk.patch(f"/sla/calendars/{calendar['id']}", {"name": "Renamed"})
    assert await retarget_marked(sessionmaker) == 0
    closed = {day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    closed["sun"] = [["00:00", "01:00"]]
    await desk.patch(f"/sla/calendars/{calendar['id']}", {"schedule": closed})
    assert await retarget_marked(sessionmaker, now=at(before["started_at"])) == 1
    after = (await desk.sla(ticket["id"]))["resolution"]
    # One open hour a week: the 8-hour target now ends weeks later, on a Sunday.
    assert at(after["due_at"]) > at(before["due_at"]) + timedelta(days=40)
    assert at(after["due_at"]).weekday() == 6


async def test_concurrent_jobs_retarget_each_ticket_once(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    policy = await desk.policy(targets=NORMAL_TARGETS)
    tickets = [await desk.ticket() for _ in range(6)]
    shorter = [dict(NORMAL_TARGETS[0], minutes=30), NORMAL_TARGETS[1]]
    await desk.patch(f"/sla/policies/{policy['id']}", {"targets": shorter})
    done = await asyncio.gather(*(retarget_marked(sessionmaker, batch_size=2) for _ in range(3)))
    while sum(done) < len(tickets):
        more = await retarget_marked(sessionmaker, batch_size=2)
        assert more > 0
        done.append(more)
    assert await retarget_marked(sessionmaker) == 0
    for ticket in tickets:
        entries = [e for e in await timeline(desk, ticket["id"]) if e["action"] == "sla_retargeted"]
        assert len(entries) == 1
        assert (await desk.sla(ticket["id"]))["first_response"]["target_minutes"] == 30


async def test_a_new_policy_marks_the_open_tickets_and_takes_those_it_matches(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await desk.policy(targets=NORMAL_TARGETS)
    ticket = await desk.ticket()
    await desk.post(
        "/sla/policies",
        {
            "name": "Paused",
            "active": False,
            "targets": NORMAL_TARGETS,
            "conditions": {"all": [{"field": "priority", "op": "is", "value": "normal"}]},
        },
    )
    assert await retarget_marked(sessionmaker) == 0
    gold = await desk.policy(
        name="Gold",
        is_default=False,
        position=1,
        conditions={"all": [{"field": "priority", "op": "is", "value": "normal"}]},
        targets=[dict(target, minutes=10) for target in NORMAL_TARGETS],
    )
    # The creation only marks: the clock moves when the worker's job runs.
    assert (await desk.sla(ticket["id"]))["first_response"]["target_minutes"] == 60
    assert await retarget_marked(sessionmaker) == 1
    assert await retarget_marked(sessionmaker) == 0
    clocks = await desk.sla(ticket["id"])
    assert (clocks["first_response"]["policy_id"], clocks["first_response"]["target_minutes"]) == (
        gold["id"],
        10,
    )
    reasons = [
        e["after"]["reason"]
        for e in await timeline(desk, ticket["id"])
        if e["action"] == "sla_retargeted"
    ]
    assert reasons == ["policy created"]
    assert await count_events(sessionmaker, ".sla.retargeted") == 1


async def test_a_group_default_policy_change_moves_the_group_tickets_only(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await desk.policy(targets=NORMAL_TARGETS)
    fast = await desk.policy(
        name="Fast",
        is_default=False,
        targets=[dict(target, minutes=15) for target in NORMAL_TARGETS],
    )
    group = await desk.post("/groups", {"name": "Tier 2"})
    in_group = await desk.ticket(group_id=group["id"])
    elsewhere = await desk.ticket()
    assert await retarget_marked(sessionmaker) == 0
    await desk.patch(f"/groups/{group['id']}", {"description": "Second line"})
    assert await retarget_marked(sessionmaker) == 0

    await desk.patch(f"/groups/{group['id']}", {"default_sla_policy_id": fast["id"]})
    assert (await desk.sla(in_group["id"]))["first_response"]["target_minutes"] == 60
    assert await retarget_marked(sessionmaker) == 1
    moved = (await desk.sla(in_group["id"]))["first_response"]
    assert (moved["policy_id"], moved["target_minutes"]) == (fast["id"], 15)
    assert (await desk.sla(elsewhere["id"]))["first_response"]["target_minutes"] == 60
    reasons = [
        e["after"]["reason"]
        for e in await timeline(desk, in_group["id"])
        if e["action"] == "sla_retargeted"
    ]
    assert reasons == ["group default policy changed"]

    await desk.patch(f"/groups/{group['id']}", {"default_sla_policy_id": None})
    assert await retarget_marked(sessionmaker) == 1
    back = (await desk.sla(in_group["id"]))["first_response"]
    assert back["target_minutes"] == 60
