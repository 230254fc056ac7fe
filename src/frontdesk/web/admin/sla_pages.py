"""Admin pages for SLA: business calendars, policies with their targets, and the report."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from frontdesk.core.clock import utcnow
from frontdesk.core.errors import ValidationFailed
from frontdesk.identity.context import TenantContext
from frontdesk.sla import repository
from frontdesk.sla.models import Metric, NotifyRole
from frontdesk.sla.schemas import (
    CalendarCreate,
    CalendarUpdate,
    PolicyCreate,
    PolicyUpdate,
    ReportDimension,
    SlaReport,
)
from frontdesk.sla.service import calendars, policies, report
from frontdesk.tickets.models import Priority
from frontdesk.web import forms
from frontdesk.web.admin import queries, sla_forms
from frontdesk.web.admin.frame import (
    FormError,
    SlaAdmins,
    SlaReaders,
    attempt,
    back,
    page,
    validated,
)
from frontdesk.web.auth import ConsoleUser, PageUser

router = APIRouter()

CALENDARS, POLICIES = "sla/calendars", "sla/policies"
REPORT_DIMENSIONS: list[ReportDimension] = ["policy", "group", "priority", "agent"]


# --- calendars --------------------------------------------------------------------------------


async def _calendar_list(
    request: Request, ctx: TenantContext, viewer: PageUser, error: FormError | None = None
) -> HTMLResponse:
    return await page(
        request,
        ctx,
        viewer,
        "admin/sla_calendars.html",
        CALENDARS,
        status_code=error.status if error else 200,
        calendars=await queries.sla_calendars(ctx),
        error=error,
    )


async def _calendar_form(
    request: Request,
    ctx: TenantContext,
    viewer: PageUser,
    values: dict[str, str],
    calendar_id: UUID | None = None,
    error: FormError | None = None,
) -> HTMLResponse:
    return await page(
        request,
        ctx,
        viewer,
        "admin/sla_calendar_form.html",
        CALENDARS,
        title="Edit calendar" if calendar_id else "New calendar",
        status_code=error.status if error else 200,
        values=values,
        calendar_id=calendar_id,
        days=sla_forms.DAYS,
        time_zones=sla_forms.time_zones(),
        error=error,
    )


@router.get("/sla/calendars")
async def calendars_page(request: Request, ctx: SlaAdmins, viewer: ConsoleUser) -> HTMLResponse:
    return await _calendar_list(request, ctx, viewer)


@router.get("/sla/calendars/new")
async def new_calendar_page(request: Request, ctx: SlaAdmins, viewer: ConsoleUser) -> HTMLResponse:
    return await _calendar_form(request, ctx, viewer, sla_forms.calendar_form({}))


@router.post("/sla/calendars")
async def create_calendar(
    request: Request, form: forms.PageForm, ctx: SlaAdmins, viewer: ConsoleUser
) -> Response:
    async def create() -> object:
        data = validated(CalendarCreate, **sla_forms.calendar_values(form))
        return await calendars.create_calendar(ctx, data)

    outcome = await attempt(ctx, create)
    if isinstance(outcome, FormError):
        values = sla_forms.submitted(form)
        return await _calendar_form(request, ctx, viewer, values, error=outcome)
    return back(ctx, CALENDARS)


@router.get("/sla/calendars/{calendar_id}")
async def calendar_page(
    request: Request, calendar_id: UUID, ctx: SlaAdmins, viewer: ConsoleUser
) -> HTMLResponse:
    calendar = await calendars.get_calendar(ctx, calendar_id)
    values = sla_forms.calendar_form(calendars.calendar_snapshot(calendar))
    return await _calendar_form(request, ctx, viewer, values, calendar_id)


@router.post("/sla/calendars/{calendar_id}")
async def update_calendar(
    request: Request,
    form: forms.PageForm,
    calendar_id: UUID,
    ctx: SlaAdmins,
    viewer: ConsoleUser,
) -> Response:
    calendar = await calendars.get_calendar(ctx, calendar_id)

    async def update() -> object:
        data = validated(CalendarUpdate, **sla_forms.calendar_values(form))
        return await calendars.update_calendar(ctx, calendar, data)

    outcome = await attempt(ctx, update)
    if isinstance(outcome, FormError):
        values = sla_forms.submitted(form)
        return await _calendar_form(request, ctx, viewer, values, calendar_id, outcome)
    return back(ctx, CALENDARS)


@router.post("/sla/calendars/{calendar_id}/delete")
async def delete_calendar(
    request: Request, calendar_id: UUID, ctx: SlaAdmins, viewer: ConsoleUser
) -> Response:
    calendar = await calendars.get_calendar(ctx, calendar_id)

    async def remove() -> None:
        await calendars.delete_calendar(ctx, calendar)

    outcome = await attempt(ctx, remove)
    if isinstance(outcome, FormError):
        return await _calendar_list(request, ctx, viewer, outcome)
    return back(ctx, CALENDARS, "removed")


# --- policies ---------------------------------------------------------------------------------


async def _policy_list(
    request: Request, ctx: TenantContext, viewer: PageUser, error: FormError | None = None
) -> HTMLResponse:
    found = await repository.policies_in_order(ctx.session, ctx.tenant_id)
    return await page(
        request,
        ctx,
        viewer,
        "admin/sla_policies.html",
        POLICIES,
        status_code=error.status if error else 200,
        policies=await policies.policies_public(ctx, found),
        calendar_names={c.id: c.name for c in await queries.sla_calendars(ctx)},
        error=error,
    )


async def _policy_form(
    request: Request,
    ctx: TenantContext,
    viewer: PageUser,
    values: dict[str, str],
    policy_id: UUID | None = None,
    error: FormError | None = None,
) -> HTMLResponse:
    return await page(
        request,
        ctx,
        viewer,
        "admin/sla_policy_form.html",
        POLICIES,
        title="Edit policy" if policy_id else "New policy",
        status_code=error.status if error else 200,
        values=values,
        policy_id=policy_id,
        calendars=await queries.sla_calendars(ctx),
        members=await queries.tenant_members(ctx),
        all_groups=await queries.all_groups(ctx),
        priorities=[p.value for p in Priority],
        metrics=[m.value for m in Metric],
        notify_roles=[r.value for r in NotifyRole],
        pause_categories=sla_forms.PAUSE_CATEGORIES,
        condition_fields=sla_forms.CONDITION_FIELDS,
        condition_ops=sla_forms.CONDITION_OPS,
        condition_rows=sla_forms.row_count(values, "cond_field_", sla_forms.CONDITION_ROWS),
        escalations=sla_forms.ESCALATIONS,
        escalation_rows=sla_forms.row_count(values, "esc_action_", sla_forms.ESCALATION_ROWS),
        error=error,
    )


@router.get("/sla/policies")
async def policies_page(request: Request, ctx: SlaAdmins, viewer: ConsoleUser) -> HTMLResponse:
    return await _policy_list(request, ctx, viewer)


@router.get("/sla/policies/new")
async def new_policy_page(request: Request, ctx: SlaAdmins, viewer: ConsoleUser) -> HTMLResponse:
    return await _policy_form(request, ctx, viewer, sla_forms.new_policy_form())


@router.post("/sla/policies")
async def create_policy(
    request: Request, form: forms.PageForm, ctx: SlaAdmins, viewer: ConsoleUser
) -> Response:
    async def create() -> object:
        data = validated(PolicyCreate, **sla_forms.policy_values(form))
        return await policies.create_policy(ctx, data)

    outcome = await attempt(ctx, create)
    if isinstance(outcome, FormError):
        values = sla_forms.submitted(form)
        return await _policy_form(request, ctx, viewer, values, error=outcome)
    return back(ctx, POLICIES)


@router.get("/sla/policies/{policy_id}")
async def policy_page(
    request: Request, policy_id: UUID, ctx: SlaAdmins, viewer: ConsoleUser
) -> HTMLResponse:
    policy = await policies.get_policy(ctx, policy_id)
    public = (await policies.policy_public(ctx, policy)).model_dump(mode="json")
    return await _policy_form(request, ctx, viewer, sla_forms.policy_form(public), policy_id)


@router.post("/sla/policies/{policy_id}")
async def update_policy(
    request: Request, form: forms.PageForm, policy_id: UUID, ctx: SlaAdmins, viewer: ConsoleUser
) -> Response:
    policy = await policies.get_policy(ctx, policy_id)

    async def update() -> object:
        data = validated(PolicyUpdate, **sla_forms.policy_values(form))
        return await policies.update_policy(ctx, policy, data)

    outcome = await attempt(ctx, update)
    if isinstance(outcome, FormError):
        values = sla_forms.submitted(form)
        return await _policy_form(request, ctx, viewer, values, policy_id, outcome)
    return back(ctx, POLICIES)


@router.post("/sla/policies/{policy_id}/active")
async def toggle_policy(
    request: Request, form: forms.PageForm, policy_id: UUID, ctx: SlaAdmins, viewer: ConsoleUser
) -> Response:
    """Switch a policy on or off, everything else as it is."""
    policy = await policies.get_policy(ctx, policy_id)
    fields = await policies.editable_fields(ctx, policy)
    fields["active"] = form.get("active") == "on"

    async def update() -> object:
        return await policies.update_policy(ctx, policy, validated(PolicyUpdate, **fields))

    outcome = await attempt(ctx, update)
    if isinstance(outcome, FormError):
        return await _policy_list(request, ctx, viewer, outcome)
    return back(ctx, POLICIES)


@router.post("/sla/policies/{policy_id}/delete")
async def delete_policy(policy_id: UUID, ctx: SlaAdmins) -> Response:
    await policies.delete_policy(ctx, await policies.get_policy(ctx, policy_id))
    return back(ctx, POLICIES, "removed")


# --- the report -------------------------------------------------------------------------------


def _day(name: str, value: str, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(f"{name} is not a date like 2026-01-31", field=name) from exc


async def _key_names(ctx: TenantContext, by: ReportDimension) -> dict[str, str]:
    """What the report's keys (ids) are called, for the dimension shown."""
    if by == "policy":
        found = await repository.policies_in_order(ctx.session, ctx.tenant_id)
        return {str(p.id): p.name for p in found}
    if by == "group":
        return {str(g.id): g.name for g in await queries.all_groups(ctx)}
    if by == "agent":
        return {str(m.user_id): m.display_name for m in await queries.tenant_members(ctx)}
    return {}


