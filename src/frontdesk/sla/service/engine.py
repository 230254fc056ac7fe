"""Keeping every ticket's SLA state in step with the ticket, inside the ticket's transaction.

`react` is an in-transaction subscriber of the ticket events (`core.events.in_transaction`):
the tickets services emit, the state follows in the same session, and both commit or neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, bindparam, event, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value

from frontdesk.core.clock import utcnow
from frontdesk.core.events import OutboxEvent
from frontdesk.sla import repository, states
from frontdesk.sla.models import Metric, SlaStatus, TicketSlaState
from frontdesk.sla.service.rules import (
    DEFAULT_PAUSE,
    PolicyRule,
    Rules,
    choose_policy,
    known_rules,
    rules_for,
)
from frontdesk.sla.states import Threshold
from frontdesk.tickets.models import AuthorType, StatusCategory, Ticket
from frontdesk.tickets.service.timeline import audit

#: A change of one of these may select another policy or another target.
RETARGET_FIELDS = frozenset(
    {"priority", "type", "channel", "group_id", "organization_id", "requester_id", "tags"}
)
DONE = frozenset({StatusCategory.RESOLVED.value, StatusCategory.CLOSED.value})
IGNORED_ACTIONS = frozenset({"purged", "marked_read"})
NO_THRESHOLD = Threshold(percent=None, minutes=None)
_CLOCKS_KEY = "sla_clocks"
_HELD_KEY = "sla_clocks_held"


async def react(session: AsyncSession, event: OutboxEvent) -> None:
    """Follow a `ticket.*` or `ticket_message.created` event with the ticket's SLA state."""
    action = event.type.rsplit(".", 1)[-1]
    if event.tenant_id is None or action in IGNORED_ACTIONS:
        return
    message: dict[str, Any] | None = None
    if event.subject_type == "ticket":
        ticket_id = event.subject_id
    elif event.subject_type == "ticket_message" and action == "created":
        message = event.snapshot
        ticket_id = UUID(str(event.snapshot["ticket_id"]))
    else:
        return
    if ticket_id is None:
        return
    ticket = _pending(session, ticket_id) or await session.get(Ticket, (event.tenant_id, ticket_id))
    if ticket is None:
        return
    created = event.subject_type == "ticket" and action == "created"
    replan = created or bool(RETARGET_FIELDS & set(event.delta))
    await maintain(session, ticket, replan=replan, message=message, audited=not created)


def _pending(session: AsyncSession, ticket_id: UUID) -> Ticket | None:
    """A ticket created in this unit of work and not flushed yet (not in the identity map)."""
    return next((t for t in session.new if isinstance(t, Ticket) and t.id == ticket_id), None)


async def maintain(
    session: AsyncSession,
    ticket: Ticket,
    *,
    replan: bool,
    message: dict[str, Any] | None = None,
    audited: bool = True,
    now: datetime | None = None,
    force: bool = False,
) -> list[TicketSlaState]:
    """Bring the ticket's states up to date with its policy, its conversation and its status."""
    now = now or utcnow()
    rules, clocks = await _rules_and_clocks(session, ticket)
    if not rules.by_id and not clocks:
        return []  # no policy to start a clock and none running: nothing to keep
    found = {state.metric: state for state in clocks}
    if replan or (not found and (rules.ordered or rules.default or ticket.group_id)):
        rule = await choose_policy(session, rules, ticket)
        _apply_policy(session, rules, ticket, rule, found, now, audited=audited, force=force)
    else:
        rule = _current_rule(rules, found)
    if message is not None and not message.get("is_internal"):
        author_type = str(message.get("author_type"))
        _apply_message(session, rules, ticket, rule, found, author_type, now)
    _follow_status(rules, ticket, rule, found, now)
    kept = sorted(found.values(), key=lambda state: state.metric)
    await refresh_summary(session, ticket, kept)
    preloaded: dict[UUID, list[TicketSlaState]] | None = session.info.get(_CLOCKS_KEY)
    if preloaded is not None:
        preloaded[ticket.id] = kept
    return kept


