"""API shapes of calendars, policies, per-ticket SLA state and the SLA report."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from frontdesk.sla.models import Metric, NotifyRole, SlaStatus
from frontdesk.tickets.models import Priority, StatusCategory

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Clock = Annotated[str, StringConstraints(max_length=5)]
Interval = Annotated[list[Clock], Field(min_length=2, max_length=2)]
DayIntervals = Annotated[list[Interval], Field(max_length=24)]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=64)
]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Schedule(Strict):
    mon: DayIntervals = Field(default_factory=list)
    tue: DayIntervals = Field(default_factory=list)
    wed: DayIntervals = Field(default_factory=list)
    thu: DayIntervals = Field(default_factory=list)
    fri: DayIntervals = Field(default_factory=list)
    sat: DayIntervals = Field(default_factory=list)
    sun: DayIntervals = Field(default_factory=list)


class Holiday(Strict):
    date: dt.date
    end_date: dt.date | None = None
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Holiday:
        if self.end_date is not None and self.end_date < self.date:
            raise ValueError("end_date is before date")
        if self.end_date is not None and (self.end_date - self.date).days > 366:
            raise ValueError("a holiday range spans at most a year")
        return self


class CalendarCreate(Strict):
    name: Name
    timezone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
    schedule: Schedule
    holidays: Annotated[list[Holiday], Field(max_length=500)] = Field(default_factory=list)
    holiday_country: Annotated[str, StringConstraints(max_length=8)] | None = None
    holiday_subdivision: Annotated[str, StringConstraints(max_length=16)] | None = None


class CalendarUpdate(Strict):
    name: Name
    timezone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
    schedule: Schedule
    holidays: Annotated[list[Holiday], Field(max_length=500)]
    holiday_country: Annotated[str, StringConstraints(max_length=8)] | None
    holiday_subdivision: Annotated[str, StringConstraints(max_length=16)] | None


class CalendarPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    timezone: str
    schedule: dict[str, list[list[str]]]
    holidays: list[dict[str, Any]]
    holiday_country: str | None
    holiday_subdivision: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class Condition(BaseModel):
    """Checked in `sla.conditions` so that the error names the exact part."""

    model_config = ConfigDict(extra="allow")


class TargetIn(Strict):
    priority: Priority
    metric: Metric
    minutes: Annotated[int, Field(gt=0, le=525_600)]


class RaisePriority(Strict):
    action: Literal["raise_priority"]


class MoveToGroup(Strict):
    action: Literal["move_to_group"]
    group_id: UUID


class AssignTo(Strict):
    action: Literal["assign"]
    user_id: UUID


class AddTag(Strict):
    action: Literal["add_tag"]
    tag: Tag


class AddNote(Strict):
    action: Literal["add_internal_note"]
    body: Note


Escalation = Annotated[
    RaisePriority | MoveToGroup | AssignTo | AddTag | AddNote, Field(discriminator="action")
]
NotifyRoles = Annotated[list[NotifyRole], Field(max_length=4)]
PauseCategory = Literal[StatusCategory.PENDING, StatusCategory.ON_HOLD]
PauseCategories = Annotated[list[PauseCategory], Field(max_length=2)]


def _default_pause() -> list[PauseCategory]:
    return [StatusCategory.PENDING, StatusCategory.ON_HOLD]


class PolicyCreate(Strict):
    name: Name
    position: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    active: bool = True
    is_default: bool = False
    conditions: dict[str, Any] = Field(default_factory=dict)
    calendar_id: UUID | None = None
    business_hours_only: bool = True
    pause_categories: PauseCategories = Field(default_factory=_default_pause)
    targets: Annotated[list[TargetIn], Field(max_length=64)] = Field(default_factory=list)
    at_risk_percent: Annotated[int, Field(gt=0, lt=100)] | None = 75
    at_risk_minutes: Annotated[int, Field(gt=0, le=525_600)] | None = None
    notify_at_risk: NotifyRoles = Field(default_factory=lambda: [NotifyRole.ASSIGNEE])
    notify_breach: NotifyRoles = Field(
        default_factory=lambda: [NotifyRole.ASSIGNEE, NotifyRole.GROUP_LEADS]
    )
    escalation: Annotated[list[Escalation], Field(max_length=10)] = Field(default_factory=list)


class PolicyUpdate(Strict):
    name: Name
    position: Annotated[int, Field(ge=0, le=1_000_000)]
    active: bool
    is_default: bool
    conditions: dict[str, Any]
    calendar_id: UUID | None
    business_hours_only: bool
    pause_categories: PauseCategories
    targets: Annotated[list[TargetIn], Field(max_length=64)]
    at_risk_percent: Annotated[int, Field(gt=0, lt=100)] | None
    at_risk_minutes: Annotated[int, Field(gt=0, le=525_600)] | None
    notify_at_risk: NotifyRoles
    notify_breach: NotifyRoles
    escalation: Annotated[list[Escalation], Field(max_length=10)]


class TargetPublic(BaseModel):
    priority: str
    metric: str
    minutes: int


class PolicyPublic(BaseModel):
    id: UUID
    name: str
    position: int
    active: bool
    is_default: bool
    conditions: dict[str, Any]
    calendar_id: UUID | None
    business_hours_only: bool
    pause_categories: list[str]
    targets: list[TargetPublic]
    at_risk_percent: int | None
    at_risk_minutes: int | None
    notify_at_risk: list[str]
    notify_breach: list[str]
    escalation: list[dict[str, Any]]
    version: int
    created_at: datetime
    updated_at: datetime


class SlaStatePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    metric: Metric
    status: SlaStatus
    policy_id: UUID | None
    target_minutes: int
    started_at: datetime
    due_at: datetime | None
    at_risk_at: datetime | None
    paused_at: datetime | None
    paused_business_minutes: float
    met_at: datetime | None
    breached_at: datetime | None
    at_risk_notified_at: datetime | None
    breach_notified_at: datetime | None


class TicketSlaPublic(BaseModel):
    ticket_id: UUID
    policy_id: UUID | None
    next_due_at: datetime | None
    breached: bool
    states: list[SlaStatePublic]


ReportDimension = Literal["policy", "group", "priority", "agent"]


class ReportRow(BaseModel):
    key: str | None
    tickets: int
    first_response_met_percent: float | None
    resolution_met_percent: float | None
    breaches: int
    first_response_business_minutes: dict[str, float | None]
    first_response_calendar_minutes: dict[str, float | None]
    resolution_business_minutes: dict[str, float | None]
    resolution_calendar_minutes: dict[str, float | None]


class SlaReport(BaseModel):
    by: ReportDimension
    start: datetime
    end: datetime
    rows: list[ReportRow]
