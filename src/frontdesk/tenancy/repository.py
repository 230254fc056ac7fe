"""Tenant look-ups."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.tenancy.models import Tenant


async def tenant_by_ref(session: AsyncSession, ref: str) -> Tenant | None:
    """A tenant by its id or its slug (the `{tenant}` of tenant routes)."""
    try:
        tenant_id = UUID(ref)
    except ValueError:
        return await session.scalar(select(Tenant).where(Tenant.slug == ref.lower()))
    return await session.get(Tenant, tenant_id)