async def _rules_and_clocks(
    session: AsyncSession, ticket: Ticket
) -> tuple[Rules, list[TicketSlaState]]:
    """The rules and the ticket's clocks: from the unit of work when it holds them (a sweep's
    batch), else in one round trip with the rules' fingerprint."""
    rules = known_rules(session, ticket.tenant_id)
    preloaded: dict[UUID, list[TicketSlaState]] = session.info.get(_CLOCKS_KEY, {})
    if rules is not None and ticket.id in preloaded:
        return rules, preloaded[ticket.id]
    fingerprint, clocks = await repository.clocks_and_fingerprint(
        session, ticket.tenant_id, ticket.id
    )
    return await rules_for(session, ticket.tenant_id, fingerprint=fingerprint), clocks


async def prefetch_clocks(
    session: AsyncSession, tenant_id: UUID, ticket_ids: Sequence[UUID]
) -> None:
    """Read the clocks of all the tickets a batch will change (and the tenant's rules) in one
    query, so that the reactions to their events read none."""
    if not ticket_ids:
        return
    fingerprint, clocks = await repository.clocks_of_many_and_fingerprint(
        session, tenant_id, ticket_ids
    )
    await rules_for(session, tenant_id, fingerprint=fingerprint)
    remember_clocks(session, clocks)


@event.listens_for(Session, "after_transaction_end")
def _forget_clocks(session: Session, transaction: SessionTransaction) -> None:
    """Clocks remembered for a unit of work are not good for the next one (a session that goes
    on, as a job's does, must read them afresh)."""
    if transaction.parent is None:
        session.info.pop(_CLOCKS_KEY, None)
        session.info.pop(_HELD_KEY, None)


def remember_clocks(session: AsyncSession, clocks: dict[UUID, list[TicketSlaState]]) -> None:
    """Let this unit of work's SLA reactions use these tickets' clocks (all of each ticket's,
    as loaded by the sweep) instead of reading them again."""
    preloaded: dict[UUID, list[TicketSlaState]] = session.info.setdefault(_CLOCKS_KEY, {})
    preloaded.update(clocks)


def _add_state(session: AsyncSession, ticket: Ticket, state: TicketSlaState) -> None:
    """Add a new clock; a new ticket's clocks wait until its row is written, since the unit of
    work does not order inserts by foreign key between models with no relationship."""
    if ticket in session.new:
        session.info.setdefault(_HELD_KEY, []).append((ticket, state))
    else:
        session.add(state)


@event.listens_for(Session, "after_flush_postexec")
def _add_held_states(session: Session, flush_context: object) -> None:
    held: list[tuple[Ticket, TicketSlaState]] = session.info.pop(_HELD_KEY, [])
    waiting = [(ticket, state) for ticket, state in held if ticket in session.new]
    session.add_all(state for ticket, state in held if ticket not in session.new)
    if waiting:
        session.info[_HELD_KEY] = waiting


@event.listens_for(Session, "after_soft_rollback")
def _drop_held_states(session: Session, previous_transaction: object) -> None:
    session.info.pop(_HELD_KEY, None)


def _current_rule(rules: Rules, found: dict[str, TicketSlaState]) -> PolicyRule | None:
    for state in found.values():
        if state.policy_id is not None and state.policy_id in rules.by_id:
            return rules.by_id[state.policy_id]
    return None


def _threshold(rule: PolicyRule | None) -> Threshold:
    return rule.threshold if rule else NO_THRESHOLD


def _starts_now(ticket: Ticket, metric: Metric) -> bool:
    """Whether a metric the policy just took on is owed right now."""
    if ticket.status_category in DONE:
        return False
    if metric is Metric.FIRST_RESPONSE:
        return ticket.first_response_at is None
    if metric is Metric.NEXT_RESPONSE:
        return (
            ticket.first_response_at is not None
            and ticket.last_public_author_type == AuthorType.CONTACT.value
        )
    return True


