"""Concurrent writers: ticket numbers stay unique, conditional updates lose nothing, round robin
stays fair, a dedup key makes one message; in-process and against a real server."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Iterator

import httpx
import pytest

from tests.factories import World
from tests.robustness.counters import record
from tests.robustness.processes import Server

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


# --- against a real server on PostgreSQL ------------------------------------------------------
# In-process ASGI runs one request at a time per event loop turn and shares one engine; a real
# `frontdesk serve` with two worker processes races for real (separate connections, processes).


@pytest.fixture(scope="module")
def running_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server | None]:
    """One server for the module (each test's data is its own: tables are emptied between)."""
    if not database_url.startswith("postgresql"):
        yield None
        return
    running = Server(database_url, tmp_path_factory.mktemp("api"), "api", workers=2)
    running.start_and_wait()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def server(running_server: Server | None, world: World) -> Server:
    if running_server is None:
        pytest.skip("races between API processes need PostgreSQL (SQLite serializes writers)")
    return running_server


async def _gather_limited(
    calls: list[Awaitable[httpx.Response]], limit: int
) -> list[httpx.Response]:
    gate = asyncio.Semaphore(limit)

    async def one(call: Awaitable[httpx.Response]) -> httpx.Response:
        async with gate:
            return await call

    return await asyncio.gather(*(one(call) for call in calls))


async def test_conditional_updates_lose_nothing(server: Server, world: World) -> None:
    """100 clients update 10 tickets with If-Match (re-reading after a 412, three tries each):
    the accepted updates got one version each, every one is in the ticket's timeline, and the
    final state is the last accepted one."""
    agent = world.a["agent"].auth
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        tickets = []
        for n in range(10):
            body = {"subject": f"Shared {n}", "requester": {"email": "s@example.org"}}
            made = await http.post(BASE, json=body, headers=agent)
            assert made.status_code == 201, made.text
            tickets.append(made.json()["id"])
        accepted: dict[str, list[tuple[int, str]]] = {t: [] for t in tickets}
        refused = 0

        async def client(n: int) -> httpx.Response:
            nonlocal refused
            ticket_id = tickets[n % 10]
            url = f"{BASE}/{ticket_id}"
            for _ in range(3):
                current = await http.get(url, headers=agent)
                changed = await http.patch(
                    url,
                    json={"subject": f"client {n}"},
                    headers={**agent, "If-Match": current.headers["etag"]},
                )
                if changed.status_code == 200:
                    accepted[ticket_id].append((changed.json()["version"], f"client {n}"))
                    return changed
                assert changed.status_code in (409, 412), changed.text
                refused += 1
            return changed

        await _gather_limited([client(n) for n in range(100)], 100)

        for ticket_id, updates in accepted.items():
            assert updates, f"no update of {ticket_id} got in"
            versions = sorted(version for version, _ in updates)
            assert versions == list(range(2, 2 + len(updates))), versions
            final = (await http.get(f"{BASE}/{ticket_id}", headers=agent)).json()
            assert (final["version"], final["subject"]) == max(updates)
            timeline = await http.get(f"{BASE}/{ticket_id}/audit?limit=200", headers=agent)
            subjects = [
                e["after"]
                for e in timeline.json()["items"]
                if e["action"] == "field_changed" and e["field"] == "subject"
            ]
            assert sorted(subjects) == sorted(subject for _, subject in updates)
    record(
        "concurrency_if_match",
        "postgresql",
        {
            "clients": 100,
            "tickets": 10,
            "accepted": sum(len(u) for u in accepted.values()),
            "refused_412_409": refused,
            "lost_updates": 0,
        },
    )
    assert refused > 0, "the clients should have collided"


async def test_one_new_customer_writing_twice_at_once_is_one_contact(
    server: Server, world: World
) -> None:
    """Found by the round-robin test: two tickets naming the same new requester at once made
    the second a 409 (both tried to create the contact)."""
    agent = world.a["agent"].auth
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        calls = [
            http.post(
                BASE,
                json={"subject": "Hello", "requester": {"email": f"new{n % 2}@example.org"}},
                headers=agent,
            )
            for n in range(20)
        ]
        made = await _gather_limited(calls, 20)
    assert [r.status_code for r in made] == [201] * 20, [r.text for r in made]
    assert len({r.json()["requester_id"] for r in made}) == 2


async def test_round_robin_stays_fair_under_concurrent_creation(
    server: Server, world: World
) -> None:
    owner = world.a["owner"].auth
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        group = await http.post(
            "/api/v1/tenants/acme/groups",
            json={"name": "Round", "assignment_strategy": "round_robin"},
            headers=owner,
        )
        assert group.status_code == 201, group.text
        agents = []
        for n in range(4):
            member = await http.post(
                "/api/v1/tenants/acme/members",
                json={"email": f"rr{n}@acme.example.com", "role": "agent"},
                headers=owner,
            )
            assert member.status_code == 201, member.text
            joined = await http.post(
                f"/api/v1/tenants/acme/groups/{group.json()['id']}/members",
                json={"user_id": member.json()["user_id"]},
                headers=owner,
            )
            assert joined.status_code == 201, joined.text
            agents.append(member.json()["user_id"])
        body = {
            "subject": "Turn",
            "group_id": group.json()["id"],
            "requester": {"email": "t@example.org"},
        }
        made = await _gather_limited(
            [http.post(BASE, json=body, headers=owner) for _ in range(40)], 40
        )
    assert [r.status_code for r in made] == [201] * 40, [
        r.text for r in made if r.status_code != 201
    ]
    load = Counter(r.json()["assignee_id"] for r in made)
    record(
        "concurrency_round_robin",
        "postgresql",
        {"tickets": 40, "agents": 4, "per_agent": sorted(load.values())},
    )
    assert set(load) == set(agents)
    assert max(load.values()) - min(load.values()) <= 1, load


async def test_concurrent_duplicates_make_one_message(server: Server, world: World) -> None:
    agent = world.a["agent"].auth
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        made = await http.post(
            BASE, json={"subject": "Dedup", "requester": {"email": "d@example.org"}}, headers=agent
        )
        url = f"{BASE}/{made.json()['id']}/messages"
        body = {"body": "Once only", "dedup_key": "<mail-1@example.org>"}
        answers = await _gather_limited(
            [http.post(url, json=body, headers=agent) for _ in range(30)], 30
        )
        thread = await http.get(url, headers=agent)
    codes = Counter(r.status_code for r in answers)
    assert codes[201] == 1, codes
    assert codes[201] + codes[200] == 30, codes
    assert len({r.json()["id"] for r in answers}) == 1
    assert len(thread.json()["items"]) == 1


async def test_concurrent_creation_across_processes_keeps_numbers_unique(
    server: Server, world: World
) -> None:
    agent = world.a["agent"].auth
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        calls = [
            http.post(
                BASE,
                json={"subject": f"N{n}", "requester": {"email": "n@example.org"}},
                headers=agent,
            )
            for n in range(100)
        ]
        made = await _gather_limited(calls, 50)
    assert [r.status_code for r in made] == [201] * 100, [
        r.text for r in made if r.status_code != 201
    ]
    assert sorted(r.json()["number"] for r in made) == list(range(1, 101))
