"""What the desk mails, as read from a real SMTP server (aiosmtpd on loopback).

1. The XSS corpus through every user-writable field that can reach a mail: ticket subject and
   description, reply text and HTML, internal note (mentions), the tenant's name, an agent's
   display name, contact names; tags, custom values and attachment filenames are planted too
   (no template shows them today: if one starts to, it is covered). Every kind of mail the
   planner knows (`MailKind`) must be among those received, so a new kind is covered the day it
   is added. The HTML part of every mail must hold nothing a browser would run
   (`corpus.active_content`) and no payload unescaped.
2. The customer-visibility scene of `tests/tickets/test_visibility.py` (canaries in internal
   notes, fields, assignments, another customer's and a trashed ticket) with an email channel
   that mails every customer kind: no mail to a contact, and none of the contact's in-app
   notifications, carries a canary; the staff mention of the same note does (the check sees).

The portal's sign-in link mail is not a planner kind (the portal queues it): each round asks
for a link for that round's hostile contact, under that round's hostile tenant name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from frontdesk.email.models import OutboundMail
from frontdesk.email.service.planner import CUSTOMER_KINDS, MailKind
from frontdesk.email.service.sign_in_links import KIND as SIGN_IN_LINK
from tests.email.conftest import pump, push_channel
from tests.factories import World
from tests.robustness.corpus import HOSTILE_FILENAMES, XSS_PAYLOADS, active_content
from tests.robustness.counters import backend_of, record
from tests.robustness.mail_sink import Inbox, html_parts, smtp_sink, text_of
from tests.tickets.test_visibility import build_scene, tenant_get_routes

MARKUP_PAYLOADS = [p for p in XSS_PAYLOADS if "<" in p]


@pytest.fixture(scope="module")
def sink() -> Iterator[tuple[Inbox, int]]:
    with smtp_sink() as found:
        yield found


@pytest.fixture
def settings(database_url: str, data_dir: Path, sink: tuple[Inbox, int]) -> Settings:
    inbox, port = sink
    inbox.mails.clear()
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        embedded_worker=False,
        log_level="WARNING",
        log_format="console",
        smtp_url=f"smtp://127.0.0.1:{port}",
        mail_from="desk@frontdesk.example.com",
        mail_retry_base_seconds=0,
    )


class Desk:
    """Calls on tenant acme that count writes and refusals; a 5xx fails the test."""

    def __init__(self, client: httpx.AsyncClient, world: World) -> None:
        self.client, self.world = client, world
        self.writes = self.refused = 0

    async def call(self, method: str, path: str, who: str, **kwargs: Any) -> Any:
        url = path if path.startswith("/api/") else f"/api/v1/tenants/{self.world.a.slug}{path}"
        response = await self.client.request(method, url, headers=self.world.a[who].auth, **kwargs)
        assert response.status_code < 500, f"{method} {url}: {response.text}"
        self.writes += 1
        if response.status_code >= 400:
            self.refused += 1
            return None
        return response.json() if response.content else {}

    async def must(self, method: str, path: str, who: str, **kwargs: Any) -> Any:
        found = await self.call(method, path, who, **kwargs)
        assert found is not None, f"setup {method} {path} was refused"
        return found


async def _payload_round(desk: Desk, n: int, text: str, group_id: str, carla_ticket: str) -> None:
    """One payload in every field, then one action for each kind of mail."""
    agent_id = str(desk.world.a["agent"].user_id)
    await desk.call("PATCH", "", "owner", json={"name": text})
    await desk.call("PATCH", "/api/v1/me", "agent", json={"display_name": text})
    await desk.call("PATCH", f"/contacts/{desk.world.a.contact_id}", "owner", json={"name": text})
    contact = await desk.must(
        "POST", "/contacts", "owner", json={"name": text, "emails": [f"xss{n}@customer.example"]}
    )
    link = await desk.client.post(
        f"/portal/{desk.world.a.slug}/link", data={"email": f"xss{n}@customer.example"}
    )
    assert link.status_code == 303, link.text
    ticket = await desk.call(
        "POST",
        "/tickets",
        "owner",
        json={
            "subject": text,
            "description": text,
            "requester_id": contact["id"],
            "group_id": group_id,
            "tags": [text[:64]],
            "custom_fields": {"note": text},
        },
    )
    if ticket is None:  # a subject the schema refuses: the plain subject carries the rest
        ticket = await desk.must(
            "POST",
            "/tickets",
            "owner",
            json={
                "subject": f"Payload {n}",
                "description": text,
                "requester_id": contact["id"],
                "group_id": group_id,
            },
        )
    url = f"/tickets/{ticket['id']}"
    assignment = {"group_id": group_id, "assignee_id": agent_id}
    await desk.call("POST", f"{url}/assignments", "owner", json=assignment)
    await desk.call("POST", f"{url}/messages", "agent", json={"body": text, "body_html": text})
    await desk.call("POST", f"{url}/messages", "owner", json={"body": f"@agent {text}",
                                                            "is_internal": True})  # fmt: skip
    await desk.call("PATCH", url, "agent", json={"status": "resolved"})
    name = HOSTILE_FILENAMES[n % len(HOSTILE_FILENAMES)] or "x"
    await desk.call(
        "POST", f"{url}/attachments", "agent", files={"file": (name, b"data", "text/plain")}
    )
    await desk.call("POST", f"/tickets/{carla_ticket}/messages", "contact", json={"body": text})


async def test_the_xss_corpus_reaches_no_mail_as_markup(
    app: FastAPI,
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    sink: tuple[Inbox, int],
) -> None:
    assert getattr(app.state, "sign_in_link_sender", None) is not None
    inbox, _ = sink
    desk = Desk(client, world)
    await push_channel(client, world, auto_reply_limit_per_hour=1000)
    await desk.must(
        "PATCH", "/email-settings", "owner", json={"status_mail_categories": ["resolved"]}
    )
    group = await desk.must("POST", "/groups", "owner", json={"name": "Tier 1"})
    member = {"user_id": str(world.a["agent"].user_id)}
    await desk.must("POST", f"/groups/{group['id']}/members", "owner", json=member)
    carla = await desk.must(
        "POST", "/tickets", "owner",
        json={"subject": "Carla's", "requester_id": str(world.a.contact_id),
              "assignee_id": str(world.a["agent"].user_id)},
    )  # fmt: skip
    for n, payload in enumerate(XSS_PAYLOADS):
        await _payload_round(desk, n, f"{payload} #{n}", group["id"], carla["id"])
        await pump(settings, sessionmaker)

    async with sessionmaker() as session:
        kinds = set(await session.scalars(select(OutboundMail.kind)))
    findings: list[str] = []
    html_count = 0
    htmls = [html for mail in inbox.mails for html in html_parts(mail.message)]
    # Each payload reached a mail, as text: escaped the way the templates escape.
    shown = [n for n, p in enumerate(XSS_PAYLOADS) if any(escape(f"{p} #{n}") in h for h in htmls)]
    for mail in inbox.mails:
        for html in html_parts(mail.message):
            html_count += 1
            subject = mail.message["Subject"]
            findings += [f"{subject}: runs {found}" for found in active_content(html)]
            findings += [f"{subject}: unescaped {p!r}" for p in MARKUP_PAYLOADS if p in html]
    record(
        "mail_xss",
        backend_of(settings.db_url),
        {
            "payloads": len(XSS_PAYLOADS),
            "writes": desk.writes,
            "refused": desk.refused,
            "mail_kinds": len(kinds),
            "mails": len(inbox.mails),
            "html_parts_checked": html_count,
            "executable_or_unescaped": len(findings),
        },
    )
    expected = {kind.value for kind in MailKind} | {SIGN_IN_LINK}
    assert kinds == expected, f"kinds not mailed: {expected - kinds}"
    assert html_count >= len(XSS_PAYLOADS) * len(expected)
    assert not findings, "\n".join(findings[:40])
    assert len(shown) == len(XSS_PAYLOADS), f"payloads in no mail: {set(range(40)) - set(shown)}"


async def test_no_mail_or_notice_to_a_contact_carries_anything_internal(
    app: FastAPI,
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    sink: tuple[Inbox, int],
) -> None:
    inbox, _ = sink
    categories = ["new", "open", "pending", "on_hold", "resolved", "closed"]
    await push_channel(client, world, auto_reply_limit_per_hour=1000)
    desk = Desk(client, world)
    await desk.must(
        "PATCH", "/email-settings", "owner", json={"status_mail_categories": categories}
    )
    files = any("/attachments" in route.template for route in tenant_get_routes(app))
    scene = await build_scene(client, world, files=files)
    ticket, canary = scene.ids["ticket"], scene.canaries[0]
    await desk.must("POST", f"/tickets/{ticket}/messages", "owner",
                    json={"body": f"@agent {canary} mention", "is_internal": True})  # fmt: skip
    await desk.must("PATCH", f"/tickets/{ticket}", "agent", json={"status": "resolved"})
    await desk.must("POST", f"/tickets/{ticket}/messages", "agent", json={"body": "Solved?"})
    await pump(settings, sessionmaker)

    async with sessionmaker() as session:
        rows = await session.execute(
            select(OutboundMail.message_id, OutboundMail.kind, OutboundMail.recipient_contact_id)
        )
        by_id = {message_id: (kind, contact) for message_id, kind, contact in rows}
    to_contacts = [m for m in inbox.mails if by_id[str(m.message["Message-ID"])][1] is not None]
    customer_kinds = {by_id[str(m.message["Message-ID"])][0] for m in to_contacts}
    other_customer = scene.canaries[1]
    leaks = []
    for mail in to_contacts:
        text = text_of(mail.message).lower()
        own = mail.recipients != ["carla@acme.example"]  # Olga's mail is about Olga's ticket
        forbidden = [c for c in scene.canaries if not (own and c == other_customer)]
        forbidden += [] if own else scene.hidden_ids
        leaks += [f"{mail.message['Subject']}: {s}" for s in forbidden if s.lower() in text]
    staff_saw = [m for m in inbox.to(world.a["agent"].email) if canary in text_of(m.message)]

    notices = []
    for path in ("/notifications?limit=200", "/notifications/unread-count"):
        response = await client.get(
            f"/api/v1/tenants/{world.a.slug}{path}", headers=world.a["contact"].auth
        )
        assert response.status_code < 500, response.text
        answer = response.text.lower()
        notices += [f"GET {path}: {c}" for c in scene.canaries if c.lower() in answer]
    record(
        "mail_visibility",
        backend_of(settings.db_url),
        {
            "mails_to_contacts": len(to_contacts),
            "customer_kinds": len(customer_kinds),
            "mails_to_staff": len(inbox.mails) - len(to_contacts),
            "canaries": len(scene.canaries),
            "leaks": len(leaks) + len(notices),
        },
    )
    assert customer_kinds == {kind.value for kind in CUSTOMER_KINDS}, customer_kinds
    assert staff_saw, "the staff mention should carry the note: the check must see canaries"
    assert not leaks, "\n".join(leaks)
    assert not notices, "\n".join(notices)
