"""The batched escalation path leaves exactly what the per-ticket path leaves, ticket by ticket."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.db import transaction
from frontdesk.core.events import OutboxEvent
from frontdesk.sla.models import TicketSlaState
from frontdesk.sla.service.sweep import SWEEP_ACTOR, sweep
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.models import Ticket, TicketAssignment, TicketAudit, TicketMessage
from frontdesk.tickets.service.system import SystemChange, apply_system_change
from frontdesk.tickets.service.system_batch import apply_system_changes
from tests.sla.conftest import Desk
from tests.sla.test_escalation import group_with, ticket_events

#: A new ticket's version: its row is written once when it is created.
CREATED_VERSION = 1

#: Values that differ between two runs by the clock alone, and the version, which the
#: per-ticket path moves once per intermediate flush and the batched path once per change.
MOMENTS = frozenset(
    {
        "occurred_at",
        "created_at",
        "updated_at",
        "last_message_at",
        "sla_next_due_at",
        "due_at",
        "at_risk_at",
        "breached_at",
        "started_at",
        "number",
        "version",
    }
)


def scrub(value: Any, names: dict[str, str]) -> Any:
    """The value with each ticket's own ids and numbers named, and clock readings left out."""
    if isinstance(value, dict):
        return {k: scrub(v, names) for k, v in value.items() if k not in MOMENTS}
    if isinstance(value, list):
        return [scrub(v, names) for v in value]
    if isinstance(value, UUID):
        return names.get(str(value), value)
    if isinstance(value, str):
        return names.get(value, value)
    return value


async def trace(sessionmaker: async_sessionmaker[AsyncSession], ticket_id: str) -> dict[str, Any]:
    """Everything the change left on one ticket, comparable with another ticket's."""
    async with sessionmaker() as session:
        tenant = await session.get(Tenant, await _tenant_id(session))
        assert tenant is not None
        ticket = await session.get(Ticket, (tenant.id, UUID(ticket_id)))
        assert ticket is not None
        prefix = tenant.ticket_prefix
        notes = list(
            await session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id))
        )
        names = {str(ticket.id): "TICKET", f"{prefix}-{ticket.number}": "DISPLAY"} | {
            str(note.id): f"NOTE{n}" for n, note in enumerate(notes)
        }
        audits = await session.scalars(
            select(TicketAudit).where(TicketAudit.ticket_id == ticket.id).order_by(TicketAudit.id)
        )
        events = await session.scalars(
            select(OutboxEvent)
            .where(
                or_(
                    OutboxEvent.subject_id.in_([ticket.id, *(note.id for note in notes)]),
                    OutboxEvent.snapshot["ticket_id"].as_string() == str(ticket.id),
                )
            )
            .order_by(OutboxEvent.id)
        )
        moves = await session.scalars(
            select(TicketAssignment).where(TicketAssignment.ticket_id == ticket.id)
        )
        clocks = await session.scalars(
            select(TicketSlaState)
            .where(TicketSlaState.ticket_id == ticket.id)
            .order_by(TicketSlaState.metric)
        )
        return {
            "ticket": {
                name: getattr(ticket, name)
                for name in ("priority", "priority_rank", "group_id", "assignee_id")
            }
            | {"messages": ticket.message_count, "breached": ticket.sla_breached},
            "version moved": ticket.version > CREATED_VERSION,
            "notes": [(n.author_type, n.body_text, n.is_internal, n.channel) for n in notes],
            "audit": [
                (a.action, a.field, scrub(a.before, names), scrub(a.after, names), a.is_internal)
                for a in audits
            ],
            "events": [
                (e.type, e.actor, scrub(e.snapshot, names), scrub(e.delta, names)) for e in events
            ],
            "assignments": [
                (m.from_group_id, m.to_group_id, m.from_user_id, m.to_user_id, m.reason)
                for m in moves
            ],
            "clocks": [
                (c.metric, c.status, c.policy_id, c.target_minutes, c.priority, c.group_id)
                for c in clocks
            ],
        }


async def _tenant_id(session: AsyncSession) -> UUID:
    found = await session.scalar(select(Tenant.id).where(Tenant.slug == "acme"))
    assert found is not None
    return found


