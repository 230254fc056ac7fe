"""Mail to tickets a batch at a time (an IMAP fetch, a backlog): the common case in bulk.

Most mail opens a new ticket: a customer writes about something new. For a batch, such
messages are recognised with set-based reads (known Message-IDs, threads, contacts) and filed
together by `tickets.service.bulk_create`, in one savepoint. Every other message (a reply, a
bounce, staff mail, a loop, a ticket token, anything unusual) takes `intake.receive`, the
one-at-a-time path, in its place in the batch, so ticket numbers follow arrival order. If
the bulk write fails, each of its messages is filed one at a time instead: one bad message
never costs the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.db import set_actor
from frontdesk.core.files import ContentSniffer, safe_filename
from frontdesk.core.logs import get_logger
from frontdesk.core.repository import scoped
from frontdesk.core.storage import BlobStore, StoredBlob
from frontdesk.email.loops import is_auto_reply, is_bounce, is_own_address
from frontdesk.email.models import InboundChannel, InboundMail, InboundOutcome, OutboundMail
from frontdesk.email.parsing import MailPart, ParsedMail, UnparseableMail, parse_mail
from frontdesk.email.service.conversation import MAX_BODY, default_file_name, mail_body
from frontdesk.email.service.intake import (
    EMAIL_ACTOR,
    Received,
    dedup_key,
    own_addresses_of,
    receive,
)
from frontdesk.email.threads import ticket_number_in_subject
from frontdesk.identity.models import Group
from frontdesk.identity.repository import normalize_email
from frontdesk.identity.schemas import ContactCreate
from frontdesk.identity.service.contacts import KnownContact, contacts_for_senders
from frontdesk.tenancy.models import Tenant
from frontdesk.tenancy.schemas import TenantSettings
from frontdesk.tickets.models import Channel, Priority, TicketMessage, TicketStatus, TicketType
from frontdesk.tickets.repository import default_status, status_by_key
from frontdesk.tickets.schemas import TicketCreate
from frontdesk.tickets.service.bulk_create import BulkOpening, Opening, StoredFile

log = get_logger(__name__)

DEFAULT_LIMITS = TenantSettings()


@dataclass(frozen=True)
class Arrival:
    raw: bytes
    mail: ParsedMail | None
    key: str


@dataclass(frozen=True)
class NewTicket:
    """A message that opens a ticket in bulk: what it becomes, decided before any write."""

    index: int
    mail: ParsedMail
    ticket: TicketCreate
    contact: ContactCreate


@dataclass(frozen=True)
class TypedFile:
    """A file of a message with the name it is shown under and the type its bytes show."""

    part: MailPart
    filename: str
    content_type: str


@dataclass(frozen=True)
class Desk:
    """What every message of the batch is judged against."""

    channel: InboundChannel
    tenant: Tenant
    own: frozenset[str]
    #: The status and group new tickets get; None status: no bulk filing for this channel.
    status: TicketStatus | None
    group_id: UUID | None


def arrival(raw: bytes) -> Arrival:
    try:
        mail: ParsedMail | None = parse_mail(raw)
    except UnparseableMail:
        mail = None
    return Arrival(raw, mail, dedup_key(mail, raw))


async def receive_batch(
    session: AsyncSession, store: BlobStore, channel: InboundChannel, raws: Sequence[bytes]
) -> list[Received]:
    """File the raw messages that arrived on `channel`, in order (the caller commits); each
    result is what `receive` gives for that message."""
    set_actor(session, EMAIL_ACTOR)
    desk = await _desk(session, channel)
    arrivals = [arrival(raw) for raw in raws]
    results: dict[int, Received] = {}
    start = 0
    while start < len(arrivals):
        end = await _file_run(session, store, desk, arrivals, start, results)
        if end < len(arrivals):  # this one needs the one-at-a-time path
            results[end] = await receive(session, store, channel, arrivals[end].raw)
            end += 1
        start = end
    return [results[index] for index in range(len(arrivals))]


async def _desk(session: AsyncSession, channel: InboundChannel) -> Desk:
    tenant = await session.get(Tenant, channel.tenant_id)
    assert tenant is not None
    own = await own_addresses_of(session, channel.tenant_id)
    status = None
    if channel.default_status is not None:
        status = await status_by_key(session, tenant.id, channel.default_status)
    if status is None:
        status = await default_status(session, tenant.id, "new")
    if status is not None and (not status.is_active or status.category not in ("new", "open")):
        status = None  # a status a customer's word would change: one at a time
    group_id = channel.default_group_id
    if group_id is not None:
        group = await session.get(Group, (tenant.id, group_id))
        group_id = group.id if group is not None and group.is_active else None
    return Desk(channel, tenant, own, status, group_id)


async def _file_run(
    session: AsyncSession,
    store: BlobStore,
    desk: Desk,
    arrivals: list[Arrival],
    start: int,
    results: dict[int, Received],
) -> int:
    """File the messages from `start` on that need no decision of their own; returns the index
    of the first one that does (or the end)."""
    run: list[NewTicket] = []
    for index in range(start, len(arrivals)):
        new = _plain_new_ticket(desk, arrivals, index)
        if new is None:
            break
        run.append(new)
    if not run:
        return start
    known = await _known_records(session, desk.channel.tenant_id, [arrivals[n.index] for n in run])
    threaded = await _threaded(session, desk.channel.tenant_id, [n.mail for n in run])
    new_tickets: list[NewTicket] = []
    end = run[-1].index + 1
    for new in run:
        record = known.get(arrivals[new.index].key)
        if record is not None:
            results[new.index] = Received(record, duplicate=True)
        elif threaded & set(new.mail.thread_ids):
            end = new.index  # it may answer a ticket: the full decision
            break
        else:
            new_tickets.append(new)
    await _file_new_tickets(session, store, desk, arrivals, new_tickets, results)
    return end


def _plain_new_ticket(desk: Desk, arrivals: list[Arrival], index: int) -> NewTicket | None:
    """The message as a new ticket when nothing about it needs a decision of its own."""
    mail = arrivals[index].mail
    if mail is None or desk.status is None or not _is_plain(desk, mail):
        return None
    earlier = arrivals[:index]
    if any(other.key == arrivals[index].key for other in earlier):
        return None  # the same message twice in the batch: the second finds the first
    if set(mail.thread_ids) & {other.mail.message_id for other in earlier if other.mail}:
        return None  # it answers a message of this batch
    assert mail.sender is not None
    try:
        contact = ContactCreate(
            name=mail.sender_name.strip() or mail.sender.split("@", 1)[0], emails=[mail.sender]
        )
        ticket = TicketCreate(
            subject=mail.subject.strip() or "(no subject)",
            description=mail_body(mail),
            channel=Channel.EMAIL,
            priority=Priority(desk.channel.default_priority),
            type=TicketType(desk.channel.default_type),
            status=desk.status.key,
            group_id=desk.group_id,
        )
    except (ValidationError, ValueError):
        return None
    return NewTicket(index, mail, ticket, contact)


def _is_plain(desk: Desk, mail: ParsedMail) -> bool:
    if mail.sender is None or mail.body_unreadable or is_bounce(mail) or is_auto_reply(mail):
        return False
    if is_own_address(mail.sender, desk.own):
        return False
    if ticket_number_in_subject(mail.subject, desk.tenant.ticket_prefix) is not None:
        return False
    if desk.channel.add_cc_participants and mail.cc:
        return False
    settings = desk.tenant.settings
    max_bytes = int(settings.get("attachment_max_bytes", DEFAULT_LIMITS.attachment_max_bytes))
    per_ticket = int(
        settings.get("attachment_max_per_ticket", DEFAULT_LIMITS.attachment_max_per_ticket)
    )
    if len(mail.parts) > per_ticket:
        return False
    return all(0 < len(part.payload) <= max_bytes for part in mail.parts)


async def _known_records(
    session: AsyncSession, tenant_id: UUID, arrivals: list[Arrival]
) -> dict[str, InboundMail]:
    records = await session.scalars(
        scoped(InboundMail, tenant_id).where(
            InboundMail.dedup_key.in_({arrival.key for arrival in arrivals})
        )
    )
    return {record.dedup_key: record for record in records}


async def _threaded(session: AsyncSession, tenant_id: UUID, mails: list[ParsedMail]) -> set[str]:
    """Which of the Message-IDs these mails answer belong to a ticket's conversation."""
    ids = {message_id for mail in mails for message_id in mail.thread_ids[:50]}
    if not ids:
        return set()
    received = await session.scalars(
        select(TicketMessage.external_message_id).where(
            TicketMessage.tenant_id == tenant_id, TicketMessage.external_message_id.in_(ids)
        )
    )
    sent = await session.scalars(
        select(OutboundMail.message_id).where(
            OutboundMail.tenant_id == tenant_id,
            OutboundMail.message_id.in_(ids),
            OutboundMail.ticket_id.is_not(None),
        )
    )
    return {found for found in [*received, *sent] if found is not None}


