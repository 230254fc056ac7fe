"""Bad input on every write route: each is refused with a 4xx problem and leaves nothing behind.

Every response in this module is checked to be below 500 (an httpx response hook).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from frontdesk.metadata import metadata
from tests.factories import PASSWORD, World

PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
ACME = "/api/v1/tenants/acme"


def assert_problem(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON, response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "code"} <= set(body)
    if code is not None:
        assert body["code"] == code, body
    return body


def assert_validation_errors(body: dict[str, Any]) -> None:
    errors = body["errors"]
    assert isinstance(errors, list)
    assert errors
    for error in errors:
        assert isinstance(error["loc"], list)
        assert isinstance(error["msg"], str)
        assert error["msg"]
        assert isinstance(error["type"], str)


@pytest.fixture
async def http(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """The test client, refusing any 5xx answer."""

    async def no_server_error(response: httpx.Response) -> None:
        if response.status_code >= 500:
            await response.aread()
            request = response.request
            raise AssertionError(
                f"{request.method} {request.url} answered {response.status_code}: {response.text}"
            )

    client.event_hooks["response"].append(no_server_error)
    yield client
    client.event_hooks["response"].remove(no_server_error)


# --- the objects every route works on --------------------------------------------------------


@dataclass
class Scene:
    world: World
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def owner(self) -> dict[str, str]:
        return self.world.a["owner"].auth

    @property
    def admin(self) -> dict[str, str]:
        return self.world.platform_admin.auth


async def create_in_acme(
    http: httpx.AsyncClient, scene: Scene, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await http.post(f"{ACME}/{path}", json=body, headers=scene.owner)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
async def scene(http: httpx.AsyncClient, world: World) -> Scene:
    """acme with a group (with a member), a contact, an organization; ids by path parameter."""
    scene = Scene(world)

    async def create(path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await create_in_acme(http, scene, path, body)

    group = await create("groups", {"name": "Tier 1"})
    await create("groups", {"name": "Tier 2"})
    group_member = await create(
        f"groups/{group['id']}/members", {"user_id": str(world.a["agent"].user_id)}
    )
    contact = await create("contacts", {"name": "Pat Doe", "emails": ["pat@acme.example"]})
    organization = await create("organizations", {"name": "Initech", "domains": ["initech.io"]})
    await create("organizations", {"name": "Globex"})
    members = (await http.get(f"{ACME}/members", headers=scene.owner)).json()["items"]
    (agent_membership,) = [m for m in members if m["user_id"] == str(world.a["agent"].user_id)]
    scene.ids = {
        "tenant": "acme",
        "tenant_id": str(world.a.id),
        "group_id": group["id"],
        "group_member_id": group_member["id"],
        "member_id": agent_membership["id"],
        "contact_id": contact["id"],
        "organization_id": organization["id"],
    }
    return scene


async def with_tickets(http: httpx.AsyncClient, scene: Scene) -> Scene:
    """Adds a status, a category and two tickets (the first with two messages) to the scene."""
    if "ticket_id" in scene.ids:
        return scene

    async def create(path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await create_in_acme(http, scene, path, body)

    waiting = {"key": "waiting_on_vendor", "label": "Waiting on vendor", "category": "pending"}
    status = await create("statuses", waiting)
    category = await create("categories", {"name": "Hardware"})
    requester = scene.ids["contact_id"]
    ticket = await create("tickets", {"subject": "Printer on fire", "requester_id": requester})
    await create("tickets", {"subject": "Second ticket", "requester_id": requester})
    message = await create(f"tickets/{ticket['id']}/messages", {"body": "Turn it off and on."})
    await create(f"tickets/{ticket['id']}/messages", {"body": "Still on fire."})
    calendar = await create(
        "sla/calendars",
        {"name": "Desk", "timezone": "UTC", "schedule": {"tue": [["08:00", "18:00"]]}},
    )
    policy = await create("sla/policies", {"name": "Standard", "calendar_id": calendar["id"]})
    channel = await create(
        "channels", {"name": "Support", "address": "help@acme.example", "mode": "push"}
    )
    scene.ids |= {
        "calendar_id": calendar["id"],
        "policy_id": policy["id"],
        "channel_id": channel["id"],
        "secret": channel["push_url"].rsplit("/", 1)[1],
        # Only the oversize-body check uses these, and that answers before any lookup.
        "outbound_mail_id": str(uuid4()),
        "notification_id": str(uuid4()),
        "status_id": status["id"],
        "category_id": category["id"],
        "ticket_id": ticket["id"],
        "message_id": message["id"],
    }
    return scene


def needs_tickets(template: str) -> bool:
    parts = (
        "/tickets",
        "/statuses",
        "/categories",
        "/sla/",
        "/channels",
        "/outbound-mail",
        "/email/",
    )
    return any(part in template for part in parts)


def url_of(template: str, scene: Scene) -> str:
    ids = dict(scene.ids)
    if "/groups/{group_id}/members/" in template:
        ids["member_id"] = ids["group_member_id"]
    # No notification exists in the scene; the bodyless calls are refused before the route.
    ids.setdefault("notification_id", "01a2019b-66a2-719a-893a-ff7ea4c8cd55")
    return template.format(**ids)


async def snapshot(
    http: httpx.AsyncClient, scene: Scene, sessionmaker: async_sessionmaker[AsyncSession]
) -> dict[str, Any]:
    """What a failed write could have half-written: what it could change, read through the API,
    and the row count of every table (new rows, audit entries and events included)."""
    owner = scene.owner
    seen: dict[str, Any] = {}
    for path in (
        ACME,
        f"{ACME}/groups?limit=200",
        f"{ACME}/groups/{scene.ids['group_id']}/members",
        f"{ACME}/contacts?limit=200",
        f"{ACME}/organizations?limit=200",
        f"{ACME}/members?limit=200",
        f"{ACME}/audit?limit=200",
        "/api/v1/me",
        f"{ACME}/statuses",
        f"{ACME}/categories",
        f"{ACME}/tickets?limit=200",
        *(
            [f"{ACME}/tickets/{scene.ids['ticket_id']}/messages?limit=200"]
            if "ticket_id" in scene.ids
            else []
        ),
    ):
        response = await http.get(path, headers=owner)
        assert response.status_code == 200, (path, response.text)
        seen[path] = response.json()
    counts = union_all(
        *(
            select(literal(table.name).label("name"), func.count().label("rows")).select_from(table)
            for table in metadata.sorted_tables
        )
    )
    async with sessionmaker() as session:  # every row of every table, events included
        seen["rows"] = dict((await session.execute(counts)).all())
    return seen


@pytest.fixture
def unchanged(
    http: httpx.AsyncClient, scene: Scene, sessionmaker: async_sessionmaker[AsyncSession]
) -> Callable[[], Any]:
    """`async with unchanged():` asserts the block wrote nothing anywhere."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def check() -> AsyncIterator[None]:
        before = await snapshot(http, scene, sessionmaker)
        yield
        after = await snapshot(http, scene, sessionmaker)
        assert after == before

    return check


