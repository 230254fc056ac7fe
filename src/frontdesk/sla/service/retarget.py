"""Open tickets follow edits of their policy or calendar: marked by the edit, moved by the worker.

An edit marks the tickets it may move with one INSERT ... SELECT (`mark_*`), in the edit's own
transaction; the worker's `sla.retarget` job then takes the marks in batches, matches each
ticket's policy again and re-targets its open clocks (elapsed business time kept, paused time
kept), writes `sla_retargeted` on the ticket's timeline and emits `sla.retargeted` where a
target or due time moved. A clock that the new target makes late is left for the sweep, which
announces the breach once, at its new due time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Select, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.clock import utcnow
from frontdesk.core.db import actor_of, transaction
from frontdesk.core.events import emit_many, event_row
from frontdesk.core.repository import ids_by_tenant, in_tenants
from frontdesk.sla import states
from frontdesk.sla.models import SlaRetarget, TicketSlaState
from frontdesk.sla.service.engine import maintain
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.service.timeline import audit

RETARGET_ACTOR = "system:sla"
#: Policy fields whose change may move a ticket to another policy: every clock of the tenant.
MATCHING_FIELDS = frozenset({"conditions", "active", "position", "is_default"})
#: Policy fields whose change moves the clocks already under the policy.
CLOCK_FIELDS = frozenset(
    {
        "targets",
        "calendar_id",
        "business_hours_only",
        "pause_categories",
        "at_risk_percent",
        "at_risk_minutes",
    }
)
STAMP_COLUMNS = ("created_at", "updated_at", "created_by", "updated_by")
#: Due times computed again from the same inputs may differ by float rounding; not a move.
SAME_INSTANT = timedelta(seconds=1)


def _open_clocks(tenant_id: UUID) -> Select[UUID, UUID]:
    return select(TicketSlaState.tenant_id, TicketSlaState.ticket_id).where(
        TicketSlaState.tenant_id == tenant_id,
        TicketSlaState.status.in_(states.OPEN),
        TicketSlaState.met_at.is_(None),
    )


async def _mark(session: AsyncSession, clocks: Select[UUID, UUID], reason: str) -> None:
    """Mark the tickets of `clocks` (one row each; a ticket marked already stays as it is)."""
    now, actor = utcnow(), actor_of(session)
    chosen = clocks.add_columns(
        *(literal(value) for value in (now, reason, now, now, actor, actor))
    ).distinct()
    columns = ["tenant_id", "id", "marked_at", "reason", *STAMP_COLUMNS]
    if session.get_bind().dialect.name == "postgresql":
        statement: Any = postgresql.insert(SlaRetarget).from_select(columns, chosen)
    else:
        statement = sqlite.insert(SlaRetarget).from_select(columns, chosen)
    await session.execute(statement.on_conflict_do_nothing())


async def mark_policy_tickets(
    session: AsyncSession, tenant_id: UUID, policy_id: UUID, changed: set[str]
) -> None:
    """After a policy edit: the tenant's open tickets when matching may differ, else the
    policy's own; nothing when only names, notifications or escalations changed."""
    if changed & MATCHING_FIELDS:
        await _mark(session, _open_clocks(tenant_id), "policy conditions edited")
    elif changed & CLOCK_FIELDS:
        clocks = _open_clocks(tenant_id).where(TicketSlaState.policy_id == policy_id)
        await _mark(session, clocks, "policy targets edited")


async def mark_new_policy_tickets(session: AsyncSession, tenant_id: UUID, active: bool) -> None:
    """After a policy is created: an active one may take any open ticket of the tenant (its
    conditions, or as the new default); an inactive one takes none."""
    if active:
        await _mark(session, _open_clocks(tenant_id), "policy created")


async def mark_group_tickets(session: AsyncSession, tenant_id: UUID, group_id: UUID) -> None:
    """After a group's default policy (group profile) changed: the group's open tickets."""
    clocks = _open_clocks(tenant_id).where(TicketSlaState.group_id == group_id)
    await _mark(session, clocks, "group default policy changed")


async def mark_calendar_tickets(session: AsyncSession, tenant_id: UUID, calendar_id: UUID) -> None:
    clocks = _open_clocks(tenant_id).where(TicketSlaState.calendar_id == calendar_id)
    await _mark(session, clocks, "calendar edited")


