"""Groups and their members."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from frontdesk.core.idempotency import create_idempotently
from frontdesk.core.pagination import DEFAULT_LIMIT, PagePublic, paginate, parse_sort
from frontdesk.core.patch import patch_openapi, read_patch
from frontdesk.core.repository import scoped
from frontdesk.core.responses import with_etag
from frontdesk.identity.context import TenantContext
from frontdesk.identity.dependencies import permits
from frontdesk.identity.models import Group
from frontdesk.identity.policy import Action
from frontdesk.identity.schemas import (
    GroupCreate,
    GroupMemberCreate,
    GroupMemberPublic,
    GroupMemberUpdate,
    GroupPublic,
    GroupUpdate,
)
from frontdesk.identity.service import groups

router = APIRouter(prefix="/api/v1/tenants/{tenant}/groups", tags=["groups"])

Readers = Annotated[TenantContext, permits(Action.GROUP_READ)]
Managers = Annotated[TenantContext, permits(Action.GROUP_MANAGE)]
SORTS = {"name": Group.name, "created_at": Group.created_at}


@router.get("", response_model=PagePublic[GroupPublic])
async def list_groups(
    ctx: Readers,
    is_active: bool | None = None,
    sort: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PagePublic[GroupPublic]:
    statement = scoped(Group, ctx.tenant_id)
    if is_active is not None:
        statement = statement.where(Group.is_active.is_(is_active))
    page = await paginate(
        ctx.session,
        statement,
        order=parse_sort(sort, SORTS, "name"),
        id_column=Group.id,
        limit=limit,
        cursor=cursor,
    )
    items = [GroupPublic.model_validate(group) for group in page.items]
    return PagePublic(items=items, next_cursor=page.next_cursor)


@router.post("", response_model=GroupPublic, status_code=201)
async def create_group(body: GroupCreate, ctx: Managers, request: Request) -> JSONResponse:
    async def create() -> GroupPublic:
        return GroupPublic.model_validate(await groups.create_group(ctx, body))

    return await create_idempotently(request, ctx.session, create)


@router.get("/{group_id}", response_model=GroupPublic)
async def get_group(group_id: UUID, ctx: Readers) -> JSONResponse:
    group = await groups.get_group(ctx, group_id)
    return with_etag(GroupPublic.model_validate(group), group.version)


@router.patch("/{group_id}", response_model=GroupPublic, openapi_extra=patch_openapi(GroupUpdate))
async def update_group(group_id: UUID, ctx: Managers, request: Request) -> JSONResponse:
    group = await groups.get_group(ctx, group_id)
    changes = await read_patch(request, GroupUpdate, groups.editable_fields(group), group.version)
    group = await groups.update_group(ctx, group, changes)
    return with_etag(GroupPublic.model_validate(group), group.version)


@router.delete("/{group_id}", status_code=204)
async def delete_group(group_id: UUID, ctx: Managers) -> Response:
    await groups.delete_group(ctx, await groups.get_group(ctx, group_id))
    return Response(status_code=204)


@router.get("/{group_id}/members", response_model=list[GroupMemberPublic])
async def list_group_members(group_id: UUID, ctx: Readers) -> list[GroupMemberPublic]:
    return await groups.list_group_members(ctx, await groups.get_group(ctx, group_id))


@router.post("/{group_id}/members", response_model=GroupMemberPublic, status_code=201)
async def add_group_member(
    group_id: UUID, body: GroupMemberCreate, ctx: Managers, request: Request
) -> JSONResponse:
    group = await groups.get_group(ctx, group_id)
    return await create_idempotently(
        request, ctx.session, lambda: groups.add_group_member(ctx, group, body)
    )


@router.patch(
    "/{group_id}/members/{member_id}",
    response_model=GroupMemberPublic,
    openapi_extra=patch_openapi(GroupMemberUpdate),
)
async def update_group_member(
    group_id: UUID, member_id: UUID, ctx: Managers, request: Request
) -> GroupMemberPublic:
    group = await groups.get_group(ctx, group_id)
    member = await groups.get_group_member(ctx, group, member_id)
    changes = await read_patch(request, GroupMemberUpdate, {"role": member.role}, None)
    return await groups.update_group_member(ctx, group, member_id, changes)


@router.delete("/{group_id}/members/{member_id}", status_code=204)
async def remove_group_member(group_id: UUID, member_id: UUID, ctx: Managers) -> Response:
    await groups.remove_group_member(ctx, await groups.get_group(ctx, group_id), member_id)
    return Response(status_code=204)
