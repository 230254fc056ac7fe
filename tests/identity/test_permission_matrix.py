"""Every principal against every API route, checked against a matrix written out here.

The matrix is deliberately independent of `frontdesk.identity.policy`: it states who may call
what, so a change to the policy table (or a route wired to the wrong action) fails this test.
Routes are enumerated from the app, so a new route fails the test until it is added here.
Where the body, the query or the object decides (a light agent's internal note but not their
public reply, `?purge=true`, a ticket in a group the agent is not in), VARIANTS calls the route
that way too, with its own allowed set; a principal who may not even see the object gets 404.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.db import transaction
from frontdesk.core.events import relay_batch, subscribers
from frontdesk.email.service.planner import plan_batch
from frontdesk.notifications.kinds import NotificationKind
from frontdesk.notifications.service import notify_users
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
PLATFORM_TICKETS = f"{API}/admin/tickets"
T = f"{API}/tenants/{{tenant}}"
TICKETS = f"{T}/tickets"
TICKET = f"{TICKETS}/{{ticket_id}}"

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
    # ticket settings: statuses and categories are everyone's to read; the tag list is staff's
    ("GET", f"{T}/statuses"): STAFF_AND_CONTACTS,
    ("POST", f"{T}/statuses"): ADMINS,
    ("PATCH", f"{T}/statuses/{{status_id}}"): ADMINS,
    ("DELETE", f"{T}/statuses/{{status_id}}"): ADMINS,
    ("GET", f"{T}/categories"): STAFF_AND_CONTACTS,
    ("POST", f"{T}/categories"): ADMINS,
    ("GET", f"{T}/categories/{{category_id}}"): STAFF_AND_CONTACTS,
    ("PATCH", f"{T}/categories/{{category_id}}"): ADMINS,
    ("DELETE", f"{T}/categories/{{category_id}}"): ADMINS,
    ("GET", f"{T}/tags"): STAFF,
    # tickets: light agents only read; contacts create, read and retitle/resolve their own
    ("GET", TICKETS): STAFF_AND_CONTACTS,
    ("POST", TICKETS): AGENTS | {CONTACT},
    ("POST", f"{TICKETS}/bulk"): AGENTS,
    ("GET", TICKET): STAFF_AND_CONTACTS,
    ("PATCH", TICKET): AGENTS | {CONTACT},
    ("DELETE", TICKET): AGENTS,  # to the trash; `?purge=true` is in VARIANTS
    ("POST", f"{TICKET}/restore"): AGENTS,
    ("POST", f"{TICKET}/mark-read"): STAFF_AND_CONTACTS,
    # the conversation: a public reply here; internal notes are in VARIANTS
    ("GET", f"{TICKET}/messages"): STAFF_AND_CONTACTS,
    ("POST", f"{TICKET}/messages"): AGENTS | {CONTACT},
    ("GET", f"{TICKET}/messages/{{message_id}}"): STAFF_AND_CONTACTS,
    ("POST", f"{TICKET}/messages/{{message_id}}/redact"): ADMINS,
    # what hangs off a ticket
    ("GET", f"{TICKET}/participants"): STAFF_AND_CONTACTS,
    ("POST", f"{TICKET}/participants"): AGENTS,
    ("DELETE", f"{TICKET}/participants/{{participant_id}}"): AGENTS,
    ("GET", f"{TICKET}/tags"): STAFF,
    ("POST", f"{TICKET}/tags"): AGENTS,
    ("DELETE", f"{TICKET}/tags/{{tag}}"): AGENTS,
    ("GET", f"{TICKET}/assignments"): STAFF,
    ("POST", f"{TICKET}/assignments"): AGENTS,
    ("GET", f"{TICKET}/access"): STAFF,
    ("POST", f"{TICKET}/access"): AGENTS,
    ("DELETE", f"{TICKET}/access/{{grant_id}}"): AGENTS,
    ("GET", f"{TICKET}/audit"): STAFF_AND_CONTACTS,  # contacts: public entries only
    # files: on the ticket itself here, on messages in VARIANTS; a public message's file here
    ("GET", f"{TICKET}/attachments"): STAFF_AND_CONTACTS,
    ("POST", f"{TICKET}/attachments"): AGENTS | {CONTACT},
    ("GET", f"{TICKET}/attachments/{{attachment_id}}"): STAFF_AND_CONTACTS,
    ("GET", f"{TICKET}/attachments/{{attachment_id}}/content"): STAFF_AND_CONTACTS,
    # email: channels and the mail logs are the admins'; the push URL's secret is its credential
    ("GET", f"{T}/channels"): ADMINS,
    ("POST", f"{T}/channels"): ADMINS,
    ("GET", f"{T}/channels/{{channel_id}}"): ADMINS,
    ("PATCH", f"{T}/channels/{{channel_id}}"): ADMINS,
    ("DELETE", f"{T}/channels/{{channel_id}}"): ADMINS,
    ("GET", f"{T}/inbound-mail"): ADMINS,
    ("GET", f"{T}/inbound-mail/{{inbound_mail_id}}"): ADMINS,
    ("GET", f"{T}/inbound-mail/{{inbound_mail_id}}/raw"): ADMINS,
    ("GET", f"{T}/outbound-mail"): ADMINS,
    ("GET", f"{T}/outbound-mail/{{outbound_mail_id}}"): ADMINS,
    ("POST", f"{T}/outbound-mail/{{outbound_mail_id}}/retry"): ADMINS,
    ("POST", f"{API}/email/inbound/{{secret}}"): ANYONE,
    ("GET", f"{T}/email-templates"): ADMINS,
    ("PUT", f"{T}/email-templates/{{kind}}/{{locale}}"): ADMINS,
    ("DELETE", f"{T}/email-templates/{{kind}}/{{locale}}"): ADMINS,
    ("GET", f"{T}/email-settings"): ADMINS,
    ("PATCH", f"{T}/email-settings"): ADMINS,
    # everyone's own notifications (another's are 404, tests/notifications)
    ("GET", f"{T}/notifications"): STAFF_AND_CONTACTS,
    ("GET", f"{T}/notifications/unread-count"): STAFF_AND_CONTACTS,
    ("POST", f"{T}/notifications/read-all"): STAFF_AND_CONTACTS,
    ("GET", f"{T}/notifications/preferences"): STAFF_AND_CONTACTS,
    ("PUT", f"{T}/notifications/preferences"): STAFF_AND_CONTACTS,
    ("GET", f"{T}/notifications/{{notification_id}}"): STAFF_AND_CONTACTS,
    ("POST", f"{T}/notifications/{{notification_id}}/read"): STAFF_AND_CONTACTS,
    # SLA: calendars and policies are staff's to read, admins' to shape; never contacts'
    ("GET", f"{T}/sla/calendars"): STAFF,
    ("POST", f"{T}/sla/calendars"): ADMINS,
    ("GET", f"{T}/sla/calendars/{{calendar_id}}"): STAFF,
    ("PATCH", f"{T}/sla/calendars/{{calendar_id}}"): ADMINS,
    ("DELETE", f"{T}/sla/calendars/{{calendar_id}}"): ADMINS,
    ("GET", f"{T}/sla/policies"): STAFF,
    ("POST", f"{T}/sla/policies"): ADMINS,
    ("GET", f"{T}/sla/policies/{{policy_id}}"): STAFF,
    ("PATCH", f"{T}/sla/policies/{{policy_id}}"): ADMINS,
    ("DELETE", f"{T}/sla/policies/{{policy_id}}"): ADMINS,
    ("GET", f"{T}/sla/report"): ADMINS,
    ("GET", f"{TICKET}/sla"): STAFF,
    ("POST", f"{TICKET}/sla/recompute"): ADMINS,
    # platform admins read any tenant's tickets
    ("GET", PLATFORM_TICKETS): PLATFORM,
    ("GET", f"{PLATFORM_TICKETS}/{{ticket_id}}"): PLATFORM,
}

Form = dict[str, str]

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
    sessionmaker: async_sessionmaker[AsyncSession]
    #: Objects made once and reused across calls (the shared ticket, variants' tickets).
    made: dict[str, str] = field(default_factory=dict)

    def person(self, who: str) -> Person | None:
        if who == ANONYMOUS:
            return None
        if who == PLATFORM_ADMIN:
            return self.world.platform_admin
        if who == OUTSIDER:
            return self.world.outsider
        return self.world.a[who]

    async def send(
        self,
        who: str,
        method: str,
        url: str,
        body: Any = None,
        *,
        form: Form | None = None,
        raw: tuple[bytes, str] | None = None,
    ) -> httpx.Response:
        """A request with `who`'s bearer token (none when anonymous); PATCH is a merge patch,
        a `form` is sent as multipart with a small file, `raw` as its bytes and media type."""
        person = self.person(who)
        headers = dict(person.auth) if person is not None else {}
        if raw is not None:
            content, media_type = raw
            headers["Content-Type"] = media_type
            response = await self.client.request(method, url, headers=headers, content=content)
            self.client.cookies.clear()
            return response
        if form is not None:
            files = {"file": ("matrix.txt", f"file {unique()}".encode(), "text/plain")}
            response = await self.client.request(
                method, url, headers=headers, data=form, files=files
            )
            self.client.cookies.clear()
            return response
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

    async def once(self, key: str, make: Callable[[], Awaitable[str]]) -> str:
        if key not in self.made:
            self.made[key] = await make()
        return self.made[key]

    async def status(self) -> str:
        body = {"key": f"matrix_{unique()}", "label": "Matrix", "category": "open"}
        return await self.create(self.tenant_url("/statuses"), body)

    async def category(self) -> str:
        return await self.create(self.tenant_url("/categories"), {"name": f"Category {unique()}"})

    async def ticket(self, **fields: Any) -> str:
        """A ticket of acme's contact (the world's `contact` can see it), as the owner."""
        body = {"subject": f"Ticket {unique()}", "requester_id": str(self.world.a.contact_id)}
        return await self.create(self.tenant_url("/tickets"), body | fields)

    def ticket_url(self, ticket_id: str, suffix: str = "") -> str:
        return self.tenant_url(f"/tickets/{ticket_id}{suffix}")

    async def message(self, ticket_id: str, *, internal: bool = False, who: str = OWNER) -> str:
        body: dict[str, Any] = {"body": f"Message {unique()}"}
        if internal:
            body["is_internal"] = True
        return await self.create(self.ticket_url(ticket_id, "/messages"), body, who=who)

    async def upload(self, ticket_id: str, message_id: str | None = None, who: str = OWNER) -> str:
        form = {"message_id": message_id} if message_id else {}
        url = self.ticket_url(ticket_id, "/attachments")
        response = await self.send(who, "POST", url, form=form)
        assert response.status_code == 201, f"setup upload {url}: {response.text}"
        created: str = response.json()["id"]
        return created

    async def share(self, ticket_id: str, group_id: str, level: str) -> str:
        body = {"group_id": group_id, "level": level}
        return await self.create(self.ticket_url(ticket_id, "/access"), body)

    async def other_customers_ticket(self, **fields: Any) -> str:
        """A ticket whose requester is another contact of acme."""
        return await self.ticket(requester_id=await self.contact(), **fields)


@dataclass(frozen=True)
class Case:
    """How to call one route: the JSON body, the query, and path ids (fresh ones for calls that
    change state, or particular objects), plus what else an allowed call's answer must show."""

    body: Callable[[Kit, str], Any] | None = None
    fresh: Callable[[Kit, str], Awaitable[dict[str, str]]] | None = None
    query: Callable[[Kit, str], dict[str, str]] | None = None
    #: A multipart upload (with a small file) of these form fields instead of a JSON body.
    form: Callable[[Kit, str], Form] | None = None
    #: A raw body and its media type instead of a JSON body (a pushed mail).
    raw: Callable[[Kit, str], tuple[bytes, str]] | None = None
    check: Callable[[httpx.Response], str | None] | None = None


