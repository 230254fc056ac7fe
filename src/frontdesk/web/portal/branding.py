"""A tenant's portal branding: name, colours and logo, shown on every portal page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.audit import record_update
from frontdesk.core.errors import ValidationFailed
from frontdesk.core.repository import scoped
from frontdesk.core.storage import BlobStore
from frontdesk.identity.context import TenantContext
from frontdesk.tenancy.models import Tenant
from frontdesk.web.portal.models import DEFAULT_ACCENT, DEFAULT_PRIMARY, PortalBranding

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
LOGO_MAX_BYTES = 512 * 1024


@dataclass(frozen=True)
class Brand:
    name: str
    primary_color: str
    accent_color: str
    has_logo: bool
    version: int


async def branding_row(session: AsyncSession, tenant_id: UUID) -> PortalBranding | None:
    return await session.scalar(scoped(PortalBranding, tenant_id))


async def brand_of(session: AsyncSession, tenant: Tenant) -> Brand:
    row = await branding_row(session, tenant.id)
    if row is None:
        return Brand(tenant.name, DEFAULT_PRIMARY, DEFAULT_ACCENT, False, 0)
    return Brand(
        row.display_name or tenant.name,
        row.primary_color,
        row.accent_color,
        row.logo_storage_key is not None,
        row.version,
    )


def _color(value: str, field: str) -> str:
    if not COLOR.match(value):
        raise ValidationFailed(f"{field} is a colour like #1f5fbf", field=field)
    return value.lower()


def _snapshot(row: PortalBranding) -> dict[str, object]:
    return {
        "display_name": row.display_name,
        "primary_color": row.primary_color,
        "accent_color": row.accent_color,
        "logo_storage_key": row.logo_storage_key,
    }


async def update_branding(
    ctx: TenantContext,
    *,
    display_name: str | None,
    primary_color: str,
    accent_color: str,
    logo: tuple[bytes, str] | None,
    store: BlobStore,
) -> PortalBranding:
    """Set the portal's look (audited); a logo must be a small PNG, JPEG, GIF or WebP."""
    primary = _color(primary_color, "primary_color")
    accent = _color(accent_color, "accent_color")
    row = await branding_row(ctx.session, ctx.tenant_id)
    if row is None:
        row = PortalBranding(tenant_id=ctx.tenant_id)
        ctx.session.add(row)
        before: dict[str, object] = {}
    else:
        before = _snapshot(row)
    row.display_name = display_name or None
    row.primary_color, row.accent_color = primary, accent
    if logo is not None:
        content, content_type = logo
        if content_type not in LOGO_TYPES:
            raise ValidationFailed("the logo must be a PNG, JPEG, GIF or WebP image", field="logo")
        if len(content) > LOGO_MAX_BYTES:
            raise ValidationFailed("the logo must be under 512 KB", field="logo")
        blob = await store.put(_one(content), max_bytes=LOGO_MAX_BYTES)
        row.logo_storage_key, row.logo_content_type = blob.key, content_type
    await ctx.session.flush()
    record_update(
        ctx.session,
        subject_type="portal_branding",
        tenant_id=ctx.tenant_id,
        subject_id=row.id,
        before=before,
        after=_snapshot(row),
    )
    return row


async def _one(content: bytes) -> AsyncIterator[bytes]:
    yield content


def _luminance(color: str) -> float:
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def ink_for(background: str) -> str:
    """White or near-black text, whichever reads better on the tenant's colour (WCAG ratio)."""
    lum = _luminance(background)
    on_white = 1.05 / (lum + 0.05)
    on_dark = (lum + 0.05) / (_luminance("#1d2433") + 0.05)
    return "#ffffff" if on_white >= on_dark else "#1d2433"


def brand_css(brand: Brand) -> str:
    """The tenant's colours as CSS custom properties (served as a file: no inline styles)."""
    primary = _color(brand.primary_color, "primary_color")
    return (
        ":root {"
        f" --brand: {primary}; --brand-ink: {ink_for(primary)};"
        f" --accent: {_color(brand.accent_color, 'accent_color')};"
        " }\n"
    )
