"""Threading decisions with their channel settings, follow-ups for long-closed tickets, the
per-sender limit on automatic mail, two desks mailing each other, translations and overrides."""

from __future__ import annotations

from datetime import timedelta
from email.utils import make_msgid
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.clock import utcnow
from frontdesk.core.config import Settings
from frontdesk.core.db import transaction
from frontdesk.tickets.models import Ticket
from tests.email.conftest import DESK, Inbox, Received, pump, push, push_channel
from tests.factories import World

DANA = "dana@customer.example.org"


def mail(sender: str, subject: str, body: str = "Hello.", to: str = DESK, **headers: str) -> bytes:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}"]
    lines.append(f"Message-ID: {headers.pop('message_id', make_msgid(domain='example.org'))}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


async def test_a_stranger_on_a_thread_opens_a_new_ticket_by_default(
    client: httpx.AsyncClient, world: World
) -> None:
    _, path = await push_channel(client, world)
    first = make_msgid(domain="customer.example.org")
    opened = await push(client, path, mail(DANA, "Printer", message_id=first))
    stranger = await push(
        client, path, mail("eve@intruder.example.net", "Re: Printer", In_Reply_To=first)
    )
    assert stranger["outcome"] == "new_ticket"
    assert stranger["ticket_id"] != opened["ticket_id"]
    own = await push(client, path, mail(DANA, "Re: Printer", In_Reply_To=first))
    assert (own["outcome"], own["ticket_id"]) == ("appended", opened["ticket_id"])


async def test_mail_to_a_long_closed_ticket_opens_a_linked_follow_up(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, path = await push_channel(client, world)
    opened = await push(client, path, mail(DANA, "Old problem"))
    owner, base = world.a["owner"].auth, f"/api/v1/tenants/{world.a.slug}/tickets"
    closed = await client.patch(
        f"{base}/{opened['ticket_id']}", json={"status": "closed"}, headers=owner
    )
    assert closed.status_code == 200, closed.text
    async with transaction(sessionmaker) as session:  # a month passes
        await session.execute(
            update(Ticket)
            .where(Ticket.tenant_id == world.a.id)
            .values(closed_at=utcnow() - timedelta(days=30))
        )
    later = await push(client, path, mail(DANA, "Re: Old problem [ACME-1]"))
    assert later["outcome"] == "follow_up"
    follow_up = (await client.get(f"{base}/{later['ticket_id']}", headers=owner)).json()
    assert follow_up["follow_up_of_id"] == opened["ticket_id"]
    assert follow_up["channel"] == "email"


async def test_one_sender_gets_at_most_the_channels_limit_of_automatic_mail(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> None:
    _, path = await push_channel(client, world, auto_reply_limit_per_hour=3)
    for number in range(7):
        await push(client, path, mail(DANA, f"Question {number}"))
    await pump(settings, sessionmaker)
    assert len(inbox.to(DANA)) == 3


async def _feed(
    client: httpx.AsyncClient, paths: dict[str, str], sent: list[Received], strip: bool
) -> int:
    """Deliver to each desk what was mailed to its address; returns how many were delivered."""
    delivered = 0
    for item in sent:
        for recipient in item.recipients:
            if recipient in paths:
                raw = item.data
                if strip:  # a desk whose mail server drops the automatic-mail headers
                    raw = b"\r\n".join(
                        line
                        for line in raw.split(b"\r\n")
                        if not line.lower().startswith((b"auto-submitted", b"x-auto-response"))
                    )
                await push(client, paths[recipient], raw)
                delivered += 1
    return delivered


async def _two_desks(client: httpx.AsyncClient, world: World) -> dict[str, str]:
    other = "help@acmeco.example.com"
    _, ours = await push_channel(client, world)
    body = {"kind": "email", "name": "Support", "address": other, "mode": "push"}
    created = await client.post(
        f"/api/v1/tenants/{world.b.slug}/channels", json=body, headers=world.b["owner"].auth
    )
    assert created.status_code == 201, created.text
    return {DESK: ours, other: httpx.URL(created.json()["push_url"]).path}


async def _exchange(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
    *,
    strip: bool,
) -> int:
    paths = await _two_desks(client, world)
    # Someone at the other desk writes to ours from the desk's address.
    await push(client, paths[DESK], mail("help@acmeco.example.com", "Hello from the other desk"))
    for _ in range(10):
        await pump(settings, sessionmaker)
        batch = list(inbox.mails)
        inbox.mails.clear()
        if not await _feed(client, paths, batch, strip):
            return _
    raise AssertionError("the desks are still mailing each other")


async def test_two_desks_cannot_loop(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> None:
    rounds = await _exchange(client, world, settings, sessionmaker, inbox, strip=False)
    assert rounds <= 1  # our acknowledgement is automatic: the other desk never answers it


async def test_two_desks_cannot_loop_without_the_automatic_mail_headers(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> None:
    rounds = await _exchange(client, world, settings, sessionmaker, inbox, strip=True)
    assert rounds <= 3  # the acknowledgements thread into the tickets, which send no more


async def _ack_for(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> Any:
    _, path = await push_channel(client, world)
    await push(client, path, mail(DANA, "Drucker brennt"))
    await pump(settings, sessionmaker)
    (ack,) = inbox.to(DANA)
    return ack.message


async def test_the_acknowledgement_speaks_the_tenants_language(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> None:
    tenant = f"/api/v1/tenants/{world.a.slug}"
    changed = await client.patch(
        tenant, json={"settings": {"locale": "de"}}, headers=world.a["owner"].auth
    )
    assert changed.status_code == 200, changed.text
    ack = await _ack_for(client, world, settings, sessionmaker, inbox)
    assert ack["Subject"] == "Wir haben Ihre Anfrage erhalten: Drucker brennt [ACME-1]"
    assert "vielen Dank" in ack.get_body(("plain",)).get_content()
    assert "vielen Dank" in ack.get_body(("html",)).get_content()


async def test_a_tenants_own_template_is_used_and_escaped_in_html(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> None:
    override = {
        "subject": "Got it: {{ ticket.subject }}",
        "body_text": "Hi {{ recipient_name }}, ticket {{ ticket.display_id }} is ours now.",
        "body_html": "<p>Hi {{ recipient_name }}</p>",
    }
    url = f"/api/v1/tenants/{world.a.slug}/email-templates/acknowledgement/en"
    saved = await client.put(url, json=override, headers=world.a["owner"].auth)
    assert saved.status_code == 200, saved.text
    _, path = await push_channel(client, world)
    await push(client, path, mail('"Dana <i>S</i>" <dana@customer.example.org>', "Drucker"))
    await pump(settings, sessionmaker)
    (ack,) = inbox.to(DANA)
    assert ack.message["Subject"] == "Got it: Drucker [ACME-1]"
    assert "ticket ACME-1 is ours now" in ack.message.get_body(("plain",)).get_content()
    assert "Hi Dana &lt;i&gt;S&lt;/i&gt;" in ack.message.get_body(("html",)).get_content()
