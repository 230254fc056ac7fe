"""The SLA report: per policy, group, priority or agent over a date range."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from statistics import fmean, median
from typing import Any
from uuid import UUID

from sqlalchemy import select

from frontdesk.core.errors import ValidationFailed
from frontdesk.identity.context import TenantContext
from frontdesk.sla.models import Metric, SlaStatus, TicketSlaState
from frontdesk.sla.schemas import ReportDimension, ReportRow, SlaReport

MAX_RANGE_DAYS = 400
KEY_COLUMNS = {
    "policy": TicketSlaState.policy_id,
    "group": TicketSlaState.group_id,
    "priority": TicketSlaState.priority,
    "agent": TicketSlaState.assignee_id,
}


@dataclass
class _Bucket:
    tickets: set[UUID] = field(default_factory=set)
    breaches: int = 0
    met: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    decided: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    business: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    calendar: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


@dataclass(frozen=True)
class ReportFilter:
    """Only the clocks of one policy, group and/or agent (ids of the caller's tenant)."""

    policy_id: UUID | None = None
    group_id: UUID | None = None
    agent_id: UUID | None = None

    def conditions(self) -> list[Any]:
        pairs = [
            (TicketSlaState.policy_id, self.policy_id),
            (TicketSlaState.group_id, self.group_id),
            (TicketSlaState.assignee_id, self.agent_id),
        ]
        return [column == value for column, value in pairs if value is not None]


def summary(values: list[float]) -> dict[str, float | None]:
    """Average, median and 90th percentile (nearest rank) of the values, rounded to 0.1."""
    if not values:
        return {"avg": None, "median": None, "p90": None}
    ordered = sorted(values)
    rank = max(0, -(-9 * len(ordered) // 10) - 1)
    return {
        "avg": round(fmean(ordered), 1),
        "median": round(median(ordered), 1),
        "p90": round(ordered[rank], 1),
    }


async def sla_report(
    ctx: TenantContext,
    *,
    by: ReportDimension,
    start: datetime,
    end: datetime,
    only: ReportFilter | None = None,
) -> SlaReport:
    """Clocks started in `[start, end)`: % met on time of first response and resolution,
    breaches of every metric, and business and calendar minutes to meet them."""
    if end <= start:
        raise ValidationFailed("end must be after start", field="end")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValidationFailed(f"at most {MAX_RANGE_DAYS} days", field="end")
    key_column = KEY_COLUMNS[by]
    rows = await ctx.session.execute(
        select(
            key_column,
            TicketSlaState.ticket_id,
            TicketSlaState.metric,
            TicketSlaState.status,
            TicketSlaState.met_at,
            TicketSlaState.breached_at,
            TicketSlaState.business_minutes,
            TicketSlaState.calendar_minutes,
        ).where(
            TicketSlaState.tenant_id == ctx.tenant_id,
            TicketSlaState.started_at >= start,
            TicketSlaState.started_at < end,
            *(only or ReportFilter()).conditions(),
        )
    )
    buckets: dict[str | None, _Bucket] = defaultdict(_Bucket)
    for key, ticket_id, metric, status, met_at, breached_at, business, calendar in rows.all():
        bucket = buckets[str(key) if key is not None else None]
        bucket.tickets.add(ticket_id)
        if breached_at is not None:
            bucket.breaches += 1
        if status == SlaStatus.CANCELLED.value:
            continue
        if met_at is not None or breached_at is not None:
            bucket.decided[metric] += 1
            bucket.met[metric] += breached_at is None
        if met_at is not None and business is not None and calendar is not None:
            bucket.business[metric].append(business)
            bucket.calendar[metric].append(calendar)
    return SlaReport(
        by=by,
        start=start,
        end=end,
        rows=[_row(key, bucket) for key, bucket in sorted(buckets.items(), key=_order)],
    )


def _order(item: tuple[str | None, _Bucket]) -> tuple[bool, str]:
    return (item[0] is None, item[0] or "")


def _percent(bucket: _Bucket, metric: Metric) -> float | None:
    decided = bucket.decided[metric.value]
    return round(100 * bucket.met[metric.value] / decided, 1) if decided else None


def _row(key: str | None, bucket: _Bucket) -> ReportRow:
    first, resolution = Metric.FIRST_RESPONSE.value, Metric.RESOLUTION.value
    return ReportRow(
        key=key,
        tickets=len(bucket.tickets),
        first_response_met_percent=_percent(bucket, Metric.FIRST_RESPONSE),
        resolution_met_percent=_percent(bucket, Metric.RESOLUTION),
        breaches=bucket.breaches,
        first_response_business_minutes=summary(bucket.business[first]),
        first_response_calendar_minutes=summary(bucket.calendar[first]),
        resolution_business_minutes=summary(bucket.business[resolution]),
        resolution_calendar_minutes=summary(bucket.calendar[resolution]),
    )