@dataclass(frozen=True)
class Variant:
    """The route called another way (a body, a query, an object) that changes who may do it."""

    name: str
    allowed: frozenset[str]
    case: Case
    #: Denials other than the usual ones: 404 for an object the principal may not even see.
    denied: dict[str, tuple[int, str]] = field(default_factory=dict)


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


async def _fresh_status(kit: Kit, _who: str) -> dict[str, str]:
    return {"status_id": await kit.status()}


async def _fresh_category(kit: Kit, _who: str) -> dict[str, str]:
    return {"category_id": await kit.category()}


async def _fresh_ticket(kit: Kit, _who: str) -> dict[str, str]:
    return {"ticket_id": await kit.ticket()}


async def _fresh_deleted_ticket(kit: Kit, _who: str) -> dict[str, str]:
    ticket_id = await kit.ticket()
    deleted = await kit.send(OWNER, "DELETE", kit.ticket_url(ticket_id))
    assert deleted.status_code == 204, deleted.text
    return {"ticket_id": ticket_id}


async def _fresh_message(kit: Kit, _who: str) -> dict[str, str]:
    return {"message_id": await kit.message(kit.made["ticket"])}


async def _fresh_participant(kit: Kit, _who: str) -> dict[str, str]:
    body = {"role": "cc", "email": f"cc-{unique()}@customers.example"}
    url = kit.ticket_url(kit.made["ticket"], "/participants")
    return {"participant_id": await kit.create(url, body)}


