"""Business calendars: create, change, delete (refused while a policy uses one)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from frontdesk.core.audit import record_change, record_update
from frontdesk.core.clock import utcnow
from frontdesk.core.errors import AlreadyExists
from frontdesk.core.patch import editable_view
from frontdesk.core.repository import get_scoped, scoped
from frontdesk.identity.context import TenantContext
from frontdesk.sla.business_time import BusinessHours, CalendarError, build_week
from frontdesk.sla.errors import CalendarInUse, InvalidCalendar
from frontdesk.sla.models import SlaCalendar, SlaPolicy
from frontdesk.sla.schemas import CalendarCreate, CalendarPublic, CalendarUpdate
from frontdesk.sla.service.retarget import mark_calendar_tickets
from frontdesk.sla.service.rules import forget_rules, holiday_dates

#: What a clock's due time depends on (not the name).
HOURS_FIELDS = ("timezone", "schedule", "holidays", "holiday_country", "holiday_subdivision")


def calendar_snapshot(calendar: SlaCalendar) -> dict[str, Any]:
    return CalendarPublic.model_validate(calendar).model_dump(mode="json")


def _columns(data: CalendarCreate | CalendarUpdate) -> dict[str, Any]:
    """Validated column values; every problem is a 422 naming the part."""
    schedule = {day: [list(pair) for pair in pairs] for day, pairs in data.schedule}
    holidays = [holiday.model_dump(mode="json") for holiday in data.holidays]
    country = data.holiday_country.upper() if data.holiday_country else None
    subdivision = data.holiday_subdivision.upper() if data.holiday_subdivision else None
    if subdivision and not country:
        raise InvalidCalendar("a subdivision needs a country", field="holiday_country")
    try:
        hours = BusinessHours(
            zone=data.timezone,
            week=build_week(schedule),
            holidays=holiday_dates(holidays),
            holiday_country=country,
            holiday_subdivision=subdivision,
        )
        if country:
            hours.is_holiday(utcnow().date())  # an unknown country or subdivision fails here
    except CalendarError as exc:
        raise InvalidCalendar(str(exc), field=exc.field) from exc
    return {
        "name": data.name,
        "timezone": data.timezone,
        "schedule": schedule,
        "holidays": holidays,
        "holiday_country": country,
        "holiday_subdivision": subdivision,
    }


async def _ensure_name_free(ctx: TenantContext, name: str, except_id: UUID | None = None) -> None:
    statement = scoped(SlaCalendar, ctx.tenant_id).where(SlaCalendar.name == name)
    if except_id is not None:
        statement = statement.where(SlaCalendar.id != except_id)
    if await ctx.session.scalar(statement) is not None:
        raise AlreadyExists(f"a calendar named {name!r} already exists", field="name")


async def create_calendar(ctx: TenantContext, data: CalendarCreate) -> SlaCalendar:
    """Validate (zone, intervals, holidays, country set), store, audit, emit."""
    columns = _columns(data)
    await _ensure_name_free(ctx, data.name)
    calendar = SlaCalendar(tenant_id=ctx.tenant_id, **columns)
    ctx.session.add(calendar)
    await ctx.session.flush()
    record_change(
        ctx.session,
        subject_type="sla_calendar",
        action="created",
        tenant_id=ctx.tenant_id,
        subject_id=calendar.id,
        snapshot=calendar_snapshot(calendar),
    )
    return calendar


async def get_calendar(ctx: TenantContext, calendar_id: UUID) -> SlaCalendar:
    return await get_scoped(ctx.session, SlaCalendar, ctx.tenant_id, calendar_id, what="calendar")


def editable_fields(calendar: SlaCalendar) -> dict[str, Any]:
    return editable_view(CalendarUpdate, calendar_snapshot(calendar))


async def update_calendar(
    ctx: TenantContext, calendar: SlaCalendar, data: CalendarUpdate
) -> SlaCalendar:
    """Change a calendar (audited, `sla_calendar.updated`); when its hours changed, the open
    tickets on it are marked for the worker's `sla.retarget` job."""
    columns = _columns(data)
    await _ensure_name_free(ctx, data.name, except_id=calendar.id)
    before = calendar_snapshot(calendar)
    for name, value in columns.items():
        setattr(calendar, name, value)
    await ctx.session.flush()
    forget_rules(ctx.session, ctx.tenant_id)
    after = calendar_snapshot(calendar)
    record_update(
        ctx.session,
        subject_type="sla_calendar",
        tenant_id=ctx.tenant_id,
        subject_id=calendar.id,
        before=before,
        after=after,
    )
    if any(before.get(name) != after.get(name) for name in HOURS_FIELDS):
        await mark_calendar_tickets(ctx.session, ctx.tenant_id, calendar.id)
    return calendar


async def delete_calendar(ctx: TenantContext, calendar: SlaCalendar) -> None:
    used = await ctx.session.scalar(
        scoped(SlaPolicy, ctx.tenant_id).where(SlaPolicy.calendar_id == calendar.id).limit(1)
    )
    if used is not None:
        raise CalendarInUse(f"the policy {used.name!r} uses this calendar")
    snapshot, calendar_id = calendar_snapshot(calendar), calendar.id
    await ctx.session.delete(calendar)
    await ctx.session.flush()
    forget_rules(ctx.session, ctx.tenant_id)
    record_change(
        ctx.session,
        subject_type="sla_calendar",
        action="deleted",
        tenant_id=ctx.tenant_id,
        subject_id=calendar_id,
        snapshot=snapshot,
    )
