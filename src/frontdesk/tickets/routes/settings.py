"""Ticket settings of a tenant: statuses, categories, and the tags in use."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from frontdesk.core.idempotency import create_idempotently
from frontdesk.core.patch import editable_view, patch_openapi, read_patch
from frontdesk.core.responses import with_etag
from frontdesk.identity.context import TenantContext
from frontdesk.identity.dependencies import permits
from frontdesk.identity.policy import Action
from frontdesk.tickets.schemas import (
    CategoryCreate,
    CategoryPublic,
    CategoryUpdate,
    StatusCreate,
    StatusPublic,
    StatusUpdate,
    TagCount,
)
from frontdesk.tickets.service import categories, statuses, tags

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["ticket settings"])


@router.get("/statuses", response_model=list[StatusPublic])
async def list_statuses(
    ctx: Annotated[TenantContext, permits(Action.STATUS_READ)],
) -> list[StatusPublic]:
    found = await statuses.list_statuses(ctx.session, ctx.tenant_id)
    return [StatusPublic.model_validate(s) for s in found]


@router.post("/statuses", response_model=StatusPublic, status_code=201)
async def create_status(
    body: StatusCreate,
    ctx: Annotated[TenantContext, permits(Action.STATUS_MANAGE)],
    request: Request,
) -> JSONResponse:
    async def create() -> StatusPublic:
        return StatusPublic.model_validate(
            await statuses.create_status(ctx.session, ctx.tenant_id, body)
        )

    return await create_idempotently(request, ctx.session, create)


@router.patch(
    "/statuses/{status_id}", response_model=StatusPublic, openapi_extra=patch_openapi(StatusUpdate)
)
async def update_status(
    status_id: UUID,
    ctx: Annotated[TenantContext, permits(Action.STATUS_MANAGE)],
    request: Request,
) -> JSONResponse:
    status = await statuses.get_status(ctx.session, ctx.tenant_id, status_id)
    current = editable_view(StatusUpdate, statuses.status_snapshot(status))
    changes = await read_patch(request, StatusUpdate, current, status.version)
    status = await statuses.update_status(ctx.session, status, changes)
    return with_etag(StatusPublic.model_validate(status), status.version)


@router.delete("/statuses/{status_id}", status_code=204)
async def delete_status(
    status_id: UUID, ctx: Annotated[TenantContext, permits(Action.STATUS_MANAGE)]
) -> Response:
    status = await statuses.get_status(ctx.session, ctx.tenant_id, status_id)
    await statuses.delete_status(ctx.session, status)
    return Response(status_code=204)


@router.get("/categories", response_model=list[CategoryPublic])
async def list_categories(
    ctx: Annotated[TenantContext, permits(Action.CATEGORY_READ)],
) -> list[CategoryPublic]:
    found = await categories.list_categories(ctx.session, ctx.tenant_id)
    return [CategoryPublic.model_validate(c) for c in found]


@router.post("/categories", response_model=CategoryPublic, status_code=201)
async def create_category(
    body: CategoryCreate,
    ctx: Annotated[TenantContext, permits(Action.CATEGORY_MANAGE)],
    request: Request,
) -> JSONResponse:
    async def create() -> CategoryPublic:
        return CategoryPublic.model_validate(
            await categories.create_category(ctx.session, ctx.tenant_id, body)
        )

    return await create_idempotently(request, ctx.session, create)


@router.get("/categories/{category_id}", response_model=CategoryPublic)
async def get_category(
    category_id: UUID, ctx: Annotated[TenantContext, permits(Action.CATEGORY_READ)]
) -> JSONResponse:
    category = await categories.get_category(ctx.session, ctx.tenant_id, category_id)
    return with_etag(CategoryPublic.model_validate(category), category.version)


@router.patch(
    "/categories/{category_id}",
    response_model=CategoryPublic,
    openapi_extra=patch_openapi(CategoryUpdate),
)
async def update_category(
    category_id: UUID,
    ctx: Annotated[TenantContext, permits(Action.CATEGORY_MANAGE)],
    request: Request,
) -> JSONResponse:
    category = await categories.get_category(ctx.session, ctx.tenant_id, category_id)
    current = editable_view(CategoryUpdate, categories.category_snapshot(category))
    changes = await read_patch(request, CategoryUpdate, current, category.version)
    category = await categories.update_category(ctx.session, category, changes)
    return with_etag(CategoryPublic.model_validate(category), category.version)


@router.delete("/categories/{category_id}", status_code=204)
async def delete_category(
    category_id: UUID, ctx: Annotated[TenantContext, permits(Action.CATEGORY_MANAGE)]
) -> Response:
    category = await categories.get_category(ctx.session, ctx.tenant_id, category_id)
    await categories.delete_category(ctx.session, category)
    return Response(status_code=204)


@router.get("/tags", response_model=list[TagCount])
async def list_tags(
    ctx: Annotated[TenantContext, permits(Action.TAG_READ)],
    prefix: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[TagCount]:
    counts = await tags.tenant_tag_counts(ctx.session, ctx.tenant_id, prefix, limit)
    return [TagCount(tag=tag, count=count) for tag, count in counts]