async def _file_new_tickets(
    session: AsyncSession,
    store: BlobStore,
    desk: Desk,
    arrivals: list[Arrival],
    run: list[NewTicket],
    results: dict[int, Received],
) -> None:
    if not run:
        return
    try:
        async with session.begin_nested():
            records = await _write(session, store, desk, arrivals, run)
    except Exception:
        log.exception("inbound_batch_failed", channel_id=str(desk.channel.id), count=len(run))
        for new in run:
            results[new.index] = await receive(
                session, store, desk.channel, arrivals[new.index].raw
            )
        return
    for new, record in zip(run, records, strict=True):
        results[new.index] = Received(record, duplicate=False, notes=list(new.mail.notes))


async def _write(
    session: AsyncSession,
    store: BlobStore,
    desk: Desk,
    arrivals: list[Arrival],
    run: list[NewTicket],
) -> list[InboundMail]:
    # The blobs (each a temporary file, flushed to disk, renamed) are written in worker
    # threads while the database work goes on; both are done before the caller commits.
    blobs = asyncio.ensure_future(_blobs(store, arrivals, run))
    try:
        contacts = await contacts_for_senders(session, desk.tenant.id, [n.contact for n in run])
        openings = [_opening(new, contacts[normalize_email(new.contact.emails[0])]) for new in run]
        bulk = BulkOpening(session, desk.tenant)
        opened = await bulk.open(openings, status=_status(desk), channel=Channel.EMAIL)
        raw_blobs, stored_files = await blobs
    finally:
        if not blobs.done():
            blobs.cancel()
            await asyncio.gather(blobs, return_exceptions=True)
    await bulk.attach(opened, stored_files)
    records = [
        _record(desk.channel, arrivals[new.index], new.mail, blob)
        for new, blob in zip(run, raw_blobs, strict=True)
    ]
    for record, made in zip(records, opened, strict=True):
        record.ticket_id, record.ticket_message_id = made.ticket.id, made.message.id
    session.add_all(records)
    await bulk.finish()
    await session.flush()
    return records


