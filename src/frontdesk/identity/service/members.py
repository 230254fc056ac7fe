"""Memberships: a user's role in a tenant."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.audit import delta_between, record_change
from frontdesk.core.errors import AlreadyExists
from frontdesk.core.repository import get_scoped
from frontdesk.identity.context import TenantContext
from frontdesk.identity.errors import LastOwner
from frontdesk.identity.models import Membership, User
from frontdesk.identity.policy import Role, authorize_role_change
from frontdesk.identity.repository import count_owners, membership_of, user_by_email
from frontdesk.identity.schemas import MemberCreate, MemberPublic, MemberUpdate
from frontdesk.identity.service.users import create_user


def member_public(membership: Membership, user: User) -> MemberPublic:
    return MemberPublic(
        id=membership.id,
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=membership.role,
        is_active=user.is_active,
        version=membership.version,
        created_at=membership.created_at,
        updated_at=membership.updated_at,
    )


async def add_member_as(
    session: AsyncSession, tenant_id: UUID, user: User, role: Role
) -> Membership:
    """Add a user with a role (no permission check: for the CLI, tenant bootstrap and services)."""
    if await membership_of(session, tenant_id, user.id) is not None:
        raise AlreadyExists(f"{user.email} is already a member")
    membership = Membership(tenant_id=tenant_id, user_id=user.id, role=role.value)
    session.add(membership)
    await session.flush()
    record_change(
        session,
        subject_type="member",
        action="created",
        tenant_id=tenant_id,
        subject_id=membership.id,
        snapshot=member_public(membership, user).model_dump(mode="json"),
    )
    return membership


async def add_member(ctx: TenantContext, data: MemberCreate) -> MemberPublic:
    """Add a user by email (creating the account when new); only owners can add owners."""
    authorize_role_change(ctx.role, granted=Role(data.role.value), revoked=None)
    user = await user_by_email(ctx.session, data.email)
    if user is None:
        user = await create_user(
            ctx.session, email=data.email, display_name=data.display_name, password=data.password
        )
    membership = await add_member_as(ctx.session, ctx.tenant_id, user, Role(data.role.value))
    return member_public(membership, user)


async def get_member(ctx: TenantContext, member_id: UUID) -> tuple[Membership, User]:
    membership = await get_scoped(ctx.session, Membership, ctx.tenant_id, member_id, what="member")
    user = await ctx.session.get(User, membership.user_id)
    assert user is not None
    return membership, user


async def _ensure_owner_remains(ctx: TenantContext, membership: Membership) -> None:
    if membership.role == Role.OWNER and await count_owners(ctx.session, ctx.tenant_id) <= 1:
        raise LastOwner()


async def change_role(ctx: TenantContext, member_id: UUID, data: MemberUpdate) -> MemberPublic:
    membership, user = await get_member(ctx, member_id)
    new_role = Role(data.role.value)
    old_role = Role(membership.role)
    if new_role == old_role:
        return member_public(membership, user)
    authorize_role_change(ctx.role, granted=new_role, revoked=old_role)
    await _ensure_owner_remains(ctx, membership)
    before = member_public(membership, user).model_dump(mode="json")
    membership.role = new_role.value
    await ctx.session.flush()
    after = member_public(membership, user).model_dump(mode="json")
    record_change(
        ctx.session,
        subject_type="member",
        action="updated",
        tenant_id=ctx.tenant_id,
        subject_id=membership.id,
        snapshot=after,
        delta=delta_between(before, after),
    )
    return member_public(membership, user)


async def remove_member(ctx: TenantContext, member_id: UUID) -> None:
    """Remove a membership (and with it the user's group memberships in this tenant)."""
    membership, user = await get_member(ctx, member_id)
    authorize_role_change(ctx.role, granted=None, revoked=Role(membership.role))
    await _ensure_owner_remains(ctx, membership)
    snapshot = member_public(membership, user).model_dump(mode="json")
    await ctx.session.delete(membership)
    await ctx.session.flush()
    record_change(
        ctx.session,
        subject_type="member",
        action="deleted",
        tenant_id=ctx.tenant_id,
        subject_id=member_id,
        snapshot=snapshot,
    )