async def escalate_one_by_one(
    sessionmaker: async_sessionmaker[AsyncSession], changes: list[tuple[str, SystemChange]]
) -> None:
    async with transaction(sessionmaker, actor=SWEEP_ACTOR) as session:
        tenant = await session.get(Tenant, await _tenant_id(session))
        assert tenant is not None
        for ticket_id, change in changes:
            ticket = await session.get(Ticket, (tenant.id, UUID(ticket_id)))
            assert ticket is not None
            await apply_system_change(session, tenant, ticket, change)


async def escalate_batched(
    sessionmaker: async_sessionmaker[AsyncSession], changes: list[tuple[str, SystemChange]]
) -> dict[UUID, list[str]]:
    """The batched path; returns the refused parts by ticket."""
    async with transaction(sessionmaker, actor=SWEEP_ACTOR) as session:
        tenant = await session.get(Tenant, await _tenant_id(session))
        assert tenant is not None
        batch = []
        for ticket_id, change in changes:
            ticket = await session.get(Ticket, (tenant.id, UUID(ticket_id)))
            assert ticket is not None
            batch.append((ticket, change))
        return (await apply_system_changes(session, {tenant.id: tenant}, batch)).refused


async def twins(desk: Desk, count: int, **fields: Any) -> tuple[list[str], list[str]]:
    made = [await desk.ticket(**fields) for _ in range(2 * count)]
    return [t["id"] for t in made[:count]], [t["id"] for t in made[count:]]