# --- the routes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    #: a valid body (POST) or merge patch (PATCH); built from the scene when callable
    valid: dict[str, Any] | Callable[[Scene], dict[str, Any]]
    wrong_types: dict[str, Any]
    #: PATCH: a field that cannot be null
    required: str | None = None
    as_platform_admin: bool = False
    has_etag: bool = True
    #: where the resource is read when it has no GET of its own: the list that holds it
    listed_at: str | None = None

    def url(self, scene: Scene) -> str:
        return url_of(self.template, scene)

    def auth(self, scene: Scene) -> dict[str, str]:
        return scene.admin if self.as_platform_admin else scene.owner

    def body(self, scene: Scene) -> dict[str, Any]:
        return self.valid(scene) if callable(self.valid) else dict(self.valid)


ROUTES = {
    f"{route.method} {route.template}": route
    for route in [
        Route(
            "POST",
            "/api/v1/auth/login",
            {"email": "owner@acme.test", "password": PASSWORD},
            {"email": 1, "password": ["x"]},
        ),
        Route(
            "PATCH",
            "/api/v1/me",
            {"display_name": "Olive Owner"},
            {"display_name": 5, "timezone": []},
            required="display_name",
        ),
        Route(
            "POST",
            "/api/v1/me/password",
            {"current_password": PASSWORD, "new_password": "another-long-password"},
            {"current_password": 1, "new_password": True},
        ),
        Route("POST", "/api/v1/me/tokens", {"name": "laptop"}, {"name": 5, "expires_at": "soon"}),
        Route(
            "POST",
            "/api/v1/admin/tenants",
            {"slug": "newco", "name": "New Co"},
            {"slug": 5, "name": None, "settings": "none"},
            as_platform_admin=True,
        ),
        Route(
            "PATCH",
            "/api/v1/admin/tenants/{tenant_id}",
            {"name": "Acme Renamed"},
            {"name": 5, "is_active": "maybe"},
            required="name",
            as_platform_admin=True,
        ),
        Route(
            "PATCH",
            "/api/v1/tenants/{tenant}",
            {"name": "Acme Renamed"},
            {"name": 5, "settings": {"reopen_window_days": "many"}},
            required="name",
        ),
        Route(
            "POST",
            "/api/v1/tenants/{tenant}/members",
            {"email": "newbie@acme.example", "role": "agent"},
            {"email": 5, "role": "emperor"},
        ),
        Route(
            "PATCH",
            "/api/v1/tenants/{tenant}/members/{member_id}",
            {"role": "light_agent"},
            {"role": 5},
            required="role",
        ),
        Route(
            "POST",
            "/api/v1/tenants/{tenant}/groups",
            {"name": "Escalations"},
            {"name": 5, "is_active": "sometimes"},
        ),
        Route(
            "PATCH",
            "/api/v1/tenants/{tenant}/groups/{group_id}",
            {"description": "First line"},
            {"name": 5, "routing_config": []},
            required="name",
        ),
        Route(
            "POST",
            "/api/v1/tenants/{tenant}/groups/{group_id}/members",
            lambda scene: {"user_id": str(scene.world.a["admin"].user_id)},
            {"user_id": 5, "role": 1},
        ),
        Route(
            "PATCH",
            "/api/v1/tenants/{tenant}/groups/{group_id}/members/{member_id}",
            {"role": "lead"},
            {"role": 5},
            required="role",
            has_etag=False,
        ),
        Route(
            "POST",
            "/api/v1/tenants/{tenant}/contacts",
            {"name": "Sam Roe", "emails": ["sam@acme.example"]},
            {"name": 5, "emails": "sam@acme.example"},
        ),
        Route(
            "PATCH",
            "/api/v1/tenants/{tenant}/contacts/{contact_id}",
            {"notes": "Prefers email"},
            {"emails": "not-a-list", "phone": 5},
            required="name",
        ),
        Route(
            "POST",
            "/api/v1/tenants/{tenant}/organizations",
            {"name": "Umbrella", "domains": ["umbrella.example"]},
            {"name": 5, "domains": "umbrella.example"},
        ),
        Route(
            "PATCH",
            "/api/v1/tenants/{tenant}/organizations/{organization_id}",
            {"notes": "Key account"},
            {"domains": 5},
            required="name",
        ),
        Route("POST", "/api/v1/tenants/{tenant}/tokens", {"name": "zapier"}, {"name": ["z"]}),
        Route(
            "POST",
            "/api/v1/tenants/{tenant}/statuses",
            {"key": "on_site", "label": "On site", "category": "open"},
            {"key": 5, "position": "first", "category": "limbo"},
        ),
        Route(
            "PATCH",
            "/api/v1/tenants/{tenant}/statuses/{status_id}",
            {"label": "Waiting on supplier"},
            {"label": 5, "position": "last"},
            required="label",
            listed_at="/api/v1/tenants/{tenant}/statuses",
        ),
        Route(
            "POST",
            "/api/v1/tenants/{tenant}/categories",
            {"name": "Software"},
            {"name": 5, "parent_id": "root"},
        ),
        Route(
            "PATCH",
            "/api/v1/tenants/{tenant}/categories/{category_id}",
            {"description": "Things that break"},
            {"name": 5, "position": "top"},
            required="name",
        ),
        Route(
            "POST",
            "/api/v1/tenants/{tenant}/tickets",
            lambda scene: {"subject": "Paper jam", "requester_id": scene.ids["contact_id"]},
            {"subject": 5, "priority": "meh", "tags": "vip"},
        ),
        Route(
            "POST",
            "/api/v1/tenants/{tenant}/tickets/bulk",
            lambda scene: {"ticket_ids": [scene.ids["ticket_id"]], "changes": {"priority": "low"}},
            {"ticket_ids": "all", "changes": []},
        ),
        Route(
            "PATCH",
            "/api/v1/tenants/{tenant}/tickets/{ticket_id}",
            {"priority": "high"},
            {"subject": 5, "tags": "vip"},
            required="subject",
        ),
        Route(
            "POST",
            "/api/v1/tenants/{tenant}/tickets/{ticket_id}/messages",
            {"body": "We are on it."},
            {"body": 5, "is_internal": "sometimes"},
        ),
        Route(
            "POST",
            "/api/v1/tenants/{tenant}/tickets/{ticket_id}/participants",
            {"role": "cc", "email": "boss@acme.example"},
            {"role": 5, "user_id": 5},
        ),
        Route(
            "POST", "/api/v1/tenants/{tenant}/tickets/{ticket_id}/tags", {"tag": "vip"}, {"tag": 5}
        ),
        Route(
            "POST",
            "/api/v1/tenants/{tenant}/tickets/{ticket_id}/assignments",
            lambda scene: {"group_id": scene.ids["group_id"], "reason": "printers"},
            {"group_id": 5, "reason": []},
        ),
        Route(
            "POST",
            "/api/v1/tenants/{tenant}/tickets/{ticket_id}/access",
            lambda scene: {"group_id": scene.ids["group_id"], "level": "read"},
            {"group_id": 5, "level": "god"},
        ),
        Route(
            "POST",
            "/api/v1/tenants/{tenant}/sla/calendars",
            {
                "name": "Office",
                "timezone": "Europe/Berlin",
                "schedule": {"mon": [["09:00", "17:00"]]},
            },
            {"name": 5, "timezone": [], "schedule": "always"},
        ),
        Route(
            "PATCH",
            "/api/v1/tenants/{tenant}/sla/calendars/{calendar_id}",
            {"name": "Office hours"},
            {"name": 5, "holidays": "christmas"},
            required="timezone",
        ),
        Route(
            "POST",
            "/api/v1/tenants/{tenant}/sla/policies",
            {
                "name": "Gold",
                "targets": [{"priority": "high", "metric": "resolution", "minutes": 60}],
            },
            {"name": 5, "targets": "fast", "active": "maybe"},
        ),
        Route(
            "PATCH",
            "/api/v1/tenants/{tenant}/sla/policies/{policy_id}",
            {"position": 3},
            {"name": 5, "targets": "fast"},
            required="name",
        ),
        Route(
            "POST",
            "/api/v1/tenants/{tenant}/channels",
            {"name": "Sales", "address": "sales@acme.example", "mode": "push"},
            {"name": 5, "mode": "pigeon", "imap": "yes"},
        ),
        Route(
            "PATCH",
            "/api/v1/tenants/{tenant}/channels/{channel_id}",
            {"name": "Support desk"},
            {"name": 5, "aliases": "x@acme.example"},
            required="name",
        ),
        Route(
            "PATCH",
            "/api/v1/tenants/{tenant}/email-settings",
            {"status_mail_categories": ["resolved"]},
            {"status_mail_categories": "resolved"},
            required="status_mail_categories",
        ),
        Route(
            "PUT",
            "/api/v1/tenants/{tenant}/email-templates/acknowledgement/de",
            {"subject": "Danke", "body_text": "Ihre Anfrage {{ ticket.display_id }} ist da."},
            {"subject": 5, "body_html": ["x"]},
        ),
        Route(
            "PUT",
            "/api/v1/tenants/{tenant}/notifications/preferences",
            {"preferences": [{"kind": "ticket_created", "channel": "email", "enabled": False}]},
            {"preferences": "all of them"},
            has_etag=False,
            listed_at="/api/v1/tenants/{tenant}/notifications/preferences",
        ),
    ]
}
#: Write routes that take no body.
BODYLESS = {
    "POST /api/v1/auth/logout",
    "POST /api/v1/tenants/{tenant}/tickets/{ticket_id}/restore",
    "POST /api/v1/tenants/{tenant}/tickets/{ticket_id}/mark-read",
    "POST /api/v1/tenants/{tenant}/tickets/{ticket_id}/messages/{message_id}/redact",
    "POST /api/v1/tenants/{tenant}/outbound-mail/{outbound_mail_id}/retry",
    "POST /api/v1/tenants/{tenant}/notifications/read-all",
    "POST /api/v1/tenants/{tenant}/tickets/{ticket_id}/sla/recompute",
    "POST /api/v1/tenants/{tenant}/notifications/{notification_id}/read",
}
#: Write routes that take one raw mail (message/rfc822), authenticated by the secret in the URL.
RAW_MAIL = {"POST /api/v1/email/inbound/{secret}"}
#: Write routes that take a multipart form.
MULTIPART = {"POST /api/v1/tenants/{tenant}/tickets/{ticket_id}/attachments"}
PATCHES = [key for key, route in ROUTES.items() if route.method == "PATCH"]


