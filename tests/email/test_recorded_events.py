"""Mail planned from what the event recorded, and the channel's default group at intake."""

from __future__ import annotations

from email.utils import make_msgid
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from frontdesk.core.db import transaction
from frontdesk.core.storage import LocalBlobStore
from frontdesk.email.models import InboundChannel, OutboundMail
from frontdesk.email.service.batch_intake import receive_batch
from frontdesk.email.service.intake import EMAIL_ACTOR
from tests.email.conftest import DESK, Inbox, pump, push, push_channel
from tests.factories import World


def mail(sender: str, subject: str) -> bytes:
    lines = [f"From: {sender}", f"To: {DESK}", f"Subject: {subject}"]
    lines.append(f"Message-ID: {make_msgid(domain='customer.example.org')}")
    return ("\r\n".join(lines) + "\r\n\r\nHello.\r\n").encode()


async def _call(client: httpx.AsyncClient, world: World, method: str, path: str, **kw: Any) -> Any:
    response = await client.request(
        method, f"/api/v1/tenants/{world.a.slug}{path}", headers=world.a["owner"].auth, **kw
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _group_with_agent(client: httpx.AsyncClient, world: World, name: str) -> str:
    group = await _call(client, world, "POST", "/groups", json={"name": name})
    member = {"user_id": str(world.a["agent"].user_id)}
    await _call(client, world, "POST", f"/groups/{group['id']}/members", json=member)
    group_id: str = group["id"]
    return group_id


async def test_new_ticket_mail_goes_to_the_group_the_event_recorded(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,
) -> None:
    billing = await _group_with_agent(client, world, "Billing")
    sales = await _call(client, world, "POST", "/groups", json={"name": "Sales"})
    _, path = await push_channel(client, world, default_group_id=billing)
    receipt = await push(client, path, mail("dana@customer.example.org", "Invoice"))
    ticket = await _call(client, world, "GET", f"/tickets/{receipt['ticket_id']}")
    assert ticket["group_id"] == billing
    # Moved to another group before the planner ran.
    await _call(client, world, "PATCH", f"/tickets/{ticket['id']}", json={"group_id": sales["id"]})
    await pump(settings, sessionmaker)
    async with sessionmaker() as session:
        kinds = list(
            await session.scalars(
                select(OutboundMail.kind).where(
                    OutboundMail.tenant_id == world.a.id,
                    OutboundMail.recipient == world.a["agent"].email,
                )
            )
        )
    assert kinds == ["new_ticket"]
    assert inbox.to(world.a["agent"].email)


async def test_the_channels_default_group_is_applied_at_intake_both_ways(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: LocalBlobStore,
) -> None:
    group = await _group_with_agent(client, world, "Support")
    channel_id, path = await push_channel(client, world, default_group_id=group)
    pushed = await push(client, path, mail("dana@customer.example.org", "Pushed"))
    async with transaction(sessionmaker, actor=EMAIL_ACTOR) as session:
        channel = await session.get(InboundChannel, (world.a.id, UUID(channel_id)))
        assert channel is not None
        raws = [mail(f"c{n}@customer.example.org", f"Batched {n}") for n in range(3)]
        batched = await receive_batch(session, store, channel, raws)
    ids = [pushed["ticket_id"], *(str(r.record.ticket_id) for r in batched)]
    for ticket_id in ids:
        ticket = await _call(client, world, "GET", f"/tickets/{ticket_id}")
        assert ticket["group_id"] == group