async def _fresh_tag(kit: Kit, _who: str) -> dict[str, str]:
    tag = f"tag-{unique()}"
    url = kit.ticket_url(kit.made["ticket"], "/tags")
    added = await kit.send(OWNER, "POST", url, {"tag": tag})
    assert added.status_code == 201, added.text
    return {"tag": tag}


async def _fresh_notification(kit: Kit, who: str) -> dict[str, str]:
    """A notice for `who` (the owner's for principals outside the tenant)."""
    person = kit.person(who) if who in TENANT_ROLES else kit.person(OWNER)
    assert person is not None
    async with transaction(kit.sessionmaker) as session:
        (made,) = await notify_users(
            session,
            tenant_id=kit.world.a.id,
            user_ids=[person.user_id],
            kind=NotificationKind.TICKET_ASSIGNED,
            title=f"Notice {unique()}",
        )
    return {"notification_id": str(made.id)}


async def _fresh_grant(kit: Kit, _who: str) -> dict[str, str]:
    return {"grant_id": await kit.share(kit.made["ticket"], await kit.group(), "read")}


def _ticket_body(kit: Kit, who: str) -> dict[str, Any]:
    """A contact is the requester of what they create; staff name the world's contact."""
    body: dict[str, Any] = {"subject": f"Created {unique()}", "description": "It broke"}
    if who != CONTACT:
        body["requester_id"] = str(kit.world.a.contact_id)
    return body


