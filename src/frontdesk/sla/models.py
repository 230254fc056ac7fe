"""Business calendars, SLA policies and targets, and every ticket's live SLA state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.core.db import Base, JSONType
from frontdesk.identity.models import TenantOwned, in_values


class Metric(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"
    PERIODIC_UPDATE = "periodic_update"


class SlaStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    CANCELLED = "cancelled"


class NotifyRole(StrEnum):
    ASSIGNEE = "assignee"
    GROUP_LEADS = "group_leads"
    ADMINS = "admins"
    FOLLOWERS = "followers"


class SlaCalendar(TenantOwned, Base):
    """Opening hours in one time zone: a weekly schedule and holidays."""

    __tablename__ = "sla_calendar"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    #: `{"mon": [["09:00", "17:00"]], ...}` as given; validated by `business_time.build_week`.
    schedule: Mapped[dict[str, Any]]
    #: `[{"date": "2026-12-25", "end_date": null, "name": "Christmas"}]`
    holidays: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    holiday_country: Mapped[str | None] = mapped_column(String(8))
    holiday_subdivision: Mapped[str | None] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class SlaPolicy(TenantOwned, Base):
    """Which tickets it covers (conditions), on which clock, what targets, who hears of it."""

    __tablename__ = "sla_policy"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        ForeignKeyConstraint(
            ["tenant_id", "calendar_id"], ["sla_calendar.tenant_id", "sla_calendar.id"]
        ),
        Index("ix_sla_policy_order", "tenant_id", "position"),
    )

    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    #: The tenant's fallback when no policy's conditions match (at most one per tenant).
    is_default: Mapped[bool] = mapped_column(default=False)
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    calendar_id: Mapped[UUID | None]
    business_hours_only: Mapped[bool] = mapped_column(default=True)
    pause_categories: Mapped[list[str]] = mapped_column(default=list)
    at_risk_percent: Mapped[int | None]
    at_risk_minutes: Mapped[int | None]
    notify_at_risk: Mapped[list[str]] = mapped_column(default=list)
    notify_breach: Mapped[list[str]] = mapped_column(default=list)
    escalation: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class SlaTarget(TenantOwned, Base):
    __tablename__ = "sla_target"
    __table_args__ = (
        UniqueConstraint("tenant_id", "policy_id", "priority", "metric"),
        ForeignKeyConstraint(
            ["tenant_id", "policy_id"],
            ["sla_policy.tenant_id", "sla_policy.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint(in_values("metric", Metric), name="metric"),
        CheckConstraint("minutes > 0", name="positive_minutes"),
    )

    policy_id: Mapped[UUID]
    priority: Mapped[str] = mapped_column(String(10))
    metric: Mapped[str] = mapped_column(String(20))
    minutes: Mapped[int]


class TicketSlaState(TenantOwned, Base):
    """One ticket's clock for one metric.

    The clock runs from `running_since`, with `elapsed_business_seconds` counted before it;
    paused, it stops (`paused_at`) and `due_at` is unknown. `next_check_at` is the next instant
    the sweep has something to announce (at risk, then breach): the sweep's indexed column.
    No version column: the ticket's own version orders concurrent changes of a ticket, and the
    sweep holds the row lock.
    """

    __tablename__ = "ticket_sla_state"
    __table_args__ = (
        UniqueConstraint("tenant_id", "ticket_id", "metric"),
        ForeignKeyConstraint(
            ["tenant_id", "ticket_id"], ["ticket.tenant_id", "ticket.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "policy_id"], ["sla_policy.tenant_id", "sla_policy.id"]),
        CheckConstraint(in_values("metric", Metric), name="metric"),
        CheckConstraint(in_values("status", SlaStatus), name="status"),
        Index("ix_ticket_sla_state_next_check", "next_check_at"),
        Index("ix_ticket_sla_state_policy", "tenant_id", "policy_id"),
    )

    ticket_id: Mapped[UUID]
    metric: Mapped[str] = mapped_column(String(20))
    policy_id: Mapped[UUID | None]
    calendar_id: Mapped[UUID | None]
    target_minutes: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default=SlaStatus.ACTIVE.value)
    started_at: Mapped[datetime]
    running_since: Mapped[datetime | None]
    elapsed_business_seconds: Mapped[float] = mapped_column(default=0.0)
    due_at: Mapped[datetime | None]
    at_risk_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    paused_business_minutes: Mapped[float] = mapped_column(default=0.0)
    met_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    at_risk_notified_at: Mapped[datetime | None]
    breach_notified_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]
    #: Business and calendar minutes from start to met (or to cancellation), for the report.
    business_minutes: Mapped[float | None]
    calendar_minutes: Mapped[float | None]
    assignee_id: Mapped[UUID | None]
    group_id: Mapped[UUID | None]
    priority: Mapped[str] = mapped_column(String(10))


class SlaRetarget(TenantOwned, Base):
    """A ticket whose clocks must follow an edit of its policy or calendar; `id` is the ticket's.

    Written by the edit (one INSERT ... SELECT, however many tickets), consumed by the worker's
    `sla.retarget` job in batches; one row per ticket however many edits marked it.
    """

    __tablename__ = "sla_retarget"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "id"], ["ticket.tenant_id", "ticket.id"], ondelete="CASCADE"
        ),
        Index("ix_sla_retarget_marked", "marked_at"),
    )

    marked_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200))
