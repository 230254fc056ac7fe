"""The console's ticket list: a view, filters, search and sort over the visible tickets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from frontdesk.core.clock import utcnow
from frontdesk.core.pagination import paginate, parse_sort
from frontdesk.identity.context import TenantContext
from frontdesk.identity.models import Group
from frontdesk.tickets.listing import SORTS, TicketFilters, apply_filters
from frontdesk.tickets.models import Priority, Ticket
from frontdesk.tickets.repository import visible_tickets
from frontdesk.tickets.schemas import TicketPublic
from frontdesk.tickets.service.views import staff_views
from frontdesk.web.console.names import contact_names, group_names, user_names
from frontdesk.web.console.sla import SlaBadge, sla_badge
from frontdesk.web.console.views import view_condition

PAGE_SIZE = 50
DUE_SOON_SECONDS = 4 * 3600


@dataclass(frozen=True)
class Due:
    """The badge of a ticket's own due date, shown when no SLA clock runs."""

    at: datetime
    overdue: bool
    soon: bool


@dataclass(frozen=True)
class Row:
    ticket: TicketPublic
    requester: str
    assignee: str
    group: str
    due: Due | None
    sla: SlaBadge | None


@dataclass
class ListQuery:
    view: str = "unassigned"
    q: str = ""
    status: list[str] = field(default_factory=list)
    priority: list[Priority] = field(default_factory=list)
    #: "breached" or "at_risk" narrows the list to tickets in that SLA state.
    sla: str = ""
    sort: str = "-updated"
    cursor: str | None = None


@dataclass(frozen=True)
class ListPage:
    rows: list[Row]
    next_cursor: str | None


def due_badge(due_at: datetime | None, now: datetime) -> Due | None:
    if due_at is None:
        return None
    left = (due_at - now).total_seconds()
    return Due(due_at, overdue=left < 0, soon=0 <= left < DUE_SOON_SECONDS)


async def list_rows(ctx: TenantContext, query: ListQuery, groups: list[Group]) -> ListPage:
    """One page of the list in six queries, whatever its length."""
    statement = visible_tickets(ctx).where(view_condition(ctx, query.view))
    filters = TicketFilters(
        status=query.status,
        priority=query.priority,
        q=query.q or None,
        sla_breached=True if query.sla == "breached" else None,
        sla_at_risk=True if query.sla == "at_risk" else None,
    )
    statement = apply_filters(ctx, statement, filters)
    page = await paginate(
        ctx.session,
        statement,
        order=parse_sort(query.sort, SORTS, "-updated"),
        id_column=Ticket.id,
        limit=PAGE_SIZE,
        cursor=query.cursor,
    )
    tickets = list(page.items)
    publics = await staff_views(ctx.session, ctx.tenant_id, ctx.tenant.ticket_prefix, tickets)
    requesters = await contact_names(ctx.session, ctx.tenant_id, [t.requester_id for t in tickets])
    assignees = await user_names(ctx.session, [t.assignee_id for t in tickets])
    group_by_id = group_names(groups)
    now = utcnow()
    done = ("resolved", "closed")
    rows = [
        Row(
            ticket=public,
            requester=requesters.get(public.requester_id, ""),
            assignee=assignees.get(public.assignee_id, "") if public.assignee_id else "",
            group=group_by_id.get(public.group_id, "") if public.group_id else "",
            due=due_badge(public.due_at, now) if public.status_category not in done else None,
            sla=sla_badge(public, now),
        )
        for public in publics
    ]
    return ListPage(rows, page.next_cursor)


def sort_link_value(current: str, column: str) -> str:
    """The sort a column header links to: this column, flipped when already sorted by it."""
    if current == column:
        return f"-{column}"
    return column


def ids_from_form(values: list[str]) -> list[UUID]:
    found: list[UUID] = []
    for value in values:
        try:
            found.append(UUID(value))
        except ValueError:
            continue
    return found
