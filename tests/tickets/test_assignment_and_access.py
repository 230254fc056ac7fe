"""Assignment rules, auto-assignment, group visibility, access grants and bulk updates."""

from __future__ import annotations

import httpx

from tests.factories import World

BASE = "/api/v1/tenants/acme"


async def _group(
    client: httpx.AsyncClient, world: World, name: str, strategy: str = "queue_only"
) -> str:
    owner = world.a["owner"]
    response = await client.post(
        f"{BASE}/groups", json={"name": name, "assignment_strategy": strategy}, headers=owner.auth
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _join(client: httpx.AsyncClient, world: World, group_id: str, user_id: object) -> None:
    response = await client.post(
        f"{BASE}/groups/{group_id}/members",
        json={"user_id": str(user_id)},
        headers=world.a["owner"].auth,
    )
    assert response.status_code == 201, response.text


async def _agents(client: httpx.AsyncClient, world: World, count: int) -> list[str]:
    ids = []
    for n in range(count):
        response = await client.post(
            f"{BASE}/members",
            json={"email": f"rr{n}@acme.example.org", "role": "agent"},
            headers=world.a["owner"].auth,
        )
        ids.append(response.json()["user_id"])
    return ids


async def _ticket(client: httpx.AsyncClient, world: World, **fields: object) -> dict:
    body = {"subject": "Needs a home", "requester": {"email": "c@example.org"}, **fields}
    response = await client.post(f"{BASE}/tickets", json=body, headers=world.a["owner"].auth)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_assignee_must_be_in_the_group(client: httpx.AsyncClient, world: World) -> None:
    group = await _group(client, world, "Tier 1")
    agent = world.a["agent"]
    refused = await client.post(
        f"{BASE}/tickets",
        json={
            "subject": "x",
            "requester": {"email": "c@example.org"},
            "group_id": group,
            "assignee_id": str(agent.user_id),
        },
        headers=world.a["owner"].auth,
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "not_assignable"
    light = await client.post(
        f"{BASE}/tickets",
        json={
            "subject": "x",
            "requester": {"email": "c@example.org"},
            "assignee_id": str(world.a["light_agent"].user_id),
        },
        headers=world.a["owner"].auth,
    )
    assert light.status_code == 422
    await _join(client, world, group, agent.user_id)
    ticket = await _ticket(client, world, group_id=group, assignee_id=str(agent.user_id))
    history = (
        await client.get(f"{BASE}/tickets/{ticket['id']}/assignments", headers=agent.auth)
    ).json()
    assert [(h["to_group_id"], h["to_user_id"]) for h in history] == [(group, str(agent.user_id))]


async def test_round_robin_takes_turns(client: httpx.AsyncClient, world: World) -> None:
    group = await _group(client, world, "Round", "round_robin")
    agents = await _agents(client, world, 3)
    for user_id in agents:
        await _join(client, world, group, user_id)
    assignees = [(await _ticket(client, world, group_id=group))["assignee_id"] for _ in range(6)]
    assert sorted(assignees[:3]) == sorted(agents)
    assert assignees[3:] == assignees[:3]


async def test_load_balanced_picks_the_least_busy(client: httpx.AsyncClient, world: World) -> None:
    group = await _group(client, world, "Balanced", "load_balanced")
    busy, idle = await _agents(client, world, 2)
    for user_id in (busy, idle):
        await _join(client, world, group, user_id)
    for _ in range(2):
        await _ticket(client, world, group_id=group, assignee_id=busy)
    assert (await _ticket(client, world, group_id=group))["assignee_id"] == idle


async def test_agents_see_their_groups_and_shared_tickets(
    client: httpx.AsyncClient, world: World
) -> None:
    mine, other = await _group(client, world, "Mine"), await _group(client, world, "Other")
    agent = world.a["agent"]
    await _join(client, world, mine, agent.user_id)
    in_mine = await _ticket(client, world, group_id=mine)
    in_other = await _ticket(client, world, group_id=other)
    listed = {
        t["id"] for t in (await client.get(f"{BASE}/tickets", headers=agent.auth)).json()["items"]
    }
    assert in_mine["id"] in listed
    assert in_other["id"] not in listed
    hidden = await client.get(f"{BASE}/tickets/{in_other['id']}", headers=agent.auth)
    assert hidden.status_code == 404
    grant = await client.post(
        f"{BASE}/tickets/{in_other['id']}/access",
        json={"group_id": mine, "level": "read"},
        headers=world.a["owner"].auth,
    )
    assert grant.status_code == 201
    assert (
        await client.get(f"{BASE}/tickets/{in_other['id']}", headers=agent.auth)
    ).status_code == 200
    read_only = await client.patch(
        f"{BASE}/tickets/{in_other['id']}", json={"priority": "high"}, headers=agent.auth
    )
    assert read_only.status_code == 403
    await client.post(
        f"{BASE}/tickets/{in_other['id']}/access",
        json={"group_id": mine, "level": "write"},
        headers=world.a["owner"].auth,
    )
    writable = await client.patch(
        f"{BASE}/tickets/{in_other['id']}", json={"priority": "high"}, headers=agent.auth
    )
    assert writable.status_code == 200


async def test_bulk_update_reports_each_ticket(client: httpx.AsyncClient, world: World) -> None:
    owner = world.a["owner"]
    first, second = await _ticket(client, world), await _ticket(client, world)
    missing = "01a20000-0000-7000-8000-000000000000"
    response = await client.post(
        f"{BASE}/tickets/bulk",
        json={
            "ticket_ids": [first["id"], second["id"], missing],
            "changes": {"status": "open", "priority": "urgent", "add_tags": ["Outage"]},
        },
        headers=owner.auth,
    )
    assert response.status_code == 200, response.text
    results = {r["id"]: r for r in response.json()["results"]}
    assert results[first["id"]]["ok"]
    assert results[second["id"]]["ok"]
    assert results[missing]["status"] == 404
    after = (await client.get(f"{BASE}/tickets/{first['id']}", headers=owner.auth)).json()
    assert (after["status"], after["priority"], after["tags"]) == ("open", "urgent", ["outage"])
    bad_group = await client.post(
        f"{BASE}/tickets/bulk",
        json={"ticket_ids": [first["id"]], "changes": {"group_id": missing}},
        headers=owner.auth,
    )
    assert bad_group.json()["results"][0]["status"] == 404
    unchanged = (await client.get(f"{BASE}/tickets/{first['id']}", headers=owner.auth)).json()
    assert unchanged["version"] == after["version"]


async def test_soft_delete_restore_and_purge(client: httpx.AsyncClient, world: World) -> None:
    owner, agent = world.a["owner"], world.a["agent"]
    ticket = await _ticket(client, world)
    url = f"{BASE}/tickets/{ticket['id']}"
    assert (await client.delete(url, headers=agent.auth)).status_code == 204
    assert (await client.get(url, headers=agent.auth)).status_code == 404
    assert (await client.get(url, headers=owner.auth)).json()["deleted_at"] is not None
    restored = await client.post(f"{url}/restore", headers=agent.auth)
    assert restored.status_code == 200
    assert restored.json()["deleted_at"] is None
    assert (await client.delete(f"{url}?purge=true", headers=agent.auth)).status_code == 403
    assert (await client.delete(f"{url}?purge=true", headers=owner.auth)).status_code == 204
    assert (await client.get(url, headers=owner.auth)).status_code == 404


async def test_bad_ticket_input_is_refused_whole(client: httpx.AsyncClient, world: World) -> None:
    owner = world.a["owner"]
    ticket = await _ticket(client, world)
    url = f"{BASE}/tickets/{ticket['id']}"
    cases = [
        (
            "post",
            f"{BASE}/tickets",
            {"subject": "x", "requester": {"email": "c@example.org"}, "bogus": 1},
            422,
        ),
        ("post", f"{BASE}/tickets", {"subject": "", "requester": {"email": "c@example.org"}}, 422),
        ("post", f"{BASE}/tickets", {"subject": "x"}, 422),
        (
            "post",
            f"{BASE}/tickets",
            {"subject": "x", "requester_id": "01a20000-0000-7000-8000-000000000000"},
            404,
        ),
        ("post", f"{url}/messages", {"body": "   "}, 422),
        ("post", f"{url}/tags", {"tag": "x" * 65}, 422),
        ("patch", url, {"tags": ["ok", "y" * 65]}, 422),
        ("patch", url, {"priority": "whenever"}, 422),
        ("patch", url, {"number": 99}, 422),
    ]
    for method, target, body, expected in cases:
        response = await client.request(method.upper(), target, json=body, headers=owner.auth)
        assert response.status_code == expected, (target, body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    after = (await client.get(url, headers=owner.auth)).json()
    assert after["version"] == ticket["version"]
    assert after["tags"] == []
    listed = (await client.get(f"{BASE}/tickets", headers=owner.auth)).json()["items"]
    assert len(listed) == 1


async def test_a_transfer_keeps_what_it_leaves_out(client: httpx.AsyncClient, world: World) -> None:
    group, other = await _group(client, world, "Kept"), await _group(client, world, "Next")
    agent, colleague = world.a["agent"], world.a["owner"]
    for user_id in (agent.user_id, colleague.user_id):
        await _join(client, world, group, user_id)
    ticket = await _ticket(client, world, group_id=group)
    url = f"{BASE}/tickets/{ticket['id']}"
    owner = world.a["owner"].auth

    async def transfer(body: dict[str, object]) -> dict:
        response = await client.post(f"{url}/assignments", json=body, headers=owner)
        assert response.status_code in (200, 201, 204), response.text
        current = (await client.get(url, headers=owner)).json()
        return {"group": current["group_id"], "assignee": current["assignee_id"]}

    assert await transfer({"assignee_id": str(agent.user_id)}) == {
        "group": group,
        "assignee": str(agent.user_id),
    }
    assert await transfer({"group_id": group}) == {"group": group, "assignee": str(agent.user_id)}
    assert await transfer({"assignee_id": str(colleague.user_id), "reason": "cover"}) == {
        "group": group,
        "assignee": str(colleague.user_id),
    }
    assert await transfer({"assignee_id": None}) == {"group": group, "assignee": None}
    assert await transfer({"group_id": other}) == {"group": other, "assignee": None}
    assert await transfer({"group_id": None}) == {"group": None, "assignee": None}