def _paused(ticket: Ticket, rule: PolicyRule | None) -> bool:
    pause = rule.pause_categories if rule else DEFAULT_PAUSE
    return ticket.deleted_at is not None or ticket.status_category in pause


def _apply_policy(
    session: AsyncSession,
    rules: Rules,
    ticket: Ticket,
    rule: PolicyRule | None,
    found: dict[str, TicketSlaState],
    now: datetime,
    *,
    audited: bool,
    force: bool = False,
) -> None:
    before = _summary_of_targets(found)
    for metric in Metric:
        target = rule.target(ticket.priority, metric.value) if rule else None
        state = found.get(metric.value)
        if target is None or rule is None:
            if state is not None and states.is_open(state):
                states.cancel(state, rules.hours(state.calendar_id), now)
            continue
        if state is None:
            if not _starts_now(ticket, metric):
                continue
            state = _new_state(ticket, metric, rule, target, now)
            _add_state(session, ticket, state)
            found[metric.value] = state
            states.start(state, rule.hours, rule.threshold, now, paused=_paused(ticket, rule))
            continue
        unchanged = (state.policy_id, state.target_minutes, state.calendar_id) == (
            rule.id,
            target,
            rule.calendar_id,
        )
        if unchanged and not (force and states.is_open(state)):
            continue
        old_hours = rules.hours(state.calendar_id)
        state.policy_id, state.calendar_id = rule.id, rule.calendar_id
        state.priority = ticket.priority
        states.retarget(state, old_hours, rule.hours, rule.threshold, now, target_minutes=target)
    after = _summary_of_targets(found)
    if audited and before != after:
        audit(
            session,
            ticket,
            "sla_retargeted",
            field="sla",
            before=before,
            after=after,
            internal=True,
        )


def _summary_of_targets(found: dict[str, TicketSlaState]) -> dict[str, Any]:
    return {
        metric: {"policy_id": str(state.policy_id), "target_minutes": state.target_minutes}
        for metric, state in sorted(found.items())
        if states.is_open(state)
    }


def _new_state(
    ticket: Ticket, metric: Metric, rule: PolicyRule, target: int, now: datetime
) -> TicketSlaState:
    return TicketSlaState(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        metric=metric.value,
        policy_id=rule.id,
        calendar_id=rule.calendar_id,
        target_minutes=target,
        started_at=now,
        priority=ticket.priority,
        group_id=ticket.group_id,
        assignee_id=ticket.assignee_id,
    )


def _apply_message(
    session: AsyncSession,
    rules: Rules,
    ticket: Ticket,
    rule: PolicyRule | None,
    found: dict[str, TicketSlaState],
    author_type: str,
    now: datetime,
) -> None:
    if author_type == AuthorType.AGENT.value:
        for metric in (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE):
            state = found.get(metric.value)
            if state is not None:
                states.meet(state, rules.hours(state.calendar_id), now)
        periodic = found.get(Metric.PERIODIC_UPDATE.value)
        if periodic is not None and states.is_open(periodic) and rule is not None:
            states.start(periodic, rule.hours, rule.threshold, now, paused=_paused(ticket, rule))
        return
    if author_type != AuthorType.CONTACT.value or rule is None:
        return
    first = found.get(Metric.FIRST_RESPONSE.value)
    if first is not None and states.is_open(first):
        return  # the first response is still owed: it covers this message too
    target = rule.target(ticket.priority, Metric.NEXT_RESPONSE.value)
    state = found.get(Metric.NEXT_RESPONSE.value)
    if target is None or (state is not None and states.is_open(state)):
        return
    if state is None:
        state = _new_state(ticket, Metric.NEXT_RESPONSE, rule, target, now)
        _add_state(session, ticket, state)
        found[Metric.NEXT_RESPONSE.value] = state
    state.policy_id, state.calendar_id, state.target_minutes = rule.id, rule.calendar_id, target
    states.start(state, rule.hours, rule.threshold, now, paused=_paused(ticket, rule))


