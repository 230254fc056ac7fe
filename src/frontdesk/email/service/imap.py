"""Polling IMAP mailboxes: fetch a batch, file it in one transaction, then mark it.

A fetched message is marked only after the transaction that filed it committed: moved to the
processed folder when the channel names one, else flagged `\\Seen` and `$Frontdesk`. A crash
in between fetches it again next time, and its Message-ID makes the second filing a no-op.
With a processed folder, flagged mail still in the folder is fetched again after the new mail,
so a crash after flagging and before the move cannot strand a message there; the move is one
`UID MOVE` where the server offers it (RFC 6851), else a copy, a delete and an expunge, and a
crash inside those leaves a second copy in the processed folder, never none.
A mailbox with a backlog is worked through batch after batch in the same pass, bounded in
messages and seconds so that one busy mailbox cannot starve the others. The client is the
standard library's imaplib, run in a worker thread.
"""

from __future__ import annotations

import imaplib
import re
import ssl
import time
from dataclasses import dataclass
from datetime import timedelta

import anyio
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.clock import utcnow
from frontdesk.core.db import transaction
from frontdesk.core.logs import get_logger
from frontdesk.core.security import decrypt_secret
from frontdesk.core.storage import BlobStore
from frontdesk.email.models import ChannelMode, ImapSecurity, InboundChannel
from frontdesk.email.service.batch_intake import receive_batch
from frontdesk.email.service.intake import EMAIL_ACTOR

log = get_logger(__name__)

IMPORTED_KEYWORD = "$Frontdesk"
BATCH = 50
TIMEOUT = 30.0
FETCHED_UID = re.compile(rb"\bUID (\d+)")


@dataclass(frozen=True)
class PassLimit:
    """How much one poll of one mailbox may take on before it yields to the next."""

    messages: int = 1000
    seconds: float = 60.0


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    security: str
    user: str
    password: str
    folder: str
    processed_folder: str | None


class ImapFailed(RuntimeError):
    pass


def _capabilities(client: imaplib.IMAP4) -> set[str]:
    """As the server states them after login (before it, a server may name fewer)."""
    status, data = client.capability()
    if status != "OK" or not data or not isinstance(data[0], bytes):
        return set()
    return {name.upper() for name in data[0].decode(errors="replace").split()}


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapSession:
    """A blocking IMAP connection; each method is called through `anyio.to_thread`."""

    def __init__(self, box: Mailbox) -> None:
        self.box = box
        self.client: imaplib.IMAP4 | None = None
        self.can_move = False

    def open(self) -> None:
        box = self.box
        if box.security == ImapSecurity.TLS:
            client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                box.host, box.port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT
            )
        else:
            client = imaplib.IMAP4(box.host, box.port, timeout=TIMEOUT)
        try:
            if box.security == ImapSecurity.STARTTLS:
                client.starttls(ssl.create_default_context())
            client.login(box.user, box.password)
            self.can_move = box.processed_folder is not None and "MOVE" in _capabilities(client)
            status, _ = client.select(_quoted(box.folder))
            if status != "OK":
                raise ImapFailed(f"cannot open folder {box.folder!r}")
        except BaseException:
            client.shutdown()
            raise
        self.client = client

    def unprocessed(self) -> list[str]:
        """New mail first (so a move the server keeps refusing never holds it back); then, with
        a processed folder, mail flagged but still here, already filed, to move again (a crash
        or a refused move came between the flag and the move)."""
        fresh = self._search("UNKEYWORD", IMPORTED_KEYWORD)
        if not self.box.processed_folder or len(fresh) >= BATCH:
            return fresh[:BATCH]
        return (fresh + self._search("UNDELETED", "KEYWORD", IMPORTED_KEYWORD))[:BATCH]

    def _search(self, *criteria: str) -> list[str]:
        assert self.client is not None
        status, data = self.client.uid("SEARCH", *criteria)
        if status != "OK":
            raise ImapFailed("search failed")
        found = data[0] if data and isinstance(data[0], bytes) else b""
        return [uid.decode() for uid in found.split()]

    def fetch(self, uids: list[str]) -> dict[str, bytes]:
        """The raw messages of `uids`, in one round trip; a vanished one is simply absent."""
        assert self.client is not None
        status, data = self.client.uid("FETCH", ",".join(uids), "(UID BODY.PEEK[])")
        if status != "OK":
            return {}
        found = {}
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                uid = FETCHED_UID.search(item[0])
                if uid is not None:
                    found[uid.group(1).decode()] = item[1]
        return found

    def mark(self, uids: list[str]) -> None:
        assert self.client is not None
        uid_set = ",".join(uids)
        self.client.uid("STORE", uid_set, "+FLAGS", f"(\\Seen {IMPORTED_KEYWORD})")
        if self.box.processed_folder:
            self._move(uid_set, _quoted(self.box.processed_folder))

    def _move(self, uid_set: str, folder: str) -> None:
        """Out of the polled folder; a refused move is the channel's error, and the messages
        stay to be fetched (and found filed) again."""
        assert self.client is not None
        if self.can_move:
            status, data = self.client.uid("MOVE", uid_set, folder)
        else:
            status, data = self.client.uid("COPY", uid_set, folder)
            if status == "OK":
                self.client.uid("STORE", uid_set, "+FLAGS", "(\\Deleted)")
                self.client.expunge()
        if status != "OK":
            said = data[0].decode(errors="replace") if data and isinstance(data[0], bytes) else ""
            raise ImapFailed(f"cannot move messages to {self.box.processed_folder!r}: {said}")

    def close(self) -> None:
        if self.client is None:
            return
        try:
            self.client.logout()
        except Exception:
            log.debug("imap_logout_failed")


