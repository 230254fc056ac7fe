"""Tenant members: users and their roles."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from frontdesk.core.idempotency import create_idempotently
from frontdesk.core.pagination import DEFAULT_LIMIT, PagePublic, paginate, parse_sort
from frontdesk.core.patch import patch_openapi, read_patch
from frontdesk.core.responses import with_etag
from frontdesk.identity.context import TenantContext
from frontdesk.identity.dependencies import permits
from frontdesk.identity.models import MemberRole, Membership
from frontdesk.identity.policy import Action
from frontdesk.identity.repository import users_by_id
from frontdesk.identity.schemas import MemberCreate, MemberPublic, MemberUpdate
from frontdesk.identity.service import members

router = APIRouter(prefix="/api/v1/tenants/{tenant}/members", tags=["members"])

Readers = Annotated[TenantContext, permits(Action.MEMBER_READ)]
Managers = Annotated[TenantContext, permits(Action.MEMBER_MANAGE)]
SORTS = {"created_at": Membership.created_at, "role": Membership.role}


@router.get("", response_model=PagePublic[MemberPublic])
async def list_members(
    ctx: Readers,
    role: MemberRole | None = None,
    sort: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PagePublic[MemberPublic]:
    statement = select(Membership).where(Membership.tenant_id == ctx.tenant_id)
    if role is not None:
        statement = statement.where(Membership.role == role.value)
    page = await paginate(
        ctx.session,
        statement,
        order=parse_sort(sort, SORTS, "created_at"),
        id_column=Membership.id,
        limit=limit,
        cursor=cursor,
    )
    people = await users_by_id(ctx.session, [m.user_id for m in page.items])
    items = [members.member_public(m, people[m.user_id]) for m in page.items]
    return PagePublic(items=items, next_cursor=page.next_cursor)


@router.post("", response_model=MemberPublic, status_code=201)
async def add_member(body: MemberCreate, ctx: Managers, request: Request) -> JSONResponse:
    return await create_idempotently(request, ctx.session, lambda: members.add_member(ctx, body))


@router.get("/{member_id}", response_model=MemberPublic)
async def get_member(member_id: UUID, ctx: Readers) -> JSONResponse:
    membership, user = await members.get_member(ctx, member_id)
    return with_etag(members.member_public(membership, user), membership.version)


@router.patch(
    "/{member_id}", response_model=MemberPublic, openapi_extra=patch_openapi(MemberUpdate)
)
async def update_member(member_id: UUID, ctx: Managers, request: Request) -> JSONResponse:
    membership, _ = await members.get_member(ctx, member_id)
    changes = await read_patch(request, MemberUpdate, {"role": membership.role}, membership.version)
    public = await members.change_role(ctx, member_id, changes)
    return with_etag(public, public.version)


@router.delete("/{member_id}", status_code=204)
async def remove_member(member_id: UUID, ctx: Managers) -> Response:
    await members.remove_member(ctx, member_id)
    return Response(status_code=204)
