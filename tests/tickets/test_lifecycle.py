"""A ticket's life: creation, numbering, conversation, statuses and the timeline."""

from __future__ import annotations

import httpx

from tests.factories import World

BASE = "/api/v1/tenants/acme"


async def _ticket(client: httpx.AsyncClient, world: World, **fields: object) -> dict:
    body = {"subject": "Printer on fire", "requester": {"email": "pat@example.org", "name": "Pat"}}
    body.update(fields)
    response = await client.post(f"{BASE}/tickets", json=body, headers=world.a["agent"].auth)
    assert response.status_code == 201, response.text
    return response.json()


async def test_tickets_are_numbered_per_tenant_with_the_prefix(
    client: httpx.AsyncClient, world: World
) -> None:
    first = await _ticket(client, world)
    second = await _ticket(client, world, subject="Second")
    assert (first["number"], second["number"]) == (1, 2)
    assert second["display_id"] == "ACME-2"
    assert first["status"] == "new"
    assert first["status_category"] == "new"
    other = await client.post(
        "/api/v1/tenants/acmeco/tickets",
        json={"subject": "Elsewhere", "requester": {"email": "x@example.org"}},
        headers=world.b["agent"].auth,
    )
    assert other.json()["number"] == 1


async def test_requester_by_email_reuses_the_contact(
    client: httpx.AsyncClient, world: World
) -> None:
    first = await _ticket(client, world)
    second = await _ticket(client, world, subject="Again")
    assert first["requester_id"] == second["requester_id"]


