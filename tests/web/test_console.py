"""The agent console over real HTTP: sign-in, views and counts, the list, the ticket page."""

from __future__ import annotations

import httpx

from tests.factories import World
from tests.web.pages import csrf_for, sign_in


async def _ticket(client: httpx.AsyncClient, world: World, subject: str, **extra: object) -> dict:
    response = await client.post(
        "/api/v1/tenants/acme/tickets",
        json={"subject": subject, "requester": {"email": "pat@example.org"}, **extra},
        headers=world.a["agent"].auth,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_anonymous_is_sent_to_sign_in(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/app/acme/tickets?view=open")
    assert response.status_code == 303
    assert response.headers["location"] == "/app/login?next=%2Fapp%2Facme%2Ftickets%3Fview%3Dopen"


async def test_sign_in_lands_on_the_tenant_list(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["agent"].email)
    home = await client.get("/app")
    assert home.status_code == 303
    assert home.headers["location"] == "/app/acme/tickets"
    page = await client.get("/app/acme/tickets")
    assert page.status_code == 200
    assert "Unassigned in my groups" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


async def test_wrong_password_shows_the_form_again(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        "/app/login", data={"email": world.a["agent"].email, "password": "nope"}
    )
    assert response.status_code == 401
    assert "Email or password is wrong" in response.text
    assert "frontdesk_session" not in client.cookies


async def test_list_shows_new_ticket_with_counts(client: httpx.AsyncClient, world: World) -> None:
    await _ticket(client, world, "Printer <b>on fire</b>")
    await sign_in(client, world.a["agent"].email)
    page = await client.get("/app/acme/tickets?view=unassigned")
    assert page.status_code == 200
    assert "Printer &lt;b&gt;on fire&lt;/b&gt;" in page.text
    assert 'data-count="unassigned">1<' in page.text
    assert 'data-count="mine">0<' in page.text


async def test_reply_and_note_from_the_ticket_page(client: httpx.AsyncClient, world: World) -> None:
    ticket = await _ticket(client, world, "Cannot log in")
    await sign_in(client, world.a["agent"].email)
    path = f"/app/acme/tickets/{ticket['id']}"
    csrf = await csrf_for(client, path)
    reply = await client.post(
        f"{path}/compose",
        data={
            "csrf_token": csrf,
            "mode": "reply",
            "body": "Try resetting it",
            "status": "pending_customer",
        },
    )
    assert reply.status_code == 303, reply.text
    note = await client.post(
        f"{path}/compose", data={"csrf_token": csrf, "mode": "note", "body": "VIP customer"}
    )
    assert note.status_code == 303
    page = await client.get(path)
    assert "Try resetting it" in page.text
    assert "VIP customer" in page.text
    assert "Internal note</span>" in page.text
    api = await client.get(
        f"/api/v1/tenants/acme/tickets/{ticket['id']}", headers=world.a["agent"].auth
    )
    assert api.json()["status"] == "pending_customer"


async def test_form_without_csrf_token_is_refused(client: httpx.AsyncClient, world: World) -> None:
    ticket = await _ticket(client, world, "Cannot log in")
    await sign_in(client, world.a["agent"].email)
    response = await client.post(
        f"/app/acme/tickets/{ticket['id']}/compose", data={"mode": "reply", "body": "x"}
    )
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    messages = await client.get(
        f"/api/v1/tenants/acme/tickets/{ticket['id']}/messages", headers=world.a["agent"].auth
    )
    assert messages.json()["items"] == []


async def test_contact_is_refused_from_the_console(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["contact"].email)
    response = await client.get("/app/acme/tickets")
    assert response.status_code == 403
    assert "customers use the portal" in response.text


async def test_agents_never_see_another_tenants_pages(
    client: httpx.AsyncClient, world: World
) -> None:
    ticket = await _ticket(client, world, "Acme only")
    await sign_in(client, world.b["owner"].email)
    for path in ("/app/acme/tickets", f"/app/acme/tickets/{ticket['id']}", "/app/acme/admin"):
        response = await client.get(path)
        assert response.status_code == 404, path
    own = await client.get(f"/app/acmeco/tickets/{ticket['id']}")
    assert own.status_code == 404


async def test_bulk_change_from_the_list(client: httpx.AsyncClient, world: World) -> None:
    first = await _ticket(client, world, "One")
    second = await _ticket(client, world, "Two")
    await sign_in(client, world.a["agent"].email)
    csrf = await csrf_for(client, "/app/acme/tickets?view=open")
    response = await client.post(
        "/app/acme/tickets/bulk",
        data={
            "csrf_token": csrf,
            "ticket_ids": [first["id"], second["id"]],
            "priority": "urgent",
            "assignee": "me",
            "add_tags": "vip, billing",
            "back": "/app/acme/tickets?view=mine",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/app/acme/tickets?view=mine&notice=bulk&ok=2&failed=0"
    for ticket in (first, second):
        found = await client.get(
            f"/api/v1/tenants/acme/tickets/{ticket['id']}", headers=world.a["agent"].auth
        )
        assert found.json()["priority"] == "urgent"
        assert found.json()["assignee_id"] == str(world.a["agent"].user_id)
        assert found.json()["tags"] == ["billing", "vip"]
    mine = await client.get("/app/acme/tickets?view=mine")
    assert 'data-count="mine">2<' in mine.text


async def test_back_link_of_bulk_stays_on_this_site(
    client: httpx.AsyncClient, world: World
) -> None:
    ticket = await _ticket(client, world, "One")
    await sign_in(client, world.a["agent"].email)
    csrf = await csrf_for(client, "/app/acme/tickets")
    response = await client.post(
        "/app/acme/tickets/bulk",
        data={"csrf_token": csrf, "ticket_ids": [ticket["id"]], "back": "//evil.example/x"},
    )
    assert response.headers["location"].startswith("/app/acme/tickets?")


async def test_new_ticket_form_creates_a_ticket(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["agent"].email)
    csrf = await csrf_for(client, "/app/acme/tickets/new")
    response = await client.post(
        "/app/acme/tickets/new",
        data={
            "csrf_token": csrf,
            "requester_email": "new.person@example.org",
            "requester_name": "New Person",
            "subject": "Phoned in",
            "description": "Called about the VPN",
            "priority": "high",
            "channel": "phone",
        },
        files={"files": ("notes.txt", b"call notes", "text/plain")},
    )
    assert response.status_code == 303, response.text
    page = await client.get(response.headers["location"])
    assert "Phoned in" in page.text
    assert "New Person" in page.text
    assert "notes.txt" in page.text


async def test_light_agent_writes_notes_only(client: httpx.AsyncClient, world: World) -> None:
    ticket = await _ticket(client, world, "Look")
    await sign_in(client, world.a["light_agent"].email)
    path = f"/app/acme/tickets/{ticket['id']}"
    page = await client.get(path)
    assert 'id="mode-reply"' not in page.text
    assert "Save changes" not in page.text
    csrf = await csrf_for(client, path)
    sent = await client.post(
        f"{path}/compose", data={"csrf_token": csrf, "mode": "reply", "body": "psst"}
    )
    assert sent.status_code == 303
    messages = await client.get(
        f"/api/v1/tenants/acme/tickets/{ticket['id']}/messages", headers=world.a["agent"].auth
    )
    assert [m["is_internal"] for m in messages.json()["items"]] == [True]


async def test_recently_resolved_counts_and_lists_what_was_solved_this_week(
    client: httpx.AsyncClient, world: World
) -> None:
    solved = await _ticket(client, world, "Solved this week")
    await _ticket(client, world, "Still open")
    response = await client.patch(
        f"/api/v1/tenants/acme/tickets/{solved['id']}",
        json={"status": "resolved"},
        headers=world.a["agent"].auth,
    )
    assert response.status_code == 200, response.text
    await sign_in(client, world.a["agent"].email)
    page = await client.get("/app/acme/tickets?view=resolved")
    assert 'data-count="resolved">1<' in page.text
    assert 'data-count="open">1<' in page.text
    assert "Solved this week" in page.text
    assert "Still open" not in page.text
