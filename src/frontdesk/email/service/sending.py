"""Sending the outbound mail queue over SMTP: claim, send, record; retried with backoff.

A batch is claimed in one transaction (pending and due, or processing for longer than the
lease: a worker died mid-send), sent over a few concurrent SMTP connections (each reused for
its share; one recipient's mails share a connection, so they leave in order), and each result
is recorded in a second transaction. A failure waits `base * 2^(attempts-1)` seconds; after the last
attempt the mail is `failed` until an admin retries it. One bad mail never holds the rest.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import UUID

import aiosmtplib
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.clock import utcnow
from frontdesk.core.config import Settings
from frontdesk.core.db import transaction
from frontdesk.core.logs import get_logger
from frontdesk.email.composing import message_bytes
from frontdesk.email.models import OutboundMail, OutboundStatus

log = get_logger(__name__)

LEASE = timedelta(minutes=5)
SMTP_TIMEOUT = 30.0
#: Concurrent connections per batch: enough to hide the server's round trips, few enough
#: that a provider's per-client connection limit is not hit.
SMTP_CONNECTIONS = 4
MAIL_ACTOR = "system:email"


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    use_tls: bool
    start_tls: bool | None
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://host:port`, `smtps://user:password@host:port`, `?starttls=true`."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("FRONTDESK_SMTP_URL must look like smtp://host:port or smtps://…")
    query = parse_qs(parts.query)
    starttls = query.get("starttls", [""])[0].lower()
    use_tls = parts.scheme == "smtps"
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or (465 if use_tls else 25),
        use_tls=use_tls,
        start_tls=True if starttls in ("true", "1", "yes") else (None if use_tls else False),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession], batch_size: int
) -> list[OutboundMail]:
    now = utcnow()
    async with transaction(sessionmaker, actor=MAIL_ACTOR) as session:
        rows = list(
            await session.scalars(
                select(OutboundMail)
                .where(
                    or_(
                        and_(
                            OutboundMail.status == OutboundStatus.PENDING.value,
                            OutboundMail.next_attempt_at <= now,
                        ),
                        and_(
                            OutboundMail.status == OutboundStatus.PROCESSING.value,
                            OutboundMail.claimed_at < now - LEASE,
                        ),
                    )
                )
                .order_by(OutboundMail.next_attempt_at, OutboundMail.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        )
        for mail in rows:
            mail.status = OutboundStatus.PROCESSING.value
            mail.claimed_at = now
            mail.attempts += 1
    return rows


async def send_batch(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], batch_size: int = 100
) -> int:
    """Claim and send one batch; returns how many mails were tried (0: nothing due)."""
    if not settings.smtp_url:
        return 0
    target = parse_smtp_url(settings.smtp_url)
    mails = await claim(sessionmaker, batch_size)
    if not mails:
        return 0
    results = await _deliver(target, mails)
    await _record(settings, sessionmaker, results)
    return len(mails)


async def _deliver(target: SmtpTarget, mails: list[OutboundMail]) -> dict[UUID, str | None]:
    """Each mail's error, or None when the server accepted it."""
    shares: list[list[OutboundMail]] = [[] for _ in range(SMTP_CONNECTIONS)]
    for mail in mails:
        shares[zlib.crc32(mail.recipient.lower().encode()) % SMTP_CONNECTIONS].append(mail)
    results: dict[UUID, str | None] = {}
    for part in await asyncio.gather(*(_deliver_over_one(target, s) for s in shares if s)):
        results.update(part)
    return results


async def _deliver_over_one(
    target: SmtpTarget, mails: list[OutboundMail]
) -> dict[UUID, str | None]:
    results: dict[UUID, str | None] = {}
    client = aiosmtplib.SMTP(
        hostname=target.host,
        port=target.port,
        use_tls=target.use_tls,
        start_tls=target.start_tls,
        username=target.username,
        password=target.password,
        timeout=SMTP_TIMEOUT,
    )
    try:
        await client.connect()
    except Exception as exc:
        return {mail.id: f"connect: {exc}" for mail in mails}
    try:
        for mail in mails:
            results[mail.id] = await _send_one(client, mail)
    finally:
        try:
            await client.quit()
        except Exception:  # the server may already have gone
            client.close()
    return results


async def _send_one(client: aiosmtplib.SMTP, mail: OutboundMail) -> str | None:
    try:
        if not client.is_connected:
            await client.connect()
        refused, _ = await client.sendmail(mail.from_address, [mail.recipient], message_bytes(mail))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    if refused:
        return "; ".join(f"{address}: {response}" for address, response in refused.items())
    return None


async def _record(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    results: dict[UUID, str | None],
) -> None:
    now = utcnow()
    async with transaction(sessionmaker, actor=MAIL_ACTOR) as session:
        rows = await session.scalars(select(OutboundMail).where(OutboundMail.id.in_(results)))
        for mail in rows:
            error = results[mail.id]
            if error is None:
                mail.status, mail.sent_at, mail.last_error = OutboundStatus.SENT.value, now, None
                continue
            mail.last_error = error[:2000]
            if mail.attempts >= settings.mail_max_attempts:
                mail.status = OutboundStatus.FAILED.value
                log.warning("outbound_mail_failed", outbound_mail_id=str(mail.id), error=error)
            else:
                mail.status = OutboundStatus.PENDING.value
                delay = settings.mail_retry_base_seconds * 2 ** (mail.attempts - 1)
                mail.next_attempt_at = now + timedelta(seconds=delay)