@router.get("/sla/report")
async def report_page(
    request: Request,
    ctx: SlaReaders,
    viewer: ConsoleUser,
    start: Annotated[str, Query(max_length=20)] = "",
    end: Annotated[str, Query(max_length=20)] = "",
    by: Annotated[str, Query(max_length=20)] = "policy",
) -> HTMLResponse:
    """The API's SLA report as a table: clocks started from `start` to `end` (both days
    included, UTC), by policy, group, priority or agent."""
    today = utcnow().date()
    dimension: ReportDimension = by if by in REPORT_DIMENSIONS else "policy"
    found: SlaReport | FormError | None = None
    first, last = today - timedelta(days=29), today
    try:
        first, last = _day("start", start, first), _day("end", end, last)
        found = await report.sla_report(
            ctx,
            by=dimension,
            start=datetime.combine(first, time(), UTC),
            end=datetime.combine(last + timedelta(days=1), time(), UTC),
        )
    except ValidationFailed as error:
        found = FormError.of(error)
    return await page(
        request,
        ctx,
        viewer,
        "admin/sla_report.html",
        POLICIES,
        title="SLA report",
        status_code=found.status if isinstance(found, FormError) else 200,
        report=found if isinstance(found, SlaReport) else None,
        error=found if isinstance(found, FormError) else None,
        start=start or first.isoformat(),
        end=end or last.isoformat(),
        by=dimension,
        dimensions=REPORT_DIMENSIONS,
        names=await _key_names(ctx, dimension),
    )
