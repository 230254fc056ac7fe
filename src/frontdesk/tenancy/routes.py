"""Tenants: platform admins manage them all; a tenant's own admins shape their tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select

from frontdesk.core.audit import AuditEntry
from frontdesk.core.errors import NotFound
from frontdesk.core.idempotency import create_idempotently
from frontdesk.core.pagination import DEFAULT_LIMIT, PagePublic, paginate, parse_sort
from frontdesk.core.patch import patch_openapi, read_patch
from frontdesk.core.responses import with_etag
from frontdesk.identity.context import TenantContext
from frontdesk.identity.dependencies import PlatformAdmin, permits
from frontdesk.identity.policy import Action, Role
from frontdesk.identity.repository import user_by_email
from frontdesk.identity.service.members import add_member_as
from frontdesk.identity.service.users import create_user
from frontdesk.tenancy import service
from frontdesk.tenancy.models import Tenant
from frontdesk.tenancy.schemas import TenantCreate, TenantPublic, TenantUpdate

admin_router = APIRouter(prefix="/api/v1/admin/tenants", tags=["platform admin"])
tenant_router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["tenant"])

SORTS = {"slug": Tenant.slug, "created_at": Tenant.created_at}


async def _tenant(admin: PlatformAdmin, tenant_id: UUID) -> Tenant:
    tenant = await admin.session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    return tenant


@admin_router.get("", response_model=PagePublic[TenantPublic])
async def list_tenants(
    admin: PlatformAdmin,
    sort: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PagePublic[TenantPublic]:
    page = await paginate(
        admin.session,
        select(Tenant),
        order=parse_sort(sort, SORTS, "slug"),
        id_column=Tenant.id,
        limit=limit,
        cursor=cursor,
    )
    return PagePublic(
        items=[TenantPublic.model_validate(t) for t in page.items], next_cursor=page.next_cursor
    )


@admin_router.post("", response_model=TenantPublic, status_code=201)
async def create_tenant(body: TenantCreate, admin: PlatformAdmin, request: Request) -> JSONResponse:
    async def create() -> TenantPublic:
        tenant = await service.create_tenant(admin.session, body)
        if body.owner_email is not None:
            owner = await user_by_email(admin.session, body.owner_email)
            owner = owner or await create_user(admin.session, email=body.owner_email)
            await add_member_as(admin.session, tenant.id, owner, Role.OWNER)
        return TenantPublic.model_validate(tenant)

    return await create_idempotently(request, admin.session, create)


@admin_router.get("/{tenant_id}", response_model=TenantPublic)
async def get_tenant_as_admin(tenant_id: UUID, admin: PlatformAdmin) -> JSONResponse:
    tenant = await _tenant(admin, tenant_id)
    return with_etag(TenantPublic.model_validate(tenant), tenant.version)


@admin_router.patch(
    "/{tenant_id}", response_model=TenantPublic, openapi_extra=patch_openapi(TenantUpdate)
)
async def update_tenant_as_admin(
    tenant_id: UUID, admin: PlatformAdmin, request: Request
) -> JSONResponse:
    tenant = await _tenant(admin, tenant_id)
    changes = await read_patch(
        request, TenantUpdate, service.editable_fields(tenant), tenant.version
    )
    tenant = await service.update_tenant(admin.session, tenant, changes)
    return with_etag(TenantPublic.model_validate(tenant), tenant.version)


@admin_router.delete("/{tenant_id}", status_code=204)
async def delete_tenant(tenant_id: UUID, admin: PlatformAdmin) -> Response:
    await service.delete_tenant(admin.session, await _tenant(admin, tenant_id))
    return Response(status_code=204)


@tenant_router.get("", response_model=TenantPublic)
async def get_tenant(ctx: Annotated[TenantContext, permits(Action.TENANT_READ)]) -> JSONResponse:
    return with_etag(TenantPublic.model_validate(ctx.tenant), ctx.tenant.version)


@tenant_router.patch("", response_model=TenantPublic, openapi_extra=patch_openapi(TenantUpdate))
async def update_tenant(
    ctx: Annotated[TenantContext, permits(Action.TENANT_UPDATE)], request: Request
) -> JSONResponse:
    """A tenant's admins edit its settings; plan and activation stay with the platform admins."""
    tenant = ctx.tenant
    current = service.editable_fields(tenant)
    changes = await read_patch(request, TenantUpdate, current, tenant.version)
    changes = changes.model_copy(update={"plan": tenant.plan, "is_active": tenant.is_active})
    tenant = await service.update_tenant(ctx.session, tenant, changes)
    return with_etag(TenantPublic.model_validate(tenant), tenant.version)


class AuditEntryPublic(BaseModel):
    id: UUID
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: UUID | None
    changes: dict[str, Any]
    request_id: str | None


@tenant_router.get("/audit", response_model=PagePublic[AuditEntryPublic])
async def list_audit_entries(
    ctx: Annotated[TenantContext, permits(Action.AUDIT_READ)],
    subject_type: Annotated[str | None, Query(max_length=60)] = None,
    subject_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PagePublic[AuditEntryPublic]:
    statement = select(AuditEntry).where(AuditEntry.tenant_id == ctx.tenant_id)
    if subject_type is not None:
        statement = statement.where(AuditEntry.subject_type == subject_type)
    if subject_id is not None:
        statement = statement.where(AuditEntry.subject_id == subject_id)
    page = await paginate(
        ctx.session,
        statement,
        order=parse_sort("-at", {"at": AuditEntry.at}, "-at"),
        id_column=AuditEntry.id,
        limit=limit,
        cursor=cursor,
    )
    items = [
        AuditEntryPublic(
            id=e.id,
            at=e.at,
            actor=e.actor,
            action=e.action,
            subject_type=e.subject_type,
            subject_id=e.subject_id,
            changes=e.changes,
            request_id=e.request_id,
        )
        for e in page.items
    ]
    return PagePublic(items=items, next_cursor=page.next_cursor)