def _reply(**extra: Any) -> Callable[[Kit, str], dict[str, Any]]:
    return lambda _kit, _who: {"body": f"Reply {unique()}", **extra}


def _is_internal(expected: bool) -> Callable[[httpx.Response], str | None]:
    def check(response: httpx.Response) -> str | None:
        found = response.json()["is_internal"]
        return None if found is expected else f"is_internal is {found}, wanted {expected}"

    return check


def _all_succeeded(response: httpx.Response) -> str | None:
    results = response.json()["results"]
    failed = [r for r in results if not r["ok"]]
    return f"bulk results failed: {failed}" if failed or not results else None


async def _shared_ticket(kit: Kit, _who: str) -> dict[str, str]:
    return {"ticket_id": kit.made["ticket"]}


async def _internal_note(kit: Kit, _who: str) -> dict[str, str]:
    ticket_id = kit.made["ticket"]
    note = await kit.once("internal note", lambda: kit.message(ticket_id, internal=True))
    return {"message_id": note}


async def _other_customers_ticket(kit: Kit, _who: str) -> dict[str, str]:
    return {"ticket_id": await kit.once("other customer's", kit.other_customers_ticket)}


async def _cc_ticket(kit: Kit, _who: str) -> dict[str, str]:
    async def make() -> str:
        ticket_id = await kit.other_customers_ticket()
        body = {"role": "cc", "contact_id": str(kit.world.a.contact_id)}
        await kit.create(kit.ticket_url(ticket_id, "/participants"), body)
        return ticket_id

    return {"ticket_id": await kit.once("contact is cc", make)}


async def _foreign_group_ticket(kit: Kit, _who: str) -> dict[str, str]:
    """A ticket of the world's contact in a group no agent of the world is in."""

    async def make() -> str:
        return await kit.ticket(group_id=await kit.group())

    return {"ticket_id": await kit.once("foreign group", make)}


def _shared_with_agents_group(level: str) -> Callable[[Kit, str], Awaitable[dict[str, str]]]:
    """A ticket in a foreign group, shared with the group the world's agent is in."""

    async def fresh(kit: Kit, _who: str) -> dict[str, str]:
        async def make() -> str:
            ticket_id = await kit.ticket(group_id=await kit.group())
            await kit.share(ticket_id, kit.made["agent group"], level)
            return ticket_id

        return {"ticket_id": await kit.once(f"shared {level}", make)}

    return fresh


async def _assigned_to_agent(kit: Kit, _who: str) -> dict[str, str]:
    """A ticket assigned to the agent in a group the agent has since left."""

    async def make() -> str:
        group_id, member_id = await kit.group_member()
        ticket_id = await kit.ticket(group_id=group_id, assignee_id=str(kit.world.a[AGENT].user_id))
        left = await kit.send(
            OWNER, "DELETE", kit.tenant_url(f"/groups/{group_id}/members/{member_id}")
        )
        assert left.status_code == 204, left.text
        return ticket_id

    return {"ticket_id": await kit.once("assigned to the agent", make)}


async def _internal_attachment(kit: Kit, _who: str) -> dict[str, str]:
    async def make() -> str:
        note = (await _internal_note(kit, OWNER))["message_id"]
        return await kit.upload(kit.made["ticket"], note)

    return {"attachment_id": await kit.once("internal attachment", make)}


async def _staff_ticket_attachment(kit: Kit, _who: str) -> dict[str, str]:
    """A file staff attached to the ticket itself (no message): staff-only."""
    made = await kit.once("staff's file", lambda: kit.upload(kit.made["ticket"]))
    return {"attachment_id": made}


