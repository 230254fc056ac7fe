"""The worker's sweep: announce clocks that became at risk or breached, once, and escalate."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from frontdesk.core.bulk_update import update_rows
from frontdesk.core.clock import utcnow
from frontdesk.core.db import actor_of, transaction
from frontdesk.core.events import emit_many, event_row, jsonable
from frontdesk.core.ids import new_id
from frontdesk.core.repository import ids_by_tenant
from frontdesk.notifications.kinds import NotificationKind
from frontdesk.notifications.service import Notice, notify_many
from frontdesk.sla import repository, states
from frontdesk.sla.models import NotifyRole, SlaStatus, TicketSlaState
from frontdesk.sla.service.engine import remember_clocks, summary_values, write_summaries
from frontdesk.sla.service.rules import PolicyRule, Rules, rules_for
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.models import Ticket, TicketAudit
from frontdesk.tickets.repository import remember_tags
from frontdesk.tickets.service.system import SystemChange
from frontdesk.tickets.service.system_batch import apply_system_changes

SWEEP_ACTOR = "system:sla"
BREACHED = SlaStatus.BREACHED.value
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
    What the batch needs is read up front and written in bulk at the end.
    """
    now = now or utcnow()
    async with transaction(sessionmaker, actor=SWEEP_ACTOR) as session:
        claimed = list((await session.scalars(repository.due_for_sweep(now, batch_size))).all())
        if claimed:
            await announce_all(session, claimed, now)
        return len(claimed)


@dataclass
class Batch:
    """The claimed clocks with everything their announcements need, read in a few queries."""

    tickets: dict[UUID, Ticket]
    tenants: dict[UUID, Tenant]
    rules: dict[UUID, Rules]
    clocks: dict[UUID, list[TicketSlaState]]
    admins: dict[UUID, list[UUID]]
    leads: dict[UUID, list[UUID]]
    followers: dict[UUID, list[UUID]]
    notices: list[Notice] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[tuple[Ticket, TicketSlaState, PolicyRule]] = field(default_factory=list)
    escalated: set[tuple[UUID, UUID]] = field(default_factory=set)
    #: the claimed clocks' new column values, written together by `_write_clocks`
    stamped: dict[TicketSlaState, dict[str, Any]] = field(default_factory=dict)
    audits: list[dict[str, Any]] = field(default_factory=list)

    def stamp(self, state: TicketSlaState, **values: Any) -> None:
        """Change the clock in memory, outside the unit of work's change tracking (no flush
        of it); `_write_clocks` writes the batch's changes together."""
        for name, value in values.items():
            set_committed_value(state, name, value)
        self.stamped.setdefault(state, {}).update(values)

    def audit(self, ticket: Ticket, after: dict[str, Any]) -> None:
        """The ticket's internal `sla_breached` timeline entry, as `timeline.audit` adds it."""
        self.audits.append(
            {
                "tenant_id": ticket.tenant_id,
                "id": new_id(),
                "ticket_id": ticket.id,
                "action": "sla_breached",
                "field": "sla",
                "before": None,
                "after": jsonable(after),
                "is_internal": True,
            }
        )


async def announce_all(session: AsyncSession, claimed: list[TicketSlaState], now: datetime) -> None:
    """Announce the claimed clocks: events, timeline, notifications, summaries, escalations."""
    if not claimed:
        return
    batch = await _load(session, claimed)
    changed: set[UUID] = set()
    with session.no_autoflush:
        for state in claimed:
            if await _announce(session, batch, state, now):
                changed.add(state.ticket_id)
        await _write_clocks(session, batch)
    escalated = {t.id for t, _, _ in batch.escalations if t.tenant_id in batch.tenants}
    await _write_summaries(session, batch, changed - escalated)
    await emit_many(session, batch.events)
    await notify_many(session, batch.notices)
    # The escalations' ticket changes re-run the SLA engine: it finds the clocks here.
    remember_clocks(session, batch.clocks)
    await _escalate_all(session, batch, _summaries(batch, changed & escalated))


