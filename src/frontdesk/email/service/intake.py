"""Mail to tickets: one received message in, a record of what became of it out.

`receive` is the shell every inbound path shares (IMAP poll, push URL): it keeps the raw bytes,
de-duplicates by Message-ID, and runs the decision in a savepoint so that a message that breaks
something leaves no half-made ticket, only its raw record flagged for an admin.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.clock import utcnow
from frontdesk.core.db import set_actor
from frontdesk.core.logs import get_logger
from frontdesk.core.repository import scoped
from frontdesk.core.storage import BlobStore
from frontdesk.email.loops import is_auto_reply, is_bounce, is_own_address
from frontdesk.email.models import InboundChannel, InboundMail, InboundOutcome, OutboundMail
from frontdesk.email.parsing import ParsedMail, UnparseableMail, parse_mail
from frontdesk.email.service.channels import own_addresses
from frontdesk.email.service.conversation import Conversation, deliver
from frontdesk.email.service.staff_mail import deliver_from_staff
from frontdesk.tenancy.models import Tenant

log = get_logger(__name__)

EMAIL_ACTOR = "system:email"


@dataclass
class Received:
    record: InboundMail
    duplicate: bool
    notes: list[str] = field(default_factory=list)


def dedup_key(mail: ParsedMail | None, raw: bytes) -> str:
    basis = mail.message_id.encode() if mail is not None and mail.message_id else raw
    return hashlib.sha256(basis).hexdigest()


async def receive(
    session: AsyncSession, store: BlobStore, channel: InboundChannel, raw: bytes
) -> Received:
    """File one raw message that arrived on `channel` (the caller commits).

    The same Message-ID twice yields the first record (`duplicate`). A message that cannot
    be parsed, or whose handling fails, is kept raw with `needs_review`.
    """
    set_actor(session, EMAIL_ACTOR)
    try:
        mail: ParsedMail | None = parse_mail(raw)
        problem = None
    except UnparseableMail as exc:
        mail, problem = None, str(exc)
    key = dedup_key(mail, raw)
    existing = await _by_dedup_key(session, channel.tenant_id, key)
    if existing is not None:
        return Received(existing, duplicate=True)
    [blob] = await store.put_all([raw])
    record = InboundMail(
        tenant_id=channel.tenant_id,
        channel_id=channel.id,
        dedup_key=key,
        message_id=mail.message_id if mail else None,
        sender=mail.sender if mail else None,
        subject=mail.subject if mail else "",
        outcome=InboundOutcome.UNPARSEABLE.value,
        raw_key=blob.key,
        raw_size=blob.size,
        headers=mail.headers if mail else {},
        # Known before the decision: set now, so the row is written once, not updated.
        is_auto_reply=is_auto_reply(mail) if mail else False,
        quoted_text=(mail.quoted or None) if mail else None,
        signature=(mail.signature or None) if mail else None,
    )
    try:
        async with session.begin_nested():
            session.add(record)
    except IntegrityError:
        # The same message arrived concurrently and was filed first.
        again = await _by_dedup_key(session, channel.tenant_id, key)
        if again is None:
            raise
        return Received(again, duplicate=True)
    if mail is None:
        record.needs_review, record.detail = True, problem
        return Received(record, duplicate=False)
    return await _decide_safely(session, store, channel, mail, record)


async def _decide_safely(
    session: AsyncSession,
    store: BlobStore,
    channel: InboundChannel,
    mail: ParsedMail,
    record: InboundMail,
) -> Received:
    try:
        async with session.begin_nested():
            notes = await _decide(session, store, channel, mail, record)
    except Exception as exc:
        log.exception("inbound_mail_failed", inbound_mail_id=str(record.id))
        record.outcome = InboundOutcome.FAILED.value
        record.needs_review = True
        record.detail = f"{type(exc).__name__}: {exc}"[:2000]
        record.ticket_id = record.ticket_message_id = None
        return Received(record, duplicate=False)
    if notes:
        record.detail = "\n".join(notes)[:2000]
    return Received(record, duplicate=False, notes=notes)


async def _decide(
    session: AsyncSession,
    store: BlobStore,
    channel: InboundChannel,
    mail: ParsedMail,
    record: InboundMail,
) -> list[str]:
    own = await own_addresses_of(session, channel.tenant_id)
    if is_bounce(mail):
        await _attach_bounce(session, channel.tenant_id, mail, record)
        return list(mail.notes)
    if mail.sender is None:
        record.outcome, record.needs_review = InboundOutcome.UNPARSEABLE.value, True
        return ["the message has no usable From address", *mail.notes]
    if is_own_address(mail.sender, own):
        record.outcome = InboundOutcome.DROPPED_OWN_ADDRESS.value
        return ["mail from one of the desk's own addresses is dropped"]
    tenant = await session.get(Tenant, channel.tenant_id)
    assert tenant is not None
    conversation = Conversation(session, store, tenant, channel, mail, own)
    outcome = await deliver_from_staff(conversation) or await deliver(conversation)
    record.outcome = outcome.outcome.value
    record.ticket_id = outcome.ticket_id
    record.ticket_message_id = outcome.message_id
    record.needs_review = outcome.needs_review or mail.body_unreadable
    await session.flush()
    return [*mail.notes, *outcome.notes]


async def own_addresses_of(session: AsyncSession, tenant_id: UUID) -> frozenset[str]:
    """The tenant's own addresses, read once per transaction (a poll files a batch in one)."""
    cache: dict[UUID, frozenset[str]] = session.info.setdefault("email_own_addresses", {})
    if tenant_id not in cache:
        cache[tenant_id] = await own_addresses(session, tenant_id)
    return cache[tenant_id]


async def _attach_bounce(
    session: AsyncSession, tenant_id: UUID, mail: ParsedMail, record: InboundMail
) -> None:
    """A delivery report never opens a ticket; it marks the outbound mail that bounced."""
    record.outcome = InboundOutcome.BOUNCE.value
    report = mail.report
    original = report.original_message_id if report else None
    if original is None:
        return
    bounced = await session.scalar(
        scoped(OutboundMail, tenant_id).where(OutboundMail.message_id == original)
    )
    if bounced is None:
        return
    bounced.bounced_at = utcnow()
    details = [report.status, report.diagnostic] if report else []
    bounced.last_error = ("bounced: " + " ".join(d for d in details if d))[:2000]
    record.outbound_mail_id = bounced.id
    record.ticket_id = bounced.ticket_id


async def _by_dedup_key(session: AsyncSession, tenant_id: UUID, key: str) -> InboundMail | None:
    return await session.scalar(scoped(InboundMail, tenant_id).where(InboundMail.dedup_key == key))