async def test_every_action_leaves_the_same_trace_in_both_paths(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tier1 = await group_with(desk, "Tier 1", {"light_agent": "agent"})
    tier2 = await group_with(desk, "Tier 2", {"agent": "agent", "admin": "lead"})
    await desk.policy(notify_breach=["assignee"])
    agent = desk.world.a["agent"].user_id
    change = SystemChange(
        reason="SLA first response breached",
        raise_priority=True,
        move_to_group_id=UUID(tier2["id"]),
        assign_to_user_id=agent,
        add_tags=("Late", "escalated"),
        internal_note="Escalated: please look now.",
    )
    single, batched = await twins(desk, 2, group_id=tier1["id"], tags=["late"])
    await escalate_one_by_one(sessionmaker, [(t, change) for t in single])
    assert await escalate_batched(sessionmaker, [(t, change) for t in batched]) == {}

    for one, other in zip(single, batched, strict=True):
        expected, found = await trace(sessionmaker, one), await trace(sessionmaker, other)
        assert found == expected
    shown = await trace(sessionmaker, batched[0])
    assert shown["ticket"]["priority"] == "high"
    assert (shown["ticket"]["group_id"], shown["ticket"]["assignee_id"]) == (
        UUID(tier2["id"]),
        agent,
    )
    assert [(a[0], a[1]) for a in shown["audit"]][-6:] == [
        ("assigned", "group_id"),
        ("assigned", "assignee_id"),
        ("tag_added", "tags"),
        ("message_added", None),
        ("field_changed", "priority"),
        ("sla_retargeted", "sla"),
    ]
    assert [e[0].rsplit(".", 2)[-2:] for e in shown["events"]][-2:] == [
        ["ticket_message", "created"],
        ["ticket", "updated"],
    ]
    assert shown["clocks"][0][3] == 30  # high priority's first response target


async def test_refusals_and_changes_that_change_nothing_match_too(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tier1 = await group_with(desk, "Tier 1", {"agent": "agent"})
    await desk.policy()
    light = desk.world.a["light_agent"].user_id
    refused = SystemChange(reason="SLA", assign_to_user_id=light, add_tags=("escalated",))
    nothing = SystemChange(reason="SLA", add_tags=("already",))
    urgent = SystemChange(reason="SLA", raise_priority=True)
    cases = [
        (refused, {"group_id": tier1["id"]}),
        (nothing, {"tags": ["already"]}),
        (urgent, {"priority": "urgent"}),
    ]
    pairs = []
    for change, fields in cases:
        single, batched = await twins(desk, 1, **fields)
        pairs.append((change, single[0], batched[0]))
    await escalate_one_by_one(sessionmaker, [(one, change) for change, one, _ in pairs])
    assert await escalate_batched(
        sessionmaker, [(other, change) for change, _, other in pairs]
    ) == {UUID(pairs[0][2]): ["assignment: only active agents and admins take tickets"]}
    for _, one, other in pairs:
        assert await trace(sessionmaker, other) == await trace(sessionmaker, one)
    # Nothing to change: no version move, no event.
    for _, _, other in pairs[1:]:
        assert await ticket_events(sessionmaker, other, ".ticket.updated") == []


async def test_the_sweep_escalates_a_batch_as_each_ticket_alone_would(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tier2 = await group_with(desk, "Tier 2", {"agent": "agent", "admin": "lead"})
    await desk.policy(
        notify_breach=["assignee", "group_leads"],
        escalation=[
            {"action": "move_to_group", "group_id": tier2["id"]},
            {"action": "raise_priority"},
            {"action": "add_tag", "tag": "late"},
            {"action": "add_internal_note", "body": "Breached."},
        ],
    )
    lone = await desk.ticket()
    tickets = [await desk.ticket() for _ in range(3)]
    # The lone one first, in a batch of its own; then the three together in one batch.
    alone = datetime.fromisoformat((await desk.sla(lone["id"]))["first_response"]["due_at"])
    after = datetime.fromisoformat((await desk.sla(tickets[0]["id"]))["first_response"]["due_at"])
    assert alone < after
    # Each at risk before, announced in one batch.
    assert await sweep(sessionmaker, now=alone - timedelta(minutes=1)) == 4
    assert await sweep(sessionmaker, now=alone + (after - alone) / 2) == 1
    last = datetime.fromisoformat((await desk.sla(tickets[-1]["id"]))["first_response"]["due_at"])
    assert await sweep(sessionmaker, now=last + timedelta(seconds=1)) == 3
    expected = await trace(sessionmaker, lone["id"])
    for ticket in tickets:
        assert await trace(sessionmaker, ticket["id"]) == expected
    assert expected["ticket"]["priority"] == "high"
    assert [e[0].rsplit(".", 2)[-2:] for e in expected["events"]][-3:] == [
        ["sla", "breached"],
        ["ticket_message", "created"],
        ["ticket", "updated"],
    ]


async def test_concurrent_sweeps_escalate_each_breach_once(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await desk.policy(
        notify_breach=["admins"],
        escalation=[
            {"action": "raise_priority"},
            {"action": "add_tag", "tag": "late"},
            {"action": "add_internal_note", "body": "Breached."},
        ],
    )
    tickets = [await desk.ticket() for _ in range(12)]
    # Past the first response, before the resolution: one breach per ticket.
    due = datetime.fromisoformat((await desk.sla(tickets[-1]["id"]))["first_response"]["due_at"])
    later = due + timedelta(minutes=1)
    handled = list(
        await asyncio.gather(*(sweep(sessionmaker, now=later, batch_size=5) for _ in range(4)))
    )
    while sum(handled) < 12:
        more = await asyncio.gather(
            *(sweep(sessionmaker, now=later, batch_size=5) for _ in range(2))
        )
        assert sum(more) > 0
        handled += more
    assert sum(handled) == 12
    assert await sweep(sessionmaker, now=later) == 0
    for ticket in tickets:
        found = await trace(sessionmaker, ticket["id"])
        assert found["ticket"]["priority"] == "high"
        assert found["ticket"]["messages"] == 1
        kinds = [e[0].rsplit(".", 2)[-2:] for e in found["events"]]
        assert kinds.count(["ticket", "updated"]) == 1
        assert kinds.count(["sla", "breached"]) == 1
        assert [a[0] for a in found["audit"]].count("tag_added") == 1


async def test_a_catch_up_after_downtime_escalates_each_ticket_once(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await desk.policy(
        notify_breach=["admins"],
        escalation=[{"action": "raise_priority"}, {"action": "add_tag", "tag": "late"}],
    )
    tickets = [await desk.ticket() for _ in range(3)]
    resolution = (await desk.sla(tickets[-1]["id"]))["resolution"]
    # The worker was down past both due times: both clocks of each ticket are announced,
    # and each ticket escalated once (normal to high, not to urgent).
    much_later = datetime.fromisoformat(resolution["due_at"]) + timedelta(days=1)
    assert await sweep(sessionmaker, now=much_later) == 6
    assert await sweep(sessionmaker, now=much_later) == 0
    for ticket in tickets:
        found = await trace(sessionmaker, ticket["id"])
        assert found["ticket"]["priority"] == "high"
        assert found["ticket"]["breached"] is True
        kinds = [e[0].rsplit(".", 2)[-2:] for e in found["events"]]
        assert kinds.count(["sla", "breached"]) == 2
        assert kinds.count(["ticket", "updated"]) == 1
        assert [a[0] for a in found["audit"]].count("field_changed") == 1


async def test_the_breach_summary_is_written_whether_the_escalation_changes_a_ticket_or_not(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await desk.policy(escalation=[{"action": "add_tag", "tag": "late"}])
    tagged = await desk.ticket(tags=["late"])
    plain = await desk.ticket()
    due = datetime.fromisoformat((await desk.sla(plain["id"]))["first_response"]["due_at"])
    assert await sweep(sessionmaker, now=due + timedelta(seconds=1)) == 2
    for ticket, version_moved in ((tagged, False), (plain, True)):
        shown = await desk.get(f"/tickets/{ticket['id']}")
        assert shown["sla_breached"] is True
        assert shown["tags"] == ["late"]
        assert (shown["version"] > ticket["version"]) is version_moved
    breached = (await desk.get("/tickets?sla_breached=true"))["items"]
    assert {t["id"] for t in breached} == {tagged["id"], plain["id"]}


async def test_one_sweep_escalates_the_breaches_of_several_tenants_each_in_its_own(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    escalation = [{"action": "raise_priority"}, {"action": "add_tag", "tag": "late"}]
    tier2 = await group_with(desk, "Tier 2", {"agent": "agent", "admin": "lead"})
    moved = [{"action": "move_to_group", "group_id": tier2["id"]}, *escalation]
    await desk.policy(notify_breach=["assignee"], escalation=moved)
    b = desk.world.b
    other = f"/api/v1/tenants/{b.slug}"
    targets = [
        {"priority": p, "metric": "first_response", "minutes": 60} for p in ("normal", "high")
    ]
    body = {"name": "B", "is_default": True, "targets": targets, "escalation": escalation}
    made = await desk.client.post(f"{other}/sla/policies", json=body, headers=b["owner"].auth)
    assert made.status_code == 201, made.text
    opened = await desk.client.post(
        f"{other}/tickets",
        json={"subject": "Fax on fire", "requester_id": str(b.contact_id)},
        headers=b["owner"].auth,
    )
    assert opened.status_code == 201, opened.text
    mine = {desk.world.a.id: UUID((await desk.ticket())["id"]), b.id: UUID(opened.json()["id"])}

    # Both breached at once: one batch, one escalation across the two tenants.
    assert await sweep(sessionmaker, now=datetime.now(UTC) + timedelta(days=2)) == 3
    async with sessionmaker() as session:
        for tenant_id, ticket_id in mine.items():
            ticket = await session.get(Ticket, (tenant_id, ticket_id))
            assert ticket is not None
            assert (ticket.priority, ticket.sla_breached) == ("high", True)
            # Each change with its own ticket: only the first tenant's moves to its group.
            assert (ticket.group_id == UUID(tier2["id"])) == (tenant_id == desk.world.a.id)
            updated = (
                await session.scalars(
                    select(OutboxEvent).where(
                        OutboxEvent.subject_id == ticket_id,
                        OutboxEvent.type == "frontdesk.ticket.updated",
                    )
                )
            ).all()
            assert [(e.tenant_id, e.actor) for e in updated] == [(tenant_id, SWEEP_ACTOR)]
            assert updated[0].delta["priority"] == ["normal", "high"]
            assert updated[0].delta["tags"] == [[], ["late"]]
            timeline = await session.execute(
                select(TicketAudit.tenant_id, TicketAudit.action).where(
                    TicketAudit.ticket_id == ticket_id
                )
            )
            entries = timeline.all()
            assert {tenant for tenant, _ in entries} == {tenant_id}
            assert {"sla_breached", "tag_added", "field_changed"} <= {a for _, a in entries}
