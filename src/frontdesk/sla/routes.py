"""SLA calendars, policies, the report, and a ticket's SLA (staff only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from frontdesk.core.clock import utcnow
from frontdesk.core.idempotency import create_idempotently
from frontdesk.core.pagination import DEFAULT_LIMIT, PagePublic, paginate, parse_sort
from frontdesk.core.patch import patch_openapi, read_patch
from frontdesk.core.repository import scoped
from frontdesk.core.responses import with_etag
from frontdesk.identity.context import TenantContext
from frontdesk.identity.dependencies import permits
from frontdesk.identity.policy import Action
from frontdesk.sla.models import SlaCalendar, SlaPolicy
from frontdesk.sla.schemas import (
    CalendarCreate,
    CalendarPublic,
    CalendarUpdate,
    PolicyCreate,
    PolicyPublic,
    PolicyUpdate,
    ReportDimension,
    SlaReport,
    TicketSlaPublic,
)
from frontdesk.sla.service import calendars, policies, report
from frontdesk.sla.service import tickets as ticket_sla
from frontdesk.tickets.listing import parse_instant
from frontdesk.tickets.service.tickets import get_ticket

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["sla"])

Readers = Annotated[TenantContext, permits(Action.SLA_READ)]
Managers = Annotated[TenantContext, permits(Action.SLA_MANAGE)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500)]
Sort = Annotated[str | None, Query(max_length=20)]


@router.get("/sla/calendars", response_model=PagePublic[CalendarPublic])
async def list_calendars(
    ctx: Readers, sort: Sort = None, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> PagePublic[CalendarPublic]:
    page = await paginate(
        ctx.session,
        scoped(SlaCalendar, ctx.tenant_id),
        order=parse_sort(sort, {"name": SlaCalendar.name}, "name"),
        id_column=SlaCalendar.id,
        limit=limit,
        cursor=cursor,
    )
    items = [CalendarPublic.model_validate(calendar) for calendar in page.items]
    return PagePublic(items=items, next_cursor=page.next_cursor)


@router.post("/sla/calendars", response_model=CalendarPublic, status_code=201)
async def create_calendar(body: CalendarCreate, ctx: Managers, request: Request) -> JSONResponse:
    async def create() -> CalendarPublic:
        return CalendarPublic.model_validate(await calendars.create_calendar(ctx, body))

    return await create_idempotently(request, ctx.session, create)


@router.get("/sla/calendars/{calendar_id}", response_model=CalendarPublic)
async def get_calendar(calendar_id: UUID, ctx: Readers) -> JSONResponse:
    calendar = await calendars.get_calendar(ctx, calendar_id)
    return with_etag(CalendarPublic.model_validate(calendar), calendar.version)


@router.patch(
    "/sla/calendars/{calendar_id}",
    response_model=CalendarPublic,
    openapi_extra=patch_openapi(CalendarUpdate),
)
async def update_calendar(calendar_id: UUID, ctx: Managers, request: Request) -> JSONResponse:
    calendar = await calendars.get_calendar(ctx, calendar_id)
    current = calendars.editable_fields(calendar)
    changes = await read_patch(request, CalendarUpdate, current, calendar.version)
    calendar = await calendars.update_calendar(ctx, calendar, changes)
    return with_etag(CalendarPublic.model_validate(calendar), calendar.version)


@router.delete("/sla/calendars/{calendar_id}", status_code=204)
async def delete_calendar(calendar_id: UUID, ctx: Managers) -> Response:
    await calendars.delete_calendar(ctx, await calendars.get_calendar(ctx, calendar_id))
    return Response(status_code=204)


@router.get("/sla/policies", response_model=PagePublic[PolicyPublic])
async def list_policies(
    ctx: Readers,
    active: bool | None = None,
    sort: Sort = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> PagePublic[PolicyPublic]:
    """Policies in the order they are tried (`position`) unless `sort` says otherwise."""
    statement = scoped(SlaPolicy, ctx.tenant_id)
    if active is not None:
        statement = statement.where(SlaPolicy.active.is_(active))
    page = await paginate(
        ctx.session,
        statement,
        order=parse_sort(
            sort, {"position": SlaPolicy.position, "name": SlaPolicy.name}, "position"
        ),
        id_column=SlaPolicy.id,
        limit=limit,
        cursor=cursor,
    )
    items = await policies.policies_public(ctx, list(page.items))
    return PagePublic(items=items, next_cursor=page.next_cursor)


@router.post("/sla/policies", response_model=PolicyPublic, status_code=201)
async def create_policy(body: PolicyCreate, ctx: Managers, request: Request) -> JSONResponse:
    async def create() -> PolicyPublic:
        return await policies.policy_public(ctx, await policies.create_policy(ctx, body))

    return await create_idempotently(request, ctx.session, create)


@router.get("/sla/policies/{policy_id}", response_model=PolicyPublic)
async def get_policy(policy_id: UUID, ctx: Readers) -> JSONResponse:
    policy = await policies.get_policy(ctx, policy_id)
    return with_etag(await policies.policy_public(ctx, policy), policy.version)


@router.patch(
    "/sla/policies/{policy_id}",
    response_model=PolicyPublic,
    openapi_extra=patch_openapi(PolicyUpdate),
)
async def update_policy(policy_id: UUID, ctx: Managers, request: Request) -> JSONResponse:
    policy = await policies.get_policy(ctx, policy_id)
    current = await policies.editable_fields(ctx, policy)
    changes = await read_patch(request, PolicyUpdate, current, policy.version)
    policy = await policies.update_policy(ctx, policy, changes)
    return with_etag(await policies.policy_public(ctx, policy), policy.version)


@router.delete("/sla/policies/{policy_id}", status_code=204)
async def delete_policy(policy_id: UUID, ctx: Managers) -> Response:
    await policies.delete_policy(ctx, await policies.get_policy(ctx, policy_id))
    return Response(status_code=204)


@router.get("/sla/report", response_model=SlaReport)
async def sla_report(
    ctx: Annotated[TenantContext, permits(Action.SLA_REPORT)],
    start: Annotated[str | None, Query(max_length=40)] = None,
    end: Annotated[str | None, Query(max_length=40)] = None,
    by: ReportDimension = "policy",
    policy_id: UUID | None = None,
    group_id: UUID | None = None,
    agent_id: UUID | None = None,
) -> SlaReport:
    """Clocks started in `[start, end)` (default: the 30 UTC days up to the end of today)
    grouped by policy, group, priority or agent."""
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    until = parse_instant("end", end) or midnight + timedelta(days=1)
    since = parse_instant("start", start) or until - timedelta(days=30)
    only = report.ReportFilter(policy_id=policy_id, group_id=group_id, agent_id=agent_id)
    return await report.sla_report(ctx, by=by, start=since, end=until, only=only)


@router.get("/tickets/{ticket_id}/sla", response_model=TicketSlaPublic)
async def get_ticket_sla(
    ticket_id: UUID, ctx: Annotated[TenantContext, permits(Action.TICKET_SLA_READ)]
) -> TicketSlaPublic:
    """The ticket's SLA clocks, one per metric (staff only)."""
    return await ticket_sla.ticket_sla(ctx, await get_ticket(ctx, ticket_id))


@router.post("/tickets/{ticket_id}/sla/recompute", response_model=TicketSlaPublic)
async def recompute_ticket_sla(
    ticket_id: UUID, ctx: Annotated[TenantContext, permits(Action.TICKET_SLA_RECOMPUTE)]
) -> TicketSlaPublic:
    """Match the policy again and re-target the clocks, keeping the time elapsed."""
    return await ticket_sla.recompute(ctx, await get_ticket(ctx, ticket_id))
