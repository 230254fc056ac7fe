"""Tenant isolation, generated from the route table: nobody in tenant B reaches tenant A's data.

Objects are made in tenant A (`acme`) with a canary string in their names and notes; then every
route is called as every principal of tenant B (`acmeco`, whose slug starts with A's), with A's
ids through B's path, through A's path (by slug, upper-cased slug and id), with B's ids mixed
with one of A's, and with bodies and filters that point at A's objects. No answer may carry a
canary or an id of A's, and afterwards every GET of A answers exactly as before.

Path parameters are filled by name (and by the collection they follow), with a random UUID for
names this module does not know yet; a new route is covered without editing this file.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any
from uuid import UUID, uuid4

import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ValidationError

from frontdesk.core.patch import PATCH_MODELS
from frontdesk.identity.policy import Action, Role, can
from tests.factories import PASSWORD, World

API = "/api/v1"
TENANT_ROUTES = f"{API}/tenants/{{tenant}}"
ADMIN_ROUTES = f"{API}/admin/"
PARAMETER = re.compile(r"{(\w+)}")
PROBLEM_JSON = "application/problem+json"
MERGE_PATCH = "application/merge-patch+json"
B_ROLES = (Role.OWNER, Role.ADMIN, Role.AGENT, Role.LIGHT_AGENT, Role.CONTACT)


# --- the route table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    route: APIRoute

    @property
    def parameters(self) -> list[str]:
        """The path parameters other than `{tenant}`, in order."""
        return [name for name in PARAMETER.findall(self.template) if name != "tenant"]

    @property
    def is_tenant_route(self) -> bool:
        return self.template.startswith(TENANT_ROUTES)

    @property
    def action(self) -> Action | None:
        return _permits_action(self.route.dependant)

    @property
    def body_model(self) -> type[BaseModel] | None:
        """The JSON body's model: the declared body, or for PATCH the merge patch's target."""
        if self.method == "PATCH":
            content = (self.route.openapi_extra or {}).get("requestBody", {}).get("content", {})
            ref = content.get(MERGE_PATCH, {}).get("schema", {}).get("$ref", "")
            name = ref.rsplit("/", 1)[-1]
            return next((model for model in PATCH_MODELS if model.__name__ == name), None)
        if self.route.body_field is None:
            return None
        annotation = self.route.body_field.field_info.annotation
        return (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )

    @property
    def query_parameters(self) -> list[str]:
        return _query_parameters(self.route.dependant)

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def _permits_action(dependant: Dependant) -> Action | None:
    for sub in dependant.dependencies:
        action = getattr(sub.call, "permits_action", None) or _permits_action(sub)
        if action is not None:
            return Action(action)
    return None


def _query_parameters(dependant: Dependant) -> list[str]:
    names = [param.name for param in dependant.query_params]
    for sub in dependant.dependencies:
        names += _query_parameters(sub)
    return names


def api_routes(app: FastAPI) -> list[Route]:
    """Every /api/v1 route of the app, one per method, included routers flattened."""
    found: list[Route] = []
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path
        if isinstance(route, APIRoute) and path and path.startswith(API + "/"):
            found += [Route(m, path, route) for m in sorted(context.methods or route.methods)]
    return found


# --- ids, bodies and the requests ----------------------------------------------------------


@dataclass
class TenantObjects:
    """One tenant's objects: ids by path parameter name, and by the collection they follow."""

    tenant_id: str
    by_name: dict[str, str] = field(default_factory=dict)
    by_collection: dict[str, str] = field(default_factory=dict)

    def value(self, template: str, name: str) -> str | None:
        collection = _collection_of(template, name)
        return self.by_collection.get(collection) or self.by_name.get(name)


def _collection_of(template: str, name: str) -> str:
    """`groups/members` for `{member_id}` in `/tenants/{tenant}/groups/{group_id}/members/...`."""
    path = template.removeprefix(TENANT_ROUTES).removeprefix(API)
    head = path.split("{" + name + "}", 1)[0]
    return "/".join(part for part in head.split("/") if part and not part.startswith("{"))


def fill(route: Route, tenant_ref: str, objects: dict[str, TenantObjects]) -> str:
    """The route's URL: `{tenant}` is `tenant_ref`; each id comes from `objects[name]`.

    `objects` maps each parameter name to the tenant whose id it gets; unknown names get a
    random UUID, which no tenant has (the answer must then be 404 all the same).
    """
    values = {"tenant": tenant_ref}
    for name in route.parameters:
        values[name] = objects[name].value(route.template, name) or str(uuid4())
    return route.template.format(**values)


def _unique() -> str:
    return uuid4().hex[:12]


