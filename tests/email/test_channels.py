"""Inbound channels through the admin API: the life of one, the kinds kept for later, and
the per-channel switch that makes a mail's cc addresses participants."""

from __future__ import annotations

from uuid import UUID

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.audit import AuditEntry
from frontdesk.core.events import OutboxEvent
from tests.email.conftest import DESK, push, push_channel
from tests.factories import World


def _mail_with_cc(subject: str) -> bytes:
    return (
        f"From: Ann Lee <ann@customer.example.org>\r\nTo: {DESK}\r\n"
        "Cc: Bo Diaz <bo@customer.example.org>\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{subject.replace(' ', '.')}@customer.example.org>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nPlease help.\r\n"
    ).encode()


async def test_a_channel_is_created_read_updated_and_deleted_with_audit_and_events(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    channels = f"/api/v1/tenants/{world.a.slug}/channels"
    owner = world.a["owner"].auth
    channel_id, _ = await push_channel(client, world)
    url = f"{channels}/{channel_id}"

    listed = await client.get(channels, headers=owner)
    assert [c["id"] for c in listed.json()] == [channel_id]
    changed = await client.patch(
        url, json={"name": "Front line", "add_cc_participants": False}, headers=owner
    )
    assert changed.status_code == 200, changed.text
    shown = (await client.get(url, headers=owner)).json()
    assert (shown["name"], shown["add_cc_participants"], shown["address"]) == (
        "Front line",
        False,
        DESK,
    )
    assert (await client.delete(url, headers=owner)).status_code == 204
    assert (await client.get(url, headers=owner)).status_code == 404

    async with sessionmaker() as session:
        audited = await session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_id == UUID(channel_id))
        )
        events = await session.scalars(
            select(OutboxEvent.type).where(OutboxEvent.subject_id == UUID(channel_id))
        )
        assert sorted(audited) == ["created", "deleted", "updated"]
        assert sorted(t.rsplit(".", 1)[-1] for t in events) == ["created", "deleted", "updated"]


async def test_the_kinds_kept_for_later_are_stored_with_their_external_reference(
    client: httpx.AsyncClient, world: World
) -> None:
    channels = f"/api/v1/tenants/{world.a.slug}/channels"
    owner = world.a["owner"].auth
    for kind in ("chat", "sms", "voice", "api"):
        body = {"kind": kind, "name": f"{kind} line", "external_ref": f"{kind}-4711"}
        created = await client.post(channels, json=body, headers=owner)
        assert created.status_code == 201, created.text
        assert created.json()["push_url"] is None
        shown = (await client.get(f"{channels}/{created.json()['id']}", headers=owner)).json()
        assert (shown["kind"], shown["external_ref"], shown["imap"]) == (kind, f"{kind}-4711", None)


async def test_cc_addresses_become_participants_only_where_the_channel_says_so(
    client: httpx.AsyncClient, world: World
) -> None:
    owner = world.a["owner"].auth
    tenant = f"/api/v1/tenants/{world.a.slug}"
    channel_id, path = await push_channel(client, world)

    async def participants(subject: str) -> set[str]:
        receipt = await push(client, path, _mail_with_cc(subject))
        listed = await client.get(
            f"{tenant}/tickets/{receipt['ticket_id']}/participants", headers=owner
        )
        return {p["email"] for p in listed.json()}

    assert "bo@customer.example.org" in await participants("cc on")
    switched = await client.patch(
        f"{tenant}/channels/{channel_id}", json={"add_cc_participants": False}, headers=owner
    )
    assert switched.status_code == 200, switched.text
    assert "bo@customer.example.org" not in await participants("cc off")
