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
