"""The clock of one ticket's SLA metric: start, pause, resume, meet, retarget (no I/O).

A running clock has `running_since` and the business seconds counted before it
(`elapsed_business_seconds`); `due_at` and `at_risk_at` follow from them on the state's
calendar. A stopped clock (paused, met, cancelled) has no `running_since` and no `due_at`
unless it is met, when `due_at` stays for the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from frontdesk.sla.business_time import (
    BusinessHours,
    add_business_time,
    business_time_between,
)
from frontdesk.sla.models import SlaStatus, TicketSlaState

OPEN = frozenset({SlaStatus.ACTIVE.value, SlaStatus.PAUSED.value, SlaStatus.BREACHED.value})


@dataclass(frozen=True)
class Threshold:
    """When a clock is at risk: a percent of the target used, or minutes before due."""

    percent: int | None
    minutes: int | None

    def at_risk_after_seconds(self, target_seconds: float) -> float | None:
        if self.minutes is not None:
            return max(target_seconds - self.minutes * 60, 0.0)
        if self.percent is not None:
            return target_seconds * self.percent / 100
        return None


def is_open(state: TicketSlaState) -> bool:
    """Not met and not cancelled: the clock still matters (a breached one included)."""
    return state.status in OPEN and state.met_at is None


def elapsed_seconds(state: TicketSlaState, hours: BusinessHours, now: datetime) -> float:
    running = 0.0
    if state.running_since is not None and now > state.running_since:
        running = business_time_between(hours, state.running_since, now).total_seconds()
    return state.elapsed_business_seconds + running


def start(
    state: TicketSlaState,
    hours: BusinessHours,
    threshold: Threshold,
    now: datetime,
    *,
    paused: bool,
) -> None:
    """(Re)start the clock from zero, running or paused."""
    state.status = SlaStatus.PAUSED.value if paused else SlaStatus.ACTIVE.value
    state.started_at = now
    state.elapsed_business_seconds = 0.0
    state.paused_business_minutes = 0.0
    state.running_since = None if paused else now
    state.paused_at = now if paused else None
    state.met_at = state.breached_at = None
    state.at_risk_notified_at = state.breach_notified_at = None
    state.business_minutes = state.calendar_minutes = None
    schedule(state, hours, threshold)


def schedule(state: TicketSlaState, hours: BusinessHours, threshold: Threshold) -> None:
    """Derive `due_at`, `at_risk_at` and the sweep's `next_check_at` from the clock."""
    if state.running_since is None or not is_open(state):
        state.due_at = None if is_open(state) else state.due_at
        state.at_risk_at = None
        state.next_check_at = None
        return
    target = state.target_minutes * 60.0
    state.due_at = _when(hours, state, target)
    risk_after = threshold.at_risk_after_seconds(target)
    state.at_risk_at = _when(hours, state, risk_after) if risk_after is not None else None
    state.next_check_at = next_check(state)


def next_check(state: TicketSlaState) -> datetime | None:
    """When the sweep has something to announce: at risk first, then the breach, once each."""
    if state.breach_notified_at is not None or state.due_at is None:
        return None
    risk = state.at_risk_at
    if risk is not None and state.at_risk_notified_at is None and state.breached_at is None:
        return min(risk, state.due_at)
    return state.due_at


def _when(hours: BusinessHours, state: TicketSlaState, after_seconds: float) -> datetime:
    assert state.running_since is not None
    remaining = after_seconds - state.elapsed_business_seconds
    if remaining <= 0:
        return state.running_since
    return add_business_time(hours, state.running_since, timedelta(seconds=remaining))


def pause(state: TicketSlaState, hours: BusinessHours, now: datetime) -> None:
    if not is_open(state) or state.running_since is None:
        return
    _mark_breach_if_due(state, now)
    state.elapsed_business_seconds = elapsed_seconds(state, hours, now)
    state.running_since = None
    state.paused_at = now
    if state.status == SlaStatus.ACTIVE.value:
        state.status = SlaStatus.PAUSED.value
    state.due_at = state.at_risk_at = state.next_check_at = None


def resume(
    state: TicketSlaState, hours: BusinessHours, threshold: Threshold, now: datetime
) -> None:
    if not is_open(state) or state.running_since is not None:
        return
    if state.paused_at is not None:
        paused = business_time_between(hours, state.paused_at, now)
        state.paused_business_minutes += paused / timedelta(minutes=1)
    state.paused_at = None
    state.running_since = now
    if state.status == SlaStatus.PAUSED.value:
        state.status = SlaStatus.ACTIVE.value
    schedule(state, hours, threshold)


def meet(state: TicketSlaState, hours: BusinessHours, now: datetime) -> None:
    """The metric is met now; a clock already past due stays breached (met late)."""
    if not is_open(state):
        return
    _mark_breach_if_due(state, now)
    elapsed = elapsed_seconds(state, hours, now)
    if elapsed > state.target_minutes * 60 and state.breached_at is None:
        state.breached_at = now
        state.status = SlaStatus.BREACHED.value
    state.elapsed_business_seconds = elapsed
    state.running_since = state.paused_at = None
    state.met_at = now
    state.business_minutes = elapsed / 60
    state.calendar_minutes = (now - state.started_at).total_seconds() / 60
    if state.status != SlaStatus.BREACHED.value:
        state.status = SlaStatus.MET.value
    state.at_risk_at = state.next_check_at = None


def reopen(
    state: TicketSlaState, hours: BusinessHours, threshold: Threshold, now: datetime
) -> None:
    """A met clock runs again from where it stopped (resolution after a reopen)."""
    if state.met_at is None or state.status == SlaStatus.CANCELLED.value:
        return
    state.met_at = None
    state.business_minutes = state.calendar_minutes = None
    state.status = SlaStatus.BREACHED.value if state.breached_at else SlaStatus.ACTIVE.value
    state.running_since = now
    schedule(state, hours, threshold)


def cancel(state: TicketSlaState, hours: BusinessHours, now: datetime) -> None:
    if not is_open(state):
        return
    state.elapsed_business_seconds = elapsed_seconds(state, hours, now)
    state.status = SlaStatus.CANCELLED.value
    state.running_since = state.paused_at = None
    state.due_at = state.at_risk_at = state.next_check_at = None


def retarget(
    state: TicketSlaState,
    old_hours: BusinessHours,
    new_hours: BusinessHours,
    threshold: Threshold,
    now: datetime,
    *,
    target_minutes: int,
) -> None:
    """New target (and maybe calendar): the time already elapsed is kept."""
    if state.running_since is not None:
        state.elapsed_business_seconds = elapsed_seconds(state, old_hours, now)
        state.running_since = now
    state.target_minutes = target_minutes
    if is_open(state) and state.breached_at is None and state.status == SlaStatus.BREACHED.value:
        state.status = SlaStatus.ACTIVE.value
    schedule(state, new_hours, threshold)


def _mark_breach_if_due(state: TicketSlaState, now: datetime) -> None:
    if state.due_at is not None and state.due_at <= now and state.breached_at is None:
        state.breached_at = state.due_at
        state.status = SlaStatus.BREACHED.value
