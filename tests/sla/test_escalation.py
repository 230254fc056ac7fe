"""A breach escalates as its policy says, audited and evented, and tells the notify roles."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.events import OutboxEvent
from frontdesk.notifications.models import Notification
from frontdesk.sla.service.sweep import sweep
from tests.sla.conftest import Desk


def at(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


async def group_with(desk: Desk, name: str, members: dict[str, str]) -> dict[str, Any]:
    """A group; `members` maps a world role (`agent`...) to its group role (`agent`, `lead`)."""
    group: dict[str, Any] = await desk.post("/groups", {"name": name})
    for person, role in members.items():
        user_id = str(desk.world.a[person].user_id)
        await desk.post(f"/groups/{group['id']}/members", {"user_id": user_id, "role": role})
    return group


async def breach(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession], ticket: dict[str, Any]
) -> None:
    first = (await desk.sla(ticket["id"]))["first_response"]
    assert await sweep(sessionmaker, now=at(first["due_at"]) + timedelta(seconds=1)) >= 1


async def ticket_events(
    sessionmaker: async_sessionmaker[AsyncSession], ticket_id: str, suffix: str
) -> list[OutboxEvent]:
    async with sessionmaker() as session:
        found = await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.subject_id == UUID(ticket_id), OutboxEvent.type.endswith(suffix))
            .order_by(OutboxEvent.id)
        )
        return list(found.all())


async def breach_notices(sessionmaker: async_sessionmaker[AsyncSession]) -> set[UUID]:
    async with sessionmaker() as session:
        found = await session.scalars(
            select(Notification.user_id).where(Notification.kind == "sla_breached")
        )
        return set(found.all())


async def test_move_to_group_and_assign_are_applied_audited_and_evented(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tier1 = await group_with(desk, "Tier 1", {"light_agent": "agent"})
    tier2 = await group_with(desk, "Tier 2", {"agent": "agent", "admin": "lead"})
    agent = str(desk.world.a["agent"].user_id)
    await desk.policy(
        notify_breach=["assignee"],
        escalation=[
            {"action": "move_to_group", "group_id": tier2["id"]},
            {"action": "assign", "user_id": agent},
            {"action": "raise_priority"},
        ],
    )
    ticket = await desk.ticket(group_id=tier1["id"])
    await breach(desk, sessionmaker, ticket)

    shown = await desk.get(f"/tickets/{ticket['id']}")
    assert (shown["group_id"], shown["assignee_id"]) == (tier2["id"], agent)
    assert shown["priority"] == "high"
    audit = (await desk.get(f"/tickets/{ticket['id']}/audit"))["items"]
    changed = {(e["action"], e["field"]): e for e in audit}
    assert changed[("assigned", "group_id")]["after"] == tier2["id"]
    assert changed[("assigned", "assignee_id")]["after"] == agent
    assert changed[("field_changed", "priority")]["after"] == "high"
    assert ("sla_breached", "sla") in changed
    (updated,) = await ticket_events(sessionmaker, ticket["id"], ".ticket.updated")
    assert updated.actor == "system:sla"
    assert updated.delta["group_id"] == [tier1["id"], tier2["id"]]
    assert updated.delta["assignee_id"] == [None, agent]
    assert updated.delta["priority"] == ["normal", "high"]
    # The raised priority re-targeted the clocks, on the timeline too.
    assert ("sla_retargeted", "sla") in changed
    # A second sweep finds nothing more to say or do.
    first = (await desk.sla(ticket["id"]))["first_response"]
    assert await sweep(sessionmaker, now=at(first["due_at"]) + timedelta(seconds=2)) == 0
    assert len(await ticket_events(sessionmaker, ticket["id"], ".ticket.updated")) == 1


async def test_an_assign_escalation_that_no_longer_fits_is_skipped(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tier1 = await group_with(desk, "Tier 1", {"agent": "agent"})
    await desk.policy(
        escalation=[
            {"action": "assign", "user_id": str(desk.world.a["light_agent"].user_id)},
            {"action": "add_tag", "tag": "escalated"},
        ],
    )
    ticket = await desk.ticket(group_id=tier1["id"])
    await breach(desk, sessionmaker, ticket)
    shown = await desk.get(f"/tickets/{ticket['id']}")
    # The light agent is not in the group: the assignment is refused, the rest applied.
    assert shown["assignee_id"] is None
    assert shown["tags"] == ["escalated"]
    assert (await desk.sla(ticket["id"]))["first_response"]["status"] == "breached"


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("assignee", {"agent"}),
        ("group_leads", {"admin"}),
        ("admins", {"owner", "admin"}),
        ("followers", {"light_agent"}),
    ],
)
async def test_each_notify_role_gets_the_breach_notice(
    desk: Desk,
    sessionmaker: async_sessionmaker[AsyncSession],
    role: str,
    expected: set[str],
) -> None:
    group = await group_with(desk, "Tier 1", {"agent": "agent", "admin": "lead"})
    await desk.policy(notify_breach=[role])
    agent = str(desk.world.a["agent"].user_id)
    ticket = await desk.ticket(group_id=group["id"], assignee_id=agent)
    follower = {"role": "follower", "user_id": str(desk.world.a["light_agent"].user_id)}
    await desk.post(f"/tickets/{ticket['id']}/participants", follower)
    await breach(desk, sessionmaker, ticket)
    assert await breach_notices(sessionmaker) == {desk.world.a[p].user_id for p in expected}
    inbox = await desk.get("/notifications", desk.world.a[sorted(expected)[0]].auth)
    (notice,) = [n for n in inbox["items"] if n["kind"] == "sla_breached"]
    assert notice["ticket_id"] == ticket["id"]
    assert "first response SLA breached" in notice["title"]
    async with sessionmaker() as session:
        (event,) = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.type.endswith(".sla.breached"))
        )
    assert (event.snapshot["ticket_id"], event.snapshot["metric"]) == (
        ticket["id"],
        "first_response",
    )
