"""Every query of the SLA domain, each scoped to one tenant (the sweep's claim is cross-tenant)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.repository import in_tenants, scoped
from frontdesk.identity.models import (
    Contact,
    ContactEmail,
    Group,
    GroupMember,
    GroupMemberRole,
    MemberRole,
    Membership,
)
from frontdesk.sla.models import SlaCalendar, SlaPolicy, SlaTarget, TicketSlaState
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.models import ParticipantRole, Ticket, TicketParticipant, TicketTag
from frontdesk.tickets.repository import tags_of


async def policies_in_order(session: AsyncSession, tenant_id: UUID) -> list[SlaPolicy]:
    statement = scoped(SlaPolicy, tenant_id).order_by(SlaPolicy.position, SlaPolicy.name)
    return list((await session.scalars(statement)).all())


def _stamp(
    model: type[SlaPolicy] | type[SlaCalendar] | type[Group], tenant: Any = None
) -> list[Any]:
    """The fingerprint's three aggregates of one table, for the `tenant_id` parameter or for
    the given column of an enclosing statement."""
    mine = model.tenant_id == (bindparam("tenant_id") if tenant is None else tenant)
    return [
        select(aggregate).where(mine).scalar_subquery()
        for aggregate in (func.count(), func.max(model.updated_at), func.sum(model.version))
    ]


#: Built once: the statement is the same for every tenant. Groups count for their default
#: policy (the group profile).
_FINGERPRINT = select(*_stamp(SlaPolicy), *_stamp(SlaCalendar), *_stamp(Group))
_STAMPS = _FINGERPRINT.subquery("sla_rules_stamp")
#: A ticket's clocks and the tenant's rules fingerprint in one round trip: the stamp row is
#: outer-joined to the clocks, so it comes back (with no clock) when the ticket has none.
_CLOCKS_AND_STAMP = (
    select(TicketSlaState, *_STAMPS.c)
    .select_from(_STAMPS)
    .outerjoin(
        TicketSlaState,
        and_(
            TicketSlaState.tenant_id == bindparam("tenant_id"),
            TicketSlaState.ticket_id == bindparam("ticket_id"),
        ),
    )
    .order_by(TicketSlaState.metric)
)


async def rules_fingerprint(session: AsyncSession, tenant_id: UUID) -> tuple[object, ...]:
    """Changes whenever a policy, target or calendar of the tenant is added, changed or
    removed, and when a group (its default policy) is."""
    row = (await session.execute(_FINGERPRINT, {"tenant_id": tenant_id})).one()
    return tuple(row)


#: `_FINGERPRINT` of many tenants at once, a row per tenant (the sweep's batch).
_FINGERPRINTS = select(
    Tenant.id,
    *_stamp(SlaPolicy, Tenant.id),
    *_stamp(SlaCalendar, Tenant.id),
    *_stamp(Group, Tenant.id),
).where(Tenant.id.in_(bindparam("tenant_ids", expanding=True)))


async def rules_fingerprints(
    session: AsyncSession, tenant_ids: Sequence[UUID]
) -> dict[UUID, tuple[object, ...]]:
    """`rules_fingerprint` of each of these tenants, in one round trip."""
    rows = await session.execute(_FINGERPRINTS, {"tenant_ids": list(tenant_ids)})
    return {row[0]: tuple(row[1:]) for row in rows.all()}


async def clocks_and_fingerprint(
    session: AsyncSession, tenant_id: UUID, ticket_id: UUID
) -> tuple[tuple[object, ...], list[TicketSlaState]]:
    """The ticket's clocks (by metric) and `rules_fingerprint`, read together."""
    rows = (
        await session.execute(_CLOCKS_AND_STAMP, {"tenant_id": tenant_id, "ticket_id": ticket_id})
    ).all()
    return tuple(rows[0][1:]), [row[0] for row in rows if row[0] is not None]


