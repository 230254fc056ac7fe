"""Tenants' template overrides: checked to compile (and render) before they are stored."""

from __future__ import annotations

import re
from collections.abc import Sequence

from jinja2 import TemplateError

from frontdesk.core.audit import record_change
from frontdesk.core.errors import NotFound, ValidationFailed
from frontdesk.core.repository import scoped
from frontdesk.email.models import EmailTemplate
from frontdesk.email.rendering import Override, render
from frontdesk.email.schemas import EmailTemplatePublic, EmailTemplateSet
from frontdesk.email.service.planner import MailKind
from frontdesk.email.service.sign_in_links import KIND as SIGN_IN_LINK
from frontdesk.identity.context import TenantContext

LOCALE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
SAMPLE = {
    "tenant_name": "Acme",
    "recipient_name": "Dana",
    "author_name": "Sam",
    "ticket_url": "https://desk.example.com/tickets/1",
    "ticket": {
        "id": "1",
        "number": 1,
        "display_id": "ACME-1",
        "subject": "Printer on fire",
        "description": "It is on fire.",
        "status": "open",
        "status_label": "Open",
        "priority": "normal",
    },
    "message": {"body_text": "Please unplug it.", "body_html": None},
}


SIGN_IN_SAMPLE = {
    "tenant_name": "Acme",
    "recipient_name": "Dana",
    "sign_in_url": "https://desk.example.com/portal/acme/link/use?token=sample",
    "expires_at": "2026-01-01 12:00 UTC",
}
#: Every template a tenant may override, with the data it is checked against.
SAMPLES = {kind.value: SAMPLE for kind in MailKind} | {SIGN_IN_LINK: SIGN_IN_SAMPLE}


def check_names(kind: str, locale: str) -> str:
    """The template's kind; an unknown kind or malformed locale names nothing (404)."""
    if kind not in SAMPLES or not LOCALE.match(locale):
        raise NotFound("no such template")
    return kind


async def list_templates(ctx: TenantContext) -> Sequence[EmailTemplate]:
    rows = await ctx.session.scalars(
        scoped(EmailTemplate, ctx.tenant_id).order_by(EmailTemplate.kind, EmailTemplate.locale)
    )
    return rows.all()


async def _find(ctx: TenantContext, kind: str, locale: str) -> EmailTemplate | None:
    return await ctx.session.scalar(
        scoped(EmailTemplate, ctx.tenant_id).where(
            EmailTemplate.kind == kind, EmailTemplate.locale == locale
        )
    )


def _check_renders(kind: str, locale: str, data: EmailTemplateSet) -> None:
    override = Override(data.subject, data.body_text, data.body_html)
    try:
        render(kind, locale, SAMPLES[kind], override, strict=True)
    except TemplateError as exc:
        raise ValidationFailed(f"the template does not render: {exc}", field="body_text") from exc


async def set_template(
    ctx: TenantContext, kind: str, locale: str, data: EmailTemplateSet
) -> EmailTemplatePublic:
    """Create or replace the override (audited, emits `email_template.updated`)."""
    _check_renders(check_names(kind, locale), locale, data)
    row = await _find(ctx, kind, locale)
    if row is None:
        row = EmailTemplate(tenant_id=ctx.tenant_id, kind=kind, locale=locale)
        ctx.session.add(row)
    row.subject, row.body_text, row.body_html = data.subject, data.body_text, data.body_html
    await ctx.session.flush()
    public = EmailTemplatePublic.model_validate(row)
    record_change(
        ctx.session,
        subject_type="email_template",
        action="updated",
        tenant_id=ctx.tenant_id,
        subject_id=row.id,
        snapshot=public.model_dump(mode="json"),
    )
    return public


async def delete_template(ctx: TenantContext, kind: str, locale: str) -> None:
    check_names(kind, locale)
    row = await _find(ctx, kind, locale)
    if row is None:
        raise NotFound("the tenant has no such template")
    snapshot = EmailTemplatePublic.model_validate(row).model_dump(mode="json")
    await ctx.session.delete(row)
    await ctx.session.flush()
    record_change(
        ctx.session,
        subject_type="email_template",
        action="deleted",
        tenant_id=ctx.tenant_id,
        subject_id=row.id,
        snapshot=snapshot,
    )
