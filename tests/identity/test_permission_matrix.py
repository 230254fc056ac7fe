"""Every principal against every API route, checked against a matrix written out here.

The matrix is deliberately independent of `frontdesk.identity.policy`: it states who may call
what, so a change to the policy table (or a route wired to the wrong action) fails this test.
Routes are enumerated from the app, so a new route fails the test until it is added here.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from tests.factories import PASSWORD, Person, World

OWNER, ADMIN, AGENT, LIGHT_AGENT, CONTACT = "owner", "admin", "agent", "light_agent", "contact"
PLATFORM_ADMIN, OUTSIDER, ANONYMOUS = "platform_admin", "outsider", "anonymous"
TENANT_ROLES = (OWNER, ADMIN, AGENT, LIGHT_AGENT, CONTACT)
PRINCIPALS = (*TENANT_ROLES, PLATFORM_ADMIN, OUTSIDER, ANONYMOUS)

ANYONE = frozenset(PRINCIPALS)
SIGNED_IN = ANYONE - {ANONYMOUS}
PLATFORM = frozenset({PLATFORM_ADMIN})
ADMINS = frozenset({OWNER, ADMIN})
AGENTS = ADMINS | {AGENT}
STAFF = AGENTS | {LIGHT_AGENT}
STAFF_AND_CONTACTS = STAFF | {CONTACT}

API = "/api/v1"
ME = f"{API}/me"
PLATFORM_TENANTS = f"{API}/admin/tenants"
T = f"{API}/tenants/{{tenant}}"

#: (method, path template) -> the principals that may call it (in tenant `acme`, for tenant routes).
EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    # signing in and out: no credentials needed
    ("POST", f"{API}/auth/login"): ANYONE,
    ("POST", f"{API}/auth/logout"): ANYONE,
    # the caller's own account: anyone signed in, member of a tenant or not
    ("GET", ME): SIGNED_IN,
    ("PATCH", ME): SIGNED_IN,
    ("POST", f"{ME}/password"): SIGNED_IN,
    ("GET", f"{ME}/tokens"): SIGNED_IN,
    ("POST", f"{ME}/tokens"): SIGNED_IN,
    ("DELETE", f"{ME}/tokens/{{token_id}}"): SIGNED_IN,
    # platform administration
    ("GET", PLATFORM_TENANTS): PLATFORM,
    ("POST", PLATFORM_TENANTS): PLATFORM,
    ("GET", f"{PLATFORM_TENANTS}/{{tenant_id}}"): PLATFORM,
    ("PATCH", f"{PLATFORM_TENANTS}/{{tenant_id}}"): PLATFORM,
    ("DELETE", f"{PLATFORM_TENANTS}/{{tenant_id}}"): PLATFORM,
    # the tenant itself
    ("GET", T): STAFF_AND_CONTACTS,
    ("PATCH", T): ADMINS,
    ("GET", f"{T}/audit"): ADMINS,
    # members
    ("GET", f"{T}/members"): STAFF,
    ("POST", f"{T}/members"): ADMINS,
    ("GET", f"{T}/members/{{member_id}}"): STAFF,
    ("PATCH", f"{T}/members/{{member_id}}"): ADMINS,
    ("DELETE", f"{T}/members/{{member_id}}"): ADMINS,
    # groups and their members
    ("GET", f"{T}/groups"): STAFF,
    ("POST", f"{T}/groups"): ADMINS,
    ("GET", f"{T}/groups/{{group_id}}"): STAFF,
    ("PATCH", f"{T}/groups/{{group_id}}"): ADMINS,
    ("DELETE", f"{T}/groups/{{group_id}}"): ADMINS,
    ("GET", f"{T}/groups/{{group_id}}/members"): STAFF,
    ("POST", f"{T}/groups/{{group_id}}/members"): ADMINS,
    ("PATCH", f"{T}/groups/{{group_id}}/members/{{member_id}}"): ADMINS,
    ("DELETE", f"{T}/groups/{{group_id}}/members/{{member_id}}"): ADMINS,
    # contacts
    ("GET", f"{T}/contacts"): STAFF,
    ("POST", f"{T}/contacts"): AGENTS,
    ("GET", f"{T}/contacts/{{contact_id}}"): STAFF,
    ("PATCH", f"{T}/contacts/{{contact_id}}"): AGENTS,
    ("DELETE", f"{T}/contacts/{{contact_id}}"): ADMINS,
    # organizations
    ("GET", f"{T}/organizations"): STAFF,
    ("POST", f"{T}/organizations"): AGENTS,
    ("GET", f"{T}/organizations/{{organization_id}}"): STAFF,
    ("PATCH", f"{T}/organizations/{{organization_id}}"): AGENTS,
    ("DELETE", f"{T}/organizations/{{organization_id}}"): ADMINS,
    # tenant-limited API tokens
    ("GET", f"{T}/tokens"): STAFF,
    ("POST", f"{T}/tokens"): STAFF,
    ("DELETE", f"{T}/tokens/{{token_id}}"): STAFF,
}

PROBLEM_JSON = "application/problem+json"
MERGE_PATCH = "application/merge-patch+json"


def api_routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    """(method, path template, route) of every /api/v1 route, included routers flattened."""
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path
        if isinstance(route, APIRoute) and path and path.startswith(API + "/"):
            for method in sorted(context.methods or route.methods):
                yield method, path, route


def unique() -> str:
    return uuid4().hex[:12]


def is_tenant_route(template: str) -> bool:
    return template.startswith(f"{API}/tenants/{{tenant}}")


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> None:
    where = f"{response.request.method} {response.request.url.path}"
    assert response.status_code == status, f"{where}: {response.status_code} {response.text}"
    assert response.headers["content-type"].startswith(PROBLEM_JSON), where
    body = response.json()
    assert body["status"] == status, where
    assert isinstance(body["code"], str), where
    assert body["code"], where
    if code is not None:
        assert body["code"] == code, f"{where}: {body}"


# --- making requests and test data ---------------------------------------------------------


@dataclass
class Kit:
    """The client, the world, and helpers that create fresh objects in `acme` as its owner."""

    client: httpx.AsyncClient
    world: World

    def person(self, who: str) -> Person | None:
        if who == ANONYMOUS:
            return None
        if who == PLATFORM_ADMIN:
            return self.world.platform_admin
        if who == OUTSIDER:
            return self.world.outsider
        return self.world.a[who]

    async def send(self, who: str, method: str, url: str, body: Any = None) -> httpx.Response:
        """A request with `who`'s bearer token (none when anonymous); PATCH is a merge patch."""
        person = self.person(who)
        headers = dict(person.auth) if person is not None else {}
        content = None
        if body is not None:
            headers["Content-Type"] = MERGE_PATCH if method == "PATCH" else "application/json"
            content = json.dumps(body)
        response = await self.client.request(method, url, headers=headers, content=content)
        # A login sets the session cookie; never let it authenticate a later request.
        self.client.cookies.clear()
        return response

    async def create(self, url: str, body: dict[str, Any], who: str = OWNER) -> str:
        response = await self.send(who, "POST", url, body)
        assert response.status_code == 201, f"setup POST {url}: {response.text}"
        created: str = response.json()["id"]
        return created

    def tenant_url(self, suffix: str = "") -> str:
        return f"{API}/tenants/{self.world.a.slug}{suffix}"

    async def group(self) -> str:
        return await self.create(self.tenant_url("/groups"), {"name": f"Group {unique()}"})

    async def organization(self) -> str:
        return await self.create(self.tenant_url("/organizations"), {"name": f"Org {unique()}"})

    async def contact(self) -> str:
        u = unique()
        body = {"name": f"Contact {u}", "emails": [f"c-{u}@customers.example"]}
        return await self.create(self.tenant_url("/contacts"), body)

    async def member(self, role: str = AGENT) -> str:
        body = {"email": f"m-{unique()}@acme.example.com", "role": role}
        return await self.create(self.tenant_url("/members"), body)

    async def group_member(self) -> tuple[str, str]:
        group_id = await self.group()
        body = {"user_id": str(self.world.a[AGENT].user_id)}
        return group_id, await self.create(self.tenant_url(f"/groups/{group_id}/members"), body)

    async def tenant_token(self, who: str) -> str:
        """A token of `who` limited to acme (the owner's when `who` may not make one)."""
        maker = who if who in STAFF else OWNER
        return await self.create(self.tenant_url("/tokens"), {"name": "matrix"}, who=maker)

    async def personal_token(self, who: str) -> str:
        """A personal token of `who` (the owner's for anonymous)."""
        maker = OWNER if who == ANONYMOUS else who
        return await self.create(f"{ME}/tokens", {"name": "matrix"}, who=maker)

    async def platform_tenant(self) -> str:
        body = {"slug": f"matrix-{unique()}", "name": "Matrix Ltd"}
        return await self.create(PLATFORM_TENANTS, body, who=PLATFORM_ADMIN)


