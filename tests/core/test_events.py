"""Every mutation writes its audit entry and its event in the same transaction; the relay
delivers committed events at least once, in order, and never events of rolled-back work."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.audit import AuditEntry
from frontdesk.core.db import transaction
from frontdesk.core.events import JsonLinesSink, OutboxEvent, Subscribers, relay_batch
from frontdesk.tenancy.schemas import TenantCreate
from frontdesk.tenancy.service import create_tenant
from tests.factories import World


async def _count(sessionmaker: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_group_update_is_audited_with_its_delta_and_event(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    owner = world.a["owner"]
    created = await client.post(
        "/api/v1/tenants/acme/groups", json={"name": "Tier 2"}, headers=owner.auth
    )
    group_id = created.json()["id"]
    await client.patch(
        f"/api/v1/tenants/acme/groups/{group_id}",
        json={"description": "Escalations"},
        headers=owner.auth,
    )
    async with sessionmaker() as session:
        events = (
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.subject_type == "group")
                .order_by(OutboxEvent.id)
            )
        ).all()
        audit = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.subject_type == "group").order_by(AuditEntry.id)
            )
        ).all()
    assert [e.type for e in events] == ["frontdesk.group.created", "frontdesk.group.updated"]
    assert events[1].delta["description"] == [None, "Escalations"]
    assert events[1].delta["version"] == [1, 2]
    assert events[1].actor == f"user:{owner.user_id}"
    assert [a.action for a in audit] == ["created", "updated"]
    assert all(e.tenant_id == world.a.id for e in events)


async def test_a_failed_request_leaves_no_event_and_no_audit(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    owner = world.a["owner"]
    await client.post("/api/v1/tenants/acme/groups", json={"name": "Dup"}, headers=owner.auth)
    events, audit = await _count(sessionmaker, OutboxEvent), await _count(sessionmaker, AuditEntry)
    again = await client.post(
        "/api/v1/tenants/acme/groups", json={"name": "Dup"}, headers=owner.auth
    )
    assert again.status_code == 409
    assert await _count(sessionmaker, OutboxEvent) == events
    assert await _count(sessionmaker, AuditEntry) == audit


async def _create_then_fail(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessionmaker) as session:
        await create_tenant(session, TenantCreate(slug="rolled-back", name="never"))
        raise RuntimeError("abort")


async def test_relay_delivers_committed_events_once_in_order(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with transaction(sessionmaker) as session:
        for slug in ("one", "two", "three"):
            await create_tenant(session, TenantCreate(slug=slug, name=slug))
    with pytest.raises(RuntimeError, match="abort"):
        await _create_then_fail(sessionmaker)
    sink = JsonLinesSink(tmp_path / "events.jsonl")
    assert await relay_batch(sessionmaker, [sink]) == 3
    assert await relay_batch(sessionmaker, [sink]) == 0
    lines = [json.loads(line) for line in sink.path.read_text().splitlines()]
    assert [line["snapshot"]["slug"] for line in lines] == ["one", "two", "three"]
    assert len({line["id"] for line in lines}) == 3
    assert all(line["type"] == "frontdesk.tenant.created" for line in lines)


async def test_a_failing_sink_keeps_events_for_the_next_pass(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with transaction(sessionmaker) as session:
        await create_tenant(session, TenantCreate(slug="kept", name="Kept"))

    async def broken(_events: object) -> None:
        raise OSError("disk full")

    assert await relay_batch(sessionmaker, [broken]) == 0
    sink = JsonLinesSink(tmp_path / "events.jsonl")
    assert await relay_batch(sessionmaker, [sink]) == 1
    async with sessionmaker() as session:
        event = await session.scalar(select(OutboxEvent))
    assert event is not None
    assert event.attempts == 2
    assert event.published_at is not None


async def test_subscribers_get_a_tickets_events_in_order(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    agent = world.a["agent"]
    created = await client.post(
        "/api/v1/tenants/acme/tickets",
        json={"subject": "Ordered", "requester": {"email": "o@example.org"}},
        headers=agent.auth,
    )
    url = f"/api/v1/tenants/acme/tickets/{created.json()['id']}"
    for priority in ("high", "urgent", "low"):
        await client.patch(url, json={"priority": priority}, headers=agent.auth)
    await client.post(f"{url}/messages", json={"body": "Hello"}, headers=agent.auth)
    received: list[dict[str, object]] = []

    async def remember(event: dict[str, object]) -> None:
        received.append(event)

    registry = Subscribers()
    registry.subscribe("frontdesk.ticket.*", remember)
    registry.subscribe("frontdesk.ticket_message.created", remember)
    while await relay_batch(sessionmaker, [registry], batch_size=3):
        pass
    types = [event["type"] for event in received]
    assert types == [
        "frontdesk.ticket.created",
        "frontdesk.ticket.updated",
        "frontdesk.ticket.updated",
        "frontdesk.ticket.updated",
        "frontdesk.ticket_message.created",
    ]
    priorities = [event["delta"].get("priority") for event in received[1:4]]  # type: ignore[attr-defined]
    assert priorities == [["normal", "high"], ["high", "urgent"], ["urgent", "low"]]


async def test_a_failure_before_commit_leaves_neither_ticket_nor_event(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    from frontdesk.identity.context import Principal, TenantContext
    from frontdesk.identity.models import User
    from frontdesk.identity.policy import Role
    from frontdesk.tenancy.models import Tenant
    from frontdesk.tickets.models import Ticket
    from frontdesk.tickets.schemas import TicketCreate
    from frontdesk.tickets.service.tickets import create_ticket

    events_before = await _count(sessionmaker, OutboxEvent)

    async def create_then_crash() -> None:
        async with transaction(sessionmaker) as session:
            tenant = await session.get(Tenant, world.a.id)
            user = await session.get(User, world.a["agent"].user_id)
            assert tenant is not None
            assert user is not None
            ctx = TenantContext(tenant, Principal(user, "token"), Role.AGENT, session)
            await create_ticket(
                ctx, TicketCreate(subject="Doomed", requester={"email": "d@example.org"})
            )
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError, match="crash before commit"):
        await create_then_crash()
    assert await _count(sessionmaker, Ticket) == 0
    assert await _count(sessionmaker, OutboxEvent) == events_before
