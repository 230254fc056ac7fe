"""Platform admins read any tenant's tickets (`tenant_id` as a query parameter)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from frontdesk.core.errors import NotFound
from frontdesk.core.pagination import DEFAULT_LIMIT, PagePublic, paginate, parse_sort
from frontdesk.core.repository import scoped
from frontdesk.identity.dependencies import PlatformAdmin
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.listing import SORTS
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.schemas import TicketPublic
from frontdesk.tickets.service.views import staff_views

router = APIRouter(prefix="/api/v1/admin/tickets", tags=["platform admin"])


async def _tenant(admin: PlatformAdmin, tenant_id: UUID) -> Tenant:
    tenant = await admin.session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found", field="tenant_id")
    return tenant


@router.get("", response_model=PagePublic[TicketPublic])
async def list_tickets_of_tenant(
    admin: PlatformAdmin,
    tenant_id: UUID,
    include_deleted: bool = False,
    sort: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PagePublic[TicketPublic]:
    tenant = await _tenant(admin, tenant_id)
    statement = scoped(Ticket, tenant.id)
    if not include_deleted:
        statement = statement.where(Ticket.deleted_at.is_(None))
    page = await paginate(
        admin.session,
        statement,
        order=parse_sort(sort, SORTS, "-updated"),
        id_column=Ticket.id,
        limit=limit,
        cursor=cursor,
    )
    items = await staff_views(admin.session, tenant.id, tenant.ticket_prefix, page.items)
    return PagePublic(items=items, next_cursor=page.next_cursor)


@router.get("/{ticket_id}", response_model=TicketPublic)
async def get_ticket_of_tenant(
    admin: PlatformAdmin, ticket_id: UUID, tenant_id: UUID
) -> TicketPublic:
    tenant = await _tenant(admin, tenant_id)
    ticket = await admin.session.get(Ticket, (tenant.id, ticket_id))
    if ticket is None:
        raise NotFound("ticket not found")
    (view,) = await staff_views(admin.session, tenant.id, tenant.ticket_prefix, [ticket])
    return view