@dataclass(frozen=True)
class Case:
    """How to call one route: the JSON body, and fresh path ids for calls that change state."""

    body: Callable[[Kit, str], Any] | None = None
    fresh: Callable[[Kit, str], Awaitable[dict[str, str]]] | None = None


def _login_body(kit: Kit, who: str) -> dict[str, str]:
    person = kit.person(who) or kit.world.a[OWNER]
    return {"email": person.email, "password": PASSWORD}


async def _fresh_member(kit: Kit, _who: str) -> dict[str, str]:
    return {"member_id": await kit.member()}


async def _fresh_group(kit: Kit, _who: str) -> dict[str, str]:
    return {"group_id": await kit.group()}


async def _fresh_group_member(kit: Kit, _who: str) -> dict[str, str]:
    group_id, member_id = await kit.group_member()
    return {"group_id": group_id, "member_id": member_id}


async def _fresh_contact(kit: Kit, _who: str) -> dict[str, str]:
    return {"contact_id": await kit.contact()}


async def _fresh_organization(kit: Kit, _who: str) -> dict[str, str]:
    return {"organization_id": await kit.organization()}


async def _fresh_tenant_token(kit: Kit, who: str) -> dict[str, str]:
    return {"token_id": await kit.tenant_token(who)}


async def _fresh_personal_token(kit: Kit, who: str) -> dict[str, str]:
    return {"token_id": await kit.personal_token(who)}


