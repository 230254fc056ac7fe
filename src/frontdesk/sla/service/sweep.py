"""The worker's sweep: announce clocks that became at risk or breached, once, and escalate."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.clock import utcnow
from frontdesk.core.db import transaction
from frontdesk.core.events import emit
from frontdesk.notifications.kinds import NotificationKind
from frontdesk.notifications.service import notify_users
from frontdesk.sla import repository, states
from frontdesk.sla.models import NotifyRole, SlaStatus, TicketSlaState
from frontdesk.sla.service.engine import refresh_summary
from frontdesk.sla.service.rules import PolicyRule, rules_for
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.service.system import SystemChange, apply_system_change
from frontdesk.tickets.service.timeline import audit

SWEEP_ACTOR = "system:sla"
METRIC_LABELS = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
    "periodic_update": "periodic update",
}


async def sweep(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
    batch_size: int = 500,
) -> int:
    """Announce one batch of due states in one transaction; returns how many were handled.

    Rows are claimed with `FOR UPDATE SKIP LOCKED` (PostgreSQL), so concurrent sweeps split
    the work; each announcement stamps `*_notified_at` in the same transaction as its event
    and notifications, so a crash re-does it and a second sweep finds nothing left to say.
    """
    now = now or utcnow()
    async with transaction(sessionmaker, actor=SWEEP_ACTOR) as session:
        claimed = list((await session.scalars(repository.due_for_sweep(now, batch_size))).all())
        for state in claimed:
            await announce(session, state, now)
        return len(claimed)


async def announce(session: AsyncSession, state: TicketSlaState, now: datetime) -> None:
    ticket = await session.get(Ticket, (state.tenant_id, state.ticket_id))
    if ticket is None or not states.is_open(state) or state.due_at is None:
        state.next_check_at = None
        return
    rules = await rules_for(session, state.tenant_id)
    rule = rules.by_id.get(state.policy_id) if state.policy_id else None
    if state.due_at <= now:
        await _breach(session, ticket, state, rule, now)
    elif state.at_risk_at is not None and state.at_risk_at <= now:
        state.at_risk_notified_at = now
        state.next_check_at = states.next_check(state)
        await _tell(session, ticket, state, rule, "at_risk", now)
    else:
        state.next_check_at = states.next_check(state)


async def _breach(
    session: AsyncSession,
    ticket: Ticket,
    state: TicketSlaState,
    rule: PolicyRule | None,
    now: datetime,
) -> None:
    state.breached_at = state.breached_at or state.due_at
    state.status = SlaStatus.BREACHED.value
    state.breach_notified_at = now
    state.next_check_at = None
    audit(
        session,
        ticket,
        "sla_breached",
        field="sla",
        after={"metric": state.metric, "due_at": state.due_at},
        internal=True,
    )
    await _tell(session, ticket, state, rule, "breached", now)
    await refresh_summary(
        session, ticket, await repository.states_of(session, ticket.tenant_id, ticket.id)
    )
    if rule is not None and rule.escalation:
        await _escalate(session, ticket, state, rule)


async def _tell(
    session: AsyncSession,
    ticket: Ticket,
    state: TicketSlaState,
    rule: PolicyRule | None,
    what: str,
    now: datetime,
) -> None:
    tenant = await session.get(Tenant, ticket.tenant_id)
    prefix = tenant.ticket_prefix if tenant else "T"
    snapshot = _snapshot(ticket, state, prefix)
    emit(
        session,
        subject_type="sla",
        action=what,
        tenant_id=ticket.tenant_id,
        subject_id=state.id,
        snapshot=snapshot,
    )
    roles = (rule.notify_breach if what == "breached" else rule.notify_at_risk) if rule else ()
    recipients = await recipients_of(session, ticket, roles)
    label = METRIC_LABELS.get(state.metric, state.metric)
    kind = NotificationKind.SLA_BREACHED if what == "breached" else NotificationKind.SLA_AT_RISK
    title = (
        f"{prefix}-{ticket.number}: {label} SLA breached"
        if what == "breached"
        else f"{prefix}-{ticket.number}: {label} SLA at risk"
    )
    await notify_users(
        session,
        tenant_id=ticket.tenant_id,
        user_ids=recipients,
        kind=kind,
        title=title,
        body=f"{ticket.subject} — due {state.due_at.isoformat() if state.due_at else '?'}",
        ticket_id=ticket.id,
        data=snapshot,
    )


def _snapshot(ticket: Ticket, state: TicketSlaState, prefix: str) -> dict[str, Any]:
    return {
        "ticket_id": str(ticket.id),
        "display_id": f"{prefix}-{ticket.number}",
        "metric": state.metric,
        "policy_id": str(state.policy_id) if state.policy_id else None,
        "target_minutes": state.target_minutes,
        "due_at": state.due_at.isoformat() if state.due_at else None,
        "at_risk_at": state.at_risk_at.isoformat() if state.at_risk_at else None,
        "breached_at": state.breached_at.isoformat() if state.breached_at else None,
    }


async def recipients_of(
    session: AsyncSession, ticket: Ticket, roles: tuple[str, ...]
) -> list[UUID]:
    found: list[UUID] = []
    for role in roles:
        if role == NotifyRole.ASSIGNEE.value and ticket.assignee_id is not None:
            found.append(ticket.assignee_id)
        elif role == NotifyRole.GROUP_LEADS.value and ticket.group_id is not None:
            found += await repository.group_leads(session, ticket.tenant_id, ticket.group_id)
        elif role == NotifyRole.ADMINS.value:
            found += await repository.admins(session, ticket.tenant_id)
        elif role == NotifyRole.FOLLOWERS.value:
            found += await repository.followers(session, ticket.tenant_id, ticket.id)
    return list(dict.fromkeys(found))


async def _escalate(
    session: AsyncSession, ticket: Ticket, state: TicketSlaState, rule: PolicyRule
) -> None:
    tenant = await session.get(Tenant, ticket.tenant_id)
    if tenant is None:
        return
    label = METRIC_LABELS.get(state.metric, state.metric)
    change = SystemChange(reason=f"SLA {label} breached")
    for action in rule.escalation:
        kind = action.get("action")
        if kind == "raise_priority":
            change = _with(change, raise_priority=True)
        elif kind == "move_to_group":
            change = _with(change, move_to_group_id=UUID(str(action["group_id"])))
        elif kind == "assign":
            change = _with(change, assign_to_user_id=UUID(str(action["user_id"])))
        elif kind == "add_tag":
            change = _with(change, add_tags=(*change.add_tags, str(action["tag"])))
        elif kind == "add_internal_note":
            change = _with(change, internal_note=str(action["body"]))
    await apply_system_change(session, tenant, ticket, change)


def _with(change: SystemChange, **values: Any) -> SystemChange:
    return replace(change, **values)