def _follow_status(
    rules: Rules,
    ticket: Ticket,
    rule: PolicyRule | None,
    found: dict[str, TicketSlaState],
    now: datetime,
) -> None:
    """Pause, resume, meet or reopen the clocks as the ticket's status category says."""
    done = ticket.status_category in DONE and ticket.deleted_at is None
    paused = _paused(ticket, rule)
    threshold = _threshold(rule)
    for metric, state in found.items():
        hours = rules.hours(state.calendar_id)
        if done:
            if metric == Metric.RESOLUTION.value:
                states.meet(state, hours, now)
            else:
                states.cancel(state, hours, now)
        elif metric == Metric.RESOLUTION.value and state.met_at is not None:
            states.reopen(state, hours, threshold, now)
            if paused:
                states.pause(state, hours, now)
        elif paused:
            states.pause(state, hours, now)
        else:
            states.resume(state, hours, threshold, now)
        if (state.group_id, state.assignee_id) != (ticket.group_id, ticket.assignee_id):
            # Only on a change: setting the same values would still put the clock on the
            # unit of work's dirty list, and every later flush would diff it.
            state.group_id, state.assignee_id = ticket.group_id, ticket.assignee_id


def summary_values(found: list[TicketSlaState]) -> dict[str, Any]:
    """The ticket's SLA summary from its clocks: earliest due and at-risk, any open breach."""
    running = [s for s in found if states.is_open(s) and s.due_at is not None]
    breached = any(
        s.breached_at is not None and s.status != SlaStatus.CANCELLED.value and s.met_at is None
        for s in found
    )
    return {
        "sla_next_due_at": min((s.due_at for s in running if s.due_at), default=None),
        "sla_at_risk_at": min((s.at_risk_at for s in running if s.at_risk_at), default=None),
        "sla_breached": breached,
    }


async def write_summaries(
    session: AsyncSession, found: list[tuple[Ticket, list[TicketSlaState]]]
) -> None:
    """`refresh_summary` for many tickets: one executemany UPDATE (their versions stay)."""
    rows = []
    for ticket, clocks in found:
        values = summary_values(clocks)
        if all(getattr(ticket, name) == value for name, value in values.items()):
            continue
        for name, value in values.items():
            set_committed_value(ticket, name, value)
        rows.append({"t_tenant": ticket.tenant_id, "t_id": ticket.id} | values)
    if not rows:
        return
    table = cast(Table, Ticket.__table__)
    statement = (
        update(table)
        .where(table.c.tenant_id == bindparam("t_tenant"), table.c.id == bindparam("t_id"))
        .values(
            sla_next_due_at=bindparam("sla_next_due_at"),
            sla_at_risk_at=bindparam("sla_at_risk_at"),
            sla_breached=bindparam("sla_breached"),
        )
    )
    await session.execute(statement, rows)


async def refresh_summary(
    session: AsyncSession, ticket: Ticket, found: list[TicketSlaState]
) -> None:
    """Copy the earliest due and at-risk times and the breach flag onto the ticket row.

    When the ticket's own change is still pending (the tickets services let the engine react
    before they flush), the values ride along in the ticket's one INSERT or UPDATE. Else they
    are written with a plain UPDATE so that the ticket's version (its ETag) does not move: the
    SLA summary is bookkeeping, not a change anyone made to the ticket.
    """
    values = summary_values(found)
    if all(getattr(ticket, name) == value for name, value in values.items()):
        return
    if ticket in session.new or session.is_modified(ticket, include_collections=False):
        for name, value in values.items():
            setattr(ticket, name, value)
        return
    await session.execute(
        update(Ticket)
        .where(Ticket.tenant_id == ticket.tenant_id, Ticket.id == ticket.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    for name, value in values.items():
        set_committed_value(ticket, name, value)