async def _fresh_platform_tenant(kit: Kit, _who: str) -> dict[str, str]:
    return {"tenant_id": await kit.platform_tenant()}


def _named(prefix: str) -> Callable[[Kit, str], dict[str, str]]:
    return lambda _kit, _who: {"name": f"{prefix} {unique()}"}


def _contact_body(_kit: Kit, _who: str) -> dict[str, Any]:
    u = unique()
    return {"name": f"Contact {u}", "emails": [f"c-{u}@customers.example"]}


def _notes(_kit: Kit, _who: str) -> dict[str, str]:
    return {"notes": f"patched {unique()}"}


CASES: dict[tuple[str, str], Case] = {
    ("POST", f"{API}/auth/login"): Case(body=_login_body),
    ("PATCH", ME): Case(body=lambda _kit, _who: {"timezone": "Europe/Berlin"}),
    # the same password again: the world's credentials stay valid
    ("POST", f"{ME}/password"): Case(
        body=lambda _kit, _who: {"current_password": PASSWORD, "new_password": PASSWORD}
    ),
    ("POST", f"{ME}/tokens"): Case(body=_named("Token")),
    ("DELETE", f"{ME}/tokens/{{token_id}}"): Case(fresh=_fresh_personal_token),
    ("POST", PLATFORM_TENANTS): Case(
        body=lambda _kit, _who: {"slug": f"matrix-{unique()}", "name": "Matrix Ltd"}
    ),
    ("PATCH", f"{PLATFORM_TENANTS}/{{tenant_id}}"): Case(body=lambda _kit, _who: {}),
    ("DELETE", f"{PLATFORM_TENANTS}/{{tenant_id}}"): Case(fresh=_fresh_platform_tenant),
    ("PATCH", T): Case(body=lambda _kit, _who: {}),
    ("POST", f"{T}/members"): Case(
        body=lambda _kit, _who: {"email": f"new-{unique()}@acme.example.com", "role": AGENT}
    ),
    ("PATCH", f"{T}/members/{{member_id}}"): Case(
        body=lambda _kit, _who: {"role": LIGHT_AGENT}, fresh=_fresh_member
    ),
    ("DELETE", f"{T}/members/{{member_id}}"): Case(fresh=_fresh_member),
    ("POST", f"{T}/groups"): Case(body=_named("Group")),
    ("PATCH", f"{T}/groups/{{group_id}}"): Case(
        body=lambda _kit, _who: {"description": f"patched {unique()}"}
    ),
    ("DELETE", f"{T}/groups/{{group_id}}"): Case(fresh=_fresh_group),
    ("POST", f"{T}/groups/{{group_id}}/members"): Case(
        body=lambda kit, _who: {"user_id": str(kit.world.a[AGENT].user_id)}, fresh=_fresh_group
    ),
    ("PATCH", f"{T}/groups/{{group_id}}/members/{{member_id}}"): Case(
        body=lambda _kit, _who: {"role": "lead"}
    ),
    ("DELETE", f"{T}/groups/{{group_id}}/members/{{member_id}}"): Case(fresh=_fresh_group_member),
    ("POST", f"{T}/contacts"): Case(body=_contact_body),
    ("PATCH", f"{T}/contacts/{{contact_id}}"): Case(body=_notes),
    ("DELETE", f"{T}/contacts/{{contact_id}}"): Case(fresh=_fresh_contact),
    ("POST", f"{T}/organizations"): Case(body=_named("Org")),
    ("PATCH", f"{T}/organizations/{{organization_id}}"): Case(body=_notes),
    ("DELETE", f"{T}/organizations/{{organization_id}}"): Case(fresh=_fresh_organization),
    ("POST", f"{T}/tokens"): Case(body=_named("Token")),
    ("DELETE", f"{T}/tokens/{{token_id}}"): Case(fresh=_fresh_tenant_token),
}