def _onto(message: str) -> Callable[[Kit, str], Form]:
    return lambda kit, _who: {"message_id": kit.made[message]}


def _bulk_body(kit: Kit, _who: str) -> dict[str, Any]:
    return {"ticket_ids": [kit.made["ticket"]], "changes": {"priority": "high"}}


def _admin_query(kit: Kit, _who: str) -> dict[str, str]:
    return {"tenant_id": str(kit.world.a.id)}


def _subject(_kit: Kit, _who: str) -> dict[str, str]:
    return {"subject": f"Patched {unique()}"}


def _calendar_body(_kit: Kit, _who: str) -> dict[str, Any]:
    return {
        "name": f"Calendar {unique()}",
        "timezone": "Europe/Berlin",
        "schedule": {"mon": [["09:00", "17:00"]]},
    }


def _policy_body(_kit: Kit, _who: str) -> dict[str, Any]:
    return {
        "name": f"Policy {unique()}",
        "targets": [{"priority": "normal", "metric": "first_response", "minutes": 60}],
    }


async def _fresh_calendar(kit: Kit, who: str) -> dict[str, str]:
    return {
        "calendar_id": await kit.create(kit.tenant_url("/sla/calendars"), _calendar_body(kit, who))
    }


async def _fresh_policy(kit: Kit, who: str) -> dict[str, str]:
    return {"policy_id": await kit.create(kit.tenant_url("/sla/policies"), _policy_body(kit, who))}


async def _fresh_channel(kit: Kit, _who: str) -> dict[str, str]:
    return {"channel_id": await _push_channel(kit)}


async def _push_channel(kit: Kit) -> str:
    body = {"kind": "email", "name": f"Mail {unique()}", "address": f"in-{unique()}@acme.example"}
    response = await kit.send(OWNER, "POST", kit.tenant_url("/channels"), body | {"mode": "push"})
    assert response.status_code == 201, response.text
    kit.made["push url"] = httpx.URL(response.json()["push_url"]).path
    channel_id: str = response.json()["id"]
    return channel_id


def _pushed_mail(_kit: Kit, who: str) -> tuple[bytes, str]:
    mail = (
        f"From: Pat <pat-{unique()}@customers.example>\r\nTo: desk@acme.example\r\n"
        f"Subject: Matrix {who}\r\nMessage-ID: <{unique()}@customers.example>\r\n\r\nHello\r\n"
    )
    return mail.encode(), "message/rfc822"


async def _shared_outbound_mail(kit: Kit, _who: str) -> dict[str, str]:
    return {"outbound_mail_id": kit.made["outbound mail"]}


async def _mail_logs(kit: Kit, app: FastAPI) -> dict[str, str]:
    """A push channel that received one mail, and the acknowledgement it queued (pending)."""
    channel_id = await _push_channel(kit)
    pushed = await kit.send(ANONYMOUS, "POST", kit.made["push url"], raw=_pushed_mail(kit, OWNER))
    assert pushed.status_code == 202, pushed.text
    settings, sessionmaker = app.state.settings, app.state.sessionmaker
    await relay_batch(sessionmaker, [subscribers])
    async with transaction(sessionmaker) as session:
        await plan_batch(session, settings)
    queued = await kit.send(OWNER, "GET", kit.tenant_url("/outbound-mail"))
    assert queued.status_code == 200, queued.text
    kit.made["outbound mail"] = queued.json()["items"][0]["id"]
    return {
        "channel_id": channel_id,
        "inbound_mail_id": pushed.json()["id"],
        "outbound_mail_id": kit.made["outbound mail"],
        "secret": kit.made["push url"].rsplit("/", 1)[1],
        "kind": "acknowledgement",
        "locale": "de",
    }


def _template_body(_kit: Kit, _who: str) -> dict[str, Any]:
    return {"subject": "Danke {{ recipient_name }}", "body_text": f"Angekommen {unique()}"}


async def _fresh_template(kit: Kit, who: str) -> dict[str, str]:
    url = kit.tenant_url("/email-templates/acknowledgement/de")
    response = await kit.send(OWNER, "PUT", url, _template_body(kit, who))
    assert response.status_code == 200, response.text
    return {"kind": "acknowledgement", "locale": "de"}


def _channel_body(_kit: Kit, _who: str) -> dict[str, Any]:
    u = unique()
    return {"kind": "email", "name": f"Mail {u}", "address": f"c-{u}@acme.example", "mode": "push"}


