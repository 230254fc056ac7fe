"""The notification bell and inbox: the unread count on every console page, the list with links
to tickets, marking read (one or all, CSRF-protected), and the live stream moving the count."""

from __future__ import annotations

import re
from uuid import UUID

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from frontdesk.core.db import transaction
from frontdesk.notifications.kinds import NotificationKind
from frontdesk.notifications.service import notify_users
from tests.factories import Person, World
from tests.identity.test_query_counts import counted
from tests.web.pages import csrf_of, sign_in

ACME = "/api/v1/tenants/acme"


async def _ticket(client: httpx.AsyncClient, world: World, subject: str) -> str:
    body = {"subject": subject, "requester": {"email": "pat@example.org"}}
    created = await client.post(f"{ACME}/tickets", json=body, headers=world.a["owner"].auth)
    assert created.status_code == 201, created.text
    ticket_id: str = created.json()["id"]
    return ticket_id


async def _notify(
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    person: Person,
    title: str,
    ticket_id: str | None = None,
) -> None:
    async with transaction(sessionmaker) as session:
        await notify_users(
            session,
            tenant_id=world.a.id,
            user_ids=[person.user_id],
            kind=NotificationKind.TICKET_ASSIGNED,
            title=title,
            body="Assigned to you by Olga",
            ticket_id=UUID(ticket_id) if ticket_id else None,
        )


def _bell(html: str) -> str:
    found = re.search(r"data-unread-count( hidden)?>(\d+)<", html)
    assert found, "no bell on the page"
    return "0" if found.group(1) else found.group(2)


async def test_the_bell_counts_unread_and_the_inbox_links_to_tickets(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ticket = await _ticket(client, world, "Printer on fire")
    agent = world.a["agent"]
    await _notify(sessionmaker, world, agent, "ACME-1: Printer on fire", ticket)
    await _notify(sessionmaker, world, agent, "Weekly digest")
    await _notify(sessionmaker, world, world.a["owner"], "Owner's own notice")
    await sign_in(client, agent.email)
    assert _bell((await client.get("/app/acme/tickets")).text) == "2"
    inbox = await client.get("/app/acme/notifications")
    assert inbox.status_code == 200
    assert f'href="/app/acme/tickets/{ticket}">ACME-1: Printer on fire</a>' in inbox.text
    assert "Weekly digest" in inbox.text
    assert "Owner&#39;s own notice" not in inbox.text
    assert "Owner's own notice" not in inbox.text


async def test_marking_one_then_all_read(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    agent = world.a["agent"]
    for n in range(3):
        await _notify(sessionmaker, world, agent, f"Notice {n}")
    await sign_in(client, agent.email)
    page = (await client.get("/app/acme/notifications")).text
    csrf = csrf_of(page)
    first = re.findall(r'action="(/app/acme/notifications/[0-9a-f-]{36}/read)"', page)[0]
    without_token = await client.post(first)
    assert without_token.status_code == 403
    marked = await client.post(first, data={"csrf_token": csrf})
    assert marked.status_code == 303
    assert marked.headers["location"] == "/app/acme/notifications?notice=read"
    after_one = await client.get("/app/acme/notifications?show=unread")
    assert _bell(after_one.text) == "2"
    assert after_one.text.count('class="notification unread"') == 2
    cleared = await client.post("/app/acme/notifications/read-all", data={"csrf_token": csrf})
    assert cleared.status_code == 303
    done = await client.get("/app/acme/notifications?show=unread")
    assert _bell(done.text) == "0"
    assert "No unread notifications." in done.text


async def test_another_users_notification_is_not_found(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _notify(sessionmaker, world, world.a["owner"], "Owner's")
    await sign_in(client, world.a["owner"].email)
    owners = (await client.get("/app/acme/notifications")).text
    path = re.findall(r'action="(/app/acme/notifications/[0-9a-f-]{36}/read)"', owners)[0]
    client.cookies.clear()
    await sign_in(client, world.a["agent"].email)
    csrf = csrf_of((await client.get("/app/acme/notifications")).text)
    assert (await client.post(path, data={"csrf_token": csrf})).status_code == 404
    client.cookies.clear()
    await sign_in(client, world.a["owner"].email)
    assert _bell((await client.get("/app/acme/notifications")).text) == "1"


async def test_the_live_stream_moves_the_bell(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    agent = world.a["agent"]
    await sign_in(client, agent.email)
    page = (await client.get("/app/acme/tickets")).text
    assert 'data-unread-mark="0"' in page
    mark = page.split('data-tenant-mark="', 1)[1].split('"', 1)[0]
    await _notify(sessionmaker, world, agent, "Assigned")
    stream = await client.get(f"/app/acme/live?tenant_since={mark}&unread_since=0&seconds=1")
    assert 'event: notifications\ndata: {"unread": "1"}' in stream.text
    assert "event: tenant" not in stream.text


async def test_the_bell_is_one_query_however_many_notifications(
    client: httpx.AsyncClient,
    world: World,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    agent = world.a["agent"]
    await sign_in(client, agent.email)

    async def queries(path: str) -> int:
        with counted(engine) as statements:
            assert (await client.get(path)).status_code == 200
        return len(statements)

    few = [await queries(p) for p in ("/app/acme/tickets", "/app/acme/notifications")]
    for n in range(6):
        await _notify(sessionmaker, world, agent, f"Notice {n}")
    assert [await queries(p) for p in ("/app/acme/tickets", "/app/acme/notifications")] == few