async def _load(session: AsyncSession, claimed: list[TicketSlaState]) -> Batch:
    ticket_ids = ids_by_tenant((state.tenant_id, state.ticket_id) for state in claimed)
    tickets = {t.id: t for t in await session.scalars(repository.tickets_of_batch(ticket_ids))}
    tenant_ids = list(ticket_ids)
    tenants = {
        t.id: t for t in await session.scalars(select(Tenant).where(Tenant.id.in_(tenant_ids)))
    }
    clocks: dict[UUID, list[TicketSlaState]] = defaultdict(list)
    for clock in await session.scalars(repository.clocks_of_batch(ticket_ids)):
        clocks[clock.ticket_id].append(clock)
    fingerprints = await repository.rules_fingerprints(session, tenant_ids)
    rules = {
        tenant_id: await rules_for(session, tenant_id, fingerprint=fingerprints.get(tenant_id))
        for tenant_id in tenant_ids
    }
    group_ids = ids_by_tenant((t.tenant_id, t.group_id) for t in tickets.values())
    return Batch(
        tickets=tickets,
        tenants=tenants,
        rules=rules,
        clocks=clocks,
        admins=await _grouped(session, repository.admins_of(tenant_ids)),
        leads=await _grouped(session, repository.leads_of_groups(group_ids)),
        followers=await _grouped(session, repository.followers_of_batch(ticket_ids)),
    )


async def _grouped(session: AsyncSession, statement: Any) -> dict[UUID, list[UUID]]:
    found: dict[UUID, list[UUID]] = defaultdict(list)
    for key, value in (await session.execute(statement)).all():
        found[key].append(value)
    return found


async def _announce(
    session: AsyncSession, batch: Batch, state: TicketSlaState, now: datetime
) -> bool:
    """Announce what is due of one clock; returns whether its ticket's summary may change."""
    ticket = batch.tickets.get(state.ticket_id)
    if ticket is None or not states.is_open(state) or state.due_at is None:
        batch.stamp(state, next_check_at=None)
        return False
    rule = batch.rules[state.tenant_id].by_id.get(state.policy_id) if state.policy_id else None
    if state.due_at <= now:
        batch.stamp(
            state,
            breached_at=state.breached_at or state.due_at,
            status=BREACHED,
            breach_notified_at=now,
            next_check_at=None,
        )
        batch.audit(ticket, {"metric": state.metric, "due_at": state.due_at})
        _tell(session, batch, ticket, state, rule, "breached")
        if rule is not None and rule.escalation and (ticket.id, rule.id) not in batch.escalated:
            # Once per ticket and batch: a catch-up that finds two clocks late escalates once.
            batch.escalated.add((ticket.id, rule.id))
            batch.escalations.append((ticket, state, rule))
        return True
    if state.at_risk_at is not None and state.at_risk_at <= now:
        batch.stamp(state, at_risk_notified_at=now)
        _tell(session, batch, ticket, state, rule, "at_risk")
    batch.stamp(state, next_check_at=states.next_check(state))
    return False


async def _write_clocks(session: AsyncSession, batch: Batch) -> None:
    """The claimed clocks' new values and the `sla_breached` timeline entries, as plain
    statements stamped as a flush would stamp them: one UPDATE (`update_rows`) per shape of
    change, one multi-row INSERT. The clocks hold the values as committed already."""
    actor, now = actor_of(session), utcnow()
    stamps = {"updated_at": now, "updated_by": actor}
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for state, values in batch.stamped.items():
        for name, value in stamps.items():
            set_committed_value(state, name, value)
        row = {"tenant_id": state.tenant_id, "id": state.id} | values | stamps
        shapes[tuple(sorted(values))].append(row)
    table = cast(Table, TicketSlaState.__table__)
    for names, rows in shapes.items():
        await update_rows(session, table, (*names, *stamps), rows)
    if batch.audits:
        stamps |= {"created_at": now, "created_by": actor}
        rows = [row | stamps for row in batch.audits]
        await session.execute(insert(cast(Table, TicketAudit.__table__)), rows)