NOT_FOUND = (404, "not_found")
FIELD_NOT_ALLOWED = (403, "field_not_allowed")

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
    ("POST", f"{T}/statuses"): Case(
        body=lambda _kit, _who: {"key": f"s_{unique()}", "label": "New one", "category": "open"}
    ),
    ("PATCH", f"{T}/statuses/{{status_id}}"): Case(body=lambda _kit, _who: {"label": unique()}),
    ("DELETE", f"{T}/statuses/{{status_id}}"): Case(fresh=_fresh_status),
    ("POST", f"{T}/categories"): Case(body=_named("Category")),
    ("PATCH", f"{T}/categories/{{category_id}}"): Case(
        body=lambda _kit, _who: {"description": f"patched {unique()}"}
    ),
    ("DELETE", f"{T}/categories/{{category_id}}"): Case(fresh=_fresh_category),
    ("POST", TICKETS): Case(body=_ticket_body),
    ("POST", f"{TICKETS}/bulk"): Case(body=_bulk_body, check=_all_succeeded),
    ("PATCH", TICKET): Case(body=_subject),
    ("DELETE", TICKET): Case(fresh=_fresh_ticket),
    ("POST", f"{TICKET}/restore"): Case(fresh=_fresh_deleted_ticket),
    ("POST", f"{TICKET}/messages"): Case(body=_reply(), check=_is_internal(False)),
    ("POST", f"{TICKET}/messages/{{message_id}}/redact"): Case(fresh=_fresh_message),
    ("POST", f"{TICKET}/participants"): Case(
        body=lambda _kit, _who: {"role": "cc", "email": f"cc-{unique()}@customers.example"}
    ),
    ("DELETE", f"{TICKET}/participants/{{participant_id}}"): Case(fresh=_fresh_participant),
    ("POST", f"{TICKET}/tags"): Case(body=lambda _kit, _who: {"tag": f"tag-{unique()}"}),
    ("DELETE", f"{TICKET}/tags/{{tag}}"): Case(fresh=_fresh_tag),
    # a fresh ticket each time, so that every allowed call moves one
    ("POST", f"{TICKET}/assignments"): Case(
        body=lambda kit, _who: {"assignee_id": str(kit.world.a[AGENT].user_id), "reason": "matrix"},
        fresh=_fresh_ticket,
    ),
    ("POST", f"{TICKET}/access"): Case(
        body=lambda kit, _who: {"group_id": kit.made["agent group"], "level": "read"}
    ),
    ("DELETE", f"{TICKET}/access/{{grant_id}}"): Case(fresh=_fresh_grant),
    ("POST", f"{TICKET}/attachments"): Case(form=lambda _kit, _who: {}),
    ("POST", f"{T}/channels"): Case(body=_channel_body),
    ("PATCH", f"{T}/channels/{{channel_id}}"): Case(body=_named("Renamed")),
    ("DELETE", f"{T}/channels/{{channel_id}}"): Case(fresh=_fresh_channel),
    ("POST", f"{T}/outbound-mail/{{outbound_mail_id}}/retry"): Case(fresh=_shared_outbound_mail),
    ("POST", f"{API}/email/inbound/{{secret}}"): Case(raw=_pushed_mail),
    ("PUT", f"{T}/email-templates/{{kind}}/{{locale}}"): Case(body=_template_body),
    ("DELETE", f"{T}/email-templates/{{kind}}/{{locale}}"): Case(fresh=_fresh_template),
    ("PATCH", f"{T}/email-settings"): Case(
        body=lambda _kit, _who: {"status_mail_categories": ["resolved"]}
    ),
    ("PUT", f"{T}/notifications/preferences"): Case(
        body=lambda _kit, _who: {
            "preferences": [{"kind": "ticket_created", "channel": "email", "enabled": False}]
        }
    ),
    ("GET", f"{T}/notifications/{{notification_id}}"): Case(fresh=_fresh_notification),
    ("POST", f"{T}/notifications/{{notification_id}}/read"): Case(fresh=_fresh_notification),
    ("POST", f"{T}/sla/calendars"): Case(body=_calendar_body),
    ("PATCH", f"{T}/sla/calendars/{{calendar_id}}"): Case(body=_named("Calendar")),
    ("DELETE", f"{T}/sla/calendars/{{calendar_id}}"): Case(fresh=_fresh_calendar),
    ("POST", f"{T}/sla/policies"): Case(body=_policy_body),
    ("PATCH", f"{T}/sla/policies/{{policy_id}}"): Case(body=_named("Policy")),
    ("DELETE", f"{T}/sla/policies/{{policy_id}}"): Case(fresh=_fresh_policy),
    ("GET", f"{T}/sla/report"): Case(
        query=lambda _kit, _who: {"start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}
    ),
    ("GET", PLATFORM_TICKETS): Case(query=_admin_query),
    ("GET", f"{PLATFORM_TICKETS}/{{ticket_id}}"): Case(query=_admin_query),
}