def test_every_write_route_is_covered(app: FastAPI) -> None:
    # Included routers are nested in `app.routes`; their effective routes carry the full path.
    found = {
        f"{method} {context.path}"
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.path.startswith("/api/v1")
        for method in context.methods or ()
        if method in {"POST", "PATCH", "PUT"}
    }
    templated = {key.replace("acknowledgement/de", "{kind}/{locale}") for key in ROUTES}
    assert found == templated | BODYLESS | MULTIPART | RAW_MAIL
    documented = {
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if method in {"post", "patch", "put"}
    }
    assert documented == found


async def send(
    http: httpx.AsyncClient,
    route: Route,
    scene: Scene,
    content: bytes | Any,
    content_type: str | None = JSON,
    **headers: str,
) -> httpx.Response:
    all_headers = {**route.auth(scene), **headers}
    if content_type is not None:
        all_headers["Content-Type"] = content_type
    return await http.request(route.method, route.url(scene), content=content, headers=all_headers)


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


# --- malformed, mistyped, unknown and oversize input -----------------------------------------

MALFORMED = [
    b'{"name": ',
    b"{'name': 'single quotes'}",
    b'{"name": "x"} trailing',
    b"\xff\xfe{}",
    b"{,}",
]
NOT_OBJECTS: list[Any] = [[], ["x"], "text", 42, None, True]


