"""Mail too large or too deep to keep in the corpus, and mail that tries to write where it may
not: each ends in a defined outcome, and the worker's pass over it finishes."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from tests.email.conftest import DESK, pump, push, push_channel
from tests.factories import World

HEADERS = "From: Hostile <hostile@attacker.example.net>\r\nTo: {desk}\r\nSubject: {subject}\r\n"


def mail(subject: str, content_type: str, body: str) -> bytes:
    head = HEADERS.format(desk=DESK, subject=subject)
    head += f"Message-ID: <{os.urandom(8).hex()}@attacker.example.net>\r\nMIME-Version: 1.0\r\n"
    return (head + f"Content-Type: {content_type}\r\n\r\n" + body).encode()


async def test_a_30_mb_attachment_is_left_out_and_the_mail_kept(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    _, path = await push_channel(client, world)
    payload = base64.encodebytes(os.urandom(30 * 1024 * 1024)).decode().replace("\n", "\r\n")
    raw = mail(
        "Huge file",
        'multipart/mixed; boundary="b"',
        "--b\r\nContent-Type: text/plain\r\n\r\nThe video is attached.\r\n"
        "--b\r\nContent-Type: video/mp4\r\nContent-Transfer-Encoding: base64\r\n"
        f'Content-Disposition: attachment; filename="huge.mp4"\r\n\r\n{payload}--b--\r\n',
    )
    receipt = await push(client, path, raw)
    assert receipt["outcome"] == "new_ticket"
    owner = world.a["owner"].auth
    record = (
        await client.get(f"/api/v1/tenants/acme/inbound-mail/{receipt['id']}", headers=owner)
    ).json()
    assert record["raw_size"] == len(raw) > 30 * 1024 * 1024
    assert "huge.mp4" in record["detail"]
    assert "not stored" in record["detail"]
    files = await client.get(
        f"/api/v1/tenants/acme/tickets/{receipt['ticket_id']}/attachments", headers=owner
    )
    assert files.json() == []
    raw_copy = await client.get(
        f"/api/v1/tenants/acme/inbound-mail/{receipt['id']}/raw", headers=owner
    )
    assert raw_copy.content == raw
    await pump(settings, sessionmaker)


async def test_a_thousand_nested_multiparts_open_a_ticket_flagged_for_review(
    client: httpx.AsyncClient, world: World
) -> None:
    _, path = await push_channel(client, world)
    depth = 1000
    opening = "".join(
        f'--n{i}\r\nContent-Type: multipart/mixed; boundary="n{i + 1}"\r\n\r\n'
        for i in range(depth)
    )
    closing = "".join(f"--n{i}--\r\n" for i in range(depth - 1, -1, -1))
    inner = f"--n{depth}\r\nContent-Type: text/plain\r\n\r\nDeep.\r\n--n{depth}--\r\n"
    receipt = await push(
        client, path, mail("Nested", 'multipart/mixed; boundary="n0"', opening + inner + closing)
    )
    assert receipt["outcome"] == "new_ticket"
    assert receipt["needs_review"] is True


async def test_attachment_names_cannot_leave_the_store(
    client: httpx.AsyncClient, world: World, data_dir: Path
) -> None:
    _, path = await push_channel(client, world)
    names = ["../../../../tmp/fd-escape.txt", "/etc/cron.d/evil", "..\\..\\win.ini", "a\x00b.txt"]
    parts = "".join(
        f'--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="{name}"'
        f"\r\n\r\nfile {index}\r\n"
        for index, name in enumerate(names)
    )
    raw = mail(
        "Paths",
        'multipart/mixed; boundary="b"',
        f"--b\r\nContent-Type: text/plain\r\n\r\nHi\r\n{parts}--b--\r\n",
    )
    receipt = await push(client, path, raw)
    listed = await client.get(
        f"/api/v1/tenants/acme/tickets/{receipt['ticket_id']}/attachments",
        headers=world.a["owner"].auth,
    )
    stored = [item["filename"] for item in listed.json()]
    assert len(stored) == len(names)
    assert all("/" not in name and "\\" not in name and "\x00" not in name for name in stored)
    escaped = [Path("/tmp/fd-escape.txt"), data_dir.parent / "fd-escape.txt"]
    assert not [path for path in escaped if path.exists()]


async def test_the_same_mail_pushed_twice_files_one_message(
    client: httpx.AsyncClient, world: World
) -> None:
    _, path = await push_channel(client, world)
    raw = mail("Twice", "text/plain", "Delivered twice by a retrying MTA.\r\n")
    first, second = await push(client, path, raw), await push(client, path, raw)
    assert (first["duplicate"], second["duplicate"]) == (False, True)
    assert first["id"] == second["id"]
    messages = await client.get(
        f"/api/v1/tenants/acme/tickets/{first['ticket_id']}/messages",
        headers=world.a["owner"].auth,
    )
    assert len(messages.json()["items"]) == 1