#: `_CLOCKS_AND_STAMP` for many tickets (a bulk change).
_MANY_CLOCKS_AND_STAMP = (
    select(TicketSlaState, *_STAMPS.c)
    .select_from(_STAMPS)
    .outerjoin(
        TicketSlaState,
        and_(
            TicketSlaState.tenant_id == bindparam("tenant_id"),
            TicketSlaState.ticket_id.in_(bindparam("ticket_ids", expanding=True)),
        ),
    )
    .order_by(TicketSlaState.ticket_id, TicketSlaState.metric)
)


async def clocks_of_many_and_fingerprint(
    session: AsyncSession, tenant_id: UUID, ticket_ids: Sequence[UUID]
) -> tuple[tuple[object, ...], dict[UUID, list[TicketSlaState]]]:
    """`clocks_and_fingerprint` for many tickets in one round trip: every ticket's clocks (an
    empty list for a ticket with none)."""
    rows = (
        await session.execute(
            _MANY_CLOCKS_AND_STAMP, {"tenant_id": tenant_id, "ticket_ids": list(ticket_ids)}
        )
    ).all()
    clocks: dict[UUID, list[TicketSlaState]] = {ticket_id: [] for ticket_id in ticket_ids}
    for row in rows:
        if row[0] is not None:
            clocks.setdefault(row[0].ticket_id, []).append(row[0])
    return tuple(rows[0][1:]), clocks


async def group_policies(session: AsyncSession, tenant_id: UUID) -> dict[UUID, UUID]:
    """Each group's default policy (group profile), for the groups that name one."""
    rows = await session.execute(
        select(Group.id, Group.default_sla_policy_id).where(
            Group.tenant_id == tenant_id, Group.default_sla_policy_id.is_not(None)
        )
    )
    return {group_id: policy_id for group_id, policy_id in rows.all() if policy_id is not None}


async def targets_of(
    session: AsyncSession, tenant_id: UUID, policy_ids: Sequence[UUID]
) -> list[SlaTarget]:
    if not policy_ids:
        return []
    statement = (
        scoped(SlaTarget, tenant_id)
        .where(SlaTarget.policy_id.in_(policy_ids))
        .order_by(SlaTarget.priority, SlaTarget.metric)
    )
    return list((await session.scalars(statement)).all())


async def calendars_by_id(
    session: AsyncSession, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, SlaCalendar]:
    if not ids:
        return {}
    found = await session.scalars(scoped(SlaCalendar, tenant_id).where(SlaCalendar.id.in_(ids)))
    return {calendar.id: calendar for calendar in found}


async def states_of(
    session: AsyncSession, tenant_id: UUID, ticket_id: UUID
) -> list[TicketSlaState]:
    statement = (
        scoped(TicketSlaState, tenant_id)
        .where(TicketSlaState.ticket_id == ticket_id)
        .order_by(TicketSlaState.metric)
    )
    return list((await session.scalars(statement)).all())


async def tag_list(session: AsyncSession, tenant_id: UUID, ticket_id: UUID) -> list[str]:
    """The ticket's tags as this unit of work left them (the tickets domain's cache, which
    knows tags added but not flushed yet), else from the table."""
    return (await tags_of(session, tenant_id, [ticket_id]))[ticket_id]


async def requester_facts(
    session: AsyncSession, tenant_id: UUID, contact_id: UUID
) -> dict[str, object]:
    contact = await session.get(Contact, (tenant_id, contact_id))
    emails = await session.scalars(
        select(ContactEmail.email).where(
            ContactEmail.tenant_id == tenant_id, ContactEmail.contact_id == contact_id
        )
    )
    return {
        "requester.email": list(emails.all()),
        "requester.name": contact.name if contact else None,
        "requester.phone": contact.phone if contact else None,
    }