def oversize_document(settings: Settings) -> bytes:
    filler = "x" * (settings.max_request_bytes + 10)
    return dumps({"name": "big", "notes": filler, "description": filler})


async def chunks_of(document: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(document), 64 * 1024):
        yield document[start : start + 64 * 1024]


@pytest.mark.parametrize("key", list(ROUTES))
async def test_bad_bodies_are_refused_and_write_nothing(
    http: httpx.AsyncClient, scene: Scene, settings: Settings, unchanged: Any, key: str
) -> None:
    route = ROUTES[key]
    if needs_tickets(route.template):
        await with_tickets(http, scene)
    is_patch = route.method == "PATCH"
    async with unchanged():
        # Not JSON at all: 400, whatever JSON media type it claims (PATCH knows three).
        for media_type in [JSON, MERGE_PATCH, JSON_PATCH] if is_patch else [JSON]:
            for body in MALFORMED:
                response = await send(http, route, scene, body, media_type)
                assert_problem(response, 400, "malformed_json")
        # No body: a PATCH has nothing to parse, a POST misses its required body.
        empty = await send(http, route, scene, b"")
        if is_patch:
            assert_problem(empty, 400, "malformed_json")
        else:
            assert_validation_errors(assert_problem(empty, 422, "validation_failed"))

        # Fields of the wrong type: 422 naming them.
        response = await send(http, route, scene, dumps(route.wrong_types))
        body = assert_problem(response, 422, "validation_failed")
        assert_validation_errors(body)
        assert {str(error["loc"][-1]) for error in body["errors"]} & set(route.wrong_types)
        # JSON that is not an object.
        for value in NOT_OBJECTS:
            response = await send(http, route, scene, dumps(value))
            assert_problem(response, 422, "invalid_patch" if is_patch else "validation_failed")

        # Unknown (or read-only) fields next to valid ones.
        for extra in ({"surprise": 1}, {"id": "01a2019b-66a2-719a-893a-ff7ea4c8cd55"}):
            response = await send(http, route, scene, dumps({**route.body(scene), **extra}))
            if is_patch:
                assert assert_problem(response, 422, "invalid_patch")["fields"] == list(extra)
            else:
                body = assert_problem(response, 422, "validation_failed")
                assert [error["type"] for error in body["errors"]] == ["extra_forbidden"]

        # A valid document under a media type that is not JSON.
        for media_type in ("text/plain", "application/xml", "multipart/form-data; boundary=x"):
            response = await send(http, route, scene, dumps(route.body(scene)), media_type)
            if is_patch:
                assert_problem(response, 415, "unsupported_media_type")
            else:  # FastAPI validates a non-JSON body as raw bytes: 422
                assert response.status_code in (415, 422), response.text
                assert response.headers["content-type"] == PROBLEM_JSON

        # Over the size cap, declared by Content-Length or streamed without one.
        document = oversize_document(settings)
        declared = await send(http, route, scene, document)
        assert declared.request.headers["content-length"] == str(len(document))
        assert_problem(declared, 413, "payload_too_large")
        assert declared.headers["connection"] == "close"
        streamed = await send(http, route, scene, chunks_of(document))
        assert "content-length" not in streamed.request.headers
        assert streamed.request.headers["transfer-encoding"] == "chunked"
        assert_problem(streamed, 413, "payload_too_large")


async def test_bodyless_routes_refuse_an_oversize_body(
    http: httpx.AsyncClient, scene: Scene, settings: Settings, unchanged: Any
) -> None:
    """A declared oversize body is refused before the route; a route that reads none ignores it."""
    document = oversize_document(settings)
    await with_tickets(http, scene)
    async with unchanged():
        for key in sorted(BODYLESS):
            method, template = key.split(" ", 1)
            response = await http.request(
                method,
                url_of(template, scene),
                content=document,
                headers={**scene.owner, "Content-Type": JSON},
            )
            assert_problem(response, 413, "payload_too_large")


async def test_uploads_take_multipart_only(
    http: httpx.AsyncClient, scene: Scene, unchanged: Any
) -> None:
    (key,) = MULTIPART
    method, template = key.split(" ", 1)
    url = url_of(template, await with_tickets(http, scene))
    async with unchanged():
        as_json = await http.request(method, url, json={"file": "aGVsbG8="}, headers=scene.owner)
        assert_validation_errors(assert_problem(as_json, 422, "validation_failed"))
        no_file = await http.request(
            method, url, data={"message_id": scene.ids["message_id"]}, headers=scene.owner
        )
        assert_validation_errors(assert_problem(no_file, 422, "validation_failed"))
        bad_field = await http.request(
            method,
            url,
            data={"message_id": "not-a-uuid"},
            files={"file": ("a.txt", b"hello", "text/plain")},
            headers=scene.owner,
        )
        assert_problem(bad_field, 422, "validation_failed")
        garbage = await http.request(
            method,
            url,
            content=b"--x\r\nnot really multipart",
            headers={**scene.owner, "Content-Type": "multipart/form-data; boundary=x"},
        )
        assert 400 <= garbage.status_code < 500
        assert garbage.headers["content-type"] == PROBLEM_JSON


