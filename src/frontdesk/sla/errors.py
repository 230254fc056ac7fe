"""Errors of the SLA domain."""

from __future__ import annotations

from frontdesk.core.errors import Conflict, ValidationFailed


class InvalidCalendar(ValidationFailed):
    code = "invalid_calendar"
    title = "The calendar is not valid"


class InvalidPolicy(ValidationFailed):
    code = "invalid_policy"
    title = "The SLA policy is not valid"


class CalendarInUse(Conflict):
    code = "calendar_in_use"
    title = "The calendar is used by an SLA policy"
