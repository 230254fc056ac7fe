"""Organizations: the companies contacts belong to, matched to new contacts by email domain."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import delete, update
from sqlalchemy.orm.attributes import flag_modified

from frontdesk.core.audit import delta_between, record_change
from frontdesk.core.errors import AlreadyExists
from frontdesk.core.repository import get_scoped, scoped
from frontdesk.identity.context import TenantContext
from frontdesk.identity.errors import DomainTaken
from frontdesk.identity.models import Contact, Organization, OrganizationDomain
from frontdesk.identity.repository import organization_domains
from frontdesk.identity.schemas import OrganizationCreate, OrganizationPublic, OrganizationUpdate


def organization_public(organization: Organization, domains: list[str]) -> OrganizationPublic:
    return OrganizationPublic(
        id=organization.id,
        name=organization.name,
        domains=domains,
        notes=organization.notes,
        version=organization.version,
        created_at=organization.created_at,
        updated_at=organization.updated_at,
    )


async def publics(
    ctx: TenantContext, organizations: Sequence[Organization]
) -> list[OrganizationPublic]:
    domains = await organization_domains(ctx.session, ctx.tenant_id, [o.id for o in organizations])
    return [organization_public(o, domains[o.id]) for o in organizations]


async def _ensure_name_free(ctx: TenantContext, name: str, except_id: UUID | None = None) -> None:
    statement = scoped(Organization, ctx.tenant_id).where(Organization.name == name)
    if except_id is not None:
        statement = statement.where(Organization.id != except_id)
    if await ctx.session.scalar(statement) is not None:
        raise AlreadyExists(f"an organization named {name!r} already exists")


async def _set_domains(ctx: TenantContext, organization_id: UUID, domains: list[str]) -> None:
    wanted = sorted(set(domains))
    if wanted:
        taken = await ctx.session.scalar(
            scoped(OrganizationDomain, ctx.tenant_id).where(
                OrganizationDomain.domain.in_(wanted),
                OrganizationDomain.organization_id != organization_id,
            )
        )
        if taken is not None:
            raise DomainTaken(
                f"{taken.domain} belongs to another organization", domain=taken.domain
            )
    await ctx.session.execute(
        delete(OrganizationDomain).where(
            OrganizationDomain.tenant_id == ctx.tenant_id,
            OrganizationDomain.organization_id == organization_id,
        )
    )
    ctx.session.add_all(
        OrganizationDomain(tenant_id=ctx.tenant_id, organization_id=organization_id, domain=domain)
        for domain in wanted
    )
    await ctx.session.flush()


async def create_organization(ctx: TenantContext, data: OrganizationCreate) -> OrganizationPublic:
    await _ensure_name_free(ctx, data.name)
    organization = Organization(tenant_id=ctx.tenant_id, name=data.name, notes=data.notes)
    ctx.session.add(organization)
    await ctx.session.flush()
    await _set_domains(ctx, organization.id, data.domains)
    public = organization_public(organization, sorted(set(data.domains)))
    record_change(
        ctx.session,
        subject_type="organization",
        action="created",
        tenant_id=ctx.tenant_id,
        subject_id=organization.id,
        snapshot=public.model_dump(mode="json"),
    )
    return public


async def get_organization(ctx: TenantContext, organization_id: UUID) -> Organization:
    return await get_scoped(
        ctx.session, Organization, ctx.tenant_id, organization_id, what="organization"
    )


async def update_organization(
    ctx: TenantContext, organization: Organization, data: OrganizationUpdate
) -> OrganizationPublic:
    (before,) = await publics(ctx, [organization])
    if data.name != organization.name:
        await _ensure_name_free(ctx, data.name, except_id=organization.id)
    organization.name = data.name
    organization.notes = data.notes
    domains_change = sorted(set(data.domains)) != before.domains
    if domains_change and not ctx.session.is_modified(organization):
        flag_modified(organization, "name")  # domains live in their own table; bump the version
    await _set_domains(ctx, organization.id, data.domains)
    (after,) = await publics(ctx, [organization])
    delta = delta_between(before.model_dump(mode="json"), after.model_dump(mode="json"))
    for bookkeeping in ("version", "updated_at"):
        delta.pop(bookkeeping, None)
    if delta:
        record_change(
            ctx.session,
            subject_type="organization",
            action="updated",
            tenant_id=ctx.tenant_id,
            subject_id=organization.id,
            snapshot=after.model_dump(mode="json"),
            delta=delta,
        )
    return after


async def delete_organization(ctx: TenantContext, organization: Organization) -> None:
    """Delete the organization; its contacts stay, without an organization."""
    (snapshot,) = await publics(ctx, [organization])
    await ctx.session.execute(
        update(Contact)
        .where(Contact.tenant_id == ctx.tenant_id, Contact.organization_id == organization.id)
        .values(organization_id=None)
        .execution_options(synchronize_session="fetch")
    )
    await ctx.session.delete(organization)
    await ctx.session.flush()
    record_change(
        ctx.session,
        subject_type="organization",
        action="deleted",
        tenant_id=ctx.tenant_id,
        subject_id=organization.id,
        snapshot=snapshot.model_dump(mode="json"),
    )