async def test_pushed_mail_takes_one_raw_message(
    http: httpx.AsyncClient, scene: Scene, settings: Settings, unchanged: Any
) -> None:
    """A wrong secret is 404 before the body is read, a body that is not a mail 415/422, an
    oversize one 413; none leaves anything behind."""
    (key,) = RAW_MAIL
    _method, template = key.split(" ", 1)
    url = url_of(template, await with_tickets(http, scene))
    rfc822 = {"Content-Type": "message/rfc822"}
    mail = b"From: pat@acme.example\r\nSubject: hi\r\n\r\nhello\r\n"
    async with unchanged():
        wrong = await http.post(
            url.rsplit("/", 1)[0] + "/not-the-secret", content=mail, headers=rfc822
        )
        assert_problem(wrong, 404, "not_found")
        too_long = await http.post(url + "x" * 300, content=mail, headers=rfc822)
        assert_problem(too_long, 404, "not_found")
        as_json = await http.post(url, json={"raw": "hello"})
        assert_problem(as_json, 415, "unsupported_media_type")
        empty = await http.post(url, content=b"  \r\n", headers=rfc822)
        assert_problem(empty, 422, "validation_failed")
        huge = b"x" * (settings.max_upload_bytes + 1)
        assert_problem(await http.post(url, content=huge, headers=rfc822), 413)
    # Bytes that are no message at all are kept, raw, for an admin to look at.
    kept = await http.post(url, content=b"\x00\x01 not a mail", headers=rfc822)
    assert kept.status_code == 202, kept.text
    assert kept.json()["outcome"] == "unparseable"
    assert kept.json()["needs_review"] is True


async def test_a_template_that_does_not_render_is_refused(
    http: httpx.AsyncClient, scene: Scene, unchanged: Any
) -> None:
    url = f"{ACME}/email-templates/acknowledgement/en"
    async with unchanged():
        for body_text in ("{{ unknown_name }}", "{% if %}", "{{ ''.__class__.__mro__ }}"):
            response = await http.put(
                url, json={"subject": "x", "body_text": body_text}, headers=scene.owner
            )
            assert_problem(response, 422, "validation_failed")
        for bad in ("no_such_kind/en", "acknowledgement/NOT A LOCALE"):
            response = await http.put(
                f"{ACME}/email-templates/{bad}",
                json={"subject": "x", "body_text": "y"},
                headers=scene.owner,
            )
            assert_problem(response, 404, "not_found")


async def test_body_just_under_the_cap_is_read(
    http: httpx.AsyncClient, scene: Scene, settings: Settings
) -> None:
    """The cap is exactly max_request_bytes: a body of that size gets to validation."""
    prefix, suffix = b'{"name": "near the cap", "description": "', b'"}'
    filler = b"x" * (settings.max_request_bytes - len(prefix) - len(suffix))
    document = prefix + filler + suffix
    assert len(document) == settings.max_request_bytes
    response = await http.post(
        f"{ACME}/groups", content=document, headers={**scene.owner, "Content-Type": JSON}
    )
    # Read in full, then refused by the schema (descriptions are at most 10,000 characters).
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["loc"] == ["body", "description"]


# --- JSON Patch, merge patch and If-Match ----------------------------------------------------


async def read_current(
    http: httpx.AsyncClient, route: Route, scene: Scene
) -> tuple[dict[str, Any], str]:
    """The resource as it is now, and its ETag."""
    if route.listed_at is not None:
        listing = await http.get(url_of(route.listed_at, scene), headers=route.auth(scene))
        (item,) = [item for item in listing.json() if route.url(scene).endswith(item["id"])]
        return item, f'"{item["version"]}"'
    response = await http.get(route.url(scene), headers=route.auth(scene))
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body.get("user", body), response.headers["ETag"]  # /me nests the profile


@pytest.mark.parametrize("key", PATCHES)
async def test_patch_rules(http: httpx.AsyncClient, scene: Scene, unchanged: Any, key: str) -> None:
    """Bad JSON Patches, nulled required fields and stale ETags change nothing; good ones do."""
    route = ROUTES[key]
    if needs_tickets(route.template):
        await with_tickets(http, scene)
    required = route.required
    assert required is not None
    bad_json_patches: list[Any] = [
        [{"op": "frobnicate", "path": f"/{required}", "value": 1}],
        [{"op": "replace", "path": "/no_such_member", "value": 1}],
        [{"op": "remove", "path": "/no_such_member"}],
        [{"op": "test", "path": f"/{required}", "value": "certainly not this"}],
        [{"op": "replace", "path": f"/{required}"}],
        [{"op": "move", "from": "/no_such_member", "path": f"/{required}"}],
        [{"path": f"/{required}", "value": 1}],
        [42],
        [{"op": "replace", "path": "", "value": ["not", "an", "object"]}],
        {"op": "replace", "path": f"/{required}", "value": "x"},
        "replace",
        None,
    ]
    change = dumps(route.body(scene))
    current, before = await read_current(http, route, scene) if route.has_etag else ({}, "")
    async with unchanged():
        for operations in bad_json_patches:
            response = await send(http, route, scene, dumps(operations), JSON_PATCH)
            assert_problem(response, 422, "invalid_patch")
        # A required field set to null, by merge patch or by JSON Patch.
        for media_type in (MERGE_PATCH, JSON):
            response = await send(http, route, scene, dumps({required: None}), media_type)
            body = assert_problem(response, 422, "validation_failed")
            assert [error["loc"] for error in body["errors"]] == [[required]]
        to_null = [{"op": "replace", "path": f"/{required}", "value": None}]
        response = await send(http, route, scene, dumps(to_null), JSON_PATCH)
        assert_problem(response, 422, "validation_failed")
        # If-Match naming another version.
        if route.has_etag:
            version = int(before.strip('"'))
            for stale in (f'"{version + 1}"', f'"{version - 1}"', f'W/"{version + 7}"', '"abc"'):
                response = await send(http, route, scene, change, **{"If-Match": stale})
                problem = assert_problem(response, 412, "precondition_failed")
                assert problem["current_etag"] == before

    # A good JSON Patch, with a passing `test`, under the current ETag.
    ((field_name, value),) = route.body(scene).items()
    operations: list[dict[str, Any]] = [{"op": "replace", "path": f"/{field_name}", "value": value}]
    if not route.has_etag:
        response = await send(http, route, scene, dumps(operations), JSON_PATCH)
        assert response.status_code == 200, response.text
        assert response.json()[field_name] == value
        return
    operations.insert(0, {"op": "test", "path": f"/{required}", "value": current[required]})
    changed = await send(http, route, scene, dumps(operations), JSON_PATCH, **{"If-Match": before})
    assert changed.status_code == 200, changed.text
    patched = changed.json()
    assert patched.get("user", patched)[field_name] == value
    after = changed.headers["ETag"]
    assert after == f'"{int(before.strip(chr(34))) + 1}"'  # the version, one up
    assert (await read_current(http, route, scene))[1] == after
    # The ETag read before the change is stale now.
    again = await send(http, route, scene, change, **{"If-Match": before})
    assert_problem(again, 412, "precondition_failed")
    # Weak and wildcard forms, and a list naming the current tag, all match.
    for header in (f"W/{after}", "*", f'"999", {after}'):
        same = await send(http, route, scene, change, **{"If-Match": header})
        assert same.status_code == 200, (header, same.text)
        assert same.headers["ETag"] == after  # nothing changed, so the version stays