#: Routes whose allowed set depends on the body, the query or the object: each variant is called
#: by every principal too, next to the route's plain case above.
VARIANTS: dict[tuple[str, str], list[Variant]] = {
    ("POST", TICKETS): [
        Variant(
            "with internal fields",
            AGENTS,
            Case(body=lambda kit, who: _ticket_body(kit, who) | {"tags": ["vip"]}),
            denied={CONTACT: FIELD_NOT_ALLOWED},
        ),
    ],
    ("GET", TICKET): [
        Variant(
            "another customer's ticket",
            STAFF,
            Case(fresh=_other_customers_ticket),
            denied={CONTACT: NOT_FOUND},
        ),
        Variant("the contact is a cc", STAFF_AND_CONTACTS, Case(fresh=_cc_ticket)),
        Variant(
            "in a group no agent is in",
            ADMINS | {CONTACT},
            Case(fresh=_foreign_group_ticket),
            denied={AGENT: NOT_FOUND, LIGHT_AGENT: NOT_FOUND},
        ),
        Variant(
            "shared with the agent's group",
            ADMINS | {AGENT, CONTACT},
            Case(fresh=_shared_with_agents_group("read")),
            denied={LIGHT_AGENT: NOT_FOUND},
        ),
        Variant(
            "assigned to the agent, outside their groups",
            ADMINS | {AGENT, CONTACT},
            Case(fresh=_assigned_to_agent),
            denied={LIGHT_AGENT: NOT_FOUND},
        ),
    ],
    ("PATCH", TICKET): [
        Variant(
            "a field only staff change",
            AGENTS,
            Case(body=lambda _kit, _who: {"priority": "high"}),
            denied={CONTACT: FIELD_NOT_ALLOWED},
        ),
        Variant(
            "resolving",
            AGENTS | {CONTACT},
            Case(body=lambda _kit, _who: {"status": "resolved"}, fresh=_fresh_ticket),
        ),
        Variant(
            "shared read-only with the agent's group",
            ADMINS | {CONTACT},
            Case(body=_subject, fresh=_shared_with_agents_group("read")),
        ),
        Variant(
            "shared for writing with the agent's group",
            AGENTS | {CONTACT},
            Case(body=_subject, fresh=_shared_with_agents_group("write")),
        ),
    ],
    ("DELETE", TICKET): [
        Variant(
            "purge",
            ADMINS,
            Case(fresh=_fresh_ticket, query=lambda _kit, _who: {"purge": "true"}),
        ),
    ],
    ("POST", f"{TICKET}/messages"): [
        Variant(
            "internal note",
            STAFF,
            Case(body=_reply(is_internal=True), check=_is_internal(True)),
        ),
        Variant("reply that sets the status", AGENTS, Case(body=_reply(status="open"))),
        Variant(
            "reply on a ticket shared read-only",
            ADMINS | {CONTACT},
            Case(body=_reply(), fresh=_shared_with_agents_group("read")),
            denied={LIGHT_AGENT: NOT_FOUND},
        ),
        Variant(
            "internal note on a ticket shared read-only",
            ADMINS | {AGENT},
            Case(body=_reply(is_internal=True), fresh=_shared_with_agents_group("read")),
            denied={LIGHT_AGENT: NOT_FOUND},
        ),
    ],
    ("GET", f"{TICKET}/messages/{{message_id}}"): [
        Variant("an internal note", STAFF, Case(fresh=_internal_note), denied={CONTACT: NOT_FOUND}),
    ],
    ("POST", f"{TICKET}/attachments"): [
        Variant(
            "onto an internal note",
            STAFF,
            Case(form=_onto("internal note")),
            denied={CONTACT: NOT_FOUND},
        ),
        Variant("onto an agent's reply", AGENTS, Case(form=_onto("agent's reply"))),
        Variant(
            "onto the contact's own reply", AGENTS | {CONTACT}, Case(form=_onto("contact's reply"))
        ),
    ],
    ("GET", f"{TICKET}/attachments/{{attachment_id}}"): [
        Variant(
            "on an internal note",
            STAFF,
            Case(fresh=_internal_attachment),
            denied={CONTACT: NOT_FOUND},
        ),
        Variant(
            "staff's, on the ticket itself",
            STAFF,
            Case(fresh=_staff_ticket_attachment),
            denied={CONTACT: NOT_FOUND},
        ),
    ],
    ("GET", f"{TICKET}/attachments/{{attachment_id}}/content"): [
        Variant(
            "on an internal note",
            STAFF,
            Case(fresh=_internal_attachment),
            denied={CONTACT: NOT_FOUND},
        ),
    ],
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
    assert not (VARIANTS.keys() - routes), "VARIANTS names routes the app does not have"


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


@dataclass(frozen=True)
class Plan:
    """One way to call one route, and who may."""

    label: str
    method: str
    template: str
    allowed: frozenset[str]
    case: Case
    success: int
    denied: dict[str, tuple[int, str]]


def plans(app: FastAPI) -> tuple[list[Plan], list[str]]:
    """Every route's plain case and its variants; and the routes missing from EXPECTED."""
    found: list[Plan] = []
    missing: list[str] = []
    for method, template, route in api_routes(app):
        allowed = EXPECTED.get((method, template))
        if allowed is None:
            missing.append(f"{method} {template}: not in EXPECTED")
            continue
        success = route.status_code or 200
        case = CASES.get((method, template), Case())
        found.append(Plan(f"{method} {template}", method, template, allowed, case, success, {}))
        for variant in VARIANTS.get((method, template), []):
            label = f"{method} {template} [{variant.name}]"
            found.append(
                Plan(
                    label, method, template, variant.allowed, variant.case, success, variant.denied
                )
            )
    return found, missing


async def test_every_principal_on_every_route(
    app: FastAPI,
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    kit = Kit(client, world, sessionmaker)
    group_id, group_member_id = await kit.group_member()
    kit.made["agent group"] = group_id
    ticket_id = await kit.once("ticket", kit.ticket)
    shared = {
        "tenant": world.a.slug,
        "tenant_id": str(world.a.id),
        "group_id": group_id,
        "member_id": await kit.member(),
        "contact_id": await kit.contact(),
        "organization_id": await kit.organization(),
        "status_id": await kit.status(),
        "category_id": await kit.category(),
        "ticket_id": ticket_id,
        "message_id": await kit.once("agent's reply", lambda: kit.message(ticket_id)),
    }
    await kit.once("internal note", lambda: kit.message(ticket_id, internal=True))
    await kit.once("contact's reply", lambda: kit.message(ticket_id, who=CONTACT))
    if any("attachment" in template for _, template, _ in api_routes(app)):
        shared["attachment_id"] = await kit.upload(ticket_id, shared["message_id"])
    # Real ids for the calls that never reach the tenant (no fresh objects made for them).
    for fresh in (
        _fresh_participant,
        _fresh_tag,
        _fresh_grant,
        _fresh_tenant_token,
        _fresh_notification,
        _fresh_calendar,
        _fresh_policy,
    ):
        shared |= await fresh(kit, OWNER)
    shared |= await _mail_logs(kit, app)
    group_member_template = f"{T}/groups/{{group_id}}/members/{{member_id}}"
    all_plans, failures = plans(app)
    calls = 0
    for plan in all_plans:
        case = plan.case
        for who in PRINCIPALS:
            params = dict(shared)
            if plan.template == group_member_template:
                params["member_id"] = group_member_id
            outside = is_tenant_route(plan.template) and who in (
                ANONYMOUS,
                OUTSIDER,
                PLATFORM_ADMIN,
            )
            if case.fresh is not None and not outside:
                params |= await case.fresh(kit, who)
            url = plan.template.format(**params)
            if case.query is not None:
                url += "?" + str(httpx.QueryParams(case.query(kit, who)))
            body = case.body(kit, who) if case.body is not None else None
            form = case.form(kit, who) if case.form is not None else None
            raw = case.raw(kit, who) if case.raw is not None else None
            response = await kit.send(who, plan.method, url, body, form=form, raw=raw)
            calls += 1
            failure = _check(response, plan, who)
            if failure:
                failures.append(f"{who:>14} {plan.label}: {failure}")
    assert not failures, "permission matrix violations:\n" + "\n".join(failures)
    assert calls == len(all_plans) * len(PRINCIPALS)
    assert len(all_plans) > len(EXPECTED)


def _check(response: httpx.Response, plan: Plan, who: str) -> str | None:
    """What is wrong with the response, or None."""
    status = response.status_code
    if who in plan.allowed:
        if status != plan.success:
            return f"allowed, expected {plan.success}, got {status} {response.text[:300]}"
        return plan.case.check(response) if plan.case.check is not None else None
    want, code = plan.denied.get(who) or expected_denial(plan.template, who)
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


async def test_the_last_owner_stays(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    kit = Kit(client, world, sessionmaker)
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
