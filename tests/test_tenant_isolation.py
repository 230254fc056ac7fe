"""Tenant isolation, generated from the route table: nobody in tenant B reaches tenant A's data.

Objects are made in tenant A (`acme`) with a canary string in their names and notes (and a
ticket with the canary in its subject, description, reply, internal note, tags, custom fields,
assignment reason, status, category, cc and file); then every route is called as every principal
of tenant B (`acmeco`, whose slug starts with A's), with A's ids through B's path, through A's
path (by slug, upper-cased slug or id in turn; by the member of both tenants on every route, by
B's roles in turn), with B's ids mixed with one of A's, and with bodies (one field at a time,
nested ones too) and filters that point at A's objects. No answer may carry the canary, or an
id of A's it was not sent; afterwards every GET of A answers exactly as before.

Path parameters are filled by name (and by the collection they follow), with a random UUID for
names this module does not know yet; a new route is covered without editing this file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
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
from fastapi import FastAPI, params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from frontdesk.core.db import transaction
from frontdesk.core.events import relay_batch, subscribers
from frontdesk.core.patch import PATCH_MODELS
from frontdesk.email.service.planner import plan_batch
from frontdesk.identity.policy import Action, Role, can
from frontdesk.metadata import metadata
from frontdesk.notifications.kinds import NotificationKind
from frontdesk.notifications.service import notify_users
from tests.factories import PASSWORD, TenantFixture, World, make_tenant
from tests.robustness.counters import backend_of, record

API = "/api/v1"
TENANT_ROUTES = f"{API}/tenants/{{tenant}}"
ADMIN_ROUTES = f"{API}/admin/"
PARAMETER = re.compile(r"{(\w+)}")
PROBLEM_JSON = "application/problem+json"
MERGE_PATCH = "application/merge-patch+json"
B_ROLES = (Role.OWNER, Role.ADMIN, Role.AGENT, Role.LIGHT_AGENT, Role.CONTACT)
#: GETs that answer with the caller's own counters or settings: no id or text of A's to show
#: (they are probed for leaks like every other route).
SHOWS_NO_TENANT_DATA = {
    f"{TENANT_ROUTES}/notifications/unread-count",
    f"{TENANT_ROUTES}/notifications/preferences",
    # A list of status categories: nothing in it can carry a canary.
    f"{TENANT_ROUTES}/email-settings",
}


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

    @property
    def is_multipart(self) -> bool:
        return any(isinstance(p.field_info, params.Form) for p in self.route.dependant.body_params)

    @property
    def form_fields(self) -> list[str]:
        """A multipart body's plain fields (not files)."""
        return [
            p.name
            for p in self.route.dependant.body_params
            if not isinstance(p.field_info, params.File)
        ]

    @property
    def file_fields(self) -> list[str]:
        return [
            p.name
            for p in self.route.dependant.body_params
            if isinstance(p.field_info, params.File)
        ]

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
    #: Values a body or a filter may point with, by field name (ids, a status key, ...).
    refs: dict[str, Any] = field(default_factory=dict)

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


def _named_samples() -> dict[str, Any]:
    u = _unique()
    return {
        "email": f"probe-{u}@probe.example.com",
        "emails": [f"probe-{u}@probe.example.com"],
        "address": f"desk-{u}@probe.example.com",
        "password": PASSWORD,
        "current_password": PASSWORD,
        "new_password": PASSWORD,
        "slug": f"probe-{u}",
        "role": "agent",
        "key": f"probe_{u}",
        "tag": f"probe-{u}",
        "ticket_ids": [str(uuid4())],
    }


def _fits(annotation: Any, value: Any) -> bool:
    try:
        TypeAdapter(annotation).validate_python(value)
    except ValidationError:
        return False
    return True


def _sample(name: str, annotation: Any) -> Any:
    """A valid value for a required body field, from its name or else its type."""
    by_name = _named_samples()
    if name in by_name and _fits(annotation, by_name[name]):
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
    return f"Probe {_unique()}"


def _required(model: type[BaseModel]) -> dict[str, Any]:
    """The required fields, and text that defaults to empty (an empty message is refused)."""
    body = {
        name: _sample(name, info.annotation)
        for name, info in model.model_fields.items()
        if info.is_required()
    }
    body |= {
        name: f"Probe {_unique()}"
        for name, info in model.model_fields.items()
        if info.default == ""
    }
    return body


