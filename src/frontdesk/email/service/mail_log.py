"""What arrived and what was sent, for admins: reading the records, retrying a failed mail."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Select

from frontdesk.core.audit import record_change
from frontdesk.core.clock import utcnow
from frontdesk.core.errors import Conflict
from frontdesk.core.repository import get_scoped, scoped
from frontdesk.email.models import InboundMail, OutboundMail, OutboundStatus
from frontdesk.email.schemas import OutboundMailPublic
from frontdesk.identity.context import TenantContext


class NotRetryable(Conflict):
    code = "not_retryable"
    title = "Only a failed or pending mail can be retried"


def inbound_statement(
    ctx: TenantContext, *, needs_review: bool | None, outcome: str | None
) -> Select[InboundMail]:
    statement = scoped(InboundMail, ctx.tenant_id)
    if needs_review is not None:
        statement = statement.where(InboundMail.needs_review.is_(needs_review))
    if outcome is not None:
        statement = statement.where(InboundMail.outcome == outcome)
    return statement


def outbound_statement(
    ctx: TenantContext, *, status: str | None, ticket_id: UUID | None
) -> Select[OutboundMail]:
    statement = scoped(OutboundMail, ctx.tenant_id)
    if status is not None:
        statement = statement.where(OutboundMail.status == status)
    if ticket_id is not None:
        statement = statement.where(OutboundMail.ticket_id == ticket_id)
    return statement


async def get_inbound(ctx: TenantContext, inbound_id: UUID) -> InboundMail:
    return await get_scoped(ctx.session, InboundMail, ctx.tenant_id, inbound_id, what="mail")


async def get_outbound(ctx: TenantContext, outbound_id: UUID) -> OutboundMail:
    return await get_scoped(ctx.session, OutboundMail, ctx.tenant_id, outbound_id, what="mail")


async def retry(ctx: TenantContext, mail: OutboundMail) -> OutboundMailPublic:
    """Queue a failed (or waiting) mail for sending now, with a fresh count of attempts."""
    if mail.status not in (OutboundStatus.FAILED.value, OutboundStatus.PENDING.value):
        raise NotRetryable(f"the mail is {mail.status}")
    before = mail.status
    mail.status = OutboundStatus.PENDING.value
    mail.attempts = 0
    mail.next_attempt_at = utcnow()
    await ctx.session.flush()
    public = OutboundMailPublic.model_validate(mail)
    record_change(
        ctx.session,
        subject_type="outbound_mail",
        action="retried",
        tenant_id=ctx.tenant_id,
        subject_id=mail.id,
        snapshot=public.model_dump(mode="json"),
        delta={"status": [before, mail.status]},
    )
    return public