# --- cursors, sorts and limits ---------------------------------------------------------------

#: list name: (path, the names it sorts by, its default sort)
LISTS: dict[str, tuple[str, list[str], str]] = {
    "groups": (f"{ACME}/groups", ["name", "created_at"], "name"),
    "contacts": (f"{ACME}/contacts", ["name", "created_at"], "name"),
    "organizations": (f"{ACME}/organizations", ["name", "created_at"], "name"),
    "members": (f"{ACME}/members", ["created_at", "role"], "created_at"),
    "tenants": ("/api/v1/admin/tenants", ["slug", "created_at"], "slug"),
    "audit": (f"{ACME}/audit", [], "-at"),
    "tickets": (
        f"{ACME}/tickets",
        ["updated", "created", "priority", "due", "number", "sla_due"],
        "-updated",
    ),
    "messages": (f"{ACME}/tickets/{{ticket_id}}/messages", ["created"], "created"),
    "ticket audit": (f"{ACME}/tickets/{{ticket_id}}/audit", [], "created"),
}
TIME_SORTS = {"created_at", "created", "updated"}


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def auth_for(name: str, scene: Scene) -> dict[str, str]:
    return scene.admin if name == "tenants" else scene.owner


def flipped(sort: str) -> str:
    return sort[1:] if sort.startswith("-") else f"-{sort}"


@pytest.mark.parametrize("name", list(LISTS))
async def test_bad_list_parameters(http: httpx.AsyncClient, scene: Scene, name: str) -> None:
    template, sorts, default = LISTS[name]
    if needs_tickets(template):
        await with_tickets(http, scene)
    path = template.format(**scene.ids)
    auth = auth_for(name, scene)

    async def get(**params: Any) -> httpx.Response:
        return await http.get(path, params=params, headers=auth)

    # Cursors that are not ours.
    some_id = scene.ids["group_id"]
    cursors = [
        "garbage",
        "!!!",
        "%00",
        b64(b"not json at all"),
        b64(b"\xff\xfe\xfd"),
        b64(b'{"a": 1}'),
        b64(b"[1, 2]"),
        b64(b"null"),
        b64(b"42"),
        b64(json.dumps([default, "x", "not-a-uuid"]).encode()),
        b64(json.dumps([default, "x", some_id, "extra"]).encode()),
        b64(json.dumps(["nope", "x", some_id]).encode()),
    ]
    for time_sort in TIME_SORTS & {default, *sorts}:
        for value in ("2024-01-01T00:00:00", 1234, "yesterday"):  # naive, number, nonsense
            cursors.append(b64(json.dumps([time_sort, value, some_id]).encode()))
    for cursor in cursors:
        assert_problem(await get(cursor=cursor), 400, "invalid_cursor")
    assert_problem(await get(cursor="c" * 501), 422, "validation_failed")

    # A real cursor (of the default order) works with that order and with no other.
    first = await get(limit=1)
    assert first.status_code == 200
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    following = await get(cursor=cursor, limit=1, **({"sort": default} if sorts else {}))
    assert following.status_code == 200
    assert following.json()["items"]
    assert following.json()["items"] != first.json()["items"]
    if sorts:
        others = [flipped(default)] + [
            order for sort in sorts if sort != default.lstrip("-") for order in (sort, f"-{sort}")
        ]
        for other in others:
            assert_problem(await get(sort=other, cursor=cursor), 400, "invalid_cursor")
            assert (await get(sort=other)).status_code == 200

        # Sorts that do not exist.
        for sort in ("nope", "-nope", "password_hash", f"--{sorts[0]}", "-", "a,b", "id"):
            body = assert_problem(await get(sort=sort), 400, "invalid_sort")
            assert body["allowed"] == sorted(sorts)

    # Limits out of range.
    for limit in ("0", "-1", "201", "1000", "ten", "1.5"):
        body = assert_problem(await get(limit=limit), 422, "validation_failed")
        assert body["errors"][0]["loc"] == ["query", "limit"]
    for limit in ("1", "200"):
        assert (await get(limit=limit)).status_code == 200


# --- Idempotency-Key -------------------------------------------------------------------------

IDEMPOTENT = {
    "groups": (f"{ACME}/groups", {"name": "Billing"}),
    "contacts": (f"{ACME}/contacts", {"name": "Ida Em", "emails": ["ida@acme.example"]}),
    "organizations": (f"{ACME}/organizations", {"name": "Hooli"}),
    "members": (f"{ACME}/members", {"email": "idem@acme.example", "role": "agent"}),
    "tokens": (f"{ACME}/tokens", {"name": "once"}),
    "tenants": ("/api/v1/admin/tenants", {"slug": "idem", "name": "Idem Ltd"}),
    "statuses": (f"{ACME}/statuses", {"key": "idem", "label": "Idem", "category": "open"}),
    "categories": (f"{ACME}/categories", {"name": "Idem"}),
    "tickets": (f"{ACME}/tickets", {"subject": "Idem", "requester": {"email": "i@acme.example"}}),
}


async def listing(http: httpx.AsyncClient, name: str, scene: Scene) -> list[Any]:
    path, _ = IDEMPOTENT[name]
    response = await http.get(f"{path}?limit=200", headers=auth_for(name, scene))
    assert response.status_code == 200
    body = response.json()
    items: list[Any] = body if isinstance(body, list) else body["items"]
    return items