async def test_a_contact_creates_a_ticket_as_its_requester(
    client: httpx.AsyncClient, world: World
) -> None:
    contact = world.a["contact"]
    response = await client.post(
        f"{BASE}/tickets", json={"subject": "Help", "description": "It broke"}, headers=contact.auth
    )
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["requester_id"] == str(world.a.contact_id)
    assert ticket["channel"] == "portal"
    assert "group_id" not in ticket
    assert "unread_by_agent" not in ticket
    refused = await client.post(
        f"{BASE}/tickets", json={"subject": "Help", "tags": ["vip"]}, headers=contact.auth
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "field_not_allowed"


async def test_conversation_moves_counters_and_statuses(
    client: httpx.AsyncClient, world: World
) -> None:
    contact, agent = world.a["contact"], world.a["agent"]
    ticket = (
        await client.post(f"{BASE}/tickets", json={"subject": "Broken"}, headers=contact.auth)
    ).json()
    url = f"{BASE}/tickets/{ticket['id']}"
    reply = await client.post(
        f"{url}/messages",
        json={"body": "Can you send a photo?", "status": "pending_customer"},
        headers=agent.auth,
    )
    assert reply.status_code == 201, reply.text
    note = await client.post(
        f"{url}/messages",
        json={"body": "Looks like a driver bug", "is_internal": True},
        headers=agent.auth,
    )
    assert note.status_code == 201
    after_reply = (await client.get(url, headers=agent.auth)).json()
    assert after_reply["status"] == "pending_customer"
    assert after_reply["first_response_at"] is not None
    assert after_reply["unread_by_customer"] == 1
    assert after_reply["message_count"] == 2
    assert after_reply["public_message_count"] == 1
    answer = await client.post(f"{url}/messages", json={"body": "Here it is"}, headers=contact.auth)
    assert answer.status_code == 201
    reopened = (await client.get(url, headers=agent.auth)).json()
    assert reopened["status_category"] == "open"
    assert reopened["unread_by_agent"] == 1
    thread = (await client.get(f"{url}/messages", headers=contact.auth)).json()["items"]
    assert [m["body_text"] for m in thread] == ["Can you send a photo?", "Here it is"]
    assert (await client.post(f"{url}/mark-read", headers=contact.auth)).status_code == 204
    assert (await client.get(url, headers=contact.auth)).json()["unread_by_customer"] == 0


async def test_dedup_key_returns_the_first_message(client: httpx.AsyncClient, world: World) -> None:
    ticket = await _ticket(client, world)
    url = f"{BASE}/tickets/{ticket['id']}/messages"
    body = {"body": "Once", "dedup_key": "mail-123"}
    first = await client.post(url, json=body, headers=world.a["agent"].auth)
    again = await client.post(url, json=body, headers=world.a["agent"].auth)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    thread = (await client.get(url, headers=world.a["agent"].auth)).json()["items"]
    assert len(thread) == 1


async def test_closing_and_reopening(client: httpx.AsyncClient, world: World) -> None:
    agent = world.a["agent"]
    ticket = await _ticket(client, world)
    url = f"{BASE}/tickets/{ticket['id']}"
    closed = await client.patch(url, json={"status": "closed"}, headers=agent.auth)
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed_at"] is not None
    assert closed.json()["resolved_at"] is not None
    reopened = await client.patch(url, json={"status": "open"}, headers=agent.auth)
    assert reopened.json()["reopen_count"] == 1
    assert reopened.json()["closed_at"] is None
    timeline = (await client.get(f"{url}/audit", headers=agent.auth)).json()["items"]
    assert [e["action"] for e in timeline] == ["created", "status_changed", "reopened"]


async def test_unknown_status_and_stale_etag(client: httpx.AsyncClient, world: World) -> None:
    agent = world.a["agent"]
    ticket = await _ticket(client, world)
    url = f"{BASE}/tickets/{ticket['id']}"
    bad = await client.patch(url, json={"status": "nope"}, headers=agent.auth)
    assert bad.status_code == 422
    fresh = await client.get(url, headers=agent.auth)
    etag = fresh.headers["etag"]
    ok = await client.patch(
        url, json={"priority": "high"}, headers={**agent.auth, "If-Match": etag}
    )
    assert ok.status_code == 200
    stale = await client.patch(
        url, json={"priority": "low"}, headers={**agent.auth, "If-Match": etag}
    )
    assert stale.status_code == 412
    assert (await client.get(url, headers=agent.auth)).json()["priority"] == "high"


async def test_sorting_by_due_date_walks_every_ticket_once(
    client: httpx.AsyncClient, world: World
) -> None:
    agent = world.a["agent"]
    dues = ["2030-01-03T00:00:00Z", None, "2030-01-01T00:00:00Z", None, "2030-01-02T00:00:00Z"]
    for n, due in enumerate(dues):
        await _ticket(client, world, subject=f"Due {n}", due_at=due)
    for sort in ("due", "-due"):
        seen: list[str | None] = []
        cursor = None
        while True:
            params = {"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(f"{BASE}/tickets", params=params, headers=agent.auth)).json()
            seen += [t["due_at"] for t in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        dated = [d for d in seen if d is not None]
        assert len(seen) == 5
        assert seen[3:] == [None, None]
        assert dated == sorted(dated, reverse=sort.startswith("-"))


async def test_a_customer_writing_to_a_long_closed_ticket_opens_a_follow_up(
    client: httpx.AsyncClient, world: World
) -> None:
    owner, contact = world.a["owner"], world.a["contact"]
    settings = (await client.get(BASE, headers=owner.auth)).json()["settings"]
    await client.patch(
        BASE, json={"settings": {**settings, "reopen_window_days": 0}}, headers=owner.auth
    )
    ticket = (
        await client.post(f"{BASE}/tickets", json={"subject": "Old issue"}, headers=contact.auth)
    ).json()
    url = f"{BASE}/tickets/{ticket['id']}"
    await client.patch(url, json={"status": "closed"}, headers=owner.auth)
    reply = await client.post(f"{url}/messages", json={"body": "It's back"}, headers=contact.auth)
    assert reply.status_code == 201, reply.text
    follow_up_id = reply.json()["ticket_id"]
    assert follow_up_id != ticket["id"]
    follow_up = (await client.get(f"{BASE}/tickets/{follow_up_id}", headers=owner.auth)).json()
    assert follow_up["follow_up_of_id"] == ticket["id"]
    assert follow_up["subject"] == "Old issue"
    assert follow_up["requester_id"] == ticket["requester_id"]
    assert follow_up["unread_by_agent"] == 1
    old = (await client.get(url, headers=owner.auth)).json()
    assert (old["status"], old["reopen_count"]) == ("closed", 0)
    reopened_by_staff = await client.patch(url, json={"status": "open"}, headers=owner.auth)
    assert reopened_by_staff.json()["reopen_count"] == 1
    by_customer = await client.patch(url, json={"status": "closed"}, headers=owner.auth)
    assert by_customer.status_code == 200
    refused = await client.patch(url, json={"status": "open"}, headers=contact.auth)
    assert refused.status_code == 409
    assert refused.json()["code"] == "invalid_transition"
