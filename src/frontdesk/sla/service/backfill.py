"""Clocks for tickets that predate their policy, rebuilt from the ticket's own milestones.

Used by the demo (tickets played first, policies added after) and useful after introducing
SLAs to a desk with open tickets: created → first response → resolution, with the current
pause and the last unanswered customer message taken from the ticket row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.sla import repository, states
from frontdesk.sla.models import Metric, TicketSlaState
from frontdesk.sla.service.engine import DONE, refresh_summary
from frontdesk.sla.service.rules import PolicyRule, choose_policy, rules_for
from frontdesk.tickets.models import AuthorType, Ticket


async def backfill_ticket(session: AsyncSession, ticket: Ticket, *, now: datetime) -> int:
    """Create the ticket's clocks as if its policy had applied from the start; returns how
    many. A ticket that already has clocks is left alone."""
    if await repository.states_of(session, ticket.tenant_id, ticket.id):
        return 0
    rules = await rules_for(session, ticket.tenant_id)
    rule = await choose_policy(session, rules, ticket)
    if rule is None:
        return 0
    made = [
        state for metric in Metric if (state := _replayed(ticket, rule, metric, now)) is not None
    ]
    session.add_all(made)
    await session.flush()
    await refresh_summary(session, ticket, made)
    return len(made)


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
