"""Crash test of IMAP intake on PostgreSQL: the worker is killed -9 while it polls a real Dovecot.

Two IMAP channels of tenant A poll one Dovecot account on loopback: one flags what it imported
(INBOX), the other moves it to a processed folder (Incoming → Processed). A few hundred
distinct messages wait (many senders, replies threading onto earlier messages, some with
attachments); the worker is started and killed with SIGKILL 18 times, with more mail appended
before each start: half the kills come the moment a batch's import is seen committed (aimed at
the gap before the batch is flagged or moved), half a random moment after; then it runs to
the end.

Every appended message is then imported exactly once (one inbound record and one ticket
message per Message-ID), each reply joined its ticket, the mailboxes end flagged or moved as
their channel says (Dovecot offers UID MOVE, so no message is there twice), and at no kill was
a message marked in the mailbox without its import having committed. PostgreSQL only, like
test_crash.py: the worker is a separate process.
"""

from __future__ import annotations

import asyncio
import imaplib
import os
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from functools import partial
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from frontdesk.email.models import InboundMail
from frontdesk.email.service.imap import IMPORTED_KEYWORD
from frontdesk.tickets.models import TicketAttachment, TicketMessage
from tests.email.test_imap import (  # noqa: F401
    DOVECOT,
    Mailbox,
    dovecot,
    imap_channel,
)
from tests.factories import World
from tests.robustness.counters import record
from tests.robustness.processes import Worker

pytestmark = pytest.mark.skipif(DOVECOT is None, reason="Dovecot is not installed")

SEED = int(os.environ.get("FRONTDESK_CRASH_SEED", "8"))
KILLS = 18
FIRST_MAILS = 300
MAILS_PER_ROUND = 16
SENDERS = 40
REPLY_SHARE = 0.25
ATTACHMENT_SHARE = 0.05
FLAGGED, INCOMING, PROCESSED = "INBOX", "Incoming", "Processed"
ADDRESS = {FLAGGED: "help@acme.example.com", INCOMING: "sales@acme.example.com"}


@dataclass(frozen=True)
class Letter:
    message_id: str
    folder: str
    sender: int
    subject: str
    #: The Message-ID this one answers (a message of the same folder, appended earlier).
    answers: str | None
    has_file: bool


@dataclass
class Correspondence:
    """The mail the customers write, seeded: new questions, replies, now and then a file."""

    rng: random.Random
    letters: list[Letter] = field(default_factory=list)

    def write(self, folder: str) -> tuple[Letter, bytes]:
        n = len(self.letters)
        earlier = [letter for letter in self.letters if letter.folder == folder]
        parent = None
        if earlier and self.rng.random() < REPLY_SHARE:
            parent = self.rng.choice(earlier)
        letter = Letter(
            message_id=f"<crash-{n}.{self.rng.getrandbits(32):x}@customers.example.org>",
            folder=folder,
            sender=parent.sender if parent else self.rng.randrange(SENDERS),
            subject=f"Re: {parent.subject}" if parent else f"Question {n} about order {n * 7}",
            answers=parent.message_id if parent else None,
            has_file=self.rng.random() < ATTACHMENT_SHARE,
        )
        self.letters.append(letter)
        return letter, _raw(letter, n)

    def by_id(self) -> dict[str, Letter]:
        return {letter.message_id: letter for letter in self.letters}