def _base(model: type[BaseModel]) -> dict[str, Any]:
    """`_required`, plus the first optional field known by name that makes it valid (for
    "one of contact_id, user_id or email")."""
    body = _required(model)
    if not _is_valid(model, body):
        samples = _named_samples()
        for name in model.model_fields:
            if (
                name not in body
                and name in samples
                and _is_valid(model, body | {name: samples[name]})
            ):
                return body | {name: samples[name]}
    return body


def body_for(model: type[BaseModel], overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The model's required fields with plausible values (defaults do the rest), then overrides."""
    body = _base(model) | (overrides or {})
    # A valid body, so that what is tested is the tenant, not validation.
    assert _is_valid(model, body), f"teach _sample to fill a valid {model.__name__}: {body}"
    return body


def _is_valid(model: type[BaseModel], body: dict[str, Any]) -> bool:
    try:
        model.model_validate(body)
    except ValidationError:
        return False
    return True


@dataclass(frozen=True)
class Multipart:
    """A multipart body: these form fields, and a small file in each file field."""

    files: list[str]
    form: dict[str, str] = field(default_factory=dict)


def request_body(route: Route) -> Any:
    if route.method == "PATCH":
        return {}  # an empty merge patch: valid, and changes nothing
    if route.is_multipart:
        return Multipart(route.file_fields)
    model = route.body_model
    return body_for(model) if model is not None else None


RefPath = tuple[str, ...]


def _ref_paths(model: type[BaseModel], refs: dict[str, Any], prefix: RefPath = ()) -> list[RefPath]:
    """The body fields (nested models too) that point at another object, by name."""
    found: list[RefPath] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += _ref_paths(annotation, refs, (*prefix, name))
        elif name in refs:
            found.append((*prefix, name))
    return found


def _with(body: dict[str, Any], path: RefPath, value: Any) -> dict[str, Any]:
    head, *rest = path
    if not rest:
        return {**body, head: value}
    return {**body, head: _with(body.get(head) or {}, tuple(rest), value)}


def ref_body(
    model: type[BaseModel], path: RefPath, value: Any, own: TenantObjects
) -> dict[str, Any] | None:
    """A valid body whose field at `path` is `value` and whose other references are `own`'s
    (else left out): what is tested is that one reference."""
    with_own: dict[str, Any] = {}
    for other in _ref_paths(model, own.refs):
        with_own = _with(with_own, other, own.refs[other[-1]])
    for start in (_base(model), _required(model)):
        for candidate in (_merge(start, with_own), start):
            body = _with(candidate, path, value)
            if _is_valid(model, body):
                return body
    return None


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


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
    #: The canary first, then A's ids.
    secrets: list[str]
    failures: list[str] = field(default_factory=list)
    calls: int = 0

    async def send(
        self, auth: dict[str, str], method: str, url: str, body: Any = None
    ) -> httpx.Response:
        headers = dict(auth)
        if isinstance(body, Multipart):
            files = dict.fromkeys(body.files, ("probe.txt", b"probe file", "text/plain"))
            response = await self.client.request(
                method, url, headers=headers, data=body.form, files=files
            )
        else:
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
        # An answer may repeat what the caller sent (an error naming the id it cannot find);
        # never the canary, which no request carries.
        sent = f"{url} {body.form if isinstance(body, Multipart) else json.dumps(body)}".lower()
        secrets = [s for i, s in enumerate(self.secrets) if i == 0 or s.lower() not in sent]
        leaked = leaks(response, secrets)
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
    client: httpx.AsyncClient, world: World, slug: str, marker: str, *, files: bool
) -> tuple[TenantObjects, dict[str, str]]:
    """A group with a member, a member, an organization, a contact and a token, as the owner;
    a status, a category and a ticket with everything that hangs off it (`files`: attachments).

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
    calendar = await _post(
        client,
        owner,
        f"{base}/sla/calendars",
        {
            "name": f"{marker} calendar",
            "timezone": "Europe/Berlin",
            "schedule": {"mon": [["09:00", "17:00"]]},
            "holidays": [{"date": "2026-12-24", "name": marker}],
        },
    )
    policy = await _post(
        client,
        owner,
        f"{base}/sla/policies",
        {
            "name": f"{marker} policy",
            "is_default": True,
            "calendar_id": calendar["id"],
            "targets": [{"priority": "normal", "metric": "first_response", "minutes": 60}],
            "escalation": [{"action": "add_internal_note", "body": marker}],
        },
    )
    channel, inbound_mail_id = await make_channel(client, owner, base, marker)
    tickets = await make_ticket(
        client,
        owner,
        base,
        marker,
        contact_id=contact["id"],
        group_id=group["id"],
        user_id=member["user_id"],
        files=files,
    )
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
            "calendar_id": calendar["id"],
            "policy_id": policy["id"],
            "channel_id": channel["id"],
            "inbound_mail_id": inbound_mail_id,
            **tickets,
        },
        by_collection={
            "groups": group["id"],
            "groups/members": group_member["id"],
            "members": member["id"],
            "contacts": contact["id"],
            "organizations": organization["id"],
            "tokens": token["id"],
            "channels": channel["id"],
            "inbound-mail": inbound_mail_id,
            "statuses": tickets["status_id"],
            "categories": tickets["category_id"],
            "sla/calendars": calendar["id"],
            "sla/policies": policy["id"],
            "tickets": tickets["ticket_id"],
            "tickets/messages": tickets["message_id"],
            "tickets/participants": tickets["participant_id"],
            "tickets/access": tickets["grant_id"],
            "tickets/tags": tickets["tag"],
            **({"tickets/attachments": tickets["attachment_id"]} if files else {}),
        },
        refs={
            "group_id": group["id"],
            "default_group_id": group["id"],
            "contact_id": contact["id"],
            "requester_id": contact["id"],
            "organization_id": organization["id"],
            "user_id": member["user_id"],
            "assignee_id": member["user_id"],
            "category_id": tickets["category_id"],
            "calendar_id": calendar["id"],
            "default_sla_policy_id": policy["id"],
            "parent_id": tickets["category_id"],
            "status": tickets["status_key"],
            "message_id": tickets["message_id"],
            "ticket_ids": [tickets["ticket_id"]],
        },
    )
    filters = {
        "email": contact_email,
        "q": marker,
        "status": tickets["status_key"],
        "assignee": member["user_id"],
        "tag": tickets["tag"],
        "prefix": tickets["tag"],
    }
    return objects, filters


async def make_channel(
    client: httpx.AsyncClient, owner: dict[str, str], base: str, marker: str
) -> tuple[dict[str, Any], str]:
    """A push channel named by the marker, and a mail it received with the marker in it."""
    low = marker.lower()
    channel = await _post(
        client,
        owner,
        f"{base}/channels",
        {"name": f"{marker} channel", "address": f"desk@{low}.example.com", "mode": "push"},
    )
    mail = (
        f"From: {marker} <{low}-mailer@customers.example.com>\r\nTo: desk@{low}.example.com\r\n"
        f"Subject: {marker} mail\r\nMessage-ID: <{low}@customers.example.com>\r\n\r\n{marker}\r\n"
    )
    pushed = await client.post(
        httpx.URL(channel["push_url"]).path,
        content=mail.encode(),
        headers={"Content-Type": "message/rfc822"},
    )
    assert pushed.status_code == 202, f"setup push: {pushed.text}"
    template = {"subject": f"{marker} subject", "body_text": f"{marker} text"}
    made = await client.put(
        f"{base}/email-templates/acknowledgement/en", json=template, headers=owner
    )
    assert made.status_code == 200, f"setup template: {made.text}"
    return channel, pushed.json()["id"]


async def queued_mail(
    client: httpx.AsyncClient, app: FastAPI, slug: str, owner: dict[str, str]
) -> str:
    """The worker's planning pass (the mail each channel's intake queued); one of them."""
    await relay_batch(app.state.sessionmaker, [subscribers])
    async with transaction(app.state.sessionmaker) as session:
        await plan_batch(session, app.state.settings)
    listed = await client.get(f"{API}/tenants/{slug}/outbound-mail", headers=owner)
    assert listed.status_code == 200, listed.text
    mail_id: str = listed.json()["items"][0]["id"]
    return mail_id


async def make_ticket(
    client: httpx.AsyncClient,
    owner: dict[str, str],
    base: str,
    marker: str,
    *,
    contact_id: str,
    group_id: str,
    user_id: str,
    files: bool,
) -> dict[str, str]:
    """A status and a category, and a ticket with the marker in its subject, description,
    messages (a reply and an internal note), tags, custom fields and assignment reason; a cc,
    a grant to the group, and (with `files`) an attachment on the reply. Returns their ids."""
    status_key = f"s_{_unique()}"
    status = await _post(
        client, owner, f"{base}/statuses", {"key": status_key, "label": marker, "category": "open"}
    )
    category = await _post(
        client, owner, f"{base}/categories", {"name": f"{marker} category", "description": marker}
    )
    tag = marker.lower()
    ticket = await _post(
        client,
        owner,
        f"{base}/tickets",
        {
            "subject": f"{marker} ticket",
            "description": marker,
            "requester_id": contact_id,
            "status": status_key,
            "category_id": category["id"],
            "tags": [tag],
            "custom_fields": {"canary": marker},
            "orchestration_ref": marker,
        },
    )
    url = f"{base}/tickets/{ticket['id']}"
    assignment = {"group_id": group_id, "assignee_id": user_id, "reason": marker}
    await _post(client, owner, f"{url}/assignments", assignment)
    reply = await _post(client, owner, f"{url}/messages", {"body": f"{marker} reply"})
    await _post(client, owner, f"{url}/messages", {"body": f"{marker} note", "is_internal": True})
    cc = {"role": "cc", "email": f"{marker.lower()}-cc@customers.example.com"}
    participant = await _post(client, owner, f"{url}/participants", cc)
    grant = await _post(client, owner, f"{url}/access", {"group_id": group_id, "level": "write"})
    made = {
        "ticket_id": ticket["id"],
        "message_id": reply["id"],
        "participant_id": participant["id"],
        "grant_id": grant["id"],
        "tag": tag,
        "status_id": status["id"],
        "status_key": status_key,
        "category_id": category["id"],
    }
    if files:
        response = await client.post(
            f"{url}/attachments",
            data={"message_id": reply["id"]},
            files={"file": (f"{marker}.txt", f"{marker} file".encode(), "text/plain")},
            headers=owner,
        )
        assert response.status_code == 201, f"setup upload: {response.text}"
        made["attachment_id"] = response.json()["id"]
    return made


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


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


#: Other ways to write an id, and ids that share a prefix with it.
ID_SPELLINGS: list[Any] = [
    lambda value: value.replace("-", ""),
    lambda value: value.upper(),
    lambda value: "{" + value + "}",
    lambda value: f"urn:uuid:{value}",
    lambda value: value[:-1],
    lambda value: value[:8],
    lambda value: value[:-1] + ("0" if value[-1] != "0" else "1"),
    lambda value: value + "0",
]


async def rows_of(
    sessionmaker: async_sessionmaker[AsyncSession], tenant_id: UUID
) -> dict[str, tuple[int, str]]:
    """Per table with a tenant_id column: how many of the tenant's rows, and a hash of them."""
    digests = {}
    async with sessionmaker() as session:
        for table in metadata.sorted_tables:
            if "tenant_id" not in table.c:
                continue
            rows = (
                await session.execute(select(table).where(table.c.tenant_id == tenant_id))
            ).all()
            text = "\n".join(sorted(repr(tuple(row)) for row in rows))
            digests[table.name] = (len(rows), hashlib.sha256(text.encode()).hexdigest())
    return digests