async def retarget_marked(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
    batch_size: int = 200,
) -> int:
    """Re-target one batch of marked tickets in one transaction; returns how many.

    Marks, clocks and tickets are taken with `FOR UPDATE SKIP LOCKED` (PostgreSQL), clocks
    before tickets as the sweep does: a ticket that a request or a sweep holds right now keeps
    its mark for the next pass, and nothing here ever waits for a lock.
    """
    now = now or utcnow()
    async with transaction(sessionmaker, actor=RETARGET_ACTOR) as session:
        marks = list(
            (
                await session.scalars(
                    select(SlaRetarget)
                    .order_by(SlaRetarget.marked_at)
                    .limit(batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
        )
        if not marks:
            return 0
        free = await _lock_clocks(session, ids_by_tenant((m.tenant_id, m.id) for m in marks))
        tickets = await session.scalars(
            select(Ticket)
            .where(in_tenants(Ticket.tenant_id, Ticket.id, free))
            .order_by(Ticket.id)
            .with_for_update(skip_locked=True)
        )
        done: set[UUID] = set()
        events: list[dict[str, Any]] = []
        for ticket in tickets:
            reason = next(m.reason for m in marks if m.id == ticket.id)
            await _retarget(session, ticket, reason, now, events)
            done.add(ticket.id)
        await emit_many(session, events)
        # Marks of purged tickets went with them (cascade); skipped ones stay for next time.
        await session.execute(delete(SlaRetarget).where(SlaRetarget.id.in_(done)))
        return len(done)


async def _lock_clocks(
    session: AsyncSession, marked: dict[UUID, list[UUID]]
) -> dict[UUID, list[UUID]]:
    """Lock the marked tickets' clocks; returns, by tenant, the tickets whose every clock is
    now ours. Read through the `(tenant_id, ...)` indexes: a bare `ticket_id IN (...)` scans
    the clock table."""
    of_tickets = in_tenants(TicketSlaState.tenant_id, TicketSlaState.ticket_id, marked)
    every = (
        await session.execute(select(TicketSlaState.id, TicketSlaState.ticket_id).where(of_tickets))
    ).all()
    locked = set(
        await session.scalars(
            select(TicketSlaState.id).where(of_tickets).with_for_update(skip_locked=True)
        )
    )
    busy = {ticket_id for clock_id, ticket_id in every if clock_id not in locked}
    return {
        tenant_id: [ticket_id for ticket_id in ticket_ids if ticket_id not in busy]
        for tenant_id, ticket_ids in marked.items()
    }


async def _retarget(
    session: AsyncSession,
    ticket: Ticket,
    reason: str,
    now: datetime,
    events: list[dict[str, Any]],
) -> None:
    before = _targets(await _clocks(session, ticket))
    after = _targets(
        await maintain(session, ticket, replan=True, audited=False, force=True, now=now)
    )
    if _same(before, after):
        return
    audit(
        session,
        ticket,
        "sla_retargeted",
        field="sla",
        before=before,
        after=after | {"reason": reason},
        internal=True,
    )
    events.append(
        event_row(
            session,
            subject_type="sla",
            action="retargeted",
            tenant_id=ticket.tenant_id,
            subject_id=ticket.id,
            snapshot={"ticket_id": str(ticket.id), "reason": reason, "clocks": after},
            delta={"clocks": [before, after]},
        )
    )


async def _clocks(session: AsyncSession, ticket: Ticket) -> list[TicketSlaState]:
    found = await session.scalars(
        select(TicketSlaState).where(
            TicketSlaState.tenant_id == ticket.tenant_id, TicketSlaState.ticket_id == ticket.id
        )
    )
    return list(found.all())


def _targets(clocks: list[TicketSlaState]) -> dict[str, Any]:
    return {
        state.metric: {
            "policy_id": str(state.policy_id) if state.policy_id else None,
            "target_minutes": state.target_minutes,
            "status": state.status,
            "due_at": state.due_at,
        }
        for state in sorted(clocks, key=lambda state: state.metric)
        if states.is_open(state)
    }


def _same(before: dict[str, Any], after: dict[str, Any]) -> bool:
    if before.keys() != after.keys():
        return False
    for metric, old in before.items():
        new = after[metric]
        if {k: v for k, v in old.items() if k != "due_at"} != {
            k: v for k, v in new.items() if k != "due_at"
        }:
            return False
        if (old["due_at"] is None) != (new["due_at"] is None):
            return False
        if old["due_at"] is not None and abs(old["due_at"] - new["due_at"]) > SAME_INSTANT:
            return False
    return True