def expected_denial(template: str, who: str) -> tuple[int, str]:
    """The status and problem code a principal outside the route's allowed set gets."""
    if who == ANONYMOUS:
        return 401, "unauthorized"
    if is_tenant_route(template) and who in (PLATFORM_ADMIN, OUTSIDER):
        return 404, "not_found"  # a tenant you are not in does not exist for you
    return 403, "forbidden"


# --- the tests ----------------------------------------------------------------------------


async def test_matrix_names_exactly_the_apps_routes(app: FastAPI) -> None:
    routes = {(method, path) for method, path, _ in api_routes(app)}
    assert len(routes) >= 40, "route enumeration found too few routes"
    missing = sorted(routes - EXPECTED.keys())
    assert not missing, f"routes without an entry in EXPECTED (add them): {missing}"
    stale = sorted(EXPECTED.keys() - routes)
    assert not stale, f"EXPECTED names routes the app does not have: {stale}"
    assert not (CASES.keys() - routes), "CASES names routes the app does not have"


def _permits_actions(dependant: Dependant) -> list[str]:
    found: list[str] = []
    for sub in dependant.dependencies:
        action = getattr(sub.call, "permits_action", None)
        if action is not None:
            found.append(str(action))
        found += _permits_actions(sub)
    return found


async def test_every_tenant_route_declares_one_permission(app: FastAPI) -> None:
    """A tenant route without `permits(...)` would be open to every role of the tenant."""
    undeclared = [
        (method, path, actions)
        for method, path, route in api_routes(app)
        if is_tenant_route(path) and len(actions := _permits_actions(route.dependant)) != 1
    ]
    assert not undeclared, f"tenant routes need exactly one permits(action): {undeclared}"


