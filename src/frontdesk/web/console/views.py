"""The console's left bar: the standard views, each group's queue, and their live counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.clock import utcnow
from frontdesk.core.errors import ValidationFailed
from frontdesk.core.repository import scoped
from frontdesk.identity.context import TenantContext
from frontdesk.identity.models import Group, GroupMember
from frontdesk.tickets.models import StatusCategory, Ticket
from frontdesk.tickets.repository import visible_tickets

WORKING = (StatusCategory.NEW.value, StatusCategory.OPEN.value)
UNSOLVED = (*WORKING, StatusCategory.PENDING.value, StatusCategory.ON_HOLD.value)
DONE = (StatusCategory.RESOLVED.value, StatusCategory.CLOSED.value)
RECENT = timedelta(days=7)


@dataclass(frozen=True)
class View:
    key: str
    label: str
    count: int = 0


def _my_groups(ctx: TenantContext) -> Select[UUID]:
    return select(GroupMember.group_id).where(
        GroupMember.tenant_id == ctx.tenant_id, GroupMember.user_id == ctx.user_id
    )


def _standard(ctx: TenantContext) -> dict[str, tuple[str, ColumnElement[bool]]]:
    category = Ticket.status_category
    return {
        "mine": (
            "My open tickets",
            and_(Ticket.assignee_id == ctx.user_id, category.in_(UNSOLVED)),
        ),
        "unassigned": (
            "Unassigned in my groups",
            and_(
                Ticket.assignee_id.is_(None),
                category.in_(UNSOLVED),
                or_(Ticket.group_id.is_(None), Ticket.group_id.in_(_my_groups(ctx))),
            ),
        ),
        "open": ("All open", category.in_(WORKING)),
        "pending": ("Pending", category == StatusCategory.PENDING.value),
        "on_hold": ("On hold", category == StatusCategory.ON_HOLD.value),
        "resolved": (
            "Recently resolved",
            _recently_solved(),
        ),
    }


def _recently_solved() -> ColumnElement[bool]:
    """Solved in the last week. Solving a ticket updates it, so `updated_at >= resolved_at`:
    the bound on `updated_at` changes nothing but lets the queue index find the rows."""
    since = utcnow() - RECENT
    return and_(
        Ticket.status_category.in_(DONE), Ticket.updated_at >= since, Ticket.resolved_at >= since
    )


def view_condition(ctx: TenantContext, key: str) -> ColumnElement[bool]:
    """The condition of view `key`: a standard view, or `group:<id>` for a group's queue."""
    if key.startswith("group:"):
        try:
            group_id = UUID(key.removeprefix("group:"))
        except ValueError as exc:
            raise ValidationFailed("unknown view", field="view") from exc
        return and_(Ticket.group_id == group_id, Ticket.status_category.in_(UNSOLVED))
    standard = _standard(ctx)
    if key not in standard:
        raise ValidationFailed("unknown view", field="view")
    return standard[key][1]


async def groups_of_tenant(session: AsyncSession, tenant_id: UUID) -> list[Group]:
    return list(
        await session.scalars(
            scoped(Group, tenant_id).where(Group.is_active.is_(True)).order_by(Group.name)
        )
    )


async def views_with_counts(
    ctx: TenantContext, groups: list[Group]
) -> tuple[list[View], list[View]]:
    """The standard views and the group queues, counted in two queries over visible tickets."""
    standard = _standard(ctx)
    counted: list[Any] = [
        func.count().filter(condition).label(key) for key, (_, condition) in standard.items()
    ]
    # Every view holds unsolved or recently solved tickets: the closed bulk of a desk's history
    # is left out by the (tenant, status category, updated) index instead of read and filtered.
    relevant = or_(Ticket.status_category.in_(UNSOLVED), _recently_solved())
    statement = visible_tickets(ctx).where(relevant).with_only_columns(*counted)
    row = (await ctx.session.execute(statement)).one()
    views = [View(key, label, int(row._mapping[key])) for key, (label, _) in standard.items()]
    per_group = dict(
        (
            await ctx.session.execute(
                visible_tickets(ctx)
                .where(Ticket.status_category.in_(UNSOLVED), Ticket.group_id.is_not(None))
                .with_only_columns(Ticket.group_id, func.count())
                .group_by(Ticket.group_id)
            )
        ).all()
    )
    queues = [View(f"group:{g.id}", g.name, int(per_group.get(g.id, 0))) for g in groups]
    return views, queues


def view_label(key: str, views: list[View], queues: list[View]) -> str:
    for view in (*views, *queues):
        if view.key == key:
            return view.label
    return "Tickets"
