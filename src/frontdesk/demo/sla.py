"""The demo's SLAs: two calendars, two policies, and clocks on every acme ticket.

The tickets are played first and back-dated; their clocks are then rebuilt from each ticket's
milestones and one sweep at `now` announces what is at risk or late, so the demo shows clocks
running, paused, met, met late, breached and cancelled.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.repository import scoped
from frontdesk.identity.context import TenantContext
from frontdesk.sla import repository
from frontdesk.sla.schemas import CalendarCreate, PolicyCreate
from frontdesk.sla.service import calendars, policies
from frontdesk.sla.service.backfill import backfill_tickets
from frontdesk.sla.service.sweep import announce_all
from frontdesk.tickets.models import Ticket

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
METRICS = ("first_response", "next_response", "resolution")
URGENT = {"any": [{"field": "priority", "op": "in", "value": ["high", "urgent"]}]}


def _targets(minutes: dict[str, tuple[int, int, int]]) -> list[dict[str, object]]:
    return [
        {"priority": priority, "metric": metric, "minutes": value}
        for priority, values in minutes.items()
        for metric, value in zip(
            ("first_response", "next_response", "resolution"), values, strict=True
        )
    ]


async def add_demo_sla(ctx: TenantContext, *, now: datetime) -> None:
    """Calendars, policies, every ticket's clocks, and the sweep's announcements at `now`."""
    office = await calendars.create_calendar(
        ctx,
        CalendarCreate.model_validate(
            {
                "name": "Berlin office",
                "timezone": "Europe/Berlin",
                "schedule": {day: [["08:00", "18:00"]] for day in WEEKDAYS},
                "holidays": [{"date": "2026-12-24", "end_date": "2026-12-26", "name": "Christmas"}],
                "holiday_country": "DE",
                "holiday_subdivision": "BE",
            }
        ),
    )
    await calendars.create_calendar(
        ctx,
        CalendarCreate.model_validate(
            {
                "name": "New York follow-the-sun",
                "timezone": "America/New_York",
                "schedule": {
                    **{day: [["07:00", "23:00"]] for day in WEEKDAYS},
                    "sat": [["10:00", "14:00"]],
                },
                "holiday_country": "US",
            }
        ),
    )
    await policies.create_policy(
        ctx,
        PolicyCreate.model_validate(
            {
                "name": "Urgent around the clock",
                "position": 1,
                "conditions": {
                    "any": [{"field": "priority", "op": "in", "value": ["high", "urgent"]}]
                },
                "business_hours_only": False,
                "targets": [
                    *_targets({"high": (120, 240, 1440), "urgent": (30, 60, 480)}),
                    {"priority": "urgent", "metric": "periodic_update", "minutes": 240},
                ],
                "at_risk_percent": 75,
                "notify_at_risk": ["assignee"],
                "notify_breach": ["assignee", "group_leads"],
            }
        ),
    )
    await policies.create_policy(
        ctx,
        PolicyCreate.model_validate(
            {
                "name": "Standard business hours",
                "is_default": True,
                "calendar_id": str(office.id),
                "targets": _targets({"low": (960, 1440, 7200), "normal": (480, 960, 4800)}),
                "at_risk_minutes": 60,
                "at_risk_percent": None,
                "notify_breach": ["assignee"],
            }
        ),
    )
    session = ctx.session
    tickets = await session.scalars(
        scoped(Ticket, ctx.tenant_id).where(Ticket.deleted_at.is_(None)).order_by(Ticket.number)
    )
    await backfill_tickets(session, list(tickets), now=now)
    await _announce_due(session, now)


async def _announce_due(session: AsyncSession, now: datetime) -> None:
    due = await session.scalars(repository.due_for_sweep(now, 10_000))
    await announce_all(session, list(due), now)
