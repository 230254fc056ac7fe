"""Creating and shaping tenants."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.audit import record_change, record_update
from frontdesk.core.errors import AlreadyExists
from frontdesk.core.patch import editable_view
from frontdesk.tenancy.models import Tenant
from frontdesk.tenancy.schemas import TenantCreate, TenantPublic, TenantUpdate
from frontdesk.tickets.service.setup import prepare_ticketing


def tenant_snapshot(tenant: Tenant) -> dict[str, object]:
    return TenantPublic.model_validate(tenant).model_dump(mode="json")


def default_ticket_prefix(slug: str) -> str:
    letters = re.sub(r"[^A-Z0-9]", "", slug.upper())
    prefix = letters.lstrip("0123456789")[:6]
    return prefix or "T"


async def create_tenant(session: AsyncSession, data: TenantCreate) -> Tenant:
    """Create a tenant ready to take tickets; AlreadyExists when the slug is taken."""
    if await session.scalar(select(Tenant.id).where(Tenant.slug == data.slug)) is not None:
        raise AlreadyExists(f"the slug {data.slug!r} is taken", field="slug")
    tenant = Tenant(
        slug=data.slug,
        name=data.name,
        plan=data.plan,
        ticket_prefix=data.ticket_prefix or default_ticket_prefix(data.slug),
        settings=data.settings.model_dump(mode="json"),
        feature_flags=dict(data.feature_flags),
    )
    session.add(tenant)
    await session.flush()
    await prepare_ticketing(session, tenant.id)
    record_change(
        session,
        subject_type="tenant",
        action="created",
        tenant_id=tenant.id,
        subject_id=tenant.id,
        snapshot=tenant_snapshot(tenant),
    )
    return tenant


def editable_fields(tenant: Tenant) -> dict[str, object]:
    return editable_view(TenantUpdate, tenant_snapshot(tenant))


async def update_tenant(session: AsyncSession, tenant: Tenant, data: TenantUpdate) -> Tenant:
    before = tenant_snapshot(tenant)
    for field, value in data.model_dump(mode="json").items():
        setattr(tenant, field, value)
    await session.flush()
    after = tenant_snapshot(tenant)
    record_update(
        session,
        subject_type="tenant",
        tenant_id=tenant.id,
        subject_id=tenant.id,
        before=before,
        after=after,
    )
    return tenant


async def delete_tenant(session: AsyncSession, tenant: Tenant) -> None:
    """Delete the tenant and, by cascade, everything it owns."""
    snapshot = tenant_snapshot(tenant)
    await session.delete(tenant)
    await session.flush()
    record_change(
        session,
        subject_type="tenant",
        action="deleted",
        tenant_id=tenant.id,
        subject_id=tenant.id,
        snapshot=snapshot,
    )