def due_for_sweep(now: datetime, limit: int) -> Select[TicketSlaState]:
    """States with something to announce, oldest first, claimed row by row with their ticket.

    Cross-tenant by design (the worker serves every tenant); the index on `next_check_at`
    keeps it from scanning open tickets. SKIP LOCKED lets several workers share the work. The
    ticket row is locked in the same claim: a request writes its ticket before its clocks, so a
    sweep that took the clock first and then waited for the ticket could deadlock with it;
    a ticket being written is skipped and its clock taken by the next sweep.
    """
    return (
        select(TicketSlaState)
        .join(
            Ticket,
            (Ticket.tenant_id == TicketSlaState.tenant_id)
            & (Ticket.id == TicketSlaState.ticket_id),
        )
        .where(TicketSlaState.next_check_at <= now)
        .order_by(TicketSlaState.next_check_at)
        .limit(limit)
        .with_for_update(of=[TicketSlaState.__table__, Ticket.__table__], skip_locked=True)
    )


async def group_leads(session: AsyncSession, tenant_id: UUID, group_id: UUID) -> list[UUID]:
    rows = await session.scalars(
        select(GroupMember.user_id).where(
            GroupMember.tenant_id == tenant_id,
            GroupMember.group_id == group_id,
            GroupMember.role == GroupMemberRole.LEAD.value,
        )
    )
    return list(rows.all())


async def admins(session: AsyncSession, tenant_id: UUID) -> list[UUID]:
    rows = await session.scalars(
        select(Membership.user_id).where(
            Membership.tenant_id == tenant_id,
            Membership.role.in_([MemberRole.OWNER.value, MemberRole.ADMIN.value]),
        )
    )
    return list(rows.all())


async def followers(session: AsyncSession, tenant_id: UUID, ticket_id: UUID) -> list[UUID]:
    rows = await session.scalars(
        select(TicketParticipant.user_id).where(
            TicketParticipant.tenant_id == tenant_id,
            TicketParticipant.ticket_id == ticket_id,
            TicketParticipant.role == ParticipantRole.FOLLOWER.value,
            TicketParticipant.user_id.is_not(None),
        )
    )
    return [user_id for user_id in rows.all() if user_id is not None]


def tickets_of_batch(ticket_ids: Mapping[UUID, Sequence[UUID]]) -> Select[Ticket]:
    return select(Ticket).where(in_tenants(Ticket.tenant_id, Ticket.id, ticket_ids))


def clocks_of_batch(ticket_ids: Mapping[UUID, Sequence[UUID]]) -> Select[TicketSlaState]:
    return select(TicketSlaState).where(
        in_tenants(TicketSlaState.tenant_id, TicketSlaState.ticket_id, ticket_ids)
    )


def leads_of_groups(group_ids: Mapping[UUID, Sequence[UUID]]) -> Select[UUID, UUID]:
    return select(GroupMember.group_id, GroupMember.user_id).where(
        in_tenants(GroupMember.tenant_id, GroupMember.group_id, group_ids),
        GroupMember.role == GroupMemberRole.LEAD.value,
    )


def admins_of(tenant_ids: Sequence[UUID]) -> Select[UUID, UUID]:
    return select(Membership.tenant_id, Membership.user_id).where(
        Membership.tenant_id.in_(tenant_ids),
        Membership.role.in_([MemberRole.OWNER.value, MemberRole.ADMIN.value]),
    )


def followers_of_batch(ticket_ids: Mapping[UUID, Sequence[UUID]]) -> Select[UUID, UUID | None]:
    return select(TicketParticipant.ticket_id, TicketParticipant.user_id).where(
        in_tenants(TicketParticipant.tenant_id, TicketParticipant.ticket_id, ticket_ids),
        TicketParticipant.role == ParticipantRole.FOLLOWER.value,
        TicketParticipant.user_id.is_not(None),
    )


def tags_of_batch(ticket_ids: Mapping[UUID, Sequence[UUID]]) -> Select[UUID, str]:
    return select(TicketTag.ticket_id, TicketTag.tag).where(
        in_tenants(TicketTag.tenant_id, TicketTag.ticket_id, ticket_ids)
    )
