"""In-app notifications: made by the domains, read and cleared only by their recipient, muted
per kind; preferences per kind and channel, for users and for contacts without a login."""

from __future__ import annotations

from uuid import UUID

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.audit import AuditEntry
from frontdesk.core.db import transaction
from frontdesk.core.events import OutboxEvent
from frontdesk.notifications.kinds import NotificationChannel, NotificationKind
from frontdesk.notifications.models import Notification, NotificationPreference
from frontdesk.notifications.service import (
    Notice,
    notification_snapshot,
    notify_many,
    notify_users,
    wants,
)
from tests.factories import World

BASE = "/api/v1/tenants/acme/notifications"


async def _notify(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant_id: UUID,
    user_ids: list[UUID],
    kind: NotificationKind = NotificationKind.TICKET_ASSIGNED,
    title: str = "ACME-1 was assigned to you",
) -> list[str]:
    async with transaction(sessionmaker) as session:
        made = await notify_users(
            session, tenant_id=tenant_id, user_ids=user_ids, kind=kind, title=title
        )
        return [str(n.id) for n in made]


async def test_a_notice_per_distinct_user_with_its_event(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    agent, owner = world.a["agent"], world.a["owner"]
    made = await _notify(sessionmaker, world.a.id, [agent.user_id, owner.user_id, agent.user_id])
    assert len(made) == 2
    async with sessionmaker() as session:
        events = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "frontdesk.notification.created")
            )
        ).all()
    assert sorted(e.snapshot["user_id"] for e in events) == sorted(
        [str(agent.user_id), str(owner.user_id)]
    )
    assert all(e.tenant_id == world.a.id for e in events)


async def test_the_inbox_holds_only_my_notices_newest_first(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    agent, owner = world.a["agent"], world.a["owner"]
    first = await _notify(sessionmaker, world.a.id, [agent.user_id], title="first")
    second = await _notify(sessionmaker, world.a.id, [agent.user_id], title="second")
    await _notify(sessionmaker, world.a.id, [owner.user_id], title="the owner's")
    await _notify(sessionmaker, world.b.id, [world.b["agent"].user_id], title="other tenant")

    inbox = (await client.get(BASE, headers=agent.auth)).json()
    assert [n["id"] for n in inbox["items"]] == second + first
    assert inbox["items"][0]["title"] == "second"
    assert inbox["items"][0]["read_at"] is None
    count = await client.get(f"{BASE}/unread-count", headers=agent.auth)
    assert count.json() == {"unread": 2}

    page = (await client.get(BASE, params={"limit": 1}, headers=agent.auth)).json()
    assert [n["id"] for n in page["items"]] == second
    rest = await client.get(BASE, params={"cursor": page["next_cursor"]}, headers=agent.auth)
    assert [n["id"] for n in rest.json()["items"]] == first


async def test_reading_one_and_all(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    agent = world.a["agent"]
    one, two, three = [
        (await _notify(sessionmaker, world.a.id, [agent.user_id]))[0] for _ in range(3)
    ]
    read = await client.post(f"{BASE}/{one}/read", headers=agent.auth)
    assert read.status_code == 200
    read_at = read.json()["read_at"]
    assert read_at is not None
    again = await client.post(f"{BASE}/{one}/read", headers=agent.auth)
    assert again.json()["read_at"] == read_at  # reading twice changes nothing

    unread = (await client.get(BASE, params={"unread": "true"}, headers=agent.auth)).json()
    assert {n["id"] for n in unread["items"]} == {two, three}
    done = (await client.get(BASE, params={"unread": "false"}, headers=agent.auth)).json()
    assert [n["id"] for n in done["items"]] == [one]

    cleared = await client.post(f"{BASE}/read-all", headers=agent.auth)
    assert cleared.json() == {"marked": 2}
    assert (await client.get(f"{BASE}/unread-count", headers=agent.auth)).json()["unread"] == 0
    assert (await client.post(f"{BASE}/read-all", headers=agent.auth)).json() == {"marked": 0}
    async with sessionmaker() as session:
        audited = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.subject_type == "notification", AuditEntry.action != "created")
        )
    assert audited == 2  # one read, one read-all; the no-op calls write nothing


