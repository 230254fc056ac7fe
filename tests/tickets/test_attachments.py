"""Ticket attachments: real multipart uploads, sniffed types, safe downloads, limits, visibility."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.errors import PayloadTooLarge
from frontdesk.core.events import OutboxEvent
from frontdesk.core.files import ContentSniffer, content_disposition, safe_filename
from frontdesk.core.storage import BlobNotFound, BlobStore, LocalBlobStore, StoredBlob
from frontdesk.tickets.models import ScanStatus, TicketAttachment
from frontdesk.web.middleware import BodySizeLimitMiddleware
from tests.factories import Person, World

BASE = "/api/v1/tenants/acme"
MERGE_PATCH = "application/merge-patch+json"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def png() -> bytes:
    """A real 1x1 PNG, different on every call (a text chunk carries random bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    noise = b"note\x00" + os.urandom(8).hex().encode()
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", noise)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


async def new_ticket(client: httpx.AsyncClient, by: Person, **fields: Any) -> str:
    body: dict[str, Any] = {"subject": "Printer on fire"}
    if by.role != "contact":
        body["requester"] = {"email": "pat@example.org", "name": "Pat"}
    body.update(fields)
    response = await client.post(f"{BASE}/tickets", json=body, headers=by.auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def new_message(
    client: httpx.AsyncClient, ticket_id: str, by: Person, *, internal: bool = False
) -> str:
    response = await client.post(
        f"{BASE}/tickets/{ticket_id}/messages",
        json={"body": "See the attached file", "is_internal": internal},
        headers=by.auth,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def upload(
    client: httpx.AsyncClient,
    ticket_id: str,
    by: Person,
    content: bytes,
    *,
    filename: str = "file.bin",
    content_type: str = "application/octet-stream",
    message_id: str | None = None,
    tenant: str = "acme",
) -> httpx.Response:
    data = {"message_id": message_id} if message_id else None
    return await client.post(
        f"/api/v1/tenants/{tenant}/tickets/{ticket_id}/attachments",
        files={"file": (filename, content, content_type)},
        data=data,
        headers=by.auth,
    )


async def uploaded(
    client: httpx.AsyncClient, ticket_id: str, by: Person, content: bytes, **kw: Any
) -> dict[str, Any]:
    response = await upload(client, ticket_id, by, content, **kw)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def set_tenant(client: httpx.AsyncClient, world: World, **settings: int) -> None:
    response = await client.patch(
        BASE,
        content=json.dumps({"settings": settings}),
        headers={**world.a["admin"].auth, "Content-Type": MERGE_PATCH},
    )
    assert response.status_code == 200, response.text


def attachment_url(ticket_id: str, attachment_id: str = "") -> str:
    url = f"{BASE}/tickets/{ticket_id}/attachments"
    return f"{url}/{attachment_id}" if attachment_id else url


async def row_count(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(TicketAttachment)) or 0)


def blob_files(data_dir: Path, sha256: str) -> list[Path]:
    return list((data_dir / "blobs").rglob(sha256))


def temp_files(data_dir: Path) -> list[Path]:
    temp = data_dir / "blobs" / "tmp"
    return list(temp.iterdir()) if temp.exists() else []


# --- round trip -------------------------------------------------------------------------------


async def test_upload_and_download_round_trip(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    data_dir: Path,
) -> None:
    agent = world.a["agent"]
    ticket_id = await new_ticket(client, agent)
    content = os.urandom(200_000)
    created = await uploaded(client, ticket_id, agent, content, filename="dump.bin")
    digest = hashlib.sha256(content).hexdigest()
    assert created["sha256"] == digest
    assert created["size"] == len(content)
    assert created["filename"] == "dump.bin"
    assert created["content_type"] == "application/octet-stream"
    assert created["scan_status"] == "skipped"
    assert created["message_id"] is None
    assert created["is_public"] is False
    assert blob_files(data_dir, digest) == [data_dir / "blobs" / digest[:2] / digest[2:4] / digest]

    metadata = await client.get(attachment_url(ticket_id, created["id"]), headers=agent.auth)
    assert metadata.status_code == 200
    assert metadata.json() == created
    listed = await client.get(attachment_url(ticket_id), headers=agent.auth)
    assert [a["id"] for a in listed.json()] == [created["id"]]

    download = await client.get(
        f"{attachment_url(ticket_id, created['id'])}/content", headers=agent.auth
    )
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == digest
    assert download.headers["content-length"] == str(len(content))
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"].startswith('attachment; filename="dump.bin"')
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["cache-control"].startswith("private")
    assert "sandbox" in download.headers["content-security-policy"]

    async with sessionmaker() as session:
        event = await session.scalar(
            select(OutboxEvent).where(OutboxEvent.subject_id == UUID(created["id"]))
        )
    assert event is not None
    assert event.type.endswith(".ticket_attachment.created")
    assert event.snapshot["sha256"] == digest
    timeline = await client.get(f"{BASE}/tickets/{ticket_id}/audit", headers=agent.auth)
    added = [e for e in timeline.json()["items"] if e["action"] == "attachment_added"]
    assert len(added) == 1


async def test_an_upload_over_the_general_body_cap_passes_within_the_tenant_limit(
    client: httpx.AsyncClient, world: World
) -> None:
    agent = world.a["agent"]
    ticket_id = await new_ticket(client, agent)
    content = os.urandom(3 * 1024 * 1024)  # the default cap of other bodies is 1 MiB
    created = await uploaded(client, ticket_id, agent, content)
    assert created["size"] == len(content)
    too_big_json = await client.post(
        f"{BASE}/tickets/{ticket_id}/messages",
        json={"body": "x" * (2 * 1024 * 1024)},
        headers=agent.auth,
    )
    assert too_big_json.status_code == 413


async def test_attachments_of_a_message_are_listed_on_it(
    client: httpx.AsyncClient, world: World
) -> None:
    agent = world.a["agent"]
    ticket_id = await new_ticket(client, agent)
    message_id = await new_message(client, ticket_id, agent)
    created = await uploaded(client, ticket_id, agent, png(), message_id=message_id)
    assert created["message_id"] == message_id
    assert created["is_public"] is True
    message = await client.get(
        f"{BASE}/tickets/{ticket_id}/messages/{message_id}", headers=agent.auth
    )
    assert message.json()["attachment_ids"] == [created["id"]]


# --- types and names --------------------------------------------------------------------------


async def test_the_sniffed_type_overrides_the_clients_claim(
    client: httpx.AsyncClient, world: World
) -> None:
    agent = world.a["agent"]
    ticket_id = await new_ticket(client, agent)
    image = png()
    disguised_png = await uploaded(
        client, ticket_id, agent, image, filename="page.html", content_type="text/html"
    )
    assert disguised_png["content_type"] == "image/png"
    served = await client.get(
        f"{attachment_url(ticket_id, disguised_png['id'])}/content", headers=agent.auth
    )
    assert served.headers["content-type"] == "image/png"
    assert served.content == image

    for content, claimed_name in ((HTML, "cat.png"), (SVG, "logo.png")):
        disguised = await uploaded(
            client, ticket_id, agent, content, filename=claimed_name, content_type="image/png"
        )
        assert disguised["content_type"] in ("text/html", "image/svg+xml")
        served = await client.get(
            f"{attachment_url(ticket_id, disguised['id'])}/content", headers=agent.auth
        )
        assert served.headers["content-type"] == "application/octet-stream"
        assert served.headers["content-disposition"].startswith("attachment;")
        assert served.headers["x-content-type-options"] == "nosniff"

    note = await uploaded(
        client, ticket_id, agent, "Grüße, plain text\n".encode(), content_type="image/gif"
    )
    assert note["content_type"] == "text/plain"
    served = await client.get(
        f"{attachment_url(ticket_id, note['id'])}/content", headers=agent.auth
    )
    assert served.headers["content-type"] == "text/plain; charset=utf-8"


def multipart_body(raw_filename: bytes, content: bytes) -> tuple[bytes, str]:
    """A multipart body with the filename exactly as given: httpx would escape it."""
    boundary = "frontdesk-test-boundary"
    body = (
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="'
        + raw_filename
        + b'"\r\nContent-Type: text/html\r\n\r\n'
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    ("raw_filename", "stored"),
    [
        (b"../../etc/passwd", "passwd"),
        (b"..\\\\..\\\\windows\\\\system.ini", "system.ini"),
        (b'quote\\"d name.txt', "quote_d name.txt"),
        (b"line\nbreak\x01\x7f.txt", "linebreak.txt"),
        ("r\u00e9sum\u00e9 \u62a5\u544a.pdf".encode(), "r\u00e9sum\u00e9 \u62a5\u544a.pdf"),
        ("evil\u202egnp.exe".encode(), "evilgnp.exe"),
        (b"..", "attachment"),
    ],
)
async def test_filenames_are_made_safe(
    client: httpx.AsyncClient, world: World, raw_filename: bytes, stored: str
) -> None:
    agent = world.a["agent"]
    ticket_id = await new_ticket(client, agent)
    body, content_type = multipart_body(raw_filename, b"harmless text")
    response = await client.post(
        attachment_url(ticket_id),
        content=body,
        headers={**agent.auth, "Content-Type": content_type},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["filename"] == stored
    served = await client.get(
        f"{attachment_url(ticket_id, created['id'])}/content", headers=agent.auth
    )
    disposition = served.headers["content-disposition"]
    assert disposition.isascii()
    assert "\r" not in disposition
    assert "\n" not in disposition
    ascii_part, _, encoded = disposition.partition("; filename*=UTF-8''")
    assert ascii_part.startswith('attachment; filename="')
    assert ascii_part.endswith('"')
    assert '"' not in ascii_part[len('attachment; filename="') : -1]
    assert "/" not in ascii_part
    assert "\\" not in ascii_part
    assert unquote(encoded) == stored


def test_safe_names_and_dispositions() -> None:
    assert safe_filename(None) == "attachment"
    assert safe_filename("a\x00b<c>:d|e?f*.txt") == "ab_c__d_e_f_.txt"
    long = "x" * 300 + ".pdf"
    assert len(safe_filename(long)) == 255
    assert safe_filename(long).endswith(".pdf")
    assert content_disposition("caf\u00e9.pdf") == (
        "attachment; filename=\"cafe.pdf\"; filename*=UTF-8''caf%C3%A9.pdf"
    )
    assert 'filename="__.txt"' in content_disposition("\u62a5\u544a.txt")


def test_sniffing_is_by_bytes_only() -> None:
    def sniff(content: bytes, filename: str = "x", chunk: int = 7) -> str:
        sniffer = ContentSniffer()
        for start in range(0, len(content), chunk):
            sniffer.feed(content[start : start + chunk])
        return sniffer.content_type(filename)

    assert sniff(png(), "notes.txt") == "image/png"
    assert sniff(b"%PDF-1.7\n" + os.urandom(100), "a.pdf") == "application/pdf"
    assert sniff(b"just some words", "x.exe") == "text/plain"
    assert sniff(b"BM is a fine name for a text", "x.bmp") == "text/plain"
    assert sniff("ünïcödé split across chunks".encode(), chunk=1) == "text/plain"
    assert sniff(b"text with a NUL\x00 byte") == "application/octet-stream"
    assert sniff(b"\x80\x81\x82 random") == "application/octet-stream"
    # Without a byte match the extension means nothing, even a known one.
    assert sniff(b"\x01\x02\x03\x04" * 10, "x.docx") == "application/octet-stream"


# --- limits -----------------------------------------------------------------------------------


async def test_an_empty_file_is_refused(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    data_dir: Path,
) -> None:
    agent = world.a["agent"]
    ticket_id = await new_ticket(client, agent)
    response = await upload(client, ticket_id, agent, b"")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "empty_attachment"
    assert await row_count(sessionmaker) == 0
    assert blob_files(data_dir, hashlib.sha256(b"").hexdigest()) == []
    assert temp_files(data_dir) == []


async def test_a_file_over_the_tenant_limit_is_refused_whole(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    data_dir: Path,
) -> None:
    agent = world.a["agent"]
    await set_tenant(client, world, attachment_max_bytes=4096)
    ticket_id = await new_ticket(client, agent)
    just_right = await upload(client, ticket_id, agent, os.urandom(4096))
    assert just_right.status_code == 201, just_right.text
    too_large = os.urandom(4097)
    response = await upload(client, ticket_id, agent, too_large)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "payload_too_large"
    assert response.json()["max_bytes"] == 4096
    assert await row_count(sessionmaker) == 1
    assert blob_files(data_dir, hashlib.sha256(too_large).hexdigest()) == []
    assert temp_files(data_dir) == []


async def test_a_ticket_holds_at_most_the_tenants_count(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    agent = world.a["agent"]
    await set_tenant(client, world, attachment_max_per_ticket=2)
    ticket_id = await new_ticket(client, agent)
    message_id = await new_message(client, ticket_id, agent)
    await uploaded(client, ticket_id, agent, b"one")
    await uploaded(client, ticket_id, agent, b"two", message_id=message_id)
    third = await upload(client, ticket_id, agent, b"three")
    assert third.status_code == 409
    assert third.json()["code"] == "too_many_attachments"
    assert await row_count(sessionmaker) == 2
    other_ticket = await new_ticket(client, agent)
    assert (await upload(client, other_ticket, agent, b"three")).status_code == 201


async def test_the_tenant_limits_are_bounded(client: httpx.AsyncClient, world: World) -> None:
    for settings in ({"attachment_max_bytes": 0}, {"attachment_max_per_ticket": -1}):
        response = await client.patch(
            BASE,
            content=json.dumps({"settings": settings}),
            headers={**world.a["admin"].auth, "Content-Type": MERGE_PATCH},
        )
        assert response.status_code == 422, settings


async def test_the_same_content_is_stored_once(
    client: httpx.AsyncClient, world: World, data_dir: Path
) -> None:
    content = os.urandom(10_000)
    first_ticket = await new_ticket(client, world.a["agent"])
    second_ticket = await new_ticket(client, world.a["agent"])
    first = await uploaded(client, first_ticket, world.a["agent"], content, filename="a.bin")
    second = await uploaded(client, second_ticket, world.a["agent"], content, filename="b.bin")
    other_ticket = (
        await client.post(
            "/api/v1/tenants/acmeco/tickets",
            json={"subject": "Elsewhere", "requester": {"email": "x@example.org"}},
            headers=world.b["agent"].auth,
        )
    ).json()["id"]
    third = await uploaded(client, other_ticket, world.b["agent"], content, tenant="acmeco")
    assert first["id"] != second["id"]
    assert first["sha256"] == second["sha256"] == third["sha256"]
    assert len(blob_files(data_dir, first["sha256"])) == 1
    for ticket_id, attachment in ((first_ticket, first), (second_ticket, second)):
        download = await client.get(
            f"{attachment_url(ticket_id, attachment['id'])}/content",
            headers=world.a["agent"].auth,
        )
        assert download.content == content


# --- who may do what --------------------------------------------------------------------------


async def test_customers_see_public_attachments_and_their_own_uploads(
    client: httpx.AsyncClient, world: World
) -> None:
    agent, contact = world.a["agent"], world.a["contact"]
    ticket_id = await new_ticket(client, contact)
    note_id = await new_message(client, ticket_id, agent, internal=True)
    reply_id = await new_message(client, ticket_id, agent)
    on_note = await uploaded(client, ticket_id, agent, b"internal", message_id=note_id)
    on_reply = await uploaded(client, ticket_id, agent, b"public", message_id=reply_id)
    staff_side = await uploaded(client, ticket_id, agent, b"staff only")
    own = await uploaded(client, ticket_id, contact, b"my screenshot")
    assert own["is_public"] is False

    listed = await client.get(attachment_url(ticket_id), headers=contact.auth)
    assert {a["id"] for a in listed.json()} == {on_reply["id"], own["id"]}
    for hidden in (on_note, staff_side):
        url = attachment_url(ticket_id, hidden["id"])
        assert (await client.get(url, headers=contact.auth)).status_code == 404
        content = await client.get(f"{url}/content", headers=contact.auth)
        assert content.status_code == 404
        assert content.json()["code"] == "not_found"
    shown = await client.get(
        f"{attachment_url(ticket_id, on_reply['id'])}/content", headers=contact.auth
    )
    assert shown.content == b"public"
    staff_list = await client.get(attachment_url(ticket_id), headers=agent.auth)
    assert len(staff_list.json()) == 4

    timeline = await client.get(f"{BASE}/tickets/{ticket_id}/audit", headers=contact.auth)
    seen = [e["after"]["id"] for e in timeline.json()["items"] if e["action"] == "attachment_added"]
    assert seen == [on_reply["id"]]


async def test_customers_attach_only_to_their_own_public_messages(
    client: httpx.AsyncClient, world: World
) -> None:
    agent, contact = world.a["agent"], world.a["contact"]
    ticket_id = await new_ticket(client, contact)
    mine = await new_message(client, ticket_id, contact)
    reply = await new_message(client, ticket_id, agent)
    note = await new_message(client, ticket_id, agent, internal=True)
    created = await uploaded(client, ticket_id, contact, png(), message_id=mine)
    assert created["is_public"] is True
    refused = await upload(client, ticket_id, contact, b"x", message_id=reply)
    assert refused.status_code == 403
    unseen = await upload(client, ticket_id, contact, b"x", message_id=note)
    assert unseen.status_code == 404


async def test_a_customer_cannot_reach_another_customers_ticket(
    client: httpx.AsyncClient, world: World
) -> None:
    agent, contact = world.a["agent"], world.a["contact"]
    ticket_id = await new_ticket(client, agent)  # requested by someone else
    reply = await new_message(client, ticket_id, agent)
    created = await uploaded(client, ticket_id, agent, b"theirs", message_id=reply)
    url = attachment_url(ticket_id, created["id"])
    for path in (attachment_url(ticket_id), url, f"{url}/content"):
        assert (await client.get(path, headers=contact.auth)).status_code == 404, path
    assert (await upload(client, ticket_id, contact, b"x")).status_code == 404


async def test_light_agents_attach_to_internal_notes_only(
    client: httpx.AsyncClient, world: World
) -> None:
    agent, light = world.a["agent"], world.a["light_agent"]
    ticket_id = await new_ticket(client, agent)
    reply = await new_message(client, ticket_id, agent)
    note = await new_message(client, ticket_id, light, internal=True)
    assert (await upload(client, ticket_id, light, b"x")).status_code == 403
    assert (await upload(client, ticket_id, light, b"x", message_id=reply)).status_code == 403
    created = await uploaded(client, ticket_id, light, b"x", message_id=note)
    assert created["is_public"] is False
    listed = await client.get(attachment_url(ticket_id), headers=light.auth)
    assert [a["id"] for a in listed.json()] == [created["id"]]


async def test_a_message_of_another_ticket_is_not_a_target(
    client: httpx.AsyncClient, world: World
) -> None:
    agent = world.a["agent"]
    ticket_id = await new_ticket(client, agent)
    other_ticket = await new_ticket(client, agent)
    other_message = await new_message(client, other_ticket, agent)
    response = await upload(client, ticket_id, agent, b"x", message_id=other_message)
    assert response.status_code == 404
    assert response.json()["field"] == "message_id"


async def test_other_tenants_and_other_tickets_ids_are_not_found(
    client: httpx.AsyncClient, world: World
) -> None:
    agent_a, agent_b = world.a["agent"], world.b["agent"]
    ticket_id = await new_ticket(client, agent_a)
    created = await uploaded(client, ticket_id, agent_a, b"acme's")
    other_ticket = await new_ticket(client, agent_a)
    b_ticket = (
        await client.post(
            "/api/v1/tenants/acmeco/tickets",
            json={"subject": "Elsewhere", "requester": {"email": "x@example.org"}},
            headers=agent_b.auth,
        )
    ).json()["id"]
    a_path = f"tickets/{ticket_id}/attachments/{created['id']}"
    paths = [
        (f"/api/v1/tenants/acmeco/{a_path}", agent_b),
        (f"/api/v1/tenants/acmeco/tickets/{b_ticket}/attachments/{created['id']}", agent_b),
        (f"/api/v1/tenants/acme/{a_path}", agent_b),
        (attachment_url(other_ticket, created["id"]), agent_a),
    ]
    for path, who in paths:
        for suffix in ("", "/content"):
            response = await client.get(path + suffix, headers=who.auth)
            assert response.status_code == 404, (path + suffix, response.text)
    into_a = await upload(client, ticket_id, agent_b, b"x", tenant="acmeco")
    assert into_a.status_code == 404


# --- scanning ---------------------------------------------------------------------------------


class VerdictScanner:
    def __init__(self, verdict: ScanStatus | None) -> None:
        self.verdict = verdict
        self.seen: list[bytes] = []

    async def scan(self, store: BlobStore, blob: StoredBlob) -> ScanStatus:
        self.seen.append(b"".join([chunk async for chunk in await store.open(blob.key)]))
        if self.verdict is None:
            raise RuntimeError("the scanner is down")
        return self.verdict


async def test_the_scanner_judges_each_upload(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    agent = world.a["agent"]
    ticket_id = await new_ticket(client, agent)
    for verdict, expected in (
        (ScanStatus.CLEAN, "clean"),
        (ScanStatus.INFECTED, "infected"),
        (None, "failed"),
    ):
        scanner = VerdictScanner(verdict)
        app.state.scanner = scanner
        content = f"X5O!P%@AP {expected}".encode()
        created = await uploaded(client, ticket_id, agent, content)
        assert created["scan_status"] == expected
        assert scanner.seen == [content]
        download = await client.get(
            f"{attachment_url(ticket_id, created['id'])}/content", headers=agent.auth
        )
        if expected == "infected":
            assert download.status_code == 403
            assert download.json()["code"] == "attachment_quarantined"
        else:
            assert download.status_code == 200


# --- the pieces on their own ------------------------------------------------------------------


async def chunks_of(*parts: bytes):  # type: ignore[no-untyped-def]
    for part in parts:
        yield part


async def test_the_local_store_writes_whole_files_or_nothing(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    blob = await store.put(chunks_of(b"hello ", b"world"))
    assert blob.sha256 == hashlib.sha256(b"hello world").hexdigest()
    assert (blob.size, blob.is_new) == (11, True)
    assert (await store.put(chunks_of(b"hello world"))).is_new is False
    assert b"".join([c async for c in await store.open(blob.key)]) == b"hello world"
    with pytest.raises(PayloadTooLarge):
        await store.put(chunks_of(b"12345", b"67890"), max_bytes=8)
    assert list((tmp_path / "tmp").iterdir()) == []
    for key in ("0" * 64, "../../etc/passwd"):
        assert not await store.exists(key)
        with pytest.raises(BlobNotFound):
            await store.open(key)
    await store.delete(blob.key)
    assert not await store.exists(blob.key)


def test_only_attachment_uploads_get_the_larger_body_cap() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not called")

    middleware = BodySizeLimitMiddleware(app, max_bytes=1024, upload_max_bytes=4096)
    upload_path = f"{BASE}/tickets/x/attachments"
    bearer = [(b"authorization", b"Bearer fdk_x")]
    cookie = [(b"cookie", b"theme=dark; frontdesk_session=abc")]

    def limit(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> int:
        return middleware.limit_for({"method": method, "path": path, "headers": headers})

    assert limit("POST", upload_path, bearer) == 4096
    assert limit("POST", upload_path + "/", cookie) == 4096
    assert limit("POST", upload_path, []) == 1024  # anonymous: refused before buffering
    assert limit("GET", upload_path, bearer) == 1024
    assert limit("POST", f"{BASE}/tickets", bearer) == 1024
