"""The admin SLA and mail pages make a fixed number of queries, however many rows they show."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import World
from tests.identity.test_query_counts import counted
from tests.web.pages import sign_in

API = "/api/v1/tenants/acme"
PAGES = [
    "/app/acme/admin/sla/calendars",
    "/app/acme/admin/sla/policies",
    "/app/acme/admin/sla/policies/new",
    "/app/acme/admin/sla/report",
    "/app/acme/admin/channels",
    "/app/acme/admin/mail/outbound",
]


async def _queries(client: httpx.AsyncClient, engine: AsyncEngine) -> list[int]:
    found = []
    for url in PAGES:
        with counted(engine) as statements:
            response = await client.get(url)
        assert response.status_code == 200, url
        found.append(len(statements))
    return found


async def _settings(client: httpx.AsyncClient, world: World, numbers: range) -> None:
    owner = world.a["owner"].auth
    for n in numbers:
        calendar = await client.post(
            f"{API}/sla/calendars",
            json={"name": f"C{n}", "timezone": "UTC", "schedule": {"mon": [["09:00", "17:00"]]}},
            headers=owner,
        )
        assert calendar.status_code == 201, calendar.text
        policy = await client.post(
            f"{API}/sla/policies",
            json={
                "name": f"P{n}",
                "calendar_id": calendar.json()["id"],
                "targets": [{"priority": "high", "metric": "resolution", "minutes": 60 + n}],
            },
            headers=owner,
        )
        assert policy.status_code == 201, policy.text
        channel = await client.post(
            f"{API}/channels",
            json={"name": f"Ch{n}", "address": f"desk{n}@acme.example", "mode": "push"},
            headers=owner,
        )
        assert channel.status_code == 201, channel.text


async def test_admin_sla_and_mail_pages_do_not_grow_with_rows(
    client: httpx.AsyncClient, world: World, engine: AsyncEngine
) -> None:
    await _settings(client, world, range(1))
    await sign_in(client, world.a["owner"].email)
    few = await _queries(client, engine)
    await _settings(client, world, range(1, 8))
    many = await _queries(client, engine)
    assert many == few, dict(zip(PAGES, zip(few, many, strict=True), strict=True))
