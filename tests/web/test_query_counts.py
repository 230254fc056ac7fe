"""Pages make a fixed number of queries, however many tickets, messages or people they show."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import World
from tests.identity.test_query_counts import counted
from tests.web.pages import sign_in


async def _queries(client: httpx.AsyncClient, engine: AsyncEngine, url: str) -> int:
    with counted(engine) as statements:
        response = await client.get(url)
    assert response.status_code == 200, url
    return len(statements)


async def _tickets(client: httpx.AsyncClient, world: World, numbers: range) -> str:
    agent, ticket_id = world.a["agent"].auth, ""
    for n in numbers:
        created = await client.post(
            "/api/v1/tenants/acme/tickets",
            json={
                "subject": f"Ticket {n}",
                "requester": {"email": f"c{n}@example.org", "name": f"C {n}"},
                "tags": [f"t{n}", "common"],
                "assignee_id": str(world.a["agent"].user_id),
            },
            headers=agent,
        )
        ticket_id = created.json()["id"]
        for body, internal in ((f"reply {n}", False), (f"note {n}", True)):
            await client.post(
                f"/api/v1/tenants/acme/tickets/{ticket_id}/messages",
                json={"body": body, "is_internal": internal},
                headers=agent,
            )
    return ticket_id


async def test_console_pages_do_not_grow_with_rows(
    client: httpx.AsyncClient, world: World, engine: AsyncEngine
) -> None:
    first = await _tickets(client, world, range(1))
    await sign_in(client, world.a["agent"].email)
    pages = ["/app/acme/tickets?view=open", f"/app/acme/tickets/{first}"]
    few = [await _queries(client, engine, page) for page in pages]
    last = await _tickets(client, world, range(1, 9))
    for n in range(3):
        await client.post(
            f"/api/v1/tenants/acme/tickets/{first}/messages",
            json={"body": f"more {n}"},
            headers=world.a["owner"].auth,
        )
    many = [await _queries(client, engine, page) for page in pages]
    assert many == few
    assert await _queries(client, engine, f"/app/acme/tickets/{last}") == few[1]


async def test_portal_pages_do_not_grow_with_rows(
    client: httpx.AsyncClient, world: World, engine: AsyncEngine
) -> None:
    contact = world.a.contact_id
    auth = world.a["agent"].auth

    async def ticket() -> str:
        created = await client.post(
            "/api/v1/tenants/acme/tickets",
            json={"subject": "Mine", "requester_id": str(contact)},
            headers=auth,
        )
        ticket_id = created.json()["id"]
        await client.post(
            f"/api/v1/tenants/acme/tickets/{ticket_id}/messages", json={"body": "hi"}, headers=auth
        )
        return ticket_id

    first = await ticket()
    await sign_in(client, world.a["contact"].email, login_path="/portal/acme/login")
    few = [
        await _queries(client, engine, p) for p in ("/portal/acme", f"/portal/acme/tickets/{first}")
    ]
    for _ in range(6):
        await ticket()
    many = [
        await _queries(client, engine, p) for p in ("/portal/acme", f"/portal/acme/tickets/{first}")
    ]
    assert many == few