async def test_every_principal_on_every_route(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    kit = Kit(client, world)
    group_id, group_member_id = await kit.group_member()
    shared = {
        "tenant": world.a.slug,
        "tenant_id": str(world.a.id),
        "group_id": group_id,
        "member_id": await kit.member(),
        "contact_id": await kit.contact(),
        "organization_id": await kit.organization(),
    }
    group_member_template = f"{T}/groups/{{group_id}}/members/{{member_id}}"
    routes = list(api_routes(app))
    failures: list[str] = []
    calls = 0
    for method, template, route in routes:
        allowed = EXPECTED.get((method, template))
        if allowed is None:
            failures.append(f"{method} {template}: not in EXPECTED")
            continue
        case = CASES.get((method, template), Case())
        for who in PRINCIPALS:
            params = dict(shared)
            if template == group_member_template:
                params["member_id"] = group_member_id
            if case.fresh is not None:
                params |= await case.fresh(kit, who)
            url = template.format(**params)
            body = case.body(kit, who) if case.body is not None else None
            response = await kit.send(who, method, url, body)
            calls += 1
            failure = _check(response, template, who, allowed, route.status_code or 200)
            if failure:
                failures.append(f"{who:>14} {method} {template}: {failure}")
    assert not failures, "permission matrix violations:\n" + "\n".join(failures)
    assert calls == len(routes) * len(PRINCIPALS)


def _check(
    response: httpx.Response, template: str, who: str, allowed: frozenset[str], success: int
) -> str | None:
    """What is wrong with the response, or None."""
    status = response.status_code
    if who in allowed:
        if status != success:
            return f"allowed, expected {success}, got {status} {response.text[:300]}"
        return None
    want, code = expected_denial(template, who)
    if status != want:
        return f"denied, expected {want}, got {status} {response.text[:300]}"
    if not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        return f"denial is not problem+json: {response.headers.get('content-type')}"
    problem = response.json()
    if problem.get("code") != code or problem.get("status") != want:
        return f"denial problem should have code {code!r}: {problem}"
    return None


async def _owner_membership_id(kit: Kit) -> str:
    response = await kit.send(OWNER, "GET", kit.tenant_url("/members?role=owner"))
    assert response.status_code == 200, response.text
    owners = response.json()["items"]
    assert [o["user_id"] for o in owners] == [str(kit.world.a[OWNER].user_id)]
    owner_id: str = owners[0]["id"]
    return owner_id


async def test_the_last_owner_stays(client: httpx.AsyncClient, world: World) -> None:
    kit = Kit(client, world)
    owner_id = await _owner_membership_id(kit)
    owner_url = kit.tenant_url(f"/members/{owner_id}")

    # The only owner can neither leave nor step down.
    assert_problem(await kit.send(OWNER, "DELETE", owner_url), 409, "last_owner")
    assert_problem(await kit.send(OWNER, "PATCH", owner_url, {"role": ADMIN}), 409, "last_owner")

    # Admins manage every role but the owner's: no removing, demoting or making owners.
    assert_problem(await kit.send(ADMIN, "DELETE", owner_url), 403, "forbidden")
    assert_problem(await kit.send(ADMIN, "PATCH", owner_url, {"role": AGENT}), 403, "forbidden")
    new_owner = {"email": f"owner-{unique()}@acme.example.com", "role": OWNER}
    assert_problem(await kit.send(ADMIN, "POST", kit.tenant_url("/members"), new_owner), 403)
    agent_id = await kit.member(AGENT)
    promote = await kit.send(
        ADMIN, "PATCH", kit.tenant_url(f"/members/{agent_id}"), {"role": OWNER}
    )
    assert_problem(promote, 403, "forbidden")

    # With a second owner, either may go; then the remaining one is the last again.
    second_id = await kit.create(kit.tenant_url("/members"), new_owner)
    assert_problem(await kit.send(ADMIN, "DELETE", kit.tenant_url(f"/members/{second_id}")), 403)
    removed = await kit.send(OWNER, "DELETE", kit.tenant_url(f"/members/{second_id}"))
    assert removed.status_code == 204, removed.text
    assert_problem(await kit.send(OWNER, "DELETE", owner_url), 409, "last_owner")

    # Nothing of the owner's standing changed along the way.
    assert await _owner_membership_id(kit) == owner_id
    me = await kit.send(OWNER, "GET", owner_url)
    assert me.status_code == 200
    assert me.json()["role"] == OWNER
    assert me.json()["version"] == 1
