"""IMAP polling against a real Dovecot on loopback (its own config, port and Maildir).

Locally the tests skip, saying so, when Dovecot is not installed; `.ci/run` installs it and
sets FRONTDESK_REQUIRE_DOVECOT, so in CI a missing Dovecot fails instead of skipping.
"""

from __future__ import annotations

import getpass
import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import make_msgid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.security import decrypt_secret
from frontdesk.core.storage import LocalBlobStore
from frontdesk.email.models import InboundChannel
from frontdesk.email.service.imap import BATCH, IMPORTED_KEYWORD, PassLimit, poll_all
from tests.email.conftest import DESK, free_port
from tests.factories import World

DOVECOT = shutil.which("dovecot") or (
    "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
)
USER, PASSWORD = "support@acme.example.com", "imap-secret-password"

if DOVECOT is None and os.environ.get("FRONTDESK_REQUIRE_DOVECOT"):
    raise RuntimeError("Dovecot is required here (FRONTDESK_REQUIRE_DOVECOT) but not installed")

pytestmark = pytest.mark.skipif(
    DOVECOT is None,
    reason="Dovecot is not installed (apt-get install dovecot-imapd); CI installs it",
)

CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%n/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service auth {{
  user = {user}
}}
service auth-worker {{
  user = {user}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0600
  }}
  unix_listener stats-writer {{
    mode = 0600
  }}
}}
"""


@dataclass
class Mailbox:
    port: int

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            status, _ = client.append(folder, "", imaplib.Time2Internaldate(time.time()), raw)
            assert status == "OK"
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> list[str]:
        client = self.client()
        try:
            client.select(folder)
            _, data = client.fetch("1:*", "(FLAGS)")
            return [item.decode() for item in data if isinstance(item, bytes)]
        finally:
            client.logout()

    def count(self, folder: str) -> int:
        client = self.client()
        try:
            status, data = client.select(folder)
            assert status == "OK", data
            return int(data[0] or 0)
        finally:
            client.logout()

    def create(self, folder: str) -> None:
        client = self.client()
        try:
            client.create(folder)
        finally:
            client.logout()


def _mail_owner() -> tuple[int, int]:
    """Dovecot never delivers as root: as root, the mail belongs to `nobody`."""
    if os.getuid() != 0:
        return os.getuid(), os.getgid()
    nobody = pwd.getpwnam("nobody")
    return nobody.pw_uid, nobody.pw_gid


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Mailbox]:
    assert DOVECOT is not None
    # Its own directory, readable by Dovecot's unprivileged processes (pytest's are not).
    root = Path(tempfile.mkdtemp(prefix="frontdesk-dovecot-"))
    root.chmod(0o755)
    uid, gid = _mail_owner()
    for folder in ("run", "state", "mail"):
        (root / folder).mkdir()
    os.chown(root / "mail", uid, gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    port = free_port()
    config = root / "dovecot.conf"
    config.write_text(CONFIG.format(root=root, port=port, uid=uid, gid=gid, user=getpass.getuser()))
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        _wait_for(port, process, root)
        yield Mailbox(port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        shutil.rmtree(root, ignore_errors=True)


def _wait_for(port: int, process: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            raise RuntimeError(f"dovecot exited: {output}\n{log}")
        try:
            imaplib.IMAP4("127.0.0.1", port, timeout=1).logout()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("dovecot did not start listening")


def raw_mail(subject: str, message_id: str | None = None) -> bytes:
    return (
        f"From: Dana Scully <dana@customer.example.org>\r\nTo: {DESK}\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id or make_msgid(domain='customer.example.org')}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nHello from IMAP.\r\n"
    ).encode()


async def imap_channel(
    client: httpx.AsyncClient, world: World, port: int, address: str = DESK, **imap: str
) -> str:
    body = {
        "kind": "email",
        "name": f"IMAP {address}",
        "address": address,
        "mode": "imap",
        "imap": {
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "user": USER,
            "password": PASSWORD,
        }
        | imap,
    }
    response = await client.post(
        f"/api/v1/tenants/{world.a.slug}/channels", json=body, headers=world.a["owner"].auth
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["push_url"] is None
    assert created["imap"]["has_password"] is True
    assert PASSWORD not in response.text
    channel_id: str = created["id"]
    return channel_id


async def _tickets(client: httpx.AsyncClient, world: World) -> list[dict[str, object]]:
    listed = await client.get(
        f"/api/v1/tenants/{world.a.slug}/tickets", headers=world.a["owner"].auth
    )
    items: list[dict[str, object]] = listed.json()["items"]
    return items


async def test_polling_imports_each_message_once_and_flags_it(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: LocalBlobStore,
    dovecot: Mailbox,
) -> None:
    await imap_channel(client, world, dovecot.port)
    repeated = make_msgid(domain="customer.example.org")
    for raw in (raw_mail("First"), raw_mail("Second", repeated), raw_mail("Again", repeated)):
        dovecot.append(raw)

    assert await poll_all(sessionmaker, store, every_seconds=0) == 3
    subjects = sorted(str(t["subject"]) for t in await _tickets(client, world))
    assert subjects == ["First", "Second"]
    assert all(IMPORTED_KEYWORD in flags and "\\Seen" in flags for flags in dovecot.flags())

    # Nothing new: nothing filed. A restart that lost the flags files nothing twice either.
    assert await poll_all(sessionmaker, store, every_seconds=0) == 0
    client_ = dovecot.client()
    client_.select("INBOX")
    client_.store("1:*", "-FLAGS", f"({IMPORTED_KEYWORD})")
    client_.logout()
    assert await poll_all(sessionmaker, store, every_seconds=0) == 3
    assert len(await _tickets(client, world)) == 2

    # The password is stored encrypted with the service's key.
    async with sessionmaker() as session:
        channel = await session.scalar(select(InboundChannel))
    assert channel is not None
    assert channel.imap_password_encrypted is not None
    assert PASSWORD not in channel.imap_password_encrypted
    assert decrypt_secret(channel.imap_password_encrypted) == PASSWORD
    assert channel.last_error is None


async def test_a_processed_folder_receives_what_was_imported(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: LocalBlobStore,
    dovecot: Mailbox,
) -> None:
    dovecot.create("Incoming")
    dovecot.create("Processed")
    await imap_channel(client, world, dovecot.port, folder="Incoming", processed_folder="Processed")
    dovecot.append(raw_mail("Moved along"), folder="Incoming")
    assert await poll_all(sessionmaker, store, every_seconds=0) == 1
    assert (dovecot.count("Incoming"), dovecot.count("Processed")) == (0, 1)


async def test_a_refused_move_is_the_channels_error_and_holds_no_new_mail_back(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: LocalBlobStore,
    dovecot: Mailbox,
) -> None:
    dovecot.create("Unsorted")
    channel_id = await imap_channel(
        client, world, dovecot.port, folder="Unsorted", processed_folder="Sorted"
    )
    channel_url = f"/api/v1/tenants/{world.a.slug}/channels/{channel_id}"
    for n in range(BATCH):
        dovecot.append(raw_mail(f"Before the folder exists {n}"), folder="Unsorted")
    await poll_all(sessionmaker, store, every_seconds=0)
    shown = await client.get(channel_url, headers=world.a["owner"].auth)
    assert "cannot move messages to 'Sorted'" in shown.json()["last_error"]
    assert (dovecot.count("Unsorted"), len(await _tickets_all(client, world))) == (BATCH, BATCH)

    # A full batch flagged and not moved: new mail is fetched ahead of it, nothing twice.
    dovecot.append(raw_mail("While the folder is missing"), folder="Unsorted")
    await poll_all(sessionmaker, store, every_seconds=0)
    assert len(await _tickets_all(client, world)) == BATCH + 1

    dovecot.create("Sorted")
    await poll_all(sessionmaker, store, every_seconds=0)
    assert (dovecot.count("Unsorted"), dovecot.count("Sorted")) == (0, BATCH + 1)
    assert len(await _tickets_all(client, world)) == BATCH + 1
    shown = await client.get(channel_url, headers=world.a["owner"].auth)
    assert shown.json()["last_error"] is None


async def test_a_wrong_password_is_recorded_on_the_channel(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: LocalBlobStore,
    dovecot: Mailbox,
) -> None:
    channel_id = await imap_channel(client, world, dovecot.port, password="not-the-password")
    assert await poll_all(sessionmaker, store, every_seconds=0) == 0
    shown = await client.get(
        f"/api/v1/tenants/{world.a.slug}/channels/{channel_id}", headers=world.a["owner"].auth
    )
    assert (
        "AUTHENTICATIONFAILED" in shown.json()["last_error"]
        or "auth" in shown.json()["last_error"].lower()
    )


async def test_a_backlog_is_worked_through_in_one_pass_within_its_limit(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: LocalBlobStore,
    dovecot: Mailbox,
) -> None:
    dovecot.create("Backlog")
    await imap_channel(client, world, dovecot.port, folder="Backlog")
    waiting = 2 * BATCH + 20
    connection = dovecot.client()
    try:
        for number in range(waiting):
            raw = raw_mail(f"Backlog {number}")
            status, _ = connection.append(
                "Backlog", "", imaplib.Time2Internaldate(time.time()), raw
            )
            assert status == "OK"
    finally:
        connection.logout()

    # Bounded: one pass takes at most its limit, the next pass the rest.
    first = await poll_all(sessionmaker, store, 0, PassLimit(messages=BATCH + 10))
    assert first == BATCH + 10
    assert await poll_all(sessionmaker, store, every_seconds=0) == waiting - first
    assert await poll_all(sessionmaker, store, every_seconds=0) == 0
    assert len(await _tickets_all(client, world)) == waiting
    flags = dovecot.flags("Backlog")
    assert len(flags) == waiting
    assert all(IMPORTED_KEYWORD in f for f in flags)


async def _tickets_all(client: httpx.AsyncClient, world: World) -> list[str]:
    subjects: list[str] = []
    cursor = None
    while True:
        params = {"limit": "200"} | ({"cursor": cursor} if cursor else {})
        listed = await client.get(
            f"/api/v1/tenants/{world.a.slug}/tickets", params=params, headers=world.a["owner"].auth
        )
        page = listed.json()
        subjects += [str(t["subject"]) for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return subjects