def _raw(letter: Letter, n: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Customer {letter.sender} <customer{letter.sender}@customers.example.org>"
    mail["To"] = ADDRESS[letter.folder]
    mail["Subject"] = letter.subject
    mail["Message-ID"] = letter.message_id
    mail["Date"] = formatdate()
    if letter.answers:
        mail["In-Reply-To"] = letter.answers
        mail["References"] = letter.answers
    mail.set_content(f"Hello, this is message {n}.\n\nRegards,\nCustomer {letter.sender}\n")
    if letter.has_file:
        content = f"%PDF-1.4\n% invoice {n}\n".encode() + bytes(range(256)) * 8
        mail.add_attachment(content, "application", "pdf", filename=f"invoice-{n}.pdf")
    return mail.as_bytes(policy=SMTP)


def _append(box: Mailbox, correspondence: Correspondence, count: int) -> None:
    """`count` new messages, spread over both channels' folders, in one IMAP connection."""
    client = box.client()
    try:
        for n in range(count):
            folder = FLAGGED if n % 2 else INCOMING
            _, raw = correspondence.write(folder)
            status, data = client.append(folder, "", imaplib.Time2Internaldate(time.time()), raw)
            assert status == "OK", data
    finally:
        client.logout()


@dataclass(frozen=True)
class Stored:
    """One message as the mailbox holds it."""

    folder: str
    message_id: str
    flags: str


def _mailbox_contents(box: Mailbox) -> list[Stored]:
    client = box.client()
    try:
        found: list[Stored] = []
        for folder in (FLAGGED, INCOMING, PROCESSED):
            status, data = client.select(folder, readonly=True)
            assert status == "OK", data
            if int(data[0] or 0) == 0:
                continue
            _, fetched = client.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            for item in fetched:
                if isinstance(item, tuple):
                    header = item[1].decode().split(":", 1)[1].strip()
                    found.append(Stored(folder, header, item[0].decode()))
        return found
    finally:
        client.logout()


def _is_marked(stored: Stored) -> bool:
    """What the channel does once a message is imported: flag it, or move it out."""
    if stored.folder == FLAGGED:
        return IMPORTED_KEYWORD in stored.flags
    return stored.folder == PROCESSED


def _is_expunged_leftover(stored: Stored) -> bool:
    return stored.folder == INCOMING and "\\Deleted" in stored.flags


async def _imported(sessionmaker: async_sessionmaker[AsyncSession], tenant_id: UUID) -> set[str]:
    async with sessionmaker() as session:
        ids = await session.scalars(
            select(InboundMail.message_id).where(InboundMail.tenant_id == tenant_id)
        )
        return {i for i in ids if i is not None}


async def _count_imported(sessionmaker: async_sessionmaker[AsyncSession], tenant_id: UUID) -> int:
    return len(await _imported(sessionmaker, tenant_id))


async def _imported_beyond(
    sessionmaker: async_sessionmaker[AsyncSession], tenant_id: UUID, before: int
) -> bool:
    return await _count_imported(sessionmaker, tenant_id) > before


async def _eventually(
    within: float, check: Callable[[], Awaitable[bool]], pause: float = 0.01
) -> bool:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(pause)
    return True


@dataclass
class Tally:
    kills: int = 0
    right_after_commit: int = 0
    #: Kills with mail still waiting to be imported.
    mid_import: int = 0
    #: Kills that left a newly committed batch (or part of one) not yet marked.
    between_commit_and_mark: int = 0
    #: Imported but not yet marked when the worker died: fetched again, found filed.
    refetched: set[str] = field(default_factory=set)
    #: Marked in the mailbox with no committed import behind it: would be lost.
    marked_not_imported: list[str] = field(default_factory=list)


async def _after_kill(
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    box: Mailbox,
    correspondence: Correspondence,
    tally: Tally,
) -> None:
    imported = await _imported(sessionmaker, world.a.id)
    tally.kills += 1
    tally.mid_import += len(correspondence.letters) > len(imported)
    unmarked: set[str] = set()
    for stored in _mailbox_contents(box):
        if _is_expunged_leftover(stored):
            continue
        if _is_marked(stored) and stored.message_id not in imported:
            tally.marked_not_imported.append(stored.message_id)
        elif not _is_marked(stored) and stored.message_id in imported:
            unmarked.add(stored.message_id)
    tally.between_commit_and_mark += bool(unmarked - tally.refetched)
    tally.refetched |= unmarked


async def test_killing_the_worker_while_it_polls_imap_imports_every_message_once(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    world: World,
    dovecot: Mailbox,  # noqa: F811
    tmp_path: Path,
) -> None:
    if not settings.db_url.startswith("postgresql"):
        pytest.skip("crash tests kill a separate worker process: PostgreSQL only")
    started = time.monotonic()
    rng = random.Random(SEED)
    for folder in (INCOMING, PROCESSED):
        dovecot.create(folder)
    await imap_channel(client, world, dovecot.port, ADDRESS[FLAGGED], folder=FLAGGED)
    await imap_channel(
        client, world, dovecot.port, ADDRESS[INCOMING], folder=INCOMING, processed_folder=PROCESSED
    )
    correspondence = Correspondence(random.Random(SEED + 2))
    _append(dovecot, correspondence, FIRST_MAILS)
    worker = Worker(
        settings.db_url, tmp_path / "poller", "poller", {"FRONTDESK_IMAP_POLL_SECONDS": "1"}
    )
    tally = Tally()
    try:
        for _ in range(KILLS):
            before = await _count_imported(sessionmaker, world.a.id)
            worker.start()
            grew = partial(_imported_beyond, sessionmaker, world.a.id, before)
            at_once = rng.random() < 0.5
            # At once after a batch is seen committed: aims at the moment before it is marked.
            pause = 0 if at_once else 0.01
            assert await _eventually(60, grew, pause), f"no import:\n{worker.log_tail()}"
            if not at_once:
                await asyncio.sleep(rng.uniform(0, 0.4))
            worker.kill()
            tally.right_after_commit += at_once
            await _after_kill(sessionmaker, world, dovecot, correspondence, tally)
            _append(dovecot, correspondence, MAILS_PER_ROUND)
        worker.start()
        # What is still unsettled after this shows in the assertions below.
        await _eventually(30, partial(_settled, sessionmaker, world, dovecot))
        worker.stop()
    finally:
        worker.kill()

    figures = await _outcome(sessionmaker, world, dovecot, correspondence)
    record(
        "crash_intake",
        "postgresql",
        {
            "kills": tally.kills,
            "kills_right_after_a_commit": tally.right_after_commit,
            "kills_mid_import": tally.mid_import,
            "kills_between_commit_and_mark": tally.between_commit_and_mark,
            "messages_appended": len(correspondence.letters),
            "replies_appended": sum(1 for letter in correspondence.letters if letter.answers),
            "imported": figures.imported,
            "duplicates_avoided": len(tally.refetched),
            "imported_twice": len(figures.twice),
            "two_copies_in_mailbox": len(figures.two_copies),
            "lost": len(figures.lost),
            "replies_misthreaded": len(figures.misthreaded),
            "messages_with_a_file": sum(1 for letter in correspondence.letters if letter.has_file),
            "files_wrong": len(figures.files_wrong),
            "marked_not_imported": len(tally.marked_not_imported),
            "left_unmarked": len(figures.unmarked),
            "seconds": round(time.monotonic() - started, 1),
        },
    )
    assert tally.mid_import >= KILLS // 2, "most kills should land with mail still waiting"
    assert not tally.marked_not_imported, tally.marked_not_imported[:10]
    assert not figures.lost, figures.lost[:10]
    assert not figures.twice, figures.twice[:10]
    assert not figures.two_copies, figures.two_copies[:10]
    assert not figures.misthreaded, figures.misthreaded[:10]
    assert not figures.files_wrong, figures.files_wrong[:10]
    assert not figures.unmarked, figures.unmarked[:10]
    assert figures.imported == len(correspondence.letters)


async def _settled(
    sessionmaker: async_sessionmaker[AsyncSession], world: World, box: Mailbox
) -> bool:
    """Everything imported and every message marked as its channel says."""
    imported = await _imported(sessionmaker, world.a.id)
    contents = [s for s in _mailbox_contents(box) if not _is_expunged_leftover(s)]
    return all(s.message_id in imported and _is_marked(s) for s in contents)


@dataclass(frozen=True)
class Outcome:
    imported: int
    #: Message-IDs appended but without their inbound record or ticket message.
    lost: list[str]
    #: Message-IDs with two inbound records or two ticket messages.
    twice: list[str]
    #: Message-IDs the mailbox holds twice (left in the polled folder and moved, say).
    two_copies: list[str]
    #: Replies that are not on the ticket of the message they answer.
    misthreaded: list[str]
    #: Messages without exactly the one file they carried (or with one they did not).
    files_wrong: list[str]
    #: Messages left where their channel would find them again (or gone altogether).
    unmarked: list[str]


async def _outcome(
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    box: Mailbox,
    correspondence: Correspondence,
) -> Outcome:
    async with sessionmaker() as session:
        records = Counter(
            await session.scalars(
                select(InboundMail.message_id).where(InboundMail.tenant_id == world.a.id)
            )
        )
        rows = (
            await session.execute(
                select(
                    TicketMessage.external_message_id, TicketMessage.ticket_id, TicketMessage.id
                ).where(
                    TicketMessage.tenant_id == world.a.id,
                    TicketMessage.external_message_id.is_not(None),
                )
            )
        ).all()
        files = Counter(
            await session.scalars(
                select(TicketAttachment.message_id).where(TicketAttachment.tenant_id == world.a.id)
            )
        )
    messages = Counter(message_id for message_id, _, _ in rows)
    ticket_of = {message_id: ticket_id for message_id, ticket_id, _ in rows}
    files_of = {message_id: files[row_id] for message_id, _, row_id in rows}
    letters = correspondence.by_id()
    contents = [s for s in _mailbox_contents(box) if not _is_expunged_leftover(s)]
    in_mailbox = Counter(s.message_id for s in contents)
    return Outcome(
        imported=len(records),
        lost=[m for m in letters if records[m] == 0 or messages[m] == 0],
        twice=[m for m in letters if records[m] > 1 or messages[m] > 1],
        two_copies=[m for m in letters if in_mailbox[m] > 1],
        misthreaded=[
            m
            for m, letter in letters.items()
            if letter.answers and ticket_of.get(m) != ticket_of.get(letter.answers)
        ],
        files_wrong=[m for m, letter in letters.items() if files_of.get(m) != letter.has_file],
        unmarked=[s.message_id for s in contents if not _is_marked(s)]
        + [m for m in letters if in_mailbox[m] == 0],
    )