@pytest.mark.parametrize("name", list(IDEMPOTENT))
async def test_same_idempotency_key_and_body_creates_once(
    http: httpx.AsyncClient, scene: Scene, name: str
) -> None:
    path, body = IDEMPOTENT[name]
    auth = {**auth_for(name, scene), "Idempotency-Key": f"create-{name}-1"}
    count = len(await listing(http, name, scene))

    first = await http.post(path, json=body, headers=auth)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    second = await http.post(path, json=body, headers=auth)
    assert second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    # The same document (PostgreSQL's JSONB keeps it, though not its key order), except that
    # a secret is shown once: a replayed token creation answers without it.
    replayed = second.json()
    if name == "tokens":
        assert first.json()["token"].startswith("fdk_")
        assert replayed["token"] is None
        replayed["token"] = first.json()["token"]
    assert replayed == first.json()
    assert second.headers["content-type"] == first.headers["content-type"] == JSON

    items = await listing(http, name, scene)
    assert len(items) == count + 1
    assert first.json()["id"] in [item["id"] for item in items]


async def test_same_idempotency_key_with_another_body_is_422(
    http: httpx.AsyncClient, scene: Scene, unchanged: Any
) -> None:
    auth = {**scene.owner, "Idempotency-Key": "key-1"}
    first = await http.post(f"{ACME}/groups", json={"name": "Returns"}, headers=auth)
    assert first.status_code == 201
    async with unchanged():
        other = await http.post(f"{ACME}/groups", json={"name": "Refunds"}, headers=auth)
        assert_problem(other, 422, "idempotency_key_reused")
        # The same key on another route is another request, too.
        elsewhere = await http.post(f"{ACME}/organizations", json={"name": "Returns"}, headers=auth)
        assert_problem(elsewhere, 422, "idempotency_key_reused")
    # A key belongs to its caller: acmeco's owner uses the same one for a new group.
    in_other_tenant = await http.post(
        "/api/v1/tenants/acmeco/groups",
        json={"name": "Returns"},
        headers={**scene.world.b["owner"].auth, "Idempotency-Key": "key-1"},
    )
    assert in_other_tenant.status_code == 201
    assert "Idempotent-Replayed" not in in_other_tenant.headers


async def test_another_caller_may_use_the_same_key(http: httpx.AsyncClient, scene: Scene) -> None:
    key = {"Idempotency-Key": "shared"}
    owner = await http.post(
        f"{ACME}/contacts",
        json={"name": "Max", "emails": ["max@acme.example"]},
        headers={**scene.owner, **key},
    )
    agent = await http.post(
        f"{ACME}/contacts",
        json={"name": "Max", "emails": ["max@acme.example"]},
        headers={**scene.world.a["agent"].auth, **key},
    )
    assert owner.status_code == 201
    # Not a replay of the owner's response: a new attempt, refused since the email is taken.
    assert_problem(agent, 409, "email_taken")


async def test_a_failed_create_does_not_burn_the_key(http: httpx.AsyncClient, scene: Scene) -> None:
    auth = {**scene.owner, "Idempotency-Key": "retry-me"}
    taken = await http.post(f"{ACME}/groups", json={"name": "Tier 1"}, headers=auth)
    assert_problem(taken, 409, "already_exists")
    again = await http.post(f"{ACME}/groups", json={"name": "Tier 1"}, headers=auth)
    assert_problem(again, 409, "already_exists")
    fixed = await http.post(f"{ACME}/groups", json={"name": "Tier 3"}, headers=auth)
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed.headers


async def test_unusable_idempotency_keys_are_400(
    http: httpx.AsyncClient, scene: Scene, unchanged: Any
) -> None:
    async with unchanged():
        for key in ("", "k" * 201):
            response = await http.post(
                f"{ACME}/groups",
                json={"name": "Keyed"},
                headers={**scene.owner, "Idempotency-Key": key},
            )
            assert_problem(response, 400, "bad_request")


# --- values the database cannot hold ---------------------------------------------------------


UNSTORABLE_JSON = [
    b'{"weight": NaN}',
    b'{"weight": -Infinity}',
    b'{"weight": 1e999}',
    b'{"label": "\\ud800"}',
    b'{"\\udfff": 1}',
    b'{"label": "a\\u0000b"}',
    b'{"a\\u0000": {"b": [1, "\\u0000"]}}',
    b'{"deep": [[{"x": [NaN]}]]}',
]


async def test_free_form_json_must_be_storable_json(
    http: httpx.AsyncClient, scene: Scene, unchanged: Any
) -> None:
    """NaN, infinities, lone surrogates and NUL characters are not JSON anyone can store.

    Python's JSON reader lets them through; PostgreSQL refuses them, SQLite turned NaN into
    null, and a lone surrogate broke the response (500) on both.
    """
    await with_tickets(http, scene)
    requester = scene.ids["contact_id"].encode()
    creates = [
        (f"{ACME}/groups", b'{"name": "R", "routing_config": %s}', "routing_config"),
        (
            f"{ACME}/tickets",
            b'{"subject": "S", "requester_id": "' + requester + b'", "custom_fields": %s}',
            "custom_fields",
        ),
    ]
    patches = [
        (f"{ACME}/groups/{scene.ids['group_id']}", b'{"routing_config": %s}'),
        (f"{ACME}/tickets/{scene.ids['ticket_id']}", b'{"custom_fields": %s}'),
    ]
    async with unchanged():
        for path, template, field_name in creates:
            for value in UNSTORABLE_JSON:
                response = await http.post(
                    path, content=template % value, headers={**scene.owner, "Content-Type": JSON}
                )
                problem = assert_problem(response, 422, "validation_failed")
                assert problem["errors"][0]["loc"][:2] == ["body", field_name], value
        for path, template in patches:
            for value in UNSTORABLE_JSON:
                response = await http.patch(
                    path,
                    content=template % value,
                    headers={**scene.owner, "Content-Type": MERGE_PATCH},
                )
                assert_problem(response, 422, "validation_failed")
        for settings_patch in (
            {"settings": {"timezone": "\ud800"}},
            {"settings": {"locale": "e\u0000n"}},
            {"settings": {"timezone": "Europe/Berlin\u0000"}},
        ):
            response = await http.patch(
                ACME,
                content=json.dumps(settings_patch).encode(),
                headers={**scene.owner, "Content-Type": MERGE_PATCH},
            )
            assert_problem(response, 422, "validation_failed")

    document = {"skills": ["de", "fr"], "weight": 1.5, "x": None, "nested": {"ok": True}}
    fine = await http.post(
        f"{ACME}/groups", json={"name": "R8", "routing_config": document}, headers=scene.owner
    )
    assert fine.status_code == 201
    assert fine.json()["routing_config"] == document
    ticket = await http.patch(
        f"{ACME}/tickets/{scene.ids['ticket_id']}",
        json={"custom_fields": document},
        headers=scene.owner,
    )
    assert ticket.status_code == 200, ticket.text
    # A merge patch: the null inside removes that member.
    assert ticket.json()["custom_fields"] == {k: v for k, v in document.items() if k != "x"}
    berlin = await http.patch(
        ACME, json={"settings": {"timezone": "Europe/Berlin"}}, headers=scene.owner
    )
    assert berlin.status_code == 200
    assert berlin.json()["settings"]["timezone"] == "Europe/Berlin"


