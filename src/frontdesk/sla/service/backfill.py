"""Clocks for tickets that predate their policy, rebuilt from the ticket's own milestones.

Used by the demo (tickets played first, policies added after) and useful after introducing
SLAs to a desk with open tickets: created → first response → resolution, with the current
pause and the last unanswered customer message taken from the ticket row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.sla import states
from frontdesk.sla.models import Metric, TicketSlaState
from frontdesk.sla.service.engine import DONE, write_summaries
from frontdesk.sla.service.rules import PolicyRule, choose_policy, rules_for
from frontdesk.tickets.models import AuthorType, Ticket


async def backfill_tickets(session: AsyncSession, tickets: list[Ticket], *, now: datetime) -> int:
    """Create the tickets' clocks as if their policy had applied from the start; returns how
    many. Tickets that already have clocks are left alone. Written in bulk."""
    ids = [ticket.id for ticket in tickets]
    have = set(
        await session.scalars(
            select(TicketSlaState.ticket_id).where(TicketSlaState.ticket_id.in_(ids)).distinct()
        )
    )
    made: list[tuple[Ticket, list[TicketSlaState]]] = []
    for ticket in tickets:
        if ticket.id in have:
            continue
        rule = await choose_policy(session, await rules_for(session, ticket.tenant_id), ticket)
        if rule is None:
            continue
        clocks = [
            state
            for metric in Metric
            if (state := _replayed(ticket, rule, metric, now)) is not None
        ]
        session.add_all(clocks)
        made.append((ticket, clocks))
    await session.flush()
    await write_summaries(session, made)
    return sum(len(clocks) for _, clocks in made)


def _replayed(
    ticket: Ticket, rule: PolicyRule, metric: Metric, now: datetime
) -> TicketSlaState | None:
    target = rule.target(ticket.priority, metric.value)
    start = ticket.created_at
    if metric is Metric.NEXT_RESPONSE:
        waiting = ticket.last_public_author_type == AuthorType.CONTACT.value
        if not (waiting and ticket.first_response_at and ticket.last_message_at):
            return None
        start = ticket.last_message_at
    if metric is Metric.PERIODIC_UPDATE:
        start = ticket.first_response_at or ticket.created_at
    if target is None:
        return None
    state = TicketSlaState(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        metric=metric.value,
        policy_id=rule.id,
        calendar_id=rule.calendar_id,
        target_minutes=target,
        started_at=start,
        priority=ticket.priority,
        group_id=ticket.group_id,
        assignee_id=ticket.assignee_id,
        elapsed_business_seconds=0.0,
        paused_business_minutes=0.0,
    )
    states.start(state, rule.hours, rule.threshold, start, paused=False)
    done = ticket.status_category in DONE
    if metric is Metric.FIRST_RESPONSE and ticket.first_response_at is not None:
        states.meet(state, rule.hours, min(ticket.first_response_at, now))
    elif metric is Metric.RESOLUTION and done and ticket.resolved_at is not None:
        states.meet(state, rule.hours, min(ticket.resolved_at, now))
    elif done:
        states.cancel(state, rule.hours, min(ticket.updated_at, now))
    elif ticket.status_category in rule.pause_categories:
        states.pause(state, rule.hours, max(min(ticket.updated_at, now), start))
    return state
