"""The customer portal over real HTTP: sign in, submit, the public thread only, close/reopen."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.db import transaction
from frontdesk.tenancy.models import Tenant
from tests.factories import World
from tests.web.pages import csrf_for, csrf_of, sign_in

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


async def _set_tenant(
    sessionmaker: async_sessionmaker[AsyncSession], world: World, **settings: object
) -> None:
    async with transaction(sessionmaker) as session:
        tenant = await session.get(Tenant, world.a.id)
        assert tenant is not None
        tenant.settings = {**tenant.settings, **settings}


async def _submit(client: httpx.AsyncClient, subject: str) -> str:
    csrf = await csrf_for(client, "/portal/acme/tickets/new")
    response = await client.post(
        "/portal/acme/tickets/new",
        data={"csrf_token": csrf, "subject": subject, "description": "It broke"},
        files={"files": ("shot.png", PNG, "image/png")},
    )
    assert response.status_code == 303, response.text
    return response.headers["location"].split("/tickets/")[1].split("?")[0]


async def test_customer_submits_and_sees_public_thread_only(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, world.a["contact"].email, login_path="/portal/acme/login")
    ticket_id = await _submit(client, "Broken invoice")
    agent = world.a["agent"].auth
    base = f"/api/v1/tenants/acme/tickets/{ticket_id}/messages"
    await client.post(base, json={"body": "We are on it"}, headers=agent)
    await client.post(base, json={"body": "secret plan", "is_internal": True}, headers=agent)
    page = await client.get(f"/portal/acme/tickets/{ticket_id}")
    assert page.status_code == 200
    assert "We are on it" in page.text
    assert "secret plan" not in page.text
    assert "shot.png" in page.text
    listing = await client.get("/portal/acme")
    assert "Broken invoice" in listing.text


async def test_customer_replies_closes_and_reopens(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["contact"].email, login_path="/portal/acme/login")
    ticket_id = await _submit(client, "Slow")
    path = f"/portal/acme/tickets/{ticket_id}"
    csrf = csrf_of((await client.get(path)).text)
    reply = await client.post(f"{path}/compose", data={"csrf_token": csrf, "body": "Still slow"})
    assert reply.status_code == 303
    closed = await client.post(f"{path}/status", data={"csrf_token": csrf, "action": "close"})
    assert closed.status_code == 303
    api = f"/api/v1/tenants/acme/tickets/{ticket_id}"
    assert (await client.get(api, headers=world.a["agent"].auth)).json()["status"] == "closed"
    reopened = await client.post(f"{path}/status", data={"csrf_token": csrf, "action": "reopen"})
    assert reopened.status_code == 303
    after = (await client.get(api, headers=world.a["agent"].auth)).json()
    assert after["status_category"] == "open"
    assert after["reopen_count"] == 1


async def test_anonymous_submission_only_where_allowed(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    form = {"name": "Ann", "email": "ann@example.org", "subject": "Hi", "description": "Help"}
    refused = await client.post("/portal/acme/tickets/new", data=form)
    assert refused.status_code == 422
    await _set_tenant(sessionmaker, world, portal_allows_anonymous_submission=True)
    accepted = await client.post("/portal/acme/tickets/new", data=form)
    assert accepted.status_code == 303
    listed = await client.get("/api/v1/tenants/acme/tickets?q=Help", headers=world.a["agent"].auth)
    assert [t["subject"] for t in listed.json()["items"]] == ["Hi"]
    assert listed.json()["items"][0]["channel"] == "portal"


async def test_anonymous_form_from_another_site_is_refused(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _set_tenant(sessionmaker, world, portal_allows_anonymous_submission=True)
    response = await client.post(
        "/portal/acme/tickets/new",
        data={"email": "ann@example.org", "subject": "Hi", "description": "Help"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


async def test_portal_pages_need_a_customer_of_this_tenant(
    client: httpx.AsyncClient, world: World
) -> None:
    anonymous = await client.get("/portal/acme/tickets/new")
    assert anonymous.status_code == 303
    await sign_in(client, world.b["contact"].email, login_path="/portal/acmeco/login")
    other = await client.get("/portal/acme/tickets/new")
    assert other.status_code == 303  # not a customer here: asked to sign in
    missing = await client.get("/portal/nope")
    assert missing.status_code == 404


async def test_staff_are_sent_to_the_console(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["agent"].email)
    response = await client.get("/portal/acme")
    assert response.status_code == 403
    assert "agent console" in response.text


async def test_brand_stylesheet(client: httpx.AsyncClient, world: World, app: FastAPI) -> None:
    response = await client.get("/portal/acme/brand.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "--brand: #1f5fbf" in response.text
