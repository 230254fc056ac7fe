"""Concurrent writers: ticket numbers stay unique, one conditional update wins."""

from __future__ import annotations

import asyncio

import httpx

from tests.factories import World

BASE = "/api/v1/tenants/acme/tickets"


async def test_concurrent_creation_keeps_numbers_unique(
    client: httpx.AsyncClient, world: World
) -> None:
    agent = world.a["agent"]

    async def create(n: int) -> httpx.Response:
        return await client.post(
            BASE,
            json={"subject": f"Parallel {n}", "requester": {"email": f"p{n % 3}@example.org"}},
            headers=agent.auth,
        )

    responses = await asyncio.gather(*(create(n) for n in range(24)))
    assert [r.status_code for r in responses] == [201] * 24, [
        r.text for r in responses if r.status_code != 201
    ]
    numbers = sorted(r.json()["number"] for r in responses)
    assert numbers == list(range(1, 25))


async def test_same_if_match_exactly_one_wins(client: httpx.AsyncClient, world: World) -> None:
    agent = world.a["agent"]
    created = await client.post(
        BASE, json={"subject": "Race", "requester": {"email": "r@example.org"}}, headers=agent.auth
    )
    url = f"{BASE}/{created.json()['id']}"
    etag = (await client.get(url, headers=agent.auth)).headers["etag"]

    async def change(priority: str) -> httpx.Response:
        return await client.patch(
            url, json={"priority": priority}, headers={**agent.auth, "If-Match": etag}
        )

    responses = await asyncio.gather(*(change(p) for p in ["low", "high", "urgent", "low"] * 3))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 1, codes
    assert set(codes) <= {200, 409, 412}
    winner = next(r for r in responses if r.status_code == 200).json()
    final = (await client.get(url, headers=agent.auth)).json()
    assert final["priority"] == winner["priority"]
    assert final["version"] == 2
