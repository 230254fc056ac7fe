"""What a customer sees of tickets: generated over every GET route of the tenant.

Tickets are made in `acme` with canaries in everything internal: an internal note (and a file on
it), tags, custom fields, the AI summary, the orchestration reference, the due date, an
assignment's reason, the names of the groups it is assigned to and shared with, a follower's
name; another customer's ticket and a trashed ticket carry canaries of their own. Then acme's
contact calls every GET route under `/api/v1/tenants/{tenant}` (found in the route table), with
the ids of their own ticket and of every hidden object in turn (and every other GET route a
customer could call: their account, and pages as they are added), walks every list page by page in
every sort order, and filters every list by internal values. No answer (body, headers, decoded
cursors) may carry a canary; their own ticket answers 200, everything hidden 404; and no filter
or sort tells an internal value apart from a made-up one.

Live updates: every Server-Sent Events route (`…/live`) refuses the contact, and the agent's
stream carries change marks only. Outgoing mail and in-app notices to contacts are swept with the
same scene in `tests/robustness/test_outgoing_mail.py` (read from a real SMTP server).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from frontdesk.core.config import Settings
from tests.factories import PASSWORD, Person, World
from tests.robustness.counters import backend_of, record

API = "/api/v1"
T = f"{API}/tenants/{{tenant}}"
TICKET = f"{T}/tickets/{{ticket_id}}"
PARAMETER = re.compile(r"{(\w+)}")
PROBLEM_JSON = "application/problem+json"
#: A due date is internal; its instant (as any JSON or cursor would write it) is a canary too.
DUE_AT = "2091-02-03T04:05:06.789000+00:00"
DUE_CANARY = "2091-02-03T04:05:06"

#: What the customer must reach on their own ticket (the sweep covers every other GET too).
CONTACT_READS = {
    T,
    f"{T}/statuses",
    f"{T}/categories",
    f"{T}/categories/{{category_id}}",
    f"{T}/tickets",
    TICKET,
    f"{TICKET}/messages",
    f"{TICKET}/messages/{{message_id}}",
    f"{TICKET}/participants",
    f"{TICKET}/audit",
}
CONTACT_FILE_READS = {
    f"{TICKET}/attachments",
    f"{TICKET}/attachments/{{attachment_id}}",
    f"{TICKET}/attachments/{{attachment_id}}/content",
}


# --- the route table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    template: str
    query: list[str]

    @property
    def parameters(self) -> list[str]:
        return PARAMETER.findall(self.template)


def _query_parameters(dependant: Dependant) -> list[str]:
    names = [param.name for param in dependant.query_params]
    for sub in dependant.dependencies:
        names += _query_parameters(sub)
    return names


#: GET routes a customer has no business with, whatever they answer.
NOT_CUSTOMER_FACING = (
    f"{API}/admin/",
    "/api/docs",
    "/docs/oauth2-redirect",
    f"{API}/openapi.json",
    "/healthz",
    "/readyz",
)


def tenant_get_routes(app: FastAPI) -> list[Route]:
    """Every GET route a customer could call: the API (tenant routes and their own account)
    and any page (a portal page is covered the day it is added). Platform admin, API docs and
    health probes are left out."""
    found = []
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path
        methods = context.methods or getattr(route, "methods", None) or set()
        if not path or "GET" not in methods or path.startswith(NOT_CUSTOMER_FACING):
            continue
        query = _query_parameters(route.dependant) if isinstance(route, APIRoute) else []
        found.append(Route(path, query))
    return found


# --- the scene: a contact's tickets full of internal things, and what they must not reach ---


@dataclass
class Scene:
    #: Path parameters naming the contact's own ticket and public objects on it.
    own: dict[str, str]
    #: Per path parameter, objects the contact must not reach (404).
    hidden: dict[str, list[str]]
    #: Strings no answer to the contact may contain.
    canaries: list[str]
    #: Ids of hidden objects: no answer may contain them unless the request named them.
    hidden_ids: list[str]
    #: Per query parameter: an internal value of the contact's tickets, and a made-up one.
    oracles: dict[str, tuple[str, str]]
    #: The contact's visible tickets, and ids the timeline test looks for.
    visible_tickets: set[str] = field(default_factory=set)
    ids: dict[str, str] = field(default_factory=dict)


@dataclass
class Acme:
    client: httpx.AsyncClient
    world: World

    def url(self, suffix: str) -> str:
        return f"{API}/tenants/{self.world.a.slug}{suffix}"

    async def post(self, who: str, suffix: str, body: dict[str, Any]) -> Any:
        response = await self.client.post(self.url(suffix), json=body, headers=self._auth(who))
        assert response.status_code == 201, f"setup POST {suffix}: {response.text}"
        return response.json()

    async def patch(self, who: str, suffix: str, body: dict[str, Any]) -> Any:
        response = await self.client.patch(self.url(suffix), json=body, headers=self._auth(who))
        assert response.status_code == 200, f"setup PATCH {suffix}: {response.text}"
        return response.json()

    async def upload(self, who: str, ticket_id: str, name: str, text: str, **form: str) -> str:
        response = await self.client.post(
            self.url(f"/tickets/{ticket_id}/attachments"),
            data=form,
            files={"file": (name, text.encode(), "text/plain")},
            headers=self._auth(who),
        )
        assert response.status_code == 201, f"setup upload: {response.text}"
        made: str = response.json()["id"]
        return made

    def _auth(self, who: str) -> dict[str, str]:
        return self.world.a[who].auth


async def build_scene(client: httpx.AsyncClient, world: World, *, files: bool) -> Scene:
    acme = Acme(client, world)
    canary = f"INTERNAL-CANARY-{uuid4().hex}"
    other_canary = f"OTHER-CUSTOMER-CANARY-{uuid4().hex}"
    trash_canary = f"TRASH-CANARY-{uuid4().hex}"
    tag = canary.lower()
    agent_id = str(world.a["agent"].user_id)

    group = await acme.post("owner", "/groups", {"name": f"{canary} group", "description": canary})
    await acme.post("owner", f"/groups/{group['id']}/members", {"user_id": agent_id})
    shared_with = await acme.post("owner", "/groups", {"name": f"{canary} partners"})
    follower = await acme.post(
        "owner",
        "/members",
        {
            "email": f"follower-{uuid4().hex[:8]}@acme.example.com",
            "role": "agent",
            "display_name": f"{canary} follower",
        },
    )
    category = await acme.post("owner", "/categories", {"name": "Printers"})

    # The contact's ticket, with everything internal a ticket can carry.
    ticket = await acme.post(
        "owner",
        "/tickets",
        {
            "subject": "The printer jams",
            "description": "Every morning",
            "requester_id": str(world.a.contact_id),
            "category_id": category["id"],
            "tags": [tag],
            "custom_fields": {"internal": canary},
            "orchestration_ref": canary,
            "due_at": DUE_AT,
        },
    )
    url = f"/tickets/{ticket['id']}"
    await acme.patch("owner", url, {"ai_summary": f"{canary} summary"})
    assignment = await acme.post(
        "owner",
        f"{url}/assignments",
        {"group_id": group["id"], "assignee_id": agent_id, "reason": f"{canary} reason"},
    )
    await acme.post("agent", f"{url}/tags", {"tag": f"{tag}-later"})
    grant = await acme.post("agent", f"{url}/access", {"group_id": shared_with["id"]})
    await acme.post(
        "agent", f"{url}/participants", {"role": "follower", "user_id": follower["user_id"]}
    )
    reply = await acme.post("agent", f"{url}/messages", {"body": "We are looking into it"})
    note = await acme.post(
        "agent",
        f"{url}/messages",
        {"body": f"{canary} note", "body_html": f"<p>{canary} html</p>", "is_internal": True},
    )
    answer = await acme.post("contact", f"{url}/messages", {"body": "Thank you"})

    # The contact's second ticket: no group, nobody assigned, no tags.
    second = await acme.post("contact", "/tickets", {"subject": "Another question"})

    # Another customer's ticket, and a trashed ticket of the contact's.
    other_contact = await acme.post(
        "owner", "/contacts", {"name": "Olga Other", "emails": ["olga@other.example"]}
    )
    others = await acme.post(
        "owner",
        "/tickets",
        {
            "subject": f"{other_canary} subject",
            "description": other_canary,
            "requester_id": other_contact["id"],
        },
    )
    others_reply = await acme.post(
        "agent", f"/tickets/{others['id']}/messages", {"body": f"{other_canary} reply"}
    )
    trashed = await acme.post(
        "owner",
        "/tickets",
        {"subject": f"{trash_canary} subject", "requester_id": str(world.a.contact_id)},
    )
    deleted = await client.delete(
        acme.url(f"/tickets/{trashed['id']}"), headers=world.a["agent"].auth
    )
    assert deleted.status_code == 204, deleted.text

    own = {
        "tenant": world.a.slug,
        "ticket_id": ticket["id"],
        "message_id": reply["id"],
        "category_id": category["id"],
        # staff-only collections: the contact is refused whatever the id
        "group_id": group["id"],
        "member_id": follower["id"],
        "contact_id": str(world.a.contact_id),
    }
    hidden: dict[str, list[str]] = {
        "ticket_id": [others["id"], trashed["id"]],
        "message_id": [note["id"], others_reply["id"]],
    }
    hidden_ids = [
        group["id"],
        shared_with["id"],
        follower["user_id"],
        follower["id"],
        assignment["id"],
        grant["id"],
        note["id"],
        others["id"],
        others_reply["id"],
        trashed["id"],
        other_contact["id"],
    ]
    if files:
        public_file = await acme.upload(
            "agent", ticket["id"], "invoice.txt", "public", message_id=reply["id"]
        )
        own_file = await acme.upload("contact", ticket["id"], "photo.txt", "my photo")
        secret_files = [
            await acme.upload(
                "agent", ticket["id"], f"{canary}.txt", canary, message_id=note["id"]
            ),
            await acme.upload("agent", ticket["id"], f"{canary}-staff.txt", canary),
            await acme.upload("agent", others["id"], f"{other_canary}.txt", other_canary),
        ]
        own["attachment_id"] = public_file
        hidden["attachment_id"] = secret_files
        hidden_ids += secret_files
    else:
        public_file = own_file = ""
    return Scene(
        own=own,
        hidden=hidden,
        canaries=[canary, other_canary, trash_canary, DUE_CANARY],
        hidden_ids=hidden_ids,
        oracles={
            "tag": (tag, f"decoy-{uuid4().hex}"),
            "group_id": (group["id"], str(uuid4())),
            "assignee": (agent_id, str(uuid4())),
            "requester_id": (other_contact["id"], str(uuid4())),
            "q": (canary, f"decoy-{uuid4().hex}"),
        },
        visible_tickets={ticket["id"], second["id"]},
        ids={
            "ticket": ticket["id"],
            "reply": reply["id"],
            "answer": answer["id"],
            "note": note["id"],
            "public file": public_file,
            "own file": own_file,
        },
    )


# --- calling as the contact, and what the answers may not contain --------------------------


def _decoded_cursors(text: str) -> list[str]:
    """Cursors are base64 of sort values: decode them so a leak cannot hide inside one."""
    decoded = []
    for cursor in re.findall(r'"next_cursor"\s*:\s*"([A-Za-z0-9_\-]+)"', text):
        try:
            decoded.append(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
        except (binascii.Error, UnicodeDecodeError):
            decoded.append(cursor)
    return decoded


def is_page(url: str) -> bool:
    return not httpx.URL(url).path.startswith("/api/")


#: What a page may answer a customer: itself, a redirect (to sign in, to the portal), a refusal
#: page (the console), nothing there (a tenant without a logo), a link without its token (422).
#: Only leaks matter on pages.
PAGE_STATUSES = {200, 303, 403, 404, 422}


async def browser_session(client: httpx.AsyncClient, person: Person) -> dict[str, str]:
    """A Cookie header with `person`'s browser session (kept off the shared client)."""
    body = {"email": person.email, "password": PASSWORD}
    signed_in = await client.post("/api/v1/auth/login", json=body)
    assert signed_in.status_code == 200, signed_in.text
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    client.cookies.clear()
    return {"Cookie": cookie}


