"""The portal's one-time sign-in mail, queued on the outbound mail queue.

It implements the portal's `SignInLinkSender`: the mail row is rendered and added in the
caller's transaction, so it exists exactly when the link does, and the worker's sender job
sends it like every other mail. A link request is anonymous, so each address gets at most
`LIMIT_PER_HOUR` of these mails: the form cannot be used to flood someone's inbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.clock import utcnow
from frontdesk.core.config import Settings
from frontdesk.core.ids import new_id
from frontdesk.core.logs import get_logger
from frontdesk.core.repository import scoped
from frontdesk.email.models import EmailTemplate, InboundChannel, OutboundMail, OutboundStatus
from frontdesk.email.rendering import Override, render

log = get_logger(__name__)

KIND = "sign_in_link"
LIMIT_PER_HOUR = 5


class SignInLinkMail(Protocol):
    """What the portal hands over (its `web.portal.links.SignInLinkMail`; a domain never
    imports the web layer, so this names only the fields read here)."""

    @property
    def tenant_id(self) -> UUID: ...
    @property
    def tenant_name(self) -> str: ...
    @property
    def to(self) -> str: ...
    @property
    def contact_id(self) -> UUID: ...
    @property
    def contact_name(self) -> str: ...
    @property
    def locale(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...


class OutboundSignInLinks:
    """Queues sign-in mails from the tenant's first active email channel, else `mail_from`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def queue(self, session: AsyncSession, mail: SignInLinkMail) -> None:
        if await _sent_last_hour(session, mail) >= LIMIT_PER_HOUR:
            log.info("sign_in_link_mail_limited", tenant_id=str(mail.tenant_id))
            return
        sender = await _channel_address(session, mail.tenant_id) or self.settings.mail_from
        rendered = render(
            KIND, mail.locale, _context(mail), await _override(session, mail.tenant_id, mail.locale)
        )
        mail_id = new_id()
        session.add(
            OutboundMail(
                id=mail_id,
                tenant_id=mail.tenant_id,
                dedup_key=f"{KIND}:{mail_id}",
                kind=KIND,
                recipient=mail.to,
                recipient_contact_id=mail.contact_id,
                from_address=sender,
                subject=rendered.subject,
                body_text=rendered.body_text,
                body_html=rendered.body_html,
                message_id=f"<{mail_id}@{sender.rsplit('@', 1)[-1] or 'localhost'}>",
                is_automatic=True,
                status=OutboundStatus.PENDING.value,
                next_attempt_at=utcnow(),
            )
        )
        await session.flush()


def _context(mail: SignInLinkMail) -> dict[str, Any]:
    return {
        "tenant_name": mail.tenant_name,
        "recipient_name": mail.contact_name,
        "sign_in_url": mail.url,
        "expires_at": mail.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
    }


async def _sent_last_hour(session: AsyncSession, mail: SignInLinkMail) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(OutboundMail)
        .where(
            OutboundMail.tenant_id == mail.tenant_id,
            OutboundMail.recipient == mail.to,
            OutboundMail.kind == KIND,
            OutboundMail.created_at >= utcnow() - timedelta(hours=1),
        )
    )
    return count or 0


async def _channel_address(session: AsyncSession, tenant_id: UUID) -> str | None:
    return await session.scalar(
        scoped(InboundChannel, tenant_id)
        .where(
            InboundChannel.kind == "email",
            InboundChannel.is_active.is_(True),
            InboundChannel.address.is_not(None),
        )
        .with_only_columns(InboundChannel.address)
        .order_by(InboundChannel.created_at, InboundChannel.id)
        .limit(1)
    )


async def _override(session: AsyncSession, tenant_id: UUID, locale: str) -> Override | None:
    language = locale.replace("_", "-").split("-", 1)[0].lower()
    row = await session.scalar(
        scoped(EmailTemplate, tenant_id)
        .where(EmailTemplate.kind == KIND, EmailTemplate.locale.in_([locale, language]))
        .order_by(EmailTemplate.locale.desc())
        .limit(1)
    )
    return Override(row.subject, row.body_text, row.body_html) if row else None
