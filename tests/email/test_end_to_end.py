"""A customer mails in, is acknowledged, gets the agent's reply threaded, replies by mail; an
internal note reaches no customer. All through the real app, a real SMTP server and the jobs."""

from __future__ import annotations

from email.utils import make_msgid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from tests.email.conftest import DESK, Inbox, pump, push, push_channel
from tests.factories import World

CUSTOMER = "dana@customer.example.org"


def customer_mail(subject: str, body: str, **headers: str) -> bytes:
    lines = [
        f"From: Dana Scully <{CUSTOMER}>",
        f"To: Acme Support <{DESK}>",
        f"Subject: {subject}",
        f"Message-ID: {headers.pop('message_id', make_msgid(domain='customer.example.org'))}",
        "Date: Sun, 22 Nov 2026 08:00:00 +0000",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


async def test_a_mail_conversation_from_first_mail_to_reply(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> None:
    owner = world.a["owner"].auth
    _, path = await push_channel(client, world)
    tickets_url = f"/api/v1/tenants/{world.a.slug}/tickets"

    # 1. The customer's mail opens a ticket and is acknowledged.
    first_id = make_msgid(domain="customer.example.org")
    receipt = await push(
        client, path, customer_mail("Printer on fire", "It is on fire.", message_id=first_id)
    )
    assert receipt["outcome"] == "new_ticket"
    ticket_id = receipt["ticket_id"]
    ticket = (await client.get(f"{tickets_url}/{ticket_id}", headers=owner)).json()
    assert ticket["channel"] == "email"
    assert ticket["subject"] == "Printer on fire"
    await pump(settings, sessionmaker)
    (ack,) = inbox.to(CUSTOMER)
    token = f"[{ticket['display_id']}]"
    assert token in ack.message["Subject"]
    assert ack.message["Auto-Submitted"] == "auto-generated"
    assert ack.message["Reply-To"] == DESK
    assert ack.message["In-Reply-To"] == first_id

    # 2. The agent's public reply reaches the customer, threaded.
    reply = await client.post(
        f"{tickets_url}/{ticket_id}/messages", json={"body": "Please unplug it."}, headers=owner
    )
    assert reply.status_code == 201, reply.text
    # 3. An internal note reaches no customer.
    note = await client.post(
        f"{tickets_url}/{ticket_id}/messages",
        json={"body": "Secret: replace the printer.", "is_internal": True},
        headers=owner,
    )
    assert note.status_code == 201, note.text
    await pump(settings, sessionmaker)
    to_customer = inbox.to(CUSTOMER)
    assert len(to_customer) == 2
    answer = to_customer[1].message
    assert "Please unplug it." in answer.get_body(("plain",)).get_content()
    assert answer["In-Reply-To"] == first_id
    assert first_id in answer["References"]
    assert answer["Auto-Submitted"] is None
    assert all(b"Secret: replace the printer." not in mail.data for mail in inbox.mails)

    # 4. The customer's reply by mail joins the ticket.
    reply_mail = customer_mail(
        f"Re: {answer['Subject']}",
        "Unplugged, thanks.\r\n\r\nOn Sun, Acme wrote:\r\n> Please unplug it.",
        In_Reply_To=answer["Message-ID"],
        References=f"{first_id} {answer['Message-ID']}",
    )
    joined = await push(client, path, reply_mail)
    assert joined["outcome"] == "appended"
    assert joined["ticket_id"] == ticket_id
    messages = (await client.get(f"{tickets_url}/{ticket_id}/messages", headers=owner)).json()
    bodies = [m["body_text"] for m in messages["items"]]
    assert bodies[-1] == "Unplugged, thanks."
    assert messages["items"][-1]["channel"] == "email"
