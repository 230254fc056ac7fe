"""Groups (teams and queues) with their support profile, and their members."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select

from frontdesk.core.audit import record_change, record_update
from frontdesk.core.errors import AlreadyExists, NotFound
from frontdesk.core.patch import editable_view
from frontdesk.core.repository import get_scoped, scoped
from frontdesk.identity.context import TenantContext
from frontdesk.identity.errors import NotAMember
from frontdesk.identity.models import Group, GroupMember, User
from frontdesk.identity.repository import membership_of
from frontdesk.identity.schemas import (
    GroupCreate,
    GroupMemberCreate,
    GroupMemberPublic,
    GroupMemberUpdate,
    GroupPublic,
    GroupUpdate,
)
from frontdesk.sla.models import SlaPolicy
from frontdesk.sla.service.retarget import mark_group_tickets


def group_snapshot(group: Group) -> dict[str, object]:
    return GroupPublic.model_validate(group).model_dump(mode="json")


async def _ensure_name_free(ctx: TenantContext, name: str, except_id: UUID | None = None) -> None:
    statement = scoped(Group, ctx.tenant_id).where(Group.name == name)
    if except_id is not None:
        statement = statement.where(Group.id != except_id)
    if await ctx.session.scalar(statement) is not None:
        raise AlreadyExists(f"a group named {name!r} already exists")


async def _columns(ctx: TenantContext, data: GroupCreate | GroupUpdate) -> dict[str, object]:
    """The group's column values; the default SLA policy must be one of the tenant's."""
    policy_id = data.default_sla_policy_id
    if (
        policy_id is not None
        and await ctx.session.get(SlaPolicy, (ctx.tenant_id, policy_id)) is None
    ):
        raise NotFound("SLA policy not found", field="default_sla_policy_id")
    return data.model_dump(mode="json") | {"default_sla_policy_id": policy_id}


async def create_group(ctx: TenantContext, data: GroupCreate) -> Group:
    await _ensure_name_free(ctx, data.name)
    group = Group(tenant_id=ctx.tenant_id, **await _columns(ctx, data))
    ctx.session.add(group)
    await ctx.session.flush()
    record_change(
        ctx.session,
        subject_type="group",
        action="created",
        tenant_id=ctx.tenant_id,
        subject_id=group.id,
        snapshot=group_snapshot(group),
    )
    return group


async def get_group(ctx: TenantContext, group_id: UUID) -> Group:
    return await get_scoped(ctx.session, Group, ctx.tenant_id, group_id, what="group")


def editable_fields(group: Group) -> dict[str, object]:
    return editable_view(GroupUpdate, group_snapshot(group))


async def update_group(ctx: TenantContext, group: Group, data: GroupUpdate) -> Group:
    if data.name != group.name:
        await _ensure_name_free(ctx, data.name, except_id=group.id)
    before = group_snapshot(group)
    for field, value in (await _columns(ctx, data)).items():
        setattr(group, field, value)
    await ctx.session.flush()
    after = group_snapshot(group)
    record_update(
        ctx.session,
        subject_type="group",
        tenant_id=ctx.tenant_id,
        subject_id=group.id,
        before=before,
        after=after,
    )
    if before["default_sla_policy_id"] != after["default_sla_policy_id"]:
        await mark_group_tickets(ctx.session, ctx.tenant_id, group.id)
    return group


async def delete_group(ctx: TenantContext, group: Group) -> None:
    snapshot = group_snapshot(group)
    await ctx.session.delete(group)
    await ctx.session.flush()
    record_change(
        ctx.session,
        subject_type="group",
        action="deleted",
        tenant_id=ctx.tenant_id,
        subject_id=group.id,
        snapshot=snapshot,
    )


def group_member_public(member: GroupMember, user: User) -> GroupMemberPublic:
    return GroupMemberPublic(
        id=member.id,
        group_id=member.group_id,
        user_id=member.user_id,
        email=user.email,
        display_name=user.display_name,
        role=member.role,
        created_at=member.created_at,
    )


async def list_group_members(ctx: TenantContext, group: Group) -> list[GroupMemberPublic]:
    rows = await ctx.session.execute(
        select(GroupMember, User)
        .join(User, User.id == GroupMember.user_id)
        .where(GroupMember.tenant_id == ctx.tenant_id, GroupMember.group_id == group.id)
        .order_by(User.display_name, GroupMember.id)
    )
    return [group_member_public(member, user) for member, user in rows]


async def add_group_member(
    ctx: TenantContext, group: Group, data: GroupMemberCreate
) -> GroupMemberPublic:
    """Add a tenant member to the group; a user outside the tenant is refused."""
    if await membership_of(ctx.session, ctx.tenant_id, data.user_id) is None:
        raise NotAMember(field="user_id")
    existing = await ctx.session.scalar(
        scoped(GroupMember, ctx.tenant_id).where(
            GroupMember.group_id == group.id, GroupMember.user_id == data.user_id
        )
    )
    if existing is not None:
        raise AlreadyExists("the user is already in this group")
    member = GroupMember(
        tenant_id=ctx.tenant_id, group_id=group.id, user_id=data.user_id, role=data.role.value
    )
    ctx.session.add(member)
    await ctx.session.flush()
    user = await ctx.session.get(User, data.user_id)
    assert user is not None
    public = group_member_public(member, user)
    record_change(
        ctx.session,
        subject_type="group_member",
        action="created",
        tenant_id=ctx.tenant_id,
        subject_id=member.id,
        snapshot=public.model_dump(mode="json"),
    )
    return public


async def get_group_member(ctx: TenantContext, group: Group, member_id: UUID) -> GroupMember:
    member = await get_scoped(
        ctx.session, GroupMember, ctx.tenant_id, member_id, what="group member"
    )
    if member.group_id != group.id:
        raise NotFound("group member not found")
    return member


async def update_group_member(
    ctx: TenantContext, group: Group, member_id: UUID, data: GroupMemberUpdate
) -> GroupMemberPublic:
    member = await get_group_member(ctx, group, member_id)
    user = await ctx.session.get(User, member.user_id)
    assert user is not None
    if member.role != data.role.value:
        before = member.role
        member.role = data.role.value
        await ctx.session.flush()
        record_change(
            ctx.session,
            subject_type="group_member",
            action="updated",
            tenant_id=ctx.tenant_id,
            subject_id=member.id,
            snapshot=group_member_public(member, user).model_dump(mode="json"),
            delta={"role": [before, member.role]},
        )
    return group_member_public(member, user)


async def remove_group_member(ctx: TenantContext, group: Group, member_id: UUID) -> None:
    member = await get_group_member(ctx, group, member_id)
    snapshot = {"group_id": str(group.id), "user_id": str(member.user_id), "role": member.role}
    await ctx.session.delete(member)
    await ctx.session.flush()
    record_change(
        ctx.session,
        subject_type="group_member",
        action="deleted",
        tenant_id=ctx.tenant_id,
        subject_id=member_id,
        snapshot=snapshot,
    )
