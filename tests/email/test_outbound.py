"""The outbound queue: who gets which mail, opt-outs, retries with backoff until failed, the
admin's retry, a bad mail that holds nobody up, and re-planning that queues nothing twice."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from frontdesk.core.db import transaction
from frontdesk.email.models import EmailEventCursor, OutboundMail
from frontdesk.email.service import sending
from frontdesk.email.service.planner import plan_batch
from tests.email.conftest import DESK, Inbox, pump, push, push_channel
from tests.factories import World

CUSTOMER = "carla@acme.example"  # the world's contact, who has a portal login


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

    async def ticket(self, **fields: Any) -> str:
        body = {"subject": "Router blinks red", "requester_id": str(self.world.a.contact_id)}
        created = await self.call("POST", "/tickets", json=body | fields)
        ticket_id: str = created["id"]
        return ticket_id

    async def reply(self, ticket_id: str, body: str, who: str = "owner", **fields: Any) -> None:
        path = f"/tickets/{ticket_id}/messages"
        await self.call("POST", path, who=who, json={"body": body} | fields)


@pytest.fixture
def desk(client: httpx.AsyncClient, world: World) -> Desk:
    return Desk(client, world)


async def test_customers_get_replies_and_enabled_status_changes_never_notes(
    desk: Desk,
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> None:
    await push_channel(client, world, auto_acknowledge=False)
    settings_patch = {"status_mail_categories": ["resolved"]}
    await desk.call("PATCH", "/email-settings", json=settings_patch)
    ticket_id = await desk.ticket()
    cc = "boss@customer.example.org"
    await desk.call("POST", f"/tickets/{ticket_id}/participants", json={"role": "cc", "email": cc})
    await desk.reply(ticket_id, "We are looking into it.")
    await desk.reply(ticket_id, "Internal: vendor bug 42", is_internal=True)
    await desk.call("PATCH", f"/tickets/{ticket_id}", json={"status": "resolved"})
    await pump(settings, sessionmaker)

    for address in (CUSTOMER, cc):
        subjects = [mail.message["Subject"] for mail in inbox.to(address)]
        assert len(subjects) == 2, subjects
        assert any("is now Resolved" in s for s in subjects), subjects
        assert all("[ACME-1]" in s for s in subjects)
        assert all(m.message["Reply-To"] == DESK for m in inbox.to(address))
    assert all(b"vendor bug 42" not in mail.data for mail in inbox.mails)


async def test_staff_get_new_tickets_assignments_customer_replies_and_mentions(
    desk: Desk,
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> None:
    agent, admin = world.a["agent"], world.a["admin"]
    group = await desk.call("POST", "/groups", json={"name": "Tier 1"})
    await desk.call("POST", f"/groups/{group['id']}/members", json={"user_id": str(agent.user_id)})
    ticket_id = await desk.ticket(group_id=group["id"])
    await pump(settings, sessionmaker)
    assert [m.message["Subject"] for m in inbox.to(agent.email)] == [
        "New ticket ACME-1: Router blinks red [ACME-1]"
    ]
    await desk.call("POST", f"/groups/{group['id']}/members", json={"user_id": str(admin.user_id)})

    assignment = {"assignee_id": str(admin.user_id), "reason": "escalation"}
    await desk.call("POST", f"/tickets/{ticket_id}/assignments", json=assignment)
    await desk.reply(ticket_id, "It still blinks.", who="contact")
    await desk.reply(ticket_id, "@agent can you look at this?", is_internal=True, who="admin")
    await pump(settings, sessionmaker)
    to_admin = [m.message["Subject"] for m in inbox.to(admin.email)]
    assert any("was assigned to you" in s for s in to_admin), to_admin
    assert any("Customer reply on ACME-1" in s for s in to_admin), to_admin
    assert any("mentioned you" in m.message["Subject"] for m in inbox.to(agent.email))
    assert all(m.message["Auto-Submitted"] == "auto-generated" for m in inbox.mails)
    # The same notices are in the app.
    unread = await desk.call("GET", "/notifications/unread-count", who="admin")
    assert unread["unread"] >= 2


async def test_a_contact_who_opted_out_gets_no_reply_mail(
    desk: Desk,
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> None:
    await push_channel(client, world)
    opt_out = {"preferences": [{"kind": "agent_replied", "channel": "email", "enabled": False}]}
    await desk.call("PUT", "/notifications/preferences", who="contact", json=opt_out)
    ticket_id = await desk.ticket()
    await desk.reply(ticket_id, "Reply nobody mails.")
    await pump(settings, sessionmaker)
    kinds = [m.message["Subject"] for m in inbox.to(CUSTOMER)]
    assert kinds == ["We received your request: Router blinks red [ACME-1]"]


async def test_failures_back_off_until_failed_and_an_admin_retry_sends(
    desk: Desk,
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> None:
    await push_channel(client, world)
    await desk.ticket()
    inbox.refuse = True
    await pump(settings, sessionmaker)  # three attempts (no wait in tests), then failed
    (failed,) = (await desk.call("GET", "/outbound-mail?status=failed"))["items"]
    assert failed["attempts"] == settings.mail_max_attempts
    assert "451" in failed["last_error"]
    assert inbox.mails == []

    inbox.refuse = False
    retried = await desk.call("POST", f"/outbound-mail/{failed['id']}/retry")
    assert (retried["status"], retried["attempts"]) == ("pending", 0)
    await pump(settings, sessionmaker)
    assert len(inbox.to(CUSTOMER)) == 1
    sent = await desk.call("GET", f"/outbound-mail/{failed['id']}")
    assert sent["status"] == "sent"
    again = await client.post(
        f"{desk.base}/outbound-mail/{failed['id']}/retry", headers=world.a["owner"].auth
    )
    assert again.status_code == 409


async def test_backoff_doubles_and_a_refused_recipient_holds_nobody_up(
    desk: Desk,
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> None:
    await push_channel(client, world)
    await push(client, (await _path(desk)), _mail("refused-1@customer.example.org"))
    await desk.ticket()
    slow = settings.model_copy(update={"mail_retry_base_seconds": 60.0})
    await pump(slow, sessionmaker)
    async with sessionmaker() as session:
        mails = list(await session.scalars(select(OutboundMail).order_by(OutboundMail.recipient)))
    by_recipient = {mail.recipient: mail for mail in mails}
    assert by_recipient[CUSTOMER].status == "sent"
    refused = by_recipient["refused-1@customer.example.org"]
    assert (refused.status, refused.attempts) == ("pending", 1)
    assert refused.next_attempt_at is not None
    assert refused.updated_at is not None
    wait = (refused.next_attempt_at - refused.updated_at).total_seconds()
    assert 55 <= wait <= 65


async def _path(desk: Desk) -> str:
    channels = await desk.call("GET", "/channels")
    assert channels
    created = await desk.call(
        "POST", "/channels", json={"name": "Second", "address": "second@acme.example.com"}
    )
    return str(httpx.URL(created["push_url"]).path)


def _mail(sender: str) -> bytes:
    return (
        f"From: <{sender}>\r\nTo: {DESK}\r\nSubject: Hello\r\n"
        f"Message-ID: <{sender}-1>\r\n\r\nHi\r\n"
    ).encode()


async def test_a_mail_claimed_by_a_worker_that_died_is_sent_once_later(
    desk: Desk,
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await push_channel(client, world)
    await desk.ticket()
    await pump(settings.model_copy(update={"smtp_url": None}), sessionmaker)  # planned only
    claimed = await sending.claim(sessionmaker, 10)  # ... and the worker dies here
    assert len(claimed) == 1
    assert await sending.send_batch(settings, sessionmaker) == 0  # leased, not due
    monkeypatch.setattr(sending, "LEASE", sending.LEASE * 0)
    assert await sending.send_batch(settings, sessionmaker) == 1
    assert len(inbox.to(CUSTOMER)) == 1


async def test_replanning_the_same_events_queues_nothing_twice(
    desk: Desk,
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await push_channel(client, world)
    ticket_id = await desk.ticket()
    await desk.reply(ticket_id, "Reply one.")
    no_smtp = settings.model_copy(update={"smtp_url": None})
    await pump(no_smtp, sessionmaker)
    count = select(func.count()).select_from(OutboundMail)
    async with sessionmaker() as session:
        queued = await session.scalar(count)
    assert queued == 2
    # A crash after the mail was queued but before the cursor moved re-reads the events.
    async with transaction(sessionmaker) as session:
        await session.execute(update(EmailEventCursor).values(event_id=EmailEventCursor.event_id))
        cursor = await session.get(EmailEventCursor, "outbound")
        assert cursor is not None
        cursor.published_at = cursor.published_at.replace(year=2000)
    async with transaction(sessionmaker) as session:
        assert await plan_batch(session, no_smtp) > 0
    async with sessionmaker() as session:
        assert await session.scalar(count) == queued
