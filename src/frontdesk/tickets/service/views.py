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


def ticket_public(
    ticket: Ticket, status: TicketStatus, tags: list[str], prefix: str
) -> TicketPublic:
    now = utcnow()
    return TicketPublic(
        id=ticket.id,
        number=ticket.number,
        display_id=display_id(prefix, ticket.number),
        subject=ticket.subject,
        description=ticket.description,
        status=status.key,
        status_label=status.label,
        status_category=ticket.status_category,
        priority=ticket.priority,
        type=ticket.type,
        channel=ticket.channel,
        requester_id=ticket.requester_id,
        organization_id=ticket.organization_id,
        group_id=ticket.group_id,
        assignee_id=ticket.assignee_id,
        category_id=ticket.category_id,
        form_id=ticket.form_id,
        tags=tags,
        custom_fields=ticket.custom_fields,
        due_at=ticket.due_at,
        first_response_at=ticket.first_response_at,
        last_message_at=ticket.last_message_at,
        last_public_author_type=ticket.last_public_author_type,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
        reopen_count=ticket.reopen_count,
        message_count=ticket.message_count,
        public_message_count=ticket.public_message_count,
        unread_by_agent=ticket.unread_by_agent,
        unread_by_customer=ticket.unread_by_customer,
        ai_mode=ticket.ai_mode,
        ai_summary=ticket.ai_summary,
        ai_confidence=ticket.ai_confidence,
        ai_auto_resolved=ticket.ai_auto_resolved,
        ai_first_response_at=ticket.ai_first_response_at,
        orchestration_ref=ticket.orchestration_ref,
        follow_up_of_id=ticket.follow_up_of_id,
        sla_next_due_at=ticket.sla_next_due_at,
        sla_at_risk=sla_at_risk(ticket, now),
        sla_breached=sla_breached(ticket, now),
        deleted_at=ticket.deleted_at,
        deleted_by=ticket.deleted_by,
        version=ticket.version,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        created_by=ticket.created_by,
        updated_by=ticket.updated_by,
    )


def customer_view(public: TicketPublic) -> TicketCustomerView:
    return TicketCustomerView.model_validate(
        public.model_dump(include=set(TicketCustomerView.model_fields))
    )


async def staff_views(
    session: AsyncSession, tenant_id: UUID, prefix: str, tickets: Sequence[Ticket]
) -> list[TicketPublic]:
    """Full views of many tickets in two extra queries (statuses, tags)."""
    statuses = await statuses_by_id(session, tenant_id)
    tags = await tags_of(session, tenant_id, [t.id for t in tickets])
    return [ticket_public(t, statuses[t.status_id], tags[t.id], prefix) for t in tickets]


async def views_for(
    ctx: TenantContext, tickets: Sequence[Ticket]
) -> list[TicketPublic] | list[TicketCustomerView]:
    publics = await staff_views(ctx.session, ctx.tenant_id, ctx.tenant.ticket_prefix, tickets)
    if ctx.role is Role.CONTACT:
        return [customer_view(p) for p in publics]
    return publics


async def view_for(ctx: TenantContext, ticket: Ticket) -> TicketPublic | TicketCustomerView:
    (view,) = await views_for(ctx, [ticket])
    return view