def mailbox_of(channel: InboundChannel) -> Mailbox:
    if not (channel.imap_host and channel.imap_user and channel.imap_password_encrypted):
        raise ImapFailed("the channel's IMAP settings are incomplete")
    return Mailbox(
        host=channel.imap_host,
        port=channel.imap_port or 993,
        security=channel.imap_security or ImapSecurity.TLS.value,
        user=channel.imap_user,
        password=decrypt_secret(channel.imap_password_encrypted),
        folder=channel.imap_folder,
        processed_folder=channel.imap_processed_folder,
    )


async def poll_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    store: BlobStore,
    every_seconds: float,
    limit: PassLimit = PassLimit(),
) -> int:
    """Poll each active IMAP channel not polled in the last `every_seconds`; returns how many
    messages were filed."""
    since = utcnow() - timedelta(seconds=every_seconds)
    async with sessionmaker() as session:
        channels = list(
            await session.scalars(
                select(InboundChannel).where(
                    InboundChannel.mode == ChannelMode.IMAP.value,
                    InboundChannel.is_active.is_(True),
                    or_(
                        InboundChannel.last_polled_at.is_(None),
                        InboundChannel.last_polled_at <= since,
                    ),
                )
            )
        )
    filed = 0
    for channel in channels:
        filed += await poll_channel(sessionmaker, store, channel, limit)
    return filed


async def poll_channel(
    sessionmaker: async_sessionmaker[AsyncSession],
    store: BlobStore,
    channel: InboundChannel,
    limit: PassLimit = PassLimit(),
) -> int:
    """File what waits in the channel's mailbox, batch after batch while a full batch came
    and the pass's limit allows; returns how many messages were filed."""
    filed, error = 0, None
    imap: ImapSession | None = None
    deadline = time.monotonic() + limit.seconds
    try:
        imap = ImapSession(mailbox_of(channel))
        await anyio.to_thread.run_sync(imap.open)
        while filed < limit.messages and time.monotonic() < deadline:
            uids = (await anyio.to_thread.run_sync(imap.unprocessed))[: limit.messages - filed]
            if not uids:
                break
            batch = await _file_batch(sessionmaker, store, channel, imap, uids)
            if batch is None:  # the channel was deleted meanwhile
                break
            filed += batch
            if len(uids) < BATCH:
                break
    except Exception as exc:  # a mailbox that is down must not stop the others
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning("imap_poll_failed", channel_id=str(channel.id), error=error)
    finally:
        if imap is not None:
            await anyio.to_thread.run_sync(imap.close)
    await _record_poll(sessionmaker, channel, error)
    return filed


async def _file_batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    store: BlobStore,
    channel: InboundChannel,
    imap: ImapSession,
    uids: list[str],
) -> int | None:
    """One transaction for the batch (filed in bulk where it can be, see `receive_batch`), then
    the marks; None when the channel is gone."""
    raws = await anyio.to_thread.run_sync(imap.fetch, uids)
    async with transaction(sessionmaker, actor=EMAIL_ACTOR) as session:
        live = await session.get(InboundChannel, (channel.tenant_id, channel.id))
        if live is None:
            return None
        await receive_batch(session, store, live, [raws[uid] for uid in uids if uid in raws])
    await anyio.to_thread.run_sync(imap.mark, uids)
    return sum(1 for uid in uids if uid in raws)


async def _record_poll(
    sessionmaker: async_sessionmaker[AsyncSession], channel: InboundChannel, error: str | None
) -> None:
    # A plain UPDATE: polling is not an edit, so the channel's version (its ETag) stays.
    async with transaction(sessionmaker, actor=EMAIL_ACTOR) as session:
        await session.execute(
            update(InboundChannel)
            .where(InboundChannel.tenant_id == channel.tenant_id, InboundChannel.id == channel.id)
            .values(last_polled_at=utcnow(), last_error=error)
        )
