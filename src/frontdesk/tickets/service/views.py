"""Turning ticket rows into what the caller may see."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.clock import utcnow
from frontdesk.identity.context import TenantContext
from frontdesk.identity.policy import Role
from frontdesk.tickets.models import Ticket, TicketStatus
from frontdesk.tickets.repository import statuses_by_id, tags_of
from frontdesk.tickets.schemas import TicketCustomerView, TicketPublic


def display_id(prefix: str, number: int) -> str:
    return f"{prefix}-{number}"


def sla_breached(ticket: Ticket, now: datetime) -> bool:
    """Breached, or past due and not yet seen by the sweep."""
    due = ticket.sla_next_due_at
    return ticket.sla_breached or (due is not None and due <= now)


def sla_at_risk(ticket: Ticket, now: datetime) -> bool:
    due, risk = ticket.sla_next_due_at, ticket.sla_at_risk_at
    return due is not None and risk is not None and risk <= now < due


#: Fields of the staff view worked out here; every other one is the ticket column of that name.
DERIVED = frozenset({"display_id", "status", "status_label", "tags", "sla_at_risk", "sla_breached"})
COPIED = tuple(name for name in TicketPublic.model_fields if name not in DERIVED)


def _view_values(
    ticket: Ticket, status: TicketStatus, tags: list[str], prefix: str, now: datetime
) -> dict[str, object]:
    # Loaded values straight from the instance dict: a page is 50 tickets of 40 columns, and
    # the ORM's attribute descriptor took most of the time. An expired one still uses getattr.
    loaded = ticket.__dict__
    values = {name: loaded[name] if name in loaded else getattr(ticket, name) for name in COPIED}
    values["display_id"] = display_id(prefix, ticket.number)
    values["status"] = status.key
    values["status_label"] = status.label
    values["tags"] = tags
    values["sla_at_risk"] = sla_at_risk(ticket, now)
    values["sla_breached"] = sla_breached(ticket, now)
    return values


def ticket_public(
    ticket: Ticket, status: TicketStatus, tags: list[str], prefix: str
) -> TicketPublic:
    return TicketPublic.model_validate(_view_values(ticket, status, tags, prefix, utcnow()))


async def _values_of(
    session: AsyncSession, tenant_id: UUID, prefix: str, tickets: Sequence[Ticket]
) -> list[dict[str, object]]:
    statuses = await statuses_by_id(session, tenant_id)
    tags = await tags_of(session, tenant_id, [t.id for t in tickets])
    now = utcnow()
    return [_view_values(t, statuses[t.status_id], tags[t.id], prefix, now) for t in tickets]


async def staff_views(
    session: AsyncSession, tenant_id: UUID, prefix: str, tickets: Sequence[Ticket]
) -> list[TicketPublic]:
    """Full views of many tickets in two extra queries (statuses, tags)."""
    values = await _values_of(session, tenant_id, prefix, tickets)
    return [TicketPublic.model_validate(v) for v in values]


async def views_for(
    ctx: TenantContext, tickets: Sequence[Ticket]
) -> list[TicketPublic] | list[TicketCustomerView]:
    values = await _values_of(ctx.session, ctx.tenant_id, ctx.tenant.ticket_prefix, tickets)
    if ctx.role is Role.CONTACT:
        # The customer's model leaves the internal fields out.
        return [TicketCustomerView.model_validate(v) for v in values]
    return [TicketPublic.model_validate(v) for v in values]


async def view_for(ctx: TenantContext, ticket: Ticket) -> TicketPublic | TicketCustomerView:
    (view,) = await views_for(ctx, [ticket])
    return view