# --- the test -------------------------------------------------------------------------------


async def notice_for_owner(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: TenantFixture, marker: str
) -> str:
    """A notification of the tenant's owner with the marker in it (only the domains make them)."""
    async with transaction(sessionmaker) as session:
        (made,) = await notify_users(
            session,
            tenant_id=tenant.id,
            user_ids=[tenant["owner"].user_id],
            kind=NotificationKind.TICKET_ASSIGNED,
            title=f"{marker} notice",
            body=marker,
        )
    return str(made.id)


async def test_tenant_b_never_reaches_tenant_a(
    app: FastAPI,
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
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
    files = any(route.is_multipart for route in tenant_routes)
    a, a_values = await make_objects(client, world, world.a.slug, canary, files=files)
    b, _ = await make_objects(client, world, world.b.slug, f"b-side-{_unique()}", files=files)
    for objects, tenant in ((a, world.a), (b, world.b)):
        queued = await queued_mail(client, app, tenant.slug, tenant["owner"].auth)
        objects.by_name["outbound_mail_id"] = objects.by_collection["outbound-mail"] = queued
    a.by_name["notification_id"] = await notice_for_owner(sessionmaker, world.a, canary)
    b.by_name["notification_id"] = await notice_for_owner(sessionmaker, world.b, "b-side")
    both = await member_of_both(client, world)
    callers = [Caller(f"B {role.value}", world.b[role.value].auth, role) for role in B_ROLES]
    callers.append(both)

    # A's data must show the canary, or one of A's ids, to A (else the leak checks below would
    # prove nothing).
    a_ids = sorted({*a.by_name.values(), *a.by_collection.values(), a.tenant_id})
    before = await snapshot_of_a(client, world, routes, a)
    rows_before = await rows_of(sessionmaker, world.a.id)
    # A tenant whose slug is a prefix of A's (B's, `acmeco`, starts with A's `acme`).
    async with transaction(sessionmaker) as session:
        c = await make_tenant(session, world.a.slug[:-1])
    prefix_owner = Caller(f"owner of {c.slug!r}", c["owner"].auth, Role.OWNER)
    for route in tenant_routes:
        if route.method == "GET" and all(a.value(route.template, n) for n in route.parameters):
            url = fill(route, world.a.slug, dict.fromkeys(route.parameters, a))
            status, body, _ = before[url]
            assert status == 200, f"A's owner GET {url}: {status}"
            if route.template in SHOWS_NO_TENANT_DATA:
                continue
            if route.parameters or canary.lower() not in body.lower():
                shown = [s for s in [canary, *a_ids] if s.lower() in body.lower()]
                assert shown, f"nothing of A's in GET {url}"

    probe = Probe(client, secrets=[canary, *a_ids])
    a_refs = [world.a.slug, world.a.slug.upper(), str(world.a.id)]

    for number, route in enumerate(routes):
        for caller in callers:
            if route.template.startswith(ADMIN_ROUTES):
                url = fill(route, world.b.slug, dict.fromkeys(route.parameters, a))
                await probe.expect(
                    caller, route.method, url, request_body(route), {403}, why="platform admin"
                )
            elif route.is_tenant_route:
                # A's path: the member of both on every route, and one of B's roles in turn (the
                # others never get past the tenant either); the ways of naming A take turns.
                index = callers.index(caller)
                through_a = caller is both or index == number % len(B_ROLES)
                a_ref = a_refs[(number + index) % len(a_refs)] if through_a else None
                await _tenant_route(probe, route, caller, world, a, b, a_ref, a_values)
            elif route.parameters:
                url = fill(route, world.b.slug, dict.fromkeys(route.parameters, a))
                await probe.expect(
                    caller, route.method, url, request_body(route), {404}, why="A's id"
                )
            elif route.method == "GET":
                await probe.expect(caller, "GET", route.template, None, {200}, why="own view")

    for route in tenant_routes:
        # The prefix tenant's owner, through A's path and with A's ids through their own.
        all_a = dict.fromkeys(route.parameters, a)
        body = request_body(route)
        for ref in (world.a.slug, str(world.a.id)):
            url = fill(route, ref, all_a)
            await probe.expect(prefix_owner, route.method, url, body, {404}, why="A's path")
        if route.parameters:
            url = fill(route, c.slug, all_a)
            await probe.expect(prefix_owner, route.method, url, body, {404}, why="A's id")
            # A's ids in other spellings, and cut short: still nobody's.
            for spelling in ID_SPELLINGS:
                url = fill(route, world.b.slug, all_a)
                for name in route.parameters:
                    value = a.value(route.template, name)
                    if value and _is_uuid(value):
                        url = url.replace(value, spelling(value))
                await probe.expect(
                    callers[0], route.method, url, body, {404, 422}, why="A's id respelt"
                )

    after = await snapshot_of_a(client, world, routes, a)
    changed = [url for url in before if before[url] != after.get(url)]
    probe.failures += [f"A's data changed: GET {url}" for url in changed]
    rows_after = await rows_of(sessionmaker, world.a.id)
    probe.failures += [
        f"A's rows changed in {table}"
        for table in rows_before
        if rows_before[table] != rows_after[table]
    ]
    record(
        "isolation",
        backend_of(settings.db_url),
        {
            "routes": len(routes),
            "tenant_routes": len(tenant_routes),
            "callers": len(callers) + 1,
            "requests": probe.calls,
            "tables_hashed": len(rows_before),
            "rows_of_a": sum(count for count, _ in rows_before.values()),
            "leaks_or_wrong_answers": len(probe.failures),
        },
    )
    assert probe.calls > len(tenant_routes) * len(callers) * 2
    assert not probe.failures, "tenant isolation failures:\n" + "\n".join(probe.failures)


async def _tenant_route(
    probe: Probe,
    route: Route,
    caller: Caller,
    world: World,
    a: TenantObjects,
    b: TenantObjects,
    a_ref: str | None,
    a_values: dict[str, str],
) -> None:
    body = request_body(route)
    all_a = dict.fromkeys(route.parameters, a)

    # Through A's path (slug, upper-cased slug or id, in turn): A does not exist for B's people.
    if a_ref is not None:
        url = fill(route, a_ref, all_a)
        await probe.expect(caller, route.method, url, body, {404}, why="A's path")

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
    # B's objects, with a body or a filter that points at A's objects (one at a time).
    b_ids = dict.fromkeys(route.parameters, b)
    url = fill(route, world.b.slug, b_ids)
    for why, ref in _bodies_pointing_at(route, a, b):
        response = await probe.expect(caller, route.method, url, ref, None, why=why)
        _refused(probe, response, why)
    if route.method == "GET":
        for name in route.query_parameters:
            value = a.by_name.get(name) or a_values.get(name)
            if value is not None:
                url = fill(route, world.b.slug, b_ids)
                response = await probe.send(caller.auth, "GET", url + "?" + _query(name, value))
                await _filtered(probe, caller, response, name)


def _bodies_pointing_at(route: Route, a: TenantObjects, b: TenantObjects) -> list[tuple[str, Any]]:
    """Bodies for B's route, each with one field that is A's (an id, a status key)."""
    if route.method not in ("POST", "PATCH"):
        return []
    if route.is_multipart:
        return [
            (f"form {name} is A's", Multipart(route.file_fields, {name: a.refs[name]}))
            for name in route.form_fields
            if name in a.refs
        ]
    model = route.body_model
    if model is None:
        return []
    found: list[tuple[str, Any]] = []
    for path in _ref_paths(model, a.refs):
        value = a.refs[path[-1]]
        if route.method == "PATCH":
            body = {path[0]: value} if len(path) == 1 else None
        else:
            body = ref_body(model, path, value, b)
        if body is not None:
            found.append((f"body {'.'.join(path)} is A's", body))
    return found


def _refused(probe: Probe, response: httpx.Response, why: str) -> None:
    """A reference to A's object is refused: 403, 404 or 422; or, for a bulk change answering
    200 with a result per item, every item is."""
    where = f"{why}: {response.request.method} {response.request.url}"
    status = response.status_code
    if status in (403, 404, 422):
        return
    found = response.json() if status == 200 else None
    results = found.get("results") if isinstance(found, dict) else None
    if isinstance(results, list) and results:
        accepted = [r for r in results if r.get("ok") or r.get("status") not in (403, 404, 422)]
        if not accepted:
            return
    probe.failures.append(f"{where}: accepted ({status}) {response.text[:200]}")


def _query(name: str, value: str) -> str:
    return str(httpx.QueryParams({name: value}))


async def _filtered(probe: Probe, caller: Caller, response: httpx.Response, name: str) -> None:
    where = f"filter {name}: {caller.name} GET {response.request.url}"
    if response.status_code == 403 and _is_problem(response):
        pass  # a filter the caller may not use (a customer's by tag) shows nothing either
    elif response.status_code != 200:
        probe.failures.append(f"{where}: {response.status_code} {response.text[:200]}")
    else:
        found = response.json()
        items = found.get("items", []) if isinstance(found, dict) else found
        if items:
            probe.failures.append(f"{where}: a filter on A's data matched {items}")
    leaked = leaks(response, probe.secrets)
    if leaked:
        probe.failures.append(f"{where}: contains A's {leaked}")