def _status(desk: Desk) -> TicketStatus:
    assert desk.status is not None
    return desk.status


async def _blobs(
    store: BlobStore, arrivals: list[Arrival], run: list[NewTicket]
) -> tuple[list[StoredBlob], list[list[StoredFile]]]:
    """Each message's raw bytes and its files (typed by their bytes), stored together."""
    files = [[_typed(part) for part in new.mail.parts] for new in run]
    contents = [arrivals[new.index].raw for new in run]
    contents += [file.part.payload for typed in files for file in typed]
    blobs = iter(await store.put_all(contents))
    raw_blobs = [next(blobs) for _ in run]
    return raw_blobs, [[_stored_file(file, next(blobs)) for file in typed] for typed in files]


def _opening(new: NewTicket, contact: KnownContact) -> Opening:
    mail = new.mail
    return Opening(
        data=new.ticket,
        requester_id=contact.id,
        organization_id=contact.organization_id,
        body=mail_body(mail),
        body_html=mail.html[:MAX_BODY] if mail.html else None,
        external_message_id=mail.message_id,
        email_headers=mail.headers,
    )


def _typed(part: MailPart) -> TypedFile:
    filename = safe_filename(part.filename or default_file_name(part))
    sniffer = ContentSniffer()
    sniffer.feed(part.payload)
    return TypedFile(part, filename, sniffer.content_type(filename))


def _stored_file(file: TypedFile, blob: StoredBlob) -> StoredFile:
    part = file.part
    return StoredFile(
        filename=file.filename,
        content_type=file.content_type,
        size=blob.size,
        sha256=blob.sha256,
        storage_key=blob.key,
        content_id=part.content_id if part.is_inline else None,
    )


def _record(
    channel: InboundChannel, arrival: Arrival, mail: ParsedMail, blob: StoredBlob
) -> InboundMail:
    return InboundMail(
        tenant_id=channel.tenant_id,
        channel_id=channel.id,
        dedup_key=arrival.key,
        message_id=mail.message_id,
        sender=mail.sender,
        subject=mail.subject,
        outcome=InboundOutcome.NEW_TICKET.value,
        raw_key=blob.key,
        raw_size=blob.size,
        headers=mail.headers,
        is_auto_reply=False,
        quoted_text=mail.quoted or None,
        signature=mail.signature or None,
        needs_review=False,
        detail="\n".join(mail.notes)[:2000] if mail.notes else None,
    )