@dataclass
class Sweep:
    client: httpx.AsyncClient
    contact: Person
    scene: Scene
    #: Pages are called as a browser calls them: with the contact's session cookie.
    browser: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    calls: int = 0

    async def get(self, url: str, why: str) -> httpx.Response:
        page = is_page(url)
        headers = self.browser if page else self.contact.auth
        response = await self.client.get(url, headers=headers)
        self.calls += 1
        where = f"{why}: GET {url}"
        if response.status_code >= 500:
            self.failures.append(f"{where}: {response.status_code} {response.text[:200]}")
        if (
            not page
            and response.status_code >= 400
            and not response.headers.get("content-type", "").startswith(PROBLEM_JSON)
        ):
            self.failures.append(f"{where}: error {response.status_code} is not problem+json")
        leaked = self.leaks(response)
        if leaked:
            self.failures.append(f"{where}: answer ({response.status_code}) shows {leaked}")
        return response

    def leaks(self, response: httpx.Response) -> list[str]:
        parts = [response.text, *_decoded_cursors(response.text)]
        parts += [f"{name}: {value}" for name, value in response.headers.items()]
        haystack = "\n".join(parts).lower()
        sent = str(response.request.url).lower()
        ids = [i for i in self.scene.hidden_ids if i.lower() not in sent]
        return [s for s in [*self.scene.canaries, *ids] if s.lower() in haystack]

    def expect(self, response: httpx.Response, statuses: set[int], why: str) -> None:
        if is_page(str(response.request.url)):
            statuses = PAGE_STATUSES
        if response.status_code not in statuses:
            self.failures.append(
                f"{why}: GET {response.request.url}: expected {sorted(statuses)}, "
                f"got {response.status_code} {response.text[:200]}"
            )

    async def pages(self, url: str, why: str, limit_ok: bool) -> list[Any]:
        """Every item of a list, one per page when it takes `limit` (cursors are checked too)."""
        items: list[Any] = []
        separator = "&" if "?" in url else "?"
        next_url = f"{url}{separator}limit=1" if limit_ok else url
        for _ in range(20):
            response = await self.get(next_url, why)
            if response.status_code != 200:
                return items
            found = response.json()
            if not isinstance(found, dict) or "items" not in found:
                return found if isinstance(found, list) else [found]
            items += found["items"]
            if not found.get("next_cursor"):
                return items
            cursor = httpx.QueryParams({"cursor": found["next_cursor"]})
            next_url = f"{url}{separator}limit=1&{cursor}"
        self.failures.append(f"{why}: GET {url}: more pages than expected")
        return items