async def test_another_persons_notice_does_not_exist_for_me(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    (owners,) = await _notify(sessionmaker, world.a.id, [world.a["owner"].user_id])
    for who in ("agent", "admin", "contact"):
        auth = world.a[who].auth
        assert (await client.get(f"{BASE}/{owners}", headers=auth)).status_code == 404
        assert (await client.post(f"{BASE}/{owners}/read", headers=auth)).status_code == 404
    other_tenant = f"/api/v1/tenants/{world.b.slug}/notifications/{owners}"
    assert (await client.get(other_tenant, headers=world.b["owner"].auth)).status_code == 404
    mine = await client.get(f"{BASE}/{owners}", headers=world.a["owner"].auth)
    assert mine.status_code == 200
    assert mine.json()["read_at"] is None


async def test_preferences_default_to_on_and_mute_a_kind(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    agent = world.a["agent"]
    listed = (await client.get(f"{BASE}/preferences", headers=agent.auth)).json()["preferences"]
    assert len(listed) == len(NotificationKind) * len(NotificationChannel)
    assert all(p["enabled"] for p in listed)

    muted = {"kind": "ticket_assigned", "channel": "in_app", "enabled": False}
    no_mail = {"kind": "customer_replied", "channel": "email", "enabled": False}
    saved = await client.put(
        f"{BASE}/preferences", json={"preferences": [muted, no_mail]}, headers=agent.auth
    )
    assert saved.status_code == 200
    assert muted in saved.json()["preferences"]
    # Saving the same choice again keeps one row per kind and channel.
    await client.put(f"{BASE}/preferences", json={"preferences": [muted]}, headers=agent.auth)

    made = await _notify(sessionmaker, world.a.id, [agent.user_id, world.a["owner"].user_id])
    assert len(made) == 1  # the agent muted assignments in the app
    async with sessionmaker() as session:
        rows = await session.scalar(
            select(func.count())
            .select_from(NotificationPreference)
            .where(NotificationPreference.user_id == agent.user_id)
        )
        assert rows == 2
        assert not await wants(
            session,
            tenant_id=world.a.id,
            kind=NotificationKind.CUSTOMER_REPLIED,
            channel=NotificationChannel.EMAIL,
            user_id=agent.user_id,
        )
        assert await wants(
            session,
            tenant_id=world.a.id,
            kind=NotificationKind.CUSTOMER_REPLIED,
            channel=NotificationChannel.IN_APP,
            user_id=agent.user_id,
        )
        # Preferences are per tenant: the same person elsewhere is unaffected.
        assert await wants(
            session,
            tenant_id=world.b.id,
            kind=NotificationKind.CUSTOMER_REPLIED,
            channel=NotificationChannel.EMAIL,
            user_id=agent.user_id,
        )


async def test_a_contact_without_a_login_can_be_opted_out(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert world.a.contact_id is not None
    async with transaction(sessionmaker) as session:
        session.add(
            NotificationPreference(
                tenant_id=world.a.id,
                contact_id=world.a.contact_id,
                kind=NotificationKind.STATUS_CHANGED,
                channel=NotificationChannel.EMAIL,
                enabled=False,
            )
        )
    async with sessionmaker() as session:
        assert not await wants(
            session,
            tenant_id=world.a.id,
            kind=NotificationKind.STATUS_CHANGED,
            channel=NotificationChannel.EMAIL,
            contact_id=world.a.contact_id,
        )
        assert await wants(
            session,
            tenant_id=world.a.id,
            kind=NotificationKind.AGENT_REPLIED,
            channel=NotificationChannel.EMAIL,
            contact_id=world.a.contact_id,
        )


async def test_bad_preferences_are_refused_whole(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    agent = world.a["agent"]
    good = {"kind": "ticket_created", "channel": "email", "enabled": False}
    for bad in (
        {"kind": "everything", "channel": "email", "enabled": False},
        {"kind": "ticket_created", "channel": "pigeon", "enabled": False},
        {"kind": "ticket_created", "channel": "email", "enabled": "maybe"},
        {"kind": "ticket_created", "channel": "email", "enabled": False, "extra": 1},
    ):
        response = await client.put(
            f"{BASE}/preferences", json={"preferences": [good, bad]}, headers=agent.auth
        )
        assert response.status_code == 422, bad
        assert response.headers["content-type"].startswith("application/problem+json")
    async with sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(NotificationPreference))
    assert count == 0
    assert (await client.get(f"{BASE}/not-a-uuid", headers=agent.auth)).status_code == 422


async def test_contacts_read_their_own_notices(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    contact = world.a["contact"]
    (made,) = await _notify(
        sessionmaker, world.a.id, [contact.user_id], NotificationKind.AGENT_REPLIED, "New reply"
    )
    inbox = (await client.get(BASE, headers=contact.auth)).json()
    assert [n["id"] for n in inbox["items"]] == [made]
    async with sessionmaker() as session:
        stored = await session.get(Notification, (world.a.id, UUID(made)))
    assert stored is not None
    assert stored.user_id == contact.user_id


async def test_a_batch_of_notices_is_audited_per_tenant_and_kind_with_an_event_each(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    agent, owner, other = world.a["agent"], world.a["owner"], world.b["agent"]
    muted = {"kind": "sla_at_risk", "channel": "in_app", "enabled": False}
    await client.put(f"{BASE}/preferences", json={"preferences": [muted]}, headers=owner.auth)
    breached, at_risk = NotificationKind.SLA_BREACHED, NotificationKind.SLA_AT_RISK
    notices = [
        Notice(world.a.id, [agent.user_id, owner.user_id, agent.user_id], breached, "late"),
        Notice(world.a.id, [agent.user_id, owner.user_id], at_risk, "soon", data={"n": 1}),
        Notice(world.b.id, [other.user_id], breached, "late in b"),
    ]
    async with transaction(sessionmaker, actor="system:sla") as session:
        assert await notify_many(session, notices) == 4  # distinct users; the owner muted one
    async with sessionmaker() as session:
        made = (await session.scalars(select(Notification))).all()
        entries = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.subject_type == "notification")
            )
        ).all()
        events = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "frontdesk.notification.created")
            )
        ).all()
    listed = {
        (entry.tenant_id, entry.changes["kind"]): entry.changes["notifications"]
        for entry in entries
    }
    assert {entry.actor for entry in entries} == {"system:sla"}
    assert all(entry.action == "created" for entry in entries)
    by_kind = {
        (tenant_id, kind.value): [n for n in made if (n.tenant_id, n.kind) == (tenant_id, kind)]
        for tenant_id, kind in (
            (world.a.id, breached),
            (world.a.id, at_risk),
            (world.b.id, breached),
        )
    }
    assert listed == {
        key: [
            {"id": str(n.id), "user_id": str(n.user_id), "ticket_id": None}
            for n in sorted(notes, key=lambda n: n.id)
        ]
        for key, notes in by_kind.items()
    }
    # One event per notification, as `notify_users` emits it.
    assert sorted(str(e.subject_id) for e in events) == sorted(str(n.id) for n in made)
    for event in events:
        notification = next(n for n in made if n.id == event.subject_id)
        assert event.tenant_id == notification.tenant_id
        assert event.snapshot == notification_snapshot(notification) | {
            "user_id": str(notification.user_id)
        }
