"""Mail from a staff member's address: an internal note marked not verified unless the channel
trusts its receiving server's Authentication-Results, and a forged From never reaches the
customer."""

from __future__ import annotations

from email.utils import make_msgid
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from frontdesk.core.db import transaction
from frontdesk.email.authentication import from_domain_authenticated
from frontdesk.email.service.staff_mail import NOT_VERIFIED, VERIFICATION_KEY
from frontdesk.identity.policy import Role
from frontdesk.identity.service.members import add_member_as
from frontdesk.identity.service.users import create_user
from frontdesk.tickets.models import TicketMessage
from tests.email.conftest import DESK, Inbox, pump, push, push_channel
from tests.factories import World

DANA = "dana@customer.example.org"
MX = "mx.acme.test"


def mail(sender: str, subject: str, body: str, **headers: str) -> bytes:
    lines = [f"From: {sender}", f"To: {DESK}", f"Subject: {subject}"]
    lines.append(f"Message-ID: {headers.pop('message_id', make_msgid(domain='example.org'))}")
    for name, value in headers.items():
        for one in value.split("\n"):
            lines.append(f"{name.replace('_', '-')}: {one}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


class Desk:
    def __init__(self, client: httpx.AsyncClient, world: World) -> None:
        self.client, self.world = client, world
        self.base = f"/api/v1/tenants/{world.a.slug}"

    async def call(self, method: str, path: str, who: str = "owner", **kwargs: Any) -> Any:
        response = await self.client.request(
            method, self.base + path, headers=self.world.a[who].auth, **kwargs
        )
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    async def open_ticket(self, path: str) -> tuple[str, str]:
        """Dana's mail opens a ticket, assigned to the owner; returns its id and Message-ID."""
        first = make_msgid(domain="customer.example.org")
        opened = await push(self.client, path, mail(DANA, "Printer", "It jams.", message_id=first))
        assignment = {"assignee_id": str(self.world.a["owner"].user_id)}
        await self.call("POST", f"/tickets/{opened['ticket_id']}/assignments", json=assignment)
        return opened["ticket_id"], first

    async def messages(self, ticket_id: str) -> list[dict[str, Any]]:
        page = await self.call("GET", f"/tickets/{ticket_id}/messages")
        items: list[dict[str, Any]] = page["items"]
        return items


@pytest.fixture
def desk(client: httpx.AsyncClient, world: World) -> Desk:
    return Desk(client, world)


async def test_staff_mail_is_an_unverified_internal_note_by_default(
    desk: Desk,
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> None:
    _, path = await push_channel(client, world, auto_acknowledge=False)
    ticket_id, first = await desk.open_ticket(path)
    admin = world.a["admin"]
    receipt = await push(
        client, path, mail(admin.email, "Re: Printer", "Refund granted.", In_Reply_To=first)
    )
    assert (receipt["outcome"], receipt["ticket_id"]) == ("internal_note", ticket_id)

    note = (await desk.messages(ticket_id))[-1]
    assert note["is_internal"] is True
    assert note["author_user_id"] == str(admin.user_id)
    assert note["body_text"].startswith(f"[{NOT_VERIFIED}]")
    async with sessionmaker() as session:
        stored = await session.get(TicketMessage, (world.a.id, UUID(note["id"])))
        assert stored is not None
        assert stored.email_headers[VERIFICATION_KEY] == NOT_VERIFIED
    await pump(settings, sessionmaker)
    assert inbox.to(DANA) == []
    notices = await desk.call("GET", "/notifications")
    assert any(NOT_VERIFIED in n["title"] for n in notices["items"]), notices


async def test_a_trusting_channel_makes_authenticated_staff_mail_a_public_reply(
    desk: Desk,
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> None:
    _, path = await push_channel(
        client, world, auto_acknowledge=False, trust_staff_mail=True, trusted_authserv_id=MX
    )
    ticket_id, first = await desk.open_ticket(path)
    admin = world.a["admin"]
    results = f"{MX}; dkim=pass (2048-bit key) header.d=acme.test header.s=s1; spf=none"
    raw = mail(
        admin.email, "Re: Printer", "Refund granted.", In_Reply_To=first,
        Authentication_Results=results,
    )  # fmt: skip
    receipt = await push(client, path, raw)
    assert (receipt["outcome"], receipt["ticket_id"]) == ("appended", ticket_id)

    reply = (await desk.messages(ticket_id))[-1]
    assert (reply["is_internal"], reply["author_type"]) == (False, "agent")
    assert reply["author_user_id"] == str(admin.user_id)
    await pump(settings, sessionmaker)
    assert [b"Refund granted." in m.data for m in inbox.to(DANA)] == [True]


@pytest.mark.parametrize(
    "results",
    [
        pytest.param("", id="no-header"),
        pytest.param("mx.attacker.example; dkim=pass header.d=acme.test", id="other-server"),
        pytest.param(f"{MX}; dkim=fail header.d=acme.test; spf=softfail", id="failed"),
        pytest.param(f"{MX}; dkim=pass header.d=attacker.example", id="unaligned-dkim"),
        pytest.param(f"{MX}; spf=pass smtp.mailfrom=x@attacker.example", id="unaligned-spf"),
        # The server's own header is on top; a forged pass below it counts for nothing.
        pytest.param(f"{MX}; dkim=none\n{MX}; dkim=pass header.d=acme.test", id="forged-below"),
    ],
)
async def test_spoofed_staff_mail_never_speaks_to_the_customer(
    results: str,
    desk: Desk,
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> None:
    _, path = await push_channel(
        client, world, auto_acknowledge=False, trust_staff_mail=True, trusted_authserv_id=MX
    )
    ticket_id, first = await desk.open_ticket(path)
    headers = {"Authentication_Results": results} if results else {}
    raw = mail(world.a["admin"].email, "Re: Printer", "Pay to IBAN X", In_Reply_To=first, **headers)
    receipt = await push(client, path, raw)
    assert (receipt["outcome"], receipt["ticket_id"]) == ("internal_note", ticket_id)
    assert (await desk.messages(ticket_id))[-1]["is_internal"] is True
    await pump(settings, sessionmaker)
    assert all(b"IBAN" not in m.data for m in inbox.mails)


async def test_a_staff_member_who_is_the_requester_writes_as_that_customer(
    desk: Desk,
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    agent = "it.agent@acme.example.com"  # an internal helpdesk: staff are customers too
    async with transaction(sessionmaker) as session:
        user = await create_user(session, email=agent, password="correct-horse-battery")
        await add_member_as(session, world.a.id, user, Role.AGENT)
    _, path = await push_channel(client, world, auto_acknowledge=False)
    first = make_msgid(domain="acme.test")
    opened = await push(client, path, mail(agent, "My laptop", "It is slow.", message_id=first))
    again = await push(client, path, mail(agent, "Re: My laptop", "Still.", In_Reply_To=first))
    assert (again["outcome"], again["ticket_id"]) == ("appended", opened["ticket_id"])
    latest = (await desk.messages(opened["ticket_id"]))[-1]
    assert (latest["author_type"], latest["is_internal"]) == ("contact", False)


async def test_mail_from_an_agent_who_may_not_write_the_ticket_is_flagged_for_review(
    desk: Desk, client: httpx.AsyncClient, world: World
) -> None:
    group = await desk.call("POST", "/groups", json={"name": "Billing"})
    _, path = await push_channel(
        client, world, auto_acknowledge=False, default_group_id=group["id"]
    )
    first = make_msgid(domain="customer.example.org")
    opened = await push(client, path, mail(DANA, "Printer", "It jams.", message_id=first))
    ticket_id = opened["ticket_id"]
    raw = mail(world.a["agent"].email, "Re: Printer", "Let me in.", In_Reply_To=first)
    receipt = await push(client, path, raw)
    assert (receipt["outcome"], receipt["needs_review"]) == ("internal_note", True)
    note = (await desk.messages(ticket_id))[-1]
    assert (note["is_internal"], note["author_type"]) == (True, "system")


async def test_trusting_staff_mail_needs_the_servers_authserv_id(
    client: httpx.AsyncClient, world: World
) -> None:
    body = {"kind": "email", "name": "S", "address": DESK, "mode": "push", "trust_staff_mail": True}
    response = await client.post(
        f"/api/v1/tenants/{world.a.slug}/channels", json=body, headers=world.a["owner"].auth
    )
    assert response.status_code == 422, response.text


def test_authentication_results_parsing() -> None:
    ok = ["mx.acme.test 1; spf=pass (sender ok) smtp.mailfrom=acme.test; dkim=neutral"]
    assert from_domain_authenticated(ok, "MX.acme.test", "Agent@Acme.Test")
    sub = ["mx.acme.test; dkim=pass header.d=acme.test"]
    assert from_domain_authenticated(sub, "mx.acme.test", "agent@eu.acme.test")
    assert not from_domain_authenticated(sub, "mx.acme.test", "agent@notacme.test")
    helo = ["mx.acme.test; spf=pass smtp.helo=acme.test"]
    assert not from_domain_authenticated(helo, "mx.acme.test", "agent@acme.test")
    assert not from_domain_authenticated(sub, None, "agent@acme.test")
    assert not from_domain_authenticated(["; ;"], "mx.acme.test", "agent@acme.test")