def _ids(items: list[Any]) -> list[Any]:
    return sorted(
        str(item.get("id", item)) if isinstance(item, dict) else str(item) for item in items
    )


def _fill(route: Route, values: dict[str, str]) -> str:
    return route.template.format(
        **{name: values.get(name) or str(uuid4()) for name in route.parameters}
    )


# --- the tests ------------------------------------------------------------------------------


async def test_a_contact_sees_nothing_internal(
    app: FastAPI, client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    routes = tenant_get_routes(app)
    assert len(routes) >= 20, "route enumeration found too few GET routes"
    files = any("/attachments" in route.template for route in routes)
    scene = await build_scene(client, world, files=files)
    browser = await browser_session(client, world.a["contact"])
    sweep = Sweep(client, world.a["contact"], scene, browser)
    reached: set[str] = set()

    for route in routes:
        own_url = _fill(route, scene.own)
        known = all(name in scene.own for name in route.parameters)
        own = await sweep.get(own_url, "own")
        sweep.expect(own, {200, 403} if known else {403, 404}, "own")
        if own.status_code != 200:
            continue
        reached.add(route.template)
        await _lists(sweep, route, own_url)
        # Each hidden object in turn, in place of the contact's own: as if it did not exist.
        for name in route.parameters:
            for hidden in scene.hidden.get(name, []):
                url = _fill(route, scene.own | {name: hidden})
                sweep.expect(await sweep.get(url, f"hidden {name}"), {404}, f"hidden {name}")

    must_reach = CONTACT_READS | (CONTACT_FILE_READS if files else set())
    missing = sorted(must_reach - reached)
    assert not missing, f"the contact could not read: {missing}\n" + "\n".join(sweep.failures)

    tickets_url = f"{API}/tenants/{world.a.slug}/tickets"
    listed = await sweep.pages(tickets_url, "the contact's tickets", limit_ok=True)
    assert set(_ids(listed)) == scene.visible_tickets
    record(
        "visibility",
        backend_of(settings.db_url),
        {
            "routes": len(routes),
            "routes_reached": len(reached),
            "requests": sweep.calls,
            "canaries": len(scene.canaries),
            "hidden_ids": len(scene.hidden_ids),
            "leaks": len(sweep.failures),
        },
    )
    # Every route is called once; the ones the contact reaches are explored further (pages,
    # sorts, hidden ids). Refused routes (the console and admin pages) add one call each.
    assert sweep.calls > len(routes) + 2 * len(reached), (sweep.calls, len(routes), len(reached))
    assert not sweep.failures, "customer visibility failures:\n" + "\n".join(sweep.failures)


async def _lists(sweep: Sweep, route: Route, url: str) -> None:
    """A list, page by page in every sort order it offers, and filtered by internal values."""
    limit_ok = "limit" in route.query
    if limit_ok:
        await sweep.pages(url, "pages", limit_ok=True)
    if "sort" in route.query:
        refused = await sweep.get(f"{url}?sort=no_such_order", "sorts")
        sweep.expect(refused, {400}, "an unknown sort")
        for name in refused.json().get("allowed", []) if refused.status_code == 400 else []:
            for order in (name, f"-{name}"):
                await sweep.pages(f"{url}?sort={order}", f"sort {order}", limit_ok=limit_ok)
    for name in route.query:
        if name.startswith("include_"):  # e.g. the trash: staff's
            await sweep.pages(f"{url}?{name}=true", name, limit_ok=limit_ok)
    for name, (internal, decoy) in sweep.scene.oracles.items():
        if name not in route.query:
            continue
        real = await sweep.get(f"{url}?{httpx.QueryParams({name: internal})}", f"filter {name}")
        made_up = await sweep.get(f"{url}?{httpx.QueryParams({name: decoy})}", f"filter {name}")
        seen = (
            real.status_code,
            _ids(real.json().get("items", [])) if real.status_code == 200 else [],
        )
        baseline = (
            made_up.status_code,
            _ids(made_up.json().get("items", [])) if made_up.status_code == 200 else [],
        )
        if seen != baseline:
            sweep.failures.append(
                f"filter {name}: GET {url} tells the internal value apart from a made-up one: "
                f"{seen} vs {baseline}"
            )


async def test_the_timeline_hides_internal_entries_from_the_contact(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    files = any("/attachments" in route.template for route in tenant_get_routes(app))
    scene = await build_scene(client, world, files=files)
    url = f"{API}/tenants/{world.a.slug}/tickets/{scene.ids['ticket']}/audit?limit=200"

    staff = (await client.get(url, headers=world.a["agent"].auth)).json()["items"]
    customer_response = await client.get(url, headers=world.a["contact"].auth)
    assert customer_response.status_code == 200, customer_response.text
    customer = customer_response.json()["items"]

    def entries(items: list[dict[str, Any]], action: str) -> list[Any]:
        return [
            e["after"] if e["after"] is not None else e["before"]
            for e in items
            if e["action"] == action
        ]

    public_messages = {scene.ids["reply"], scene.ids["answer"]}
    # Staff see the whole story...
    assert set(entries(staff, "message_added")) == public_messages | {scene.ids["note"]}
    assert entries(staff, "assigned"), staff
    assert entries(staff, "tag_added") == [f"{scene.canaries[0].lower()}-later"]
    assert entries(staff, "access_granted"), staff
    assert entries(staff, "participant_added"), staff
    assert {e["field"] for e in staff if e["action"] == "field_changed"} >= {"ai_summary"}
    # ...the customer sees the public part of it only.
    assert set(entries(customer, "message_added")) == public_messages
    assert entries(customer, "created")
    hidden_actions = {"assigned", "tag_added", "access_granted", "participant_added"}
    assert not [e for e in customer if e["action"] in hidden_actions], customer
    assert not [
        e for e in customer if e["action"] == "field_changed" and e["field"] == "ai_summary"
    ]
    customer_ids = {e["id"] for e in customer}
    assert customer_ids < {e["id"] for e in staff}
    if files:
        # The file on the public reply shows; the internal note's and staff's files do not.
        added = {a["id"] for a in entries(customer, "attachment_added")}
        assert scene.ids["public file"] in added
        assert added <= {scene.ids["public file"], scene.ids["own file"]}, added
        assert len(entries(staff, "attachment_added")) == 4
    text = customer_response.text.lower()
    assert not [c for c in scene.canaries if c.lower() in text], customer


#: The stream's events carry marks ("look again"), never ticket data.
STREAM_FIELDS = {"mark"}


async def test_live_streams_refuse_the_contact_and_carry_no_content(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    """Every live (Server-Sent Events) route: the contact gets no stream; the agent's stream
    carries only change marks, none of the scene's content or canaries."""
    routes = [route for route in tenant_get_routes(app) if route.template.endswith("/live")]
    assert routes, "no live route found: the console's stream moved, update this test"
    files = any("/attachments" in route.template for route in tenant_get_routes(app))
    scene = await build_scene(client, world, files=files)
    contact = await browser_session(client, world.a["contact"])
    agent = await browser_session(client, world.a["agent"])
    query = httpx.QueryParams({"ticket": scene.ids["ticket"], "seconds": 1})
    for route in routes:
        url = f"{_fill(route, scene.own)}?{query}"
        refused = await client.get(url, headers=contact)
        assert refused.status_code in {303, 403, 404}, (url, refused.status_code)
        assert "text/event-stream" not in refused.headers.get("content-type", "")
        stream = await client.get(url, headers=agent)
        assert stream.status_code == 200, stream.text
        assert stream.headers["content-type"].startswith("text/event-stream")
        data = [line[5:] for line in stream.text.splitlines() if line.startswith("data:")]
        assert data, "the agent's stream should announce the scene's changes"
        assert all(set(json.loads(item)) <= STREAM_FIELDS for item in data), data
        shown = [c for c in [*scene.canaries, "Thank you", "The printer jams"] if c in stream.text]
        assert not shown, shown
