"""Every page route answers bad input with a 4xx page naming the problem, never a 500."""

from __future__ import annotations

import re
from uuid import uuid4

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from tests.factories import World
from tests.web.pages import csrf_for, sign_in

PAGE_PREFIXES = ("/app", "/portal")
JUNK_FIELDS = {
    "subject": "",
    "body": "",
    "email": "not-an-email",
    "requester_email": "nope",
    "status": "NOT A STATUS",
    "priority": "whenever",
    "type": "riddle",
    "group_id": "not-a-uuid",
    "assignee_id": str(uuid4()),
    "assignee": "someone",
    "category_id": str(uuid4()),
    "ticket_ids": ["zzz", str(uuid4())],
    "version": "seven",
    "mode": "shout",
    "role": "emperor",
    "user_id": "x",
    "key": "Bad Key",
    "label": "",
    "category": "limbo",
    "name": "",
    "primary_color": "red",
    "accent_color": "blue",
    "action": "explode",
    "assignment_strategy": "coin_flip",
    "tags": "a" * 80,
}


def _page_routes(app: FastAPI) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path.startswith(PAGE_PREFIXES):
            found += [(method, context.path) for method in sorted(route.methods)]
    return found


def _fill(path: str, ticket_id: str) -> str:
    path = path.replace("{tenant}", "acme").replace("{ticket_id}", ticket_id)
    return re.sub(r"\{[a-z_]+\}", str(uuid4()), path)


async def test_posts_with_junk_are_refused_cleanly(
    client: httpx.AsyncClient, world: World, app: FastAPI
) -> None:
    created = await client.post(
        "/api/v1/tenants/acme/tickets",
        json={"subject": "Target", "requester_id": str(world.a.contact_id)},
        headers=world.a["agent"].auth,
    )
    ticket_id = created.json()["id"]
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, "/app/acme/admin/members")
    posts = [(m, p) for m, p in _page_routes(app) if m == "POST"]
    assert len(posts) > 20
    for _, template in posts:
        if template.endswith(("/logout", "/login")):
            continue
        path = _fill(template, ticket_id)
        response = await client.post(path, data={"csrf_token": csrf, **JUNK_FIELDS})
        assert response.status_code < 500, (template, response.text[:500])


async def test_gets_with_junk_queries_are_refused_cleanly(
    client: httpx.AsyncClient, world: World, app: FastAPI
) -> None:
    await sign_in(client, world.a["owner"].email)
    query = "view=group:nope&sort=sideways&cursor=%%%&priority=whenever&status=x&ticket=1"
    for method, template in _page_routes(app):
        if method != "GET" or template.endswith("/live"):
            continue
        path = _fill(template, "not-a-uuid")
        response = await client.get(f"{path}?{query}")
        assert response.status_code < 500, (template, response.text[:500])
    for view in ("nope", "group:nope", f"group:{uuid4()}"):
        response = await client.get(f"/app/acme/tickets?view={view}")
        assert response.status_code in (200, 422), view
