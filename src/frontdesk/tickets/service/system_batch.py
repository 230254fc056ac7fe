"""System changes (SLA escalations) to many tickets of one tenant at once.

Each ticket gets what `system.apply_system_change` would give it: the same timeline entries,
assignment history, tags, internal note and its `ticket_message.created`, `ticket.updated` with
the same snapshot and delta, the same refusals (an assignee who no longer fits the group), and
the in-transaction reactions (SLA state) to those events. What the batch needs is read up front
and written with one statement per table. A ticket that enters a group which picks an agent on
its own (round robin, load balanced) goes through the per-ticket path: each pick depends on the
one before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from frontdesk.core.audit import json_delta
from frontdesk.core.bulk_update import update_rows
from frontdesk.core.clock import utcnow
from frontdesk.core.db import actor_of, new_row_stamps
from frontdesk.core.events import OutboxEvent, emit_many, event_row, in_transaction, jsonable
from frontdesk.core.ids import new_id
from frontdesk.core.logs import get_logger
from frontdesk.core.repository import in_tenants
from frontdesk.identity.models import AssignmentStrategy, Group, GroupMember, Membership, User
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.models import (
    PRIORITY_RANK,
    AuthorType,
    Channel,
    Direction,
    Priority,
    Ticket,
    TicketAssignment,
    TicketAudit,
    TicketMessage,
    TicketTag,
)
from frontdesk.tickets.repository import remember_tags
from frontdesk.tickets.schemas import TicketPublic
from frontdesk.tickets.service.assignment import ASSIGNABLE_ROLES
from frontdesk.tickets.service.system import RANKED, SystemChange, apply_system_change
from frontdesk.tickets.service.tags import normalize
from frontdesk.tickets.service.timeline import INTERNAL_FIELDS
from frontdesk.tickets.service.views import sla_at_risk, sla_breached, staff_views

log = get_logger(__name__)

#: Ticket columns an escalation may set, written by one UPDATE of all the tickets.
COLUMNS = (
    "priority",
    "priority_rank",
    "group_id",
    "assignee_id",
    "message_count",
    "last_message_at",
)
BOOKKEEPING = ("version", "updated_at", "updated_by")
#: The columns `_write` sets that the staff view shows.
VIEWED_COLUMNS = tuple(
    name for name in (*COLUMNS, *BOOKKEEPING) if name in TicketPublic.model_fields
)


@dataclass
class People:
    """Who may be assigned where, for the groups and users the batch names."""

    groups: dict[UUID, Group]
    #: user id -> (membership role, user active)
    members: dict[UUID, tuple[str, bool]]
    in_group: set[tuple[UUID, UUID]]


@dataclass
class Plan:
    """One ticket's change, worked out in memory before anything is written."""

    ticket: Ticket
    before: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    #: new rows, as (model, column values), in the order the per-ticket path adds them
    rows: list[tuple[type[Any], dict[str, Any]]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    note: dict[str, Any] | None = None
    refused: list[str] = field(default_factory=list)

    def changed(self) -> bool:
        return bool(self.values or self.tags or self.note)

    def add(self, model: type[Any], **values: Any) -> dict[str, Any]:
        row = {"tenant_id": self.ticket.tenant_id, "id": new_id(), "ticket_id": self.ticket.id}
        row |= values
        self.rows.append((model, row))
        return row

    def audit(
        self, action: str, *, field: str | None = None, before: Any = None, after: Any = None
    ) -> None:
        self.add(
            TicketAudit,
            action=action,
            field=field,
            before=before,
            after=after,
            is_internal=action == "message_added" or field in INTERNAL_FIELDS,
        )


@dataclass
class Applied:
    #: the parts refused, by ticket (an assignee who no longer fits the group...)
    refused: dict[UUID, list[str]] = field(default_factory=dict)


async def apply_system_changes(
    session: AsyncSession,
    tenants: Mapping[UUID, Tenant],
    changes: Sequence[tuple[Ticket, SystemChange]],
    *,
    kept: Mapping[UUID, Mapping[str, Any]] | None = None,
    locked: bool = False,
) -> Applied:
    """Apply each ticket's change as far as it can be; the tickets may belong to several of
    `tenants` (by id): the reads and writes take all of them at once.

    `kept`: column values the caller keeps on some of these tickets' rows without a version
    move (the sweep's SLA summary), not written yet; they are set before the changes, so the
    events see them, and written with the change's UPDATE: one row write instead of two.
    `locked`: the caller holds the tickets' row locks and read the tickets after taking them
    (the sweep's claim), so they are neither locked nor read again here.
    """
    if not changes:
        return Applied()
    kept = kept or {}
    by_id = {ticket.id: change for ticket, change in changes}
    if locked:
        tickets = sorted((ticket for ticket, _ in changes), key=lambda t: (str(t.tenant_id), t.id))
    else:
        tickets = []
        for tenant_id, mine in _by_tenant([ticket for ticket, _ in changes]).items():
            tickets += await _lock(session, tenants[tenant_id], {t.id: t for t in mine})
    for ticket in tickets:
        for name, value in kept.get(ticket.id, {}).items():
            set_committed_value(ticket, name, value)
    people = await _people(session, tickets, by_id)
    one_by_one = [t for t in tickets if _picks_agent(t, by_id[t.id], people)]
    batched = [t for t in tickets if t not in one_by_one]
    views = await _views(session, tenants, batched)
    now = utcnow()
    plans = [_plan(ticket, by_id[ticket.id], views[ticket.id], people, now) for ticket in batched]
    changed = [plan for plan in plans if plan.changed()]
    names = sorted({name for values in kept.values() for name in values})
    await _write(session, changed, now, names)
    written = {plan.ticket.id for plan in changed}
    await _keep(session, [t for t in tickets if t.id in kept and t.id not in written], names)
    await _announce(session, changed)
    applied = Applied({plan.ticket.id: plan.refused for plan in plans if plan.refused})
    for ticket in one_by_one:
        parts = await apply_system_change(
            session, tenants[ticket.tenant_id], ticket, by_id[ticket.id]
        )
        if parts:
            applied.refused[ticket.id] = parts
    return applied


def _by_tenant(tickets: Sequence[Ticket]) -> dict[UUID, list[Ticket]]:
    found: dict[UUID, list[Ticket]] = {}
    for ticket in tickets:
        found.setdefault(ticket.tenant_id, []).append(ticket)
    return found


async def _views(
    session: AsyncSession, tenants: Mapping[UUID, Tenant], tickets: Sequence[Ticket]
) -> dict[UUID, dict[str, Any]]:
    """The tickets' staff views as JSON, by ticket id (each tenant's statuses and the tags are
    read once per unit of work)."""
    found: dict[UUID, dict[str, Any]] = {}
    for tenant_id, mine in _by_tenant(tickets).items():
        tenant = tenants[tenant_id]
        views = await staff_views(session, tenant_id, tenant.ticket_prefix, mine)
        for ticket, view in zip(mine, views, strict=True):
            found[ticket.id] = view.model_dump(mode="json")
    return found


async def _keep(session: AsyncSession, tickets: list[Ticket], names: list[str]) -> None:
    """Write the kept columns of the tickets no change rewrote (their version stays)."""
    if not tickets or not names:
        return
    table = cast(Table, Ticket.__table__)
    statement = (
        update(table)
        .where(table.c.tenant_id == bindparam("t_tenant"), table.c.id == bindparam("t_id"))
        .values({name: bindparam(name) for name in names})
    )
    rows = [
        {"t_tenant": t.tenant_id, "t_id": t.id} | {name: getattr(t, name) for name in names}
        for t in tickets
    ]
    await session.execute(statement, rows)


async def _lock(session: AsyncSession, tenant: Tenant, changes: dict[UUID, Ticket]) -> list[Ticket]:
    """Lock the tickets; those another transaction changed since they were read are read
    afresh. Nobody changes them between plan and write."""
    locked = await session.execute(
        select(Ticket.id, Ticket.version)
        .where(Ticket.tenant_id == tenant.id, Ticket.id.in_(list(changes)))
        .order_by(Ticket.id)
        .with_for_update()
    )
    versions: dict[UUID, int] = dict(locked.all())
    stale = [i for i, version in versions.items() if changes[i].version != version]
    if stale:
        await session.execute(
            select(Ticket)
            .where(Ticket.tenant_id == tenant.id, Ticket.id.in_(stale))
            .execution_options(populate_existing=True)
        )
    return [changes[ticket_id] for ticket_id in versions]


async def _people(
    session: AsyncSession, tickets: list[Ticket], changes: Mapping[UUID, SystemChange]
) -> People:
    """The groups and users the tickets have or their changes (by ticket id) name, each in
    its ticket's tenant."""
    group_ids: dict[UUID, set[UUID]] = {}
    user_ids: dict[UUID, set[UUID]] = {}
    for ticket in tickets:
        change = changes[ticket.id]
        groups_here = group_ids.setdefault(ticket.tenant_id, set())
        users_here = user_ids.setdefault(ticket.tenant_id, set())
        groups_here |= {g for g in (ticket.group_id, change.move_to_group_id) if g}
        users_here |= {u for u in (ticket.assignee_id, change.assign_to_user_id) if u}
    groups = {
        group.id: group
        for group in await session.scalars(
            select(Group).where(in_tenants(Group.tenant_id, Group.id, _listed(group_ids)))
        )
    }
    rows = await session.execute(
        select(Membership.user_id, Membership.role, User.is_active)
        .join(User, User.id == Membership.user_id)
        .where(in_tenants(Membership.tenant_id, Membership.user_id, _listed(user_ids)))
    )
    pairs = await session.execute(
        select(GroupMember.group_id, GroupMember.user_id).where(
            in_tenants(GroupMember.tenant_id, GroupMember.group_id, _listed(group_ids)),
            in_tenants(GroupMember.tenant_id, GroupMember.user_id, _listed(user_ids)),
        )
    )
    return People(
        groups=groups,
        members={user_id: (role, active) for user_id, role, active in rows.all()},
        in_group={(group_id, user_id) for group_id, user_id in pairs.all()},
    )


def _listed(ids: dict[UUID, set[UUID]]) -> dict[UUID, list[UUID]]:
    return {tenant_id: sorted(found) for tenant_id, found in ids.items() if found}


def _target(ticket: Ticket, change: SystemChange) -> tuple[UUID | None, UUID | None]:
    """The group and assignee the change asks for, as `system._reassign` works them out."""
    group_id = change.move_to_group_id or ticket.group_id
    assignee_id = change.assign_to_user_id
    if assignee_id is None and group_id == ticket.group_id:
        assignee_id = ticket.assignee_id
    return group_id, assignee_id


def _picks_agent(ticket: Ticket, change: SystemChange, people: People) -> bool:
    if change.move_to_group_id is None and change.assign_to_user_id is None:
        return False
    group_id, assignee_id = _target(ticket, change)
    group = people.groups.get(group_id) if group_id else None
    return (
        group is not None
        and group.is_active
        and assignee_id is None
        and group_id != ticket.group_id
        and group.assignment_strategy != AssignmentStrategy.QUEUE_ONLY
    )


def _refusal(group_id: UUID | None, assignee_id: UUID | None, people: People) -> str | None:
    """Why `assignment.assign` would refuse, in its words; None when it would not."""
    if group_id is not None:
        group = people.groups.get(group_id)
        if group is None:
            return "group not found"
        if not group.is_active:
            return "the group is inactive"
    if assignee_id is None:
        return None
    member = people.members.get(assignee_id)
    if member is None:
        return "assignee not found"
    role, active = member
    if role not in ASSIGNABLE_ROLES or not active:
        return "only active agents and admins take tickets"
    if group_id is not None and (group_id, assignee_id) not in people.in_group:
        return "the assignee is not a member of the group"
    return None


def _plan(
    ticket: Ticket, change: SystemChange, before: dict[str, Any], people: People, now: datetime
) -> Plan:
    plan = Plan(ticket, before)
    if change.raise_priority:
        rank = min(PRIORITY_RANK[Priority(ticket.priority)] + 1, len(RANKED) - 1)
        if RANKED[rank].value != ticket.priority:
            plan.values |= {"priority": RANKED[rank].value, "priority_rank": rank}
    if change.move_to_group_id is not None or change.assign_to_user_id is not None:
        _reassign(plan, change, people)
    if change.add_tags:
        _tag(plan, change.add_tags)
    if change.internal_note:
        _note(plan, change.internal_note, now)
    if "priority" in plan.values:
        plan.audit(
            "field_changed", field="priority", before=ticket.priority, after=plan.values["priority"]
        )
    return plan


def _reassign(plan: Plan, change: SystemChange, people: People) -> None:
    ticket = plan.ticket
    group_id, assignee_id = _target(ticket, change)
    refusal = _refusal(group_id, assignee_id, people)
    if refusal is not None:
        log.warning("system_change_refused", ticket_id=str(ticket.id), error=refusal)
        plan.refused.append(f"assignment: {refusal}")
        return
    if (group_id, assignee_id) == (ticket.group_id, ticket.assignee_id):
        return
    plan.add(
        TicketAssignment,
        from_group_id=ticket.group_id,
        to_group_id=group_id,
        from_user_id=ticket.assignee_id,
        to_user_id=assignee_id,
        reason=change.reason,
        ai_session_ref=None,
    )
    for name, old, new in (
        ("group_id", ticket.group_id, group_id),
        ("assignee_id", ticket.assignee_id, assignee_id),
    ):
        if old != new:
            plan.audit("assigned", field=name, before=_text(old), after=_text(new))
            plan.values[name] = new


def _text(value: UUID | None) -> str | None:
    return str(value) if value is not None else None


def _tag(plan: Plan, wanted: Sequence[str]) -> None:
    plan.tags = sorted(set(normalize(wanted)) - set(plan.before["tags"]))
    for tag in plan.tags:
        plan.add(TicketTag, tag=tag)
    for tag in plan.tags:
        plan.audit("tag_added", field="tags", after=tag)


def _note(plan: Plan, body: str, now: datetime) -> None:
    plan.note = plan.add(
        TicketMessage,
        author_type=AuthorType.SYSTEM.value,
        author_user_id=None,
        author_contact_id=None,
        body_text=body,
        body_html=None,
        is_internal=True,
        direction=Direction.OUTBOUND.value,
        channel=Channel.SYSTEM.value,
        external_message_id=None,
        dedup_key=None,
        email_headers={},
        redacted_at=None,
        redacted_by=None,
    )
    plan.values |= {"message_count": plan.ticket.message_count + 1, "last_message_at": now}
    plan.audit("message_added", after=str(plan.note["id"]))


async def _write(session: AsyncSession, plans: list[Plan], now: datetime, kept: list[str]) -> None:
    """One multi-row INSERT per table of the new rows, then one UPDATE of the tickets
    (`update_rows`, with the `kept` columns as the tickets hold them). Plain rows, not ORM objects:
    they are stamped here as a flush would stamp them."""
    if not plans:
        return
    actor = actor_of(session)
    stamps = new_row_stamps(session, now)
    by_model: dict[type[Any], list[dict[str, Any]]] = {}
    for plan in plans:
        for model, row in plan.rows:
            by_model.setdefault(model, []).append(row | stamps)
    for model in (TicketTag, TicketAssignment, TicketMessage, TicketAudit):
        if model in by_model:
            await session.execute(insert(cast(Table, model.__table__)), by_model[model])
    rows = []
    for plan in plans:
        ticket = plan.ticket
        values = {name: plan.values.get(name, getattr(ticket, name)) for name in COLUMNS}
        values |= {name: getattr(ticket, name) for name in kept}
        values |= {"version": ticket.version + 1, "updated_at": now, "updated_by": actor}
        rows.append({"tenant_id": ticket.tenant_id, "id": ticket.id} | values)
        for name, value in values.items():
            set_committed_value(ticket, name, value)
        if plan.tags:
            remember_tags(session, ticket.id, {*plan.before["tags"], *plan.tags})
    table = cast(Table, Ticket.__table__)
    await update_rows(session, table, (*COLUMNS, *BOOKKEEPING, *kept), rows)


async def _announce(session: AsyncSession, plans: list[Plan]) -> None:
    """The events of the changed tickets, in one INSERT, then the in-transaction reactions to
    them (SLA state), ticket by ticket as the per-ticket path runs them."""
    if not plans:
        return
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for plan in plans:
        ticket, after = plan.ticket, _view_after(plan, now)
        if plan.note is not None:
            rows.append(_note_event(session, ticket, plan.note))
        rows.append(
            event_row(
                session,
                subject_type="ticket",
                action="updated",
                tenant_id=ticket.tenant_id,
                subject_id=ticket.id,
                snapshot=after,
                delta=json_delta(plan.before, after),
            )
        )
    await emit_many(session, rows)
    for row in rows:
        await in_transaction.react(session, OutboxEvent(**row))


def _view_after(plan: Plan, now: datetime) -> dict[str, Any]:
    """The ticket's staff view after `_write`, as `staff_views` shows it: the view before with
    what `_write` set (the `kept` columns were in it already), the tags the change added and
    the SLA flags at `now`, without validating and dumping every field of the view a second
    time for each ticket."""
    ticket = plan.ticket
    after = dict(plan.before)
    for name in VIEWED_COLUMNS:
        after[name] = jsonable(getattr(ticket, name))
    if plan.tags:
        after["tags"] = sorted({*plan.before["tags"], *plan.tags})
    after["sla_at_risk"] = sla_at_risk(ticket, now)
    after["sla_breached"] = sla_breached(ticket, now)
    return after


def _note_event(session: AsyncSession, ticket: Ticket, note: dict[str, Any]) -> dict[str, Any]:
    return event_row(
        session,
        subject_type="ticket_message",
        action="created",
        tenant_id=ticket.tenant_id,
        subject_id=note["id"],
        snapshot={
            "id": str(note["id"]),
            "ticket_id": str(ticket.id),
            "author_type": note["author_type"],
            "is_internal": True,
            "body_text": note["body_text"],
        },
    )
