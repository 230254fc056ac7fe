"""The demo tenant's portal look: colours, a generated logo, anonymous requests allowed."""

from __future__ import annotations

import random

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.storage import BlobStore
from frontdesk.demo.files import png
from frontdesk.identity.context import Principal, TenantContext
from frontdesk.identity.models import User
from frontdesk.identity.policy import Role
from frontdesk.tenancy import service as tenancy
from frontdesk.tenancy.repository import tenant_by_ref
from frontdesk.tenancy.schemas import TenantUpdate
from frontdesk.web.portal.branding import branding_row, update_branding


async def brand_demo_portal(session: AsyncSession, store: BlobStore) -> bool:
    """Once: acme's portal gets its brand; False when acme is missing or already branded."""
    tenant = await tenant_by_ref(session, "acme")
    if tenant is None or await branding_row(session, tenant.id) is not None:
        return False
    system = Principal(User(email="system@frontdesk.invalid", display_name="system"), "session")
    ctx = TenantContext(tenant, system, Role.OWNER, session)
    await update_branding(
        ctx,
        display_name="Acme",
        primary_color="#6d28d9",
        accent_color="#0d7a5f",
        logo=(png(random.Random(2026), width=96, height=32), "image/png"),
        store=store,
    )
    fields = tenancy.editable_fields(tenant)
    fields["settings"] = {**fields["settings"], "portal_allows_anonymous_submission": True}  # type: ignore[dict-item]
    await tenancy.update_tenant(session, tenant, TenantUpdate.model_validate(fields))
    return True