NUL_CURSOR = b64(json.dumps(["name", "\u0000", "0" * 32]).encode())
#: (method, path, body, answer on SQLite, answer on PostgreSQL)
NUL_REQUESTS: list[tuple[str, str, dict[str, Any] | None, int, int]] = [
    ("POST", f"{ACME}/groups", {"name": "nul\u0000name"}, 201, 422),
    ("POST", f"{ACME}/organizations", {"name": "Org", "notes": "a\u0000b"}, 201, 422),
    ("POST", "/api/v1/auth/login", {"email": "a\u0000@acme.test", "password": "x"}, 401, 422),
    ("GET", f"{ACME}/contacts?q=%00", None, 200, 422),
    ("GET", "/api/v1/tenants/ac%00me/groups", None, 404, 422),
    ("GET", f"{ACME}/groups?cursor={NUL_CURSOR}", None, 200, 422),
]


async def test_nul_characters_never_break_the_server(
    http: httpx.AsyncClient, scene: Scene, settings: Settings
) -> None:
    """SQLite stores U+0000; PostgreSQL cannot, and says so with a 422 rather than a 500."""
    for method, path, body, on_sqlite, on_postgresql in NUL_REQUESTS:
        response = await http.request(method, path, json=body, headers=scene.owner)
        expected = on_sqlite if settings.is_sqlite else on_postgresql
        assert response.status_code == expected, (method, path, response.text)
        if expected == 422:
            assert_problem(response, 422, "unstorable_value")


# --- arbitrary JSON --------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(st.characters(exclude_categories=()), max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
#: Text of any code points: controls, NUL and lone surrogates included.
any_text = st.text(st.characters(exclude_categories=()), min_size=1, max_size=40)

GROUP_FIELDS = [
    "name",
    "description",
    "is_active",
    "assignment_strategy",
    "is_support_queue",
    "default_sla_policy_id",
    "routing_config",
    "ai_work_mode",
]
CONTACT_FIELDS = ["name", "emails", "phone", "organization_id", "notes", "password"]
TICKET_FIELDS = [
    "subject",
    "description",
    "description_html",
    "requester",
    "requester_id",
    "status",
    "priority",
    "type",
    "channel",
    "group_id",
    "tags",
    "due_at",
    "custom_fields",
    "ai_mode",
    "orchestration_ref",
]


def shaped_like(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the real field names (and now and then a stranger), values of any kind."""
    return st.dictionaries(
        st.sampled_from([*fields, "id", "tenant_id"]),
        json_values | st.text(max_size=30) | st.lists(st.emails(), max_size=3),
        max_size=len(fields),
    )


def bodies(fields: list[str], required: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Any JSON; objects with the real fields; and, half the time, a likely valid object (so
    creates happen too) with any of the fields thrown in."""
    plausible = st.builds(
        lambda base, extra: {**base, **extra},
        st.fixed_dictionaries(required),
        st.just({}) | shaped_like(fields),
    )
    return st.one_of(json_values, shaped_like(fields), plausible, plausible)


GROUP_BODIES = bodies(GROUP_FIELDS, {"name": any_text})
CONTACT_BODIES = bodies(
    CONTACT_FIELDS, {"name": any_text, "emails": st.lists(st.emails(), min_size=1, max_size=2)}
)
TICKET_BODIES = bodies(
    TICKET_FIELDS,
    {"subject": any_text, "requester": st.fixed_dictionaries({"email": st.emails()})},
)
PROPERTY_SETTINGS = hypothesis_settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


async def assert_created_or_refused(
    http: httpx.AsyncClient, path: str, auth: dict[str, str], value: Any
) -> None:
    content = json.dumps(value).encode()  # NaN and Infinity too, as Python writes them
    response = await http.post(path, content=content, headers={**auth, "Content-Type": JSON})
    assert response.status_code < 500
    if response.status_code == 201:
        assert response.headers["content-type"] == JSON
        created = response.json()
        fetched = await http.get(f"{path}/{created['id']}", headers=auth)
        assert fetched.status_code == 200
        assert fetched.json() == created
    else:
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["status"] == response.status_code


@PROPERTY_SETTINGS
@given(value=GROUP_BODIES)
async def test_arbitrary_json_to_create_group(
    http: httpx.AsyncClient, world: World, value: Any
) -> None:
    await assert_created_or_refused(http, f"{ACME}/groups", world.a["owner"].auth, value)


@PROPERTY_SETTINGS
@given(value=CONTACT_BODIES)
async def test_arbitrary_json_to_create_contact(
    http: httpx.AsyncClient, world: World, value: Any
) -> None:
    await assert_created_or_refused(http, f"{ACME}/contacts", world.a["agent"].auth, value)


@PROPERTY_SETTINGS
@given(value=TICKET_BODIES)
async def test_arbitrary_json_to_create_ticket(
    http: httpx.AsyncClient, world: World, value: Any
) -> None:
    await assert_created_or_refused(http, f"{ACME}/tickets", world.a["agent"].auth, value)
