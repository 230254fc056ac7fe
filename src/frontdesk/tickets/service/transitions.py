"""The status transition policy: pure decisions over categories, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from frontdesk.core.errors import Conflict
from frontdesk.tickets.models import StatusCategory

OPEN_CATEGORIES = frozenset(
    {StatusCategory.NEW, StatusCategory.OPEN, StatusCategory.PENDING, StatusCategory.ON_HOLD}
)
DONE_CATEGORIES = frozenset({StatusCategory.RESOLVED, StatusCategory.CLOSED})


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "This status change is not allowed"


@dataclass(frozen=True)
class Transition:
    """What a status change does beyond setting the status."""

    is_reopen: bool
    set_resolved_at: bool
    set_closed_at: bool
    clear_done_at: bool


def plan_transition(
    current: StatusCategory,
    target: StatusCategory,
    *,
    by_customer: bool,
    closed_at: datetime | None,
    now: datetime,
    reopen_window: timedelta,
) -> Transition:
    """Check a change from `current` to `target` and say what it implies.

    Staff move between any statuses; leaving `closed` is a reopen. A customer may only resolve
    or close their ticket, or reopen it: from `resolved`, or from `closed` within the window.
    """
    if by_customer:
        _check_customer(current, target, closed_at=closed_at, now=now, window=reopen_window)
    return Transition(
        is_reopen=current is StatusCategory.CLOSED and target is not StatusCategory.CLOSED,
        set_resolved_at=target in DONE_CATEGORIES,
        set_closed_at=target is StatusCategory.CLOSED,
        clear_done_at=target in OPEN_CATEGORIES,
    )


def _check_customer(
    current: StatusCategory,
    target: StatusCategory,
    *,
    closed_at: datetime | None,
    now: datetime,
    window: timedelta,
) -> None:
    if target in DONE_CATEGORIES:
        return
    if target is not StatusCategory.OPEN:
        raise InvalidTransition("customers can resolve, close or reopen their ticket only")
    if current is StatusCategory.CLOSED and not within_reopen_window(closed_at, now, window):
        raise InvalidTransition("this ticket was closed too long ago to reopen; open a new one")


def within_reopen_window(closed_at: datetime | None, now: datetime, window: timedelta) -> bool:
    return closed_at is not None and now - closed_at <= window
