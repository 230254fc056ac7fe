"""The console's SLA badges and clocks, read from the SLA state the SLA domain keeps.

A row or ticket badge comes from the ticket's own SLA columns (`sla_next_due_at`,
`sla_at_risk_at`, `sla_breached`, already summarized on `TicketPublic`), so a list page needs no
extra query; the ticket page adds one query for the clocks of each metric. Only staff pages use
this module: customers never see SLA data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.sla.models import Metric, SlaStatus, TicketSlaState
from frontdesk.sla.repository import states_of
from frontdesk.tickets.schemas import TicketPublic

METRIC_LABELS = {
    Metric.FIRST_RESPONSE.value: "First response",
    Metric.NEXT_RESPONSE.value: "Next response",
    Metric.RESOLUTION.value: "Resolution",
    Metric.PERIODIC_UPDATE.value: "Periodic update",
}


def duration(seconds: float) -> str:
    """`2 d 3 h`, `3 h 20 min`, `12 min`, `under 1 min`: two units at most."""
    minutes = int(abs(seconds)) // 60
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min" if mins else "under 1 min"


@dataclass(frozen=True)
class SlaBadge:
    """The ticket's next SLA deadline: breached, at risk, or simply running."""

    due_at: datetime | None
    breached: bool
    at_risk: bool
    label: str

    @property
    def tone(self) -> str:
        return "breach" if self.breached else ("soon" if self.at_risk else "due")


def sla_badge(ticket: TicketPublic, now: datetime) -> SlaBadge | None:
    due = ticket.sla_next_due_at
    if due is None and not ticket.sla_breached:
        return None
    return SlaBadge(due, ticket.sla_breached, ticket.sla_at_risk, _label(ticket, due, now))


def _label(ticket: TicketPublic, due: datetime | None, now: datetime) -> str:
    if due is not None and due <= now:
        return f"SLA overdue by {duration((now - due).total_seconds())}"
    left = f"{duration((due - now).total_seconds())} left" if due is not None else ""
    if ticket.sla_breached:
        return f"SLA breached{', next due: ' + left if left else ''}"
    if ticket.sla_at_risk:
        return f"SLA at risk: {left}"
    return f"SLA: {left}"


@dataclass(frozen=True)
class SlaClock:
    """One metric's clock as the ticket page lists it."""

    metric: str
    status: str
    target_minutes: int
    due_at: datetime | None
    met_at: datetime | None
    breached_at: datetime | None
    paused: bool
    #: `3 h left`, `overdue by 20 min`, or empty when the clock is not running.
    remaining: str


def _clock(state: TicketSlaState, now: datetime) -> SlaClock:
    remaining = ""
    running = state.status in (SlaStatus.ACTIVE.value, SlaStatus.BREACHED.value)
    if running and state.due_at is not None:
        seconds = (state.due_at - now).total_seconds()
        span = duration(seconds)
        remaining = f"{span} left" if seconds > 0 else f"overdue by {span}"
    return SlaClock(
        metric=METRIC_LABELS.get(state.metric, state.metric),
        status=state.status,
        target_minutes=state.target_minutes,
        due_at=state.due_at,
        met_at=state.met_at,
        breached_at=state.breached_at,
        paused=state.status == SlaStatus.PAUSED.value,
        remaining=remaining,
    )


async def sla_clocks(
    session: AsyncSession, tenant_id: UUID, ticket_id: UUID, now: datetime
) -> list[SlaClock]:
    """Every metric's clock of the ticket (cancelled ones left out), in one query."""
    states = await states_of(session, tenant_id, ticket_id)
    return [_clock(s, now) for s in states if s.status != SlaStatus.CANCELLED.value]
