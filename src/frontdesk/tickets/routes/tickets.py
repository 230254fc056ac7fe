"""Tickets: list, create, read, change, delete, restore, purge, mark read, bulk update."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from frontdesk.core.errors import InvalidPatch
from frontdesk.core.idempotency import create_idempotently
from frontdesk.core.pagination import DEFAULT_LIMIT, PagePublic, parse_sort
from frontdesk.core.patch import patch_openapi, read_patch
from frontdesk.core.responses import with_etag
from frontdesk.identity.context import TenantContext
from frontdesk.identity.dependencies import permits
from frontdesk.identity.policy import ADMINS, Action, Role, authorize
from frontdesk.tickets.listing import (
    TicketFilters,
    apply_filters,
    list_page,
    parse_instant,
    sorts_for,
)
from frontdesk.tickets.models import Channel, Priority, StatusCategory, TicketType
from frontdesk.tickets.repository import visible_tickets
from frontdesk.tickets.schemas import (
    BulkResponse,
    BulkResult,
    BulkUpdate,
    CustomerTicketUpdate,
    TicketCreate,
    TicketCustomerView,
    TicketPublic,
    TicketUpdate,
)
from frontdesk.tickets.service import bulk, tickets
from frontdesk.tickets.service.views import view_for, views_for

router = APIRouter(prefix="/api/v1/tenants/{tenant}/tickets", tags=["tickets"])

Readers = Annotated[TenantContext, permits(Action.TICKET_READ)]
TicketView = TicketPublic | TicketCustomerView


async def ticket_filters(
    status: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006 - FastAPI reads it
    status_category: Annotated[list[StatusCategory], Query(max_length=6)] = [],  # noqa: B006
    priority: Annotated[list[Priority], Query(max_length=4)] = [],  # noqa: B006
    type: Annotated[list[TicketType], Query(max_length=4)] = [],  # noqa: B006
    channel: Annotated[list[Channel], Query(max_length=7)] = [],  # noqa: B006
    group_id: Annotated[list[UUID], Query(max_length=50)] = [],  # noqa: B006
    assignee: Annotated[str | None, Query(max_length=40, description="me, none or an id")] = None,
    requester_id: UUID | None = None,
    organization_id: UUID | None = None,
    tag: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006
    tag_mode: Annotated[str, Query(pattern="^(any|all)$")] = "any",
    created_after: Annotated[str | None, Query(max_length=40)] = None,
    created_before: Annotated[str | None, Query(max_length=40)] = None,
    updated_after: Annotated[str | None, Query(max_length=40)] = None,
    updated_before: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sla_breached: bool | None = None,
    sla_at_risk: bool | None = None,
) -> TicketFilters:
    # async: FastAPI would run a plain function in its thread pool, a thread hop per request.
    return TicketFilters(
        status=status,
        status_category=status_category,
        priority=priority,
        type=type,
        channel=channel,
        group_id=group_id,
        assignee=assignee,
        requester_id=requester_id,
        organization_id=organization_id,
        tag=tag,
        tag_mode=tag_mode,
        created_after=parse_instant("created_after", created_after),
        created_before=parse_instant("created_before", created_before),
        updated_after=parse_instant("updated_after", updated_after),
        updated_before=parse_instant("updated_before", updated_before),
        q=q,
        sla_breached=sla_breached,
        sla_at_risk=sla_at_risk,
    )


@router.get("", response_model=PagePublic[TicketPublic] | PagePublic[TicketCustomerView])
async def list_tickets(
    ctx: Readers,
    filters: Annotated[TicketFilters, Depends(ticket_filters)],
    include_deleted: bool = False,
    sort: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PagePublic[TicketPublic] | PagePublic[TicketCustomerView]:
    """Tickets the caller may see, newest changes first unless `sort` says otherwise."""
    show_deleted = include_deleted and ctx.role in ADMINS
    statement = apply_filters(ctx, visible_tickets(ctx, include_deleted=show_deleted), filters)
    order = parse_sort(sort, sorts_for(ctx), "-updated")
    page = await list_page(ctx, statement, filters, order=order, limit=limit, cursor=cursor)
    items = await views_for(ctx, page.items)
    return PagePublic(items=items, next_cursor=page.next_cursor)


@router.post("", response_model=TicketPublic | TicketCustomerView, status_code=201)
async def create_ticket(
    body: TicketCreate,
    ctx: Annotated[TenantContext, permits(Action.TICKET_CREATE)],
    request: Request,
) -> JSONResponse:
    async def create() -> TicketView:
        return await view_for(ctx, await tickets.create_ticket(ctx, body))

    return await create_idempotently(request, ctx.session, create)


@router.post("/bulk", response_model=BulkResponse)
async def bulk_update(
    body: BulkUpdate, ctx: Annotated[TenantContext, permits(Action.TICKET_BULK)]
) -> BulkResponse:
    """Change up to 100 tickets; each succeeds or fails on its own, with a result per ticket."""
    results: list[BulkResult] = await bulk.bulk_update(ctx, body)
    return BulkResponse(results=results)


@router.get("/{ticket_id}", response_model=TicketPublic | TicketCustomerView)
async def get_ticket(ticket_id: UUID, ctx: Readers) -> JSONResponse:
    ticket = await tickets.get_ticket(ctx, ticket_id, include_deleted=ctx.role in ADMINS)
    return with_etag(await view_for(ctx, ticket), ticket.version)


@router.patch(
    "/{ticket_id}",
    response_model=TicketPublic | TicketCustomerView,
    openapi_extra=patch_openapi(TicketUpdate),
)
async def update_ticket(
    ticket_id: UUID,
    ctx: Annotated[TenantContext, permits(Action.TICKET_UPDATE_OWN)],
    request: Request,
) -> JSONResponse:
    """Staff change any editable field; a customer may change the subject and the status."""
    ticket = await tickets.get_ticket(ctx, ticket_id, for_write=True)
    view = await view_for(ctx, ticket)
    current = view.model_dump(mode="json")
    if ctx.role is Role.CONTACT:
        own = {"subject": current["subject"], "status": current["status"]}
        try:
            customer_changes = await read_patch(request, CustomerTicketUpdate, own, ticket.version)
        except InvalidPatch as exc:
            # A field staff may change is refused as on creation, not as an unknown field.
            staff_only = sorted(set(exc.data.get("fields", [])) & set(TicketUpdate.model_fields))
            if not staff_only:
                raise
            raise tickets.FieldNotAllowed(
                f"customers cannot change: {', '.join(staff_only)}", fields=staff_only
            ) from exc
        ticket = await tickets.update_ticket_as_customer(ctx, ticket, customer_changes)
    else:
        changes = await read_patch(
            request, TicketUpdate, tickets.editable_fields(current), ticket.version
        )
        ticket = await tickets.update_ticket(ctx, ticket, changes)
    return with_etag(await view_for(ctx, ticket), ticket.version)


@router.delete("/{ticket_id}", status_code=204)
async def delete_ticket(
    ticket_id: UUID,
    ctx: Annotated[TenantContext, permits(Action.TICKET_DELETE)],
    purge: bool = False,
) -> Response:
    """Move to the trash (restorable); `?purge=true` erases it for good (admins only)."""
    ticket = await tickets.get_ticket(ctx, ticket_id, include_deleted=True, for_write=True)
    if purge:
        authorize(ctx.role, Action.TICKET_PURGE)
        await tickets.purge(ctx, ticket)
    else:
        await tickets.soft_delete(ctx, ticket)
    return Response(status_code=204)


@router.post("/{ticket_id}/restore", response_model=TicketPublic)
async def restore_ticket(
    ticket_id: UUID, ctx: Annotated[TenantContext, permits(Action.TICKET_DELETE)]
) -> JSONResponse:
    ticket = await tickets.get_ticket(ctx, ticket_id, include_deleted=True, for_write=True)
    await tickets.restore(ctx, ticket)
    return with_etag(await view_for(ctx, ticket), ticket.version)


@router.post("/{ticket_id}/mark-read", status_code=204)
async def mark_read(ticket_id: UUID, ctx: Readers) -> Response:
    """Zero the caller's side of the unread counters (customer's or agents')."""
    ticket = await tickets.get_ticket(ctx, ticket_id)
    await tickets.mark_read(ctx, ticket)
    return Response(status_code=204)