def _sample(name: str, annotation: Any) -> Any:
    """A valid value for a required body field, from its name or else its type."""
    u = _unique()
    by_name: dict[str, Any] = {
        "email": f"probe-{u}@probe.example.com",
        "emails": [f"probe-{u}@probe.example.com"],
        "password": PASSWORD,
        "current_password": PASSWORD,
        "new_password": PASSWORD,
        "slug": f"probe-{u}",
        "role": "agent",
    }
    if name in by_name:
        return by_name[name]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _sample(name, typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _sample(name, options[0])
    if origin is typing.Literal:
        return typing.get_args(annotation)[0]
    if origin in (list, set, tuple, frozenset):
        return []
    if origin is dict:
        return {}
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return next(iter(annotation)).value
        if issubclass(annotation, bool):
            return True
        if issubclass(annotation, int | float):
            return 1
        if issubclass(annotation, UUID):
            return str(uuid4())
        if issubclass(annotation, datetime):
            return (datetime.now(UTC) + timedelta(days=1)).isoformat()
        if issubclass(annotation, BaseModel):
            return body_for(annotation)
    return f"Probe {u}"


def body_for(model: type[BaseModel], overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The model's required fields with plausible values (defaults do the rest), then overrides."""
    body = {
        name: _sample(name, info.annotation)
        for name, info in model.model_fields.items()
        if info.is_required()
    }
    body |= overrides or {}
    # A valid body, so that what is tested is the tenant, not validation.
    assert _is_valid(model, body), f"teach _sample to fill a valid {model.__name__}: {body}"
    return body


def _is_valid(model: type[BaseModel], body: dict[str, Any]) -> bool:
    try:
        model.model_validate(body)
    except ValidationError:
        return False
    return True


def request_body(route: Route) -> Any:
    if route.method == "PATCH":
        return {}  # an empty merge patch: valid, and changes nothing
    model = route.body_model
    return body_for(model) if model is not None else None


@dataclass(frozen=True)
class Caller:
    name: str
    auth: dict[str, str]
    role_in_b: Role

    def may(self, route: Route) -> bool:
        """Whether B's policy lets this caller use the route in tenant B at all."""
        action = route.action
        return action is None or can(self.role_in_b, action)


@dataclass
class Probe:
    client: httpx.AsyncClient
    secrets: list[str]
    failures: list[str] = field(default_factory=list)
    calls: int = 0

    async def send(
        self, auth: dict[str, str], method: str, url: str, body: Any = None
    ) -> httpx.Response:
        headers = dict(auth)
        content = None
        if body is not None:
            headers["Content-Type"] = MERGE_PATCH if method == "PATCH" else "application/json"
            content = json.dumps(body)
        response = await self.client.request(method, url, headers=headers, content=content)
        self.client.cookies.clear()
        self.calls += 1
        return response

    async def expect(
        self,
        caller: Caller,
        method: str,
        url: str,
        body: Any,
        statuses: set[int] | None = None,
        *,
        not_statuses: set[int] | None = None,
        why: str,
    ) -> httpx.Response:
        """Call, then record a failure for a wrong status, a non-problem error, or a leak."""
        response = await self.send(caller.auth, method, url, body)
        where = f"{why}: {caller.name} {method} {url}"
        status = response.status_code
        if statuses is not None and status not in statuses:
            self.failures.append(
                f"{where}: expected {sorted(statuses)}, got {status} {response.text[:200]}"
            )
        if not_statuses is not None and (status in not_statuses or status >= 500):
            self.failures.append(f"{where}: got {status} {response.text[:200]}")
        if status >= 400 and not _is_problem(response):
            self.failures.append(f"{where}: error {status} is not problem+json with a code")
        leaked = leaks(response, self.secrets)
        if leaked:
            self.failures.append(f"{where}: answer ({status}) contains A's {leaked}")
        return response


def _is_problem(response: httpx.Response) -> bool:
    if not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        return False
    problem = response.json()
    return problem.get("status") == response.status_code and bool(problem.get("code"))


def _decoded_cursors(text: str) -> list[str]:
    """Cursors are base64 of sort values: decode them so a leak cannot hide inside one."""
    decoded = []
    for cursor in re.findall(r'"next_cursor"\s*:\s*"([A-Za-z0-9_\-]+)"', text):
        try:
            decoded.append(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
        except (binascii.Error, UnicodeDecodeError):
            decoded.append(cursor)
    return decoded


def leaks(response: httpx.Response, secrets: list[str]) -> list[str]:
    parts = [response.text, *_decoded_cursors(response.text)]
    parts += [f"{name}: {value}" for name, value in response.headers.items()]
    haystack = "\n".join(parts).lower()
    return [secret for secret in secrets if secret.lower() in haystack]


# --- the world: canaries in A, look-alikes in B, and a member of both ---------------------


async def _post(
    client: httpx.AsyncClient, auth: dict[str, str], url: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(url, json=body, headers=auth)
    assert response.status_code == 201, f"setup POST {url}: {response.text}"
    created: dict[str, Any] = response.json()
    return created


async def make_objects(
    client: httpx.AsyncClient, world: World, slug: str, marker: str
) -> tuple[TenantObjects, dict[str, str]]:
    """A group with a member, a member, an organization, a contact and a token, as the owner.

    Returns the ids, and values to filter lists by (the contact's email, the marker as `q`).
    """
    tenant = world.a if slug == world.a.slug else world.b
    owner = tenant["owner"].auth
    base = f"{API}/tenants/{slug}"
    low = marker.lower()
    group = await _post(
        client, owner, f"{base}/groups", {"name": f"{marker} group", "description": marker}
    )
    member = await _post(
        client,
        owner,
        f"{base}/members",
        {"email": f"{low}-member@people.example.com", "role": "agent", "display_name": marker},
    )
    group_member = await _post(
        client, owner, f"{base}/groups/{group['id']}/members", {"user_id": member["user_id"]}
    )
    organization = await _post(
        client,
        owner,
        f"{base}/organizations",
        {"name": f"{marker} org", "domains": [f"{low}.example.com"], "notes": marker},
    )
    contact_email = f"{low}@customers.example.com"
    contact = await _post(
        client,
        owner,
        f"{base}/contacts",
        {
            "name": f"{marker} contact",
            "emails": [contact_email],
            "organization_id": organization["id"],
            "notes": marker,
        },
    )
    token = await _post(client, owner, f"{base}/tokens", {"name": f"{marker} token"})
    objects = TenantObjects(
        tenant_id=str(tenant.id),
        by_name={
            "tenant_id": str(tenant.id),
            "group_id": group["id"],
            "member_id": member["id"],
            "contact_id": contact["id"],
            "organization_id": organization["id"],
            "token_id": token["id"],
            "user_id": member["user_id"],
            "subject_id": group["id"],
        },
        by_collection={
            "groups": group["id"],
            "groups/members": group_member["id"],
            "members": member["id"],
            "contacts": contact["id"],
            "organizations": organization["id"],
            "tokens": token["id"],
        },
    )
    return objects, {"email": contact_email, "q": marker}


async def member_of_both(client: httpx.AsyncClient, world: World) -> Caller:
    """A user who is an agent in A and in B, calling with a token limited to B."""
    email = f"both-{_unique()}@people.example.com"
    body = {"email": email, "role": "agent", "password": PASSWORD}
    await _post(client, world.a["owner"].auth, f"{API}/tenants/{world.a.slug}/members", body)
    body = {"email": email, "role": "agent"}
    await _post(client, world.b["owner"].auth, f"{API}/tenants/{world.b.slug}/members", body)
    login = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
    made = await client.post(
        f"{API}/tenants/{world.b.slug}/tokens", json={"name": "b only"}, headers=csrf
    )
    client.cookies.clear()
    assert made.status_code == 201, made.text
    assert made.json()["tenant_id"] == str(world.b.id)
    auth = {"Authorization": f"Bearer {made.json()['token']}"}
    return Caller("agent of A and B, B-only token", auth, Role.AGENT)


async def snapshot_of_a(
    client: httpx.AsyncClient, world: World, routes: list[Route], a: TenantObjects
) -> dict[str, tuple[int, str, str | None]]:
    """Every GET of tenant A (with A's ids), as A's owner: status, body and ETag."""
    snapshot = {}
    for route in routes:
        if route.method == "GET" and route.is_tenant_route:
            url = fill(route, world.a.slug, dict.fromkeys(route.parameters, a))
            response = await client.get(url, headers=world.a["owner"].auth)
            snapshot[url] = (response.status_code, response.text, response.headers.get("ETag"))
    return snapshot


# --- the test -------------------------------------------------------------------------------


async def test_tenant_b_never_reaches_tenant_a(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    routes = api_routes(app)
    tenant_routes = [r for r in routes if r.is_tenant_route]
    assert len(tenant_routes) >= 25, "route enumeration found too few tenant routes"
    assert any(r.parameters for r in tenant_routes)

    canary = f"CANARY-A-{uuid4().hex}"
    renamed = await client.patch(
        f"{API}/tenants/{world.a.slug}",
        content=json.dumps({"name": f"Acme {canary}"}),
        headers={**world.a["owner"].auth, "Content-Type": MERGE_PATCH},
    )
    assert renamed.status_code == 200, renamed.text
    a, a_values = await make_objects(client, world, world.a.slug, canary)
    b, _ = await make_objects(client, world, world.b.slug, f"b-side-{_unique()}")
    both = await member_of_both(client, world)
    callers = [Caller(f"B {role.value}", world.b[role.value].auth, role) for role in B_ROLES]
    callers.append(both)

    # A's data must show the canary to A (else the leak checks below would prove nothing).
    before = await snapshot_of_a(client, world, routes, a)
    for route in tenant_routes:
        if route.method == "GET" and all(a.value(route.template, n) for n in route.parameters):
            url = fill(route, world.a.slug, dict.fromkeys(route.parameters, a))
            status, body, _ = before[url]
            assert status == 200, f"A's owner GET {url}: {status}"
            assert canary.lower() in body.lower(), f"no canary in GET {url}"

    a_ids = sorted({*a.by_name.values(), *a.by_collection.values(), a.tenant_id})
    probe = Probe(client, secrets=[canary, *a_ids])
    a_refs = [world.a.slug, world.a.slug.upper(), str(world.a.id)]

    for route in routes:
        for caller in callers:
            if route.template.startswith(ADMIN_ROUTES):
                url = fill(route, world.b.slug, dict.fromkeys(route.parameters, a))
                await probe.expect(
                    caller, route.method, url, request_body(route), {403}, why="platform admin"
                )
            elif route.is_tenant_route:
                await _tenant_route(probe, route, caller, world, a, b, a_refs, a_values)
            elif route.parameters:
                url = fill(route, world.b.slug, dict.fromkeys(route.parameters, a))
                await probe.expect(
                    caller, route.method, url, request_body(route), {404}, why="A's id"
                )
            elif route.method == "GET":
                await probe.expect(caller, "GET", route.template, None, {200}, why="own view")

    after = await snapshot_of_a(client, world, routes, a)
    changed = [url for url in before if before[url] != after.get(url)]
    probe.failures += [f"A's data changed: GET {url}" for url in changed]
    assert probe.calls > len(tenant_routes) * len(callers) * 4
    assert not probe.failures, "tenant isolation failures:\n" + "\n".join(probe.failures)


async def _tenant_route(
    probe: Probe,
    route: Route,
    caller: Caller,
    world: World,
    a: TenantObjects,
    b: TenantObjects,
    a_refs: list[str],
    a_values: dict[str, str],
) -> None:
    body = request_body(route)
    all_a = dict.fromkeys(route.parameters, a)

    # Through A's path (slug, upper-cased slug, id): A does not exist for B's people.
    for ref in a_refs:
        await probe.expect(
            caller, route.method, fill(route, ref, all_a), body, {404}, why="A's path"
        )

    # Through B's own path with A's ids: not found (or forbidden where B's policy says so).
    denied = {403} if not caller.may(route) else None
    if route.parameters:
        url = fill(route, world.b.slug, all_a)
        await probe.expect(caller, route.method, url, body, denied or {404}, why="B's path, A's id")
        # B's ids for every parameter but one, which is A's.
        mixable = route.parameters if len(route.parameters) > 1 else []
        for name in mixable:
            mixed = {**dict.fromkeys(route.parameters, b), name: a}
            url = fill(route, world.b.slug, mixed)
            await probe.expect(caller, route.method, url, body, denied or {404}, why=f"A's {name}")
    else:
        url = fill(route, world.b.slug, {})
        if denied:
            await probe.expect(caller, route.method, url, body, denied, why="B's path")
        elif route.method == "GET":
            await probe.expect(caller, "GET", url, None, {200}, why="B's list")
        else:
            await probe.expect(
                caller, route.method, url, body, not_statuses={401, 403, 404}, why="B's path"
            )

    if denied:
        return
    # B's objects, with a body or a filter that points at A's objects.
    b_ids = dict.fromkeys(route.parameters, b)
    model = route.body_model
    if route.method in ("POST", "PATCH") and model is not None:
        refs = {n: a.by_name[n] for n in model.model_fields if n in a.by_name}
        if refs:
            ref_body = refs if route.method == "PATCH" else body_for(model, refs)
            url = fill(route, world.b.slug, b_ids)
            await probe.expect(
                caller, route.method, url, ref_body, {404, 422}, why=f"body refers to A's {refs}"
            )
    if route.method == "GET":
        for name in route.query_parameters:
            value = a.by_name.get(name) or a_values.get(name)
            if value is not None:
                url = fill(route, world.b.slug, b_ids)
                response = await probe.send(caller.auth, "GET", url + "?" + _query(name, value))
                await _filtered(probe, caller, response, name)


def _query(name: str, value: str) -> str:
    return str(httpx.QueryParams({name: value}))


async def _filtered(probe: Probe, caller: Caller, response: httpx.Response, name: str) -> None:
    where = f"filter {name}: {caller.name} GET {response.request.url}"
    if response.status_code != 200:
        probe.failures.append(f"{where}: {response.status_code} {response.text[:200]}")
    else:
        found = response.json()
        items = found.get("items", []) if isinstance(found, dict) else found
        if items:
            probe.failures.append(f"{where}: a filter on A's data matched {items}")
    leaked = leaks(response, probe.secrets)
    if leaked:
        probe.failures.append(f"{where}: contains A's {leaked}")
