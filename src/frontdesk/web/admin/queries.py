"""What the admin pages list, each in one query (no per-row lookups)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.repository import scoped
from frontdesk.identity.context import TenantContext
from frontdesk.identity.models import (
    Contact,
    Group,
    GroupMember,
    Membership,
    Organization,
    User,
)
from frontdesk.identity.schemas import ContactPublic, MemberPublic, OrganizationPublic
from frontdesk.identity.service import contacts, members, organizations
from frontdesk.sla.models import SlaCalendar
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.models import Ticket

LIST_LIMIT = 200


async def tenant_members(ctx: TenantContext) -> list[MemberPublic]:
    rows = await ctx.session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == ctx.tenant_id)
        .order_by(User.display_name)
    )
    return [members.member_public(membership, user) for membership, user in rows]


async def members_by_group(ctx: TenantContext) -> dict[UUID, list[tuple[GroupMember, User]]]:
    rows = await ctx.session.execute(
        select(GroupMember, User)
        .join(User, User.id == GroupMember.user_id)
        .where(GroupMember.tenant_id == ctx.tenant_id)
        .order_by(User.display_name)
    )
    grouped: dict[UUID, list[tuple[GroupMember, User]]] = {}
    for member, user in rows:
        grouped.setdefault(member.group_id, []).append((member, user))
    return grouped


async def all_groups(ctx: TenantContext) -> list[Group]:
    return list(await ctx.session.scalars(scoped(Group, ctx.tenant_id).order_by(Group.name)))


async def some_contacts(ctx: TenantContext, q: str) -> list[ContactPublic]:
    statement = scoped(Contact, ctx.tenant_id).order_by(Contact.name).limit(LIST_LIMIT)
    if q:
        statement = statement.where(Contact.name.icontains(q, autoescape=True))
    found = list(await ctx.session.scalars(statement))
    return await contacts.publics(ctx.session, ctx.tenant_id, found)


async def all_organizations(ctx: TenantContext) -> list[OrganizationPublic]:
    found = list(
        await ctx.session.scalars(
            scoped(Organization, ctx.tenant_id).order_by(Organization.name).limit(LIST_LIMIT)
        )
    )
    return await organizations.publics(ctx, found)


async def sla_calendars(ctx: TenantContext) -> list[SlaCalendar]:
    statement = scoped(SlaCalendar, ctx.tenant_id).order_by(SlaCalendar.name)
    return list(await ctx.session.scalars(statement.limit(LIST_LIMIT)))


async def tenants_with_counts(session: AsyncSession) -> list[tuple[Tenant, int, int, int]]:
    """Every tenant with its members, contacts and tickets, counted in one statement."""

    def count_of(model: type[Membership] | type[Contact] | type[Ticket]) -> ScalarSelect[int]:
        return (
            select(func.count())
            .select_from(model)
            .where(model.tenant_id == Tenant.id)
            .correlate(Tenant)
            .scalar_subquery()
        )

    rows = await session.execute(
        select(Tenant, count_of(Membership), count_of(Contact), count_of(Ticket)).order_by(
            Tenant.slug
        )
    )
    return [(tenant, int(m), int(c), int(t)) for tenant, m, c, t in rows]
