"""Server-Sent Events from the database: a change by anyone reaches an open page."""

from __future__ import annotations

import httpx

from tests.factories import World
from tests.web.pages import sign_in


async def test_stream_reports_a_change_since_the_page_was_drawn(
    client: httpx.AsyncClient, world: World
) -> None:
    created = await client.post(
        "/api/v1/tenants/acme/tickets",
        json={"subject": "Live", "requester": {"email": "pat@example.org"}},
        headers=world.a["agent"].auth,
    )
    ticket = created.json()
    await sign_in(client, world.a["agent"].email)
    stale = f"{ticket['version']}:0"
    await client.post(
        f"/api/v1/tenants/acme/tickets/{ticket['id']}/messages",
        json={"body": "new message"},
        headers=world.a["owner"].auth,
    )
    response = await client.get(
        f"/app/acme/live?ticket={ticket['id']}&ticket_since={stale}&tenant_since=x&seconds=1"
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "event: ticket" in response.text
    assert "event: tenant" in response.text


async def test_stream_is_quiet_without_changes(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["agent"].email)
    page = await client.get("/app/acme/tickets")
    mark = page.text.split('data-tenant-mark="', 1)[1].split('"', 1)[0]
    response = await client.get(f"/app/acme/live?tenant_since={mark}&seconds=1")
    assert "event:" not in response.text


async def test_stream_checks_the_ticket_is_visible(client: httpx.AsyncClient, world: World) -> None:
    created = await client.post(
        "/api/v1/tenants/acmeco/tickets",
        json={"subject": "Theirs", "requester": {"email": "pat@example.org"}},
        headers=world.b["agent"].auth,
    )
    await sign_in(client, world.a["agent"].email)
    response = await client.get(f"/app/acme/live?ticket={created.json()['id']}&seconds=1")
    assert response.status_code == 404
