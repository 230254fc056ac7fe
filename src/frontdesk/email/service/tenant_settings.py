"""A tenant's mail settings: which status changes are mailed to the requester and cc's."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.audit import record_update
from frontdesk.core.repository import scoped
from frontdesk.email.models import EmailSettings
from frontdesk.email.schemas import EmailSettingsPublic, EmailSettingsUpdate
from frontdesk.identity.context import TenantContext


async def settings_row(session: AsyncSession, tenant_id: UUID) -> EmailSettings | None:
    return await session.scalar(scoped(EmailSettings, tenant_id))


def settings_public(row: EmailSettings | None) -> EmailSettingsPublic:
    if row is None:
        return EmailSettingsPublic(status_mail_categories=[], version=0)
    return EmailSettingsPublic(
        status_mail_categories=list(row.status_mail_categories), version=row.version
    )


async def status_mail_categories(session: AsyncSession, tenant_id: UUID) -> frozenset[str]:
    row = await settings_row(session, tenant_id)
    return frozenset(row.status_mail_categories) if row is not None else frozenset()


async def get_email_settings(ctx: TenantContext) -> EmailSettingsPublic:
    return settings_public(await settings_row(ctx.session, ctx.tenant_id))


async def update_email_settings(
    ctx: TenantContext, data: EmailSettingsUpdate
) -> EmailSettingsPublic:
    """Replace the tenant's mail settings (audited, emits `email_settings.updated` when
    something changed); the row is made on the first write."""
    row = await settings_row(ctx.session, ctx.tenant_id)
    before = settings_public(row)
    if row is None:
        row = EmailSettings(tenant_id=ctx.tenant_id, status_mail_categories=[])
        ctx.session.add(row)
    row.status_mail_categories = sorted({c.value for c in data.status_mail_categories})
    await ctx.session.flush()
    after = settings_public(row)
    record_update(
        ctx.session,
        subject_type="email_settings",
        tenant_id=ctx.tenant_id,
        subject_id=row.id,
        before=before.model_dump(mode="json", exclude={"version"}),
        after=after.model_dump(mode="json", exclude={"version"}),
    )
    return after
