"""Admin pages for email channels and the outbound mail queue, through their forms."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.clock import utcnow
from frontdesk.core.db import transaction
from frontdesk.email.models import OutboundMail
from tests.factories import World
from tests.web.pages import csrf_for, sign_in

CHANNELS = "/app/acme/admin/channels"
OUTBOUND = "/app/acme/admin/mail/outbound"
API = "/api/v1/tenants/acme"
RAW_MAIL = (
    b"From: Carla <carla@acme.example>\r\nTo: help@acme.example\r\nSubject: Hi\r\n\r\nHello\r\n"
)


def imap_form(csrf: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "mode": "imap",
        "name": "Support",
        "address": "help@acme.example",
        "imap_host": "127.0.0.1",
        "imap_port": "1143",
        "imap_security": "starttls",
        "imap_user": "help",
        "imap_password": "hunter2-secret",
        "imap_folder": "INBOX",
        "default_priority": "high",
        "default_type": "incident",
        "non_participant_policy": "internal_note",
        "is_active": "on",
        "add_cc_participants": "on",
    }
    return form | changes


async def _channels(client: httpx.AsyncClient, world: World) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/channels", headers=world.a["owner"].auth)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def _mail(
    sessionmaker: async_sessionmaker[AsyncSession], tenant_id: UUID, status: str, n: int
) -> OutboundMail:
    async with transaction(sessionmaker) as session:
        mail = OutboundMail(
            tenant_id=tenant_id,
            dedup_key=f"test:{n}",
            kind="reply",
            recipient=f"person{n}@example.test",
            from_address="help@acme.example",
            subject=f"Mail {n}",
            body_text="Hello",
            message_id=f"<{n}@frontdesk.test>",
            status=status,
            attempts=5 if status == "failed" else 0,
            last_error="550 mailbox unavailable" if status == "failed" else None,
            next_attempt_at=utcnow(),
        )
        session.add(mail)
    return mail


async def test_pages_render_for_an_admin(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["admin"].email)
    for path in (CHANNELS, OUTBOUND, f"{OUTBOUND}?status=failed", f"{OUTBOUND}?status=nonsense"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert 'href="/app/acme/admin/channels"' in response.text  # in the admin navigation


@pytest.mark.parametrize("who", ["agent", "light_agent", "contact"])
async def test_others_are_refused(client: httpx.AsyncClient, world: World, who: str) -> None:
    await sign_in(client, world.a[who].email)
    for path in (CHANNELS, OUTBOUND):
        assert (await client.get(path)).status_code == 403, (who, path)


async def test_another_tenants_admin_is_refused(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    mail = await _mail(sessionmaker, world.a.id, "failed", 1)
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, CHANNELS)
    await client.post(CHANNELS, data=imap_form(csrf))
    (channel,) = await _channels(client, world)
    client.cookies.clear()
    await sign_in(client, world.b["admin"].email)
    for path in (CHANNELS, OUTBOUND, f"{CHANNELS}/{channel['id']}"):
        assert (await client.get(path)).status_code in (403, 404), path
    csrf_b = await csrf_for(client, "/app/acmeco/admin/channels")
    assert (await client.get(f"/app/acmeco/admin/channels/{channel['id']}")).status_code == 404
    retried = await client.post(
        f"/app/acmeco/admin/mail/outbound/{mail.id}/retry", data={"csrf_token": csrf_b}
    )
    assert retried.status_code == 404
    deleted = await client.post(
        f"/app/acmeco/admin/channels/{channel['id']}/delete", data={"csrf_token": csrf_b}
    )
    assert deleted.status_code == 404
    assert len(await _channels(client, world)) == 1


async def test_imap_channel_create_edit_delete(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, CHANNELS)
    created = await client.post(CHANNELS, data=imap_form(csrf))
    assert created.status_code == 303, created.text
    (channel,) = await _channels(client, world)
    assert channel["mode"] == "imap"
    assert channel["imap"]["has_password"] is True
    assert (channel["imap"]["port"], channel["imap"]["security"]) == (1143, "starttls")
    assert (channel["default_priority"], channel["non_participant_policy"]) == (
        "high",
        "internal_note",
    )
    assert channel["auto_acknowledge"] is False
    assert channel["add_cc_participants"] is True

    page = await client.get(f"{CHANNELS}/{channel['id']}")
    assert page.status_code == 200
    assert "hunter2" not in page.text  # the password is never sent back
    assert 'value="1143"' in page.text

    # An empty password keeps the stored one; the defaults change.
    edited = await client.post(
        f"{CHANNELS}/{channel['id']}",
        data=imap_form(csrf, imap_password="", default_priority="low", auto_acknowledge="on"),
    )
    assert edited.status_code == 303, edited.text
    (channel,) = await _channels(client, world)
    assert channel["default_priority"] == "low"
    assert channel["auto_acknowledge"] is True
    assert channel["imap"]["has_password"] is True

    deactivated = await client.post(
        f"{CHANNELS}/{channel['id']}", data=imap_form(csrf, imap_password="", is_active="")
    )
    assert deactivated.status_code == 303
    assert (await _channels(client, world))[0]["is_active"] is False

    deleted = await client.post(f"{CHANNELS}/{channel['id']}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 303
    assert await _channels(client, world) == []


async def test_push_url_is_shown_once_and_can_be_rotated(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, CHANNELS)
    form = imap_form(csrf, mode="push", imap_host="", imap_user="", imap_password="")
    created = await client.post(CHANNELS, data=form)
    assert created.status_code == 200, created.text
    assert "data-secret" in created.text
    first = created.text.split("data-secret>", 1)[1].split("<", 1)[0]
    assert "/api/v1/email/inbound/fdm_" in first
    (channel,) = await _channels(client, world)
    assert channel["mode"] == "push"
    assert channel["imap"] is None
    for path in (CHANNELS, f"{CHANNELS}/{channel['id']}"):
        again = await client.get(path)
        assert "data-secret" not in again.text
        assert first not in again.text

    rotated = await client.post(f"{CHANNELS}/{channel['id']}/rotate", data={"csrf_token": csrf})
    assert rotated.status_code == 200
    second = rotated.text.split("data-secret>", 1)[1].split("<", 1)[0]
    assert second != first
    headers = {"Content-Type": "message/rfc822"}
    old = await client.post(httpx.URL(first).path, content=RAW_MAIL, headers=headers)
    assert old.status_code == 404
    new = await client.post(httpx.URL(second).path, content=RAW_MAIL, headers=headers)
    assert new.status_code == 202, new.text
    audit = await client.get(f"{API}/audit?limit=200", headers=world.a["owner"].auth)
    assert audit.status_code == 200, audit.text
    assert "push_url_rotated" in [e["action"] for e in audit.json()["items"]]


async def test_an_imap_channel_has_no_push_url_to_rotate(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, CHANNELS)
    await client.post(CHANNELS, data=imap_form(csrf))
    (channel,) = await _channels(client, world)
    refused = await client.post(f"{CHANNELS}/{channel['id']}/rotate", data={"csrf_token": csrf})
    assert refused.status_code == 422
    assert "only a push channel" in refused.text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"address": "not-an-address"}, "address"),
        ({"imap_port": "70000"}, "imap.port"),
        ({"imap_host": "bad host!"}, "imap.host"),
        ({"imap_password": ""}, "an IMAP channel needs imap.password"),
        ({"default_status": "no_such_status"}, "default_status"),
        ({"mode": "carrier_pigeon"}, "mode"),
    ],
)
async def test_a_bad_channel_is_shown_again_with_its_error(
    client: httpx.AsyncClient, world: World, changes: dict[str, str], field: str
) -> None:
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, CHANNELS)
    response = await client.post(CHANNELS, data=imap_form(csrf, **changes))
    assert response.status_code == 422, response.text
    assert 'role="alert"' in response.text
    assert field in response.text
    assert "hunter2" not in response.text  # a typed password is not echoed either
    assert 'value="Support"' in response.text
    assert await _channels(client, world) == []


async def test_a_refused_edit_keeps_the_channel(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, CHANNELS)
    await client.post(CHANNELS, data=imap_form(csrf))
    (before,) = await _channels(client, world)
    refused = await client.post(
        f"{CHANNELS}/{before['id']}",
        data=imap_form(csrf, name="Renamed", imap_port="0", imap_password="new-secret"),
    )
    assert refused.status_code == 422
    assert "imap.port" in refused.text
    assert "new-secret" not in refused.text
    assert await _channels(client, world) == [before]


async def test_outbound_queue_and_retry(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    failed = await _mail(sessionmaker, world.a.id, "failed", 1)
    sent = await _mail(sessionmaker, world.a.id, "sent", 2)
    await _mail(sessionmaker, world.b.id, "failed", 3)
    await sign_in(client, world.a["owner"].email)
    page = await client.get(OUTBOUND)
    assert "person1@example.test" in page.text
    assert "person2@example.test" in page.text
    assert "person3@example.test" not in page.text  # another desk's mail
    assert "550 mailbox unavailable" in page.text
    only_failed = await client.get(f"{OUTBOUND}?status=failed")
    assert "person2@example.test" not in only_failed.text

    csrf = await csrf_for(client, OUTBOUND)
    retried = await client.post(f"{OUTBOUND}/{failed.id}/retry", data={"csrf_token": csrf})
    assert retried.status_code == 303
    mail = await client.get(f"{API}/outbound-mail/{failed.id}", headers=world.a["owner"].auth)
    assert (mail.json()["status"], mail.json()["attempts"]) == ("pending", 0)

    refused = await client.post(f"{OUTBOUND}/{sent.id}/retry", data={"csrf_token": csrf})
    assert refused.status_code == 409
    assert "the mail is sent" in refused.text
    forged = await client.post(f"{OUTBOUND}/{failed.id}/retry", data={"csrf_token": "x"})
    assert forged.status_code == 403
