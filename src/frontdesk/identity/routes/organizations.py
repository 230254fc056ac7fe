"""Organizations."""

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
from frontdesk.identity.models import Organization
from frontdesk.identity.policy import Action
from frontdesk.identity.schemas import OrganizationCreate, OrganizationPublic, OrganizationUpdate
from frontdesk.identity.service import organizations

router = APIRouter(prefix="/api/v1/tenants/{tenant}/organizations", tags=["organizations"])

Readers = Annotated[TenantContext, permits(Action.ORGANIZATION_READ)]
Writers = Annotated[TenantContext, permits(Action.ORGANIZATION_WRITE)]
Deleters = Annotated[TenantContext, permits(Action.ORGANIZATION_DELETE)]
SORTS = {"name": Organization.name, "created_at": Organization.created_at}


@router.get("", response_model=PagePublic[OrganizationPublic])
async def list_organizations(
    ctx: Readers,
    q: Annotated[str | None, Query(max_length=200, description="Name contains")] = None,
    sort: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PagePublic[OrganizationPublic]:
    statement = scoped(Organization, ctx.tenant_id)
    if q:
        statement = statement.where(Organization.name.icontains(q, autoescape=True))
    page = await paginate(
        ctx.session,
        statement,
        order=parse_sort(sort, SORTS, "name"),
        id_column=Organization.id,
        limit=limit,
        cursor=cursor,
    )
    return PagePublic(
        items=await organizations.publics(ctx, page.items), next_cursor=page.next_cursor
    )


@router.post("", response_model=OrganizationPublic, status_code=201)
async def create_organization(
    body: OrganizationCreate, ctx: Writers, request: Request
) -> JSONResponse:
    return await create_idempotently(
        request, ctx.session, lambda: organizations.create_organization(ctx, body)
    )


@router.get("/{organization_id}", response_model=OrganizationPublic)
async def get_organization(organization_id: UUID, ctx: Readers) -> JSONResponse:
    organization = await organizations.get_organization(ctx, organization_id)
    (public,) = await organizations.publics(ctx, [organization])
    return with_etag(public, public.version)


@router.patch(
    "/{organization_id}",
    response_model=OrganizationPublic,
    openapi_extra=patch_openapi(OrganizationUpdate),
)
async def update_organization(
    organization_id: UUID, ctx: Writers, request: Request
) -> JSONResponse:
    organization = await organizations.get_organization(ctx, organization_id)
    (current,) = await organizations.publics(ctx, [organization])
    editable = current.model_dump(mode="json", include={"name", "domains", "notes"})
    changes = await read_patch(request, OrganizationUpdate, editable, organization.version)
    public = await organizations.update_organization(ctx, organization, changes)
    return with_etag(public, public.version)


@router.delete("/{organization_id}", status_code=204)
async def delete_organization(organization_id: UUID, ctx: Deleters) -> Response:
    organization = await organizations.get_organization(ctx, organization_id)
    await organizations.delete_organization(ctx, organization)
    return Response(status_code=204)
