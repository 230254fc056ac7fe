"""List endpoints make a fixed number of queries, whatever the page size (no N+1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import World


@contextmanager
def counted(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        # Reads only: the token's last-used stamp is written at most once a minute.
        if args[2].lstrip().upper().startswith("SELECT"):
            statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def _queries_for(
    client: httpx.AsyncClient, engine: AsyncEngine, url: str, auth: dict[str, str]
) -> int:
    with counted(engine) as statements:
        response = await client.get(url, headers=auth)
    assert response.status_code == 200
    return len(statements)


async def test_contact_and_organization_lists_do_not_grow_with_rows(
    client: httpx.AsyncClient, world: World, engine: AsyncEngine
) -> None:
    owner = world.a["owner"]
    base = "/api/v1/tenants/acme"
    await _add_rows(client, owner.auth, range(1))
    few = {
        "contacts": await _queries_for(client, engine, f"{base}/contacts", owner.auth),
        "organizations": await _queries_for(client, engine, f"{base}/organizations", owner.auth),
        "members": await _queries_for(client, engine, f"{base}/members", owner.auth),
    }
    await _add_rows(client, owner.auth, range(1, 13))
    many = {
        "contacts": await _queries_for(client, engine, f"{base}/contacts", owner.auth),
        "organizations": await _queries_for(client, engine, f"{base}/organizations", owner.auth),
        "members": await _queries_for(client, engine, f"{base}/members", owner.auth),
    }
    assert many == few


async def _add_rows(client: httpx.AsyncClient, auth: dict[str, str], numbers: range) -> None:
    base = "/api/v1/tenants/acme"
    for n in numbers:
        await client.post(
            f"{base}/organizations",
            json={"name": f"Org {n}", "domains": [f"org{n}.example"]},
            headers=auth,
        )
        await client.post(
            f"{base}/contacts",
            json={"name": f"Person {n}", "emails": [f"p{n}@org{n}.example", f"alt{n}@x.example"]},
            headers=auth,
        )
        await client.post(
            f"{base}/members", json={"email": f"m{n}@acme.test", "role": "agent"}, headers=auth
        )


# --- the ticket request path (issue 7): budgets that lock the gains in -----------------------

TICKETS = "/api/v1/tenants/acme/tickets"


@contextmanager
def statements_of(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every statement a request sends, but BEGIN (a driver detail on SQLite) and the token's
    last-used stamp (written at most once a minute)."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        sql = args[2].lstrip()
        if not sql.upper().startswith("BEGIN") and not sql.startswith("UPDATE api_token"):
            statements.append(sql)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def _reads(statements: list[str]) -> list[str]:
    return [s for s in statements if s.upper().startswith("SELECT")]


async def _queue(client: httpx.AsyncClient, world: World) -> str:
    owner, agent = world.a["owner"], world.a["agent"]
    base = "/api/v1/tenants/acme"
    group = (await client.post(f"{base}/groups", json={"name": "Queue"}, headers=owner.auth)).json()
    member = {"user_id": str(agent.user_id), "role": "agent"}
    await client.post(f"{base}/groups/{group['id']}/members", json=member, headers=owner.auth)
    return str(group["id"])


async def _create(client: httpx.AsyncClient, world: World, group_id: str) -> dict[str, Any]:
    body = {
        "subject": "The export stops at row 4096",
        "description": "Since Monday",
        "requester_id": str(world.a.contact_id),
        "group_id": group_id,
        "tags": ["export", "billing"],
    }
    response = await client.post(TICKETS, json=body, headers=world.a["agent"].auth)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_ticket_reads_make_a_fixed_number_of_queries(
    client: httpx.AsyncClient, world: World, engine: AsyncEngine
) -> None:
    """Token, user, tenant and membership in one query; then the page, statuses and tags."""
    agent = world.a["agent"].auth
    group_id = await _queue(client, world)
    ticket = await _create(client, world, group_id)
    reply = {"body": "Which browser?"}
    await client.post(f"{TICKETS}/{ticket['id']}/messages", json=reply, headers=agent)
    queue = {"group_id": group_id, "status_category": "new", "sort": "-updated", "limit": "50"}
    calls = {
        "list": (TICKETS, queue),
        "search": (TICKETS, {"q": "export row", "limit": "50"}),
        "get": (f"{TICKETS}/{ticket['id']}", {}),
        "thread": (f"{TICKETS}/{ticket['id']}/messages", {"limit": "20"}),
    }
    counts: dict[str, list[int]] = {name: [] for name in calls}
    for more in (0, 6):
        for _ in range(more):
            await _create(client, world, group_id)
        for name, (url, params) in calls.items():
            with statements_of(engine) as statements:
                response = await client.get(url, params=params, headers=agent)
            assert response.status_code == 200
            counts[name].append(len(statements))
    assert counts == {"list": [4, 4], "search": [4, 4], "get": [4, 4], "thread": [4, 4]}


async def test_ticket_writes_stay_within_their_statement_budget(
    client: httpx.AsyncClient, world: World, engine: AsyncEngine
) -> None:
    agent = world.a["agent"].auth
    group_id = await _queue(client, world)
    await _create(client, world, group_id)  # the tenant's first ticket sets up what is cached
    with statements_of(engine) as created:
        ticket = await _create(client, world, group_id)
    url = f"{TICKETS}/{ticket['id']}"
    with statements_of(engine) as replied:
        reply = await client.post(f"{url}/messages", json={"body": "On it"}, headers=agent)
    with statements_of(engine) as patched:
        patch = await client.patch(url, json={"status": "pending_customer"}, headers=agent)
    assert (reply.status_code, patch.status_code) == (201, 200)
    # Each write: its rows (the ticket's written once), its timeline entry, its event and the
    # SLA reaction's one read.
    assert len(created) <= 12, created
    assert len(replied) <= 9, replied
    assert len(patched) <= 8, patched
    assert len(_reads(patched)) <= 5, patched


async def test_a_bulk_update_reads_its_tickets_once_whatever_their_number(
    client: httpx.AsyncClient, world: World, engine: AsyncEngine
) -> None:
    """The change's reads do not grow with the tickets (their SLA clocks are read for all of
    them in one query); each ticket adds its savepoint and its one UPDATE, and the timeline
    entries and events of all of them are one INSERT each."""
    agent = world.a["agent"].auth
    group_id = await _queue(client, world)
    ids = [(await _create(client, world, group_id))["id"] for _ in range(10)]
    counts = []
    for size, priority in ((2, "high"), (10, "low")):
        body = {"ticket_ids": ids[:size], "changes": {"priority": priority}}
        with statements_of(engine) as statements:
            response = await client.post(f"{TICKETS}/bulk", json=body, headers=agent)
        assert response.status_code == 200
        assert all(result["ok"] for result in response.json()["results"])
        reads = _reads(statements)
        clock_reads = [read for read in reads if read.startswith("SELECT ticket_sla_state.")]
        assert len(clock_reads) == 1
        counts.append((len(reads), len(statements)))
    (reads_2, all_2), (reads_10, all_10) = counts
    assert reads_10 == reads_2
    # SAVEPOINT, UPDATE ticket, RELEASE per ticket (with SLA clocks: their UPDATE too).
    assert (all_10 - all_2) / 8 <= 3