def _tell(
    session: AsyncSession,
    batch: Batch,
    ticket: Ticket,
    state: TicketSlaState,
    rule: PolicyRule | None,
    what: str,
) -> None:
    tenant = batch.tenants.get(ticket.tenant_id)
    prefix = tenant.ticket_prefix if tenant else "T"
    snapshot = _snapshot(ticket, state, prefix)
    batch.events.append(
        event_row(
            session,
            subject_type="sla",
            action=what,
            tenant_id=ticket.tenant_id,
            subject_id=state.id,
            snapshot=snapshot,
        )
    )
    breached = what == "breached"
    roles = (rule.notify_breach if breached else rule.notify_at_risk) if rule else ()
    label = METRIC_LABELS.get(state.metric, state.metric)
    due = state.due_at.isoformat() if state.due_at else "?"
    batch.notices.append(
        Notice(
            tenant_id=ticket.tenant_id,
            user_ids=recipients_of(batch, ticket, roles),
            kind=NotificationKind.SLA_BREACHED if breached else NotificationKind.SLA_AT_RISK,
            title=f"{prefix}-{ticket.number}: {label} SLA {'breached' if breached else 'at risk'}",
            body=f"{ticket.subject} — due {due}",
            ticket_id=ticket.id,
            data=snapshot,
        )
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


#: Plain strings: an enum member's `.value` costs a descriptor call, in the hottest loop.
ASSIGNEE = NotifyRole.ASSIGNEE.value
GROUP_LEADS = NotifyRole.GROUP_LEADS.value
ADMINS = NotifyRole.ADMINS.value
FOLLOWERS = NotifyRole.FOLLOWERS.value


def recipients_of(batch: Batch, ticket: Ticket, roles: tuple[str, ...]) -> list[UUID]:
    found: list[UUID] = []
    for role in roles:
        if role == ASSIGNEE and ticket.assignee_id is not None:
            found.append(ticket.assignee_id)
        elif role == GROUP_LEADS and ticket.group_id is not None:
            found += batch.leads.get(ticket.group_id, [])
        elif role == ADMINS:
            found += batch.admins.get(ticket.tenant_id, [])
        elif role == FOLLOWERS:
            found += batch.followers.get(ticket.id, [])
    return list(dict.fromkeys(found))


def _summaries(batch: Batch, ticket_ids: set[UUID]) -> dict[UUID, dict[str, Any]]:
    """The new SLA summaries of these tickets where they changed: the escalation writes them
    with the ticket's own UPDATE (one row write instead of two)."""
    found = {}
    for ticket_id in ticket_ids:
        ticket, values = batch.tickets[ticket_id], summary_values(batch.clocks.get(ticket_id, []))
        if any(getattr(ticket, name) != value for name, value in values.items()):
            found[ticket_id] = values
    return found


async def _write_summaries(session: AsyncSession, batch: Batch, ticket_ids: set[UUID]) -> None:
    await write_summaries(
        session, [(batch.tickets[i], batch.clocks.get(i, [])) for i in sorted(ticket_ids)]
    )


async def _escalate_all(
    session: AsyncSession, batch: Batch, summaries: dict[UUID, dict[str, Any]]
) -> None:
    """Apply the batch's escalations in one batched change across its tenants, which writes
    the tickets' new SLA summaries too. Their tags are read first, all in one query."""
    changes = [
        (ticket, escalation_change(state, rule))
        for ticket, state, rule in batch.escalations
        if ticket.tenant_id in batch.tenants
    ]
    if not changes:
        return
    await _remember_tags(session, [ticket for ticket, _ in changes])
    await apply_system_changes(
        session,
        batch.tenants,
        changes,
        kept={t.id: summaries[t.id] for t, _ in changes if t.id in summaries},
        locked=True,  # the claim locked each ticket with its clock
    )


async def _remember_tags(session: AsyncSession, tickets: list[Ticket]) -> None:
    """The tickets' tags for this unit of work's views, read for every tenant at once."""
    by_tenant = ids_by_tenant((ticket.tenant_id, ticket.id) for ticket in tickets)
    found: dict[UUID, list[str]] = {ticket.id: [] for ticket in tickets}
    for ticket_id, tag in (await session.execute(repository.tags_of_batch(by_tenant))).all():
        found[ticket_id].append(tag)
    for ticket_id, tags in found.items():
        remember_tags(session, ticket_id, tags)


def escalation_change(state: TicketSlaState, rule: PolicyRule) -> SystemChange:
    """The policy's escalation actions as one system change of the ticket."""
    label = METRIC_LABELS.get(state.metric, state.metric)
    change = SystemChange(reason=f"SLA {label} breached")
    for action in rule.escalation:
        kind = action.get("action")
        if kind == "raise_priority":
            change = replace(change, raise_priority=True)
        elif kind == "move_to_group":
            change = replace(change, move_to_group_id=UUID(str(action["group_id"])))
        elif kind == "assign":
            change = replace(change, assign_to_user_id=UUID(str(action["user_id"])))
        elif kind == "add_tag":
            change = replace(change, add_tags=(*change.add_tags, str(action["tag"])))
        elif kind == "add_internal_note":
            change = replace(change, internal_note=str(action["body"]))
    return change
