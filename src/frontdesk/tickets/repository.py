"""Every ticket query starts from what the caller may see (DESIGN.md §4)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, event, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from frontdesk.core.repository import scoped
from frontdesk.identity.context import TenantContext
from frontdesk.identity.models import Contact, GroupMember
from frontdesk.identity.policy import ADMINS, Role
from frontdesk.tickets.models import (
    AccessLevel,
    Ticket,
    TicketAccess,
    TicketParticipant,
    TicketStatus,
    TicketTag,
)


def _my_groups(ctx: TenantContext) -> Select[UUID]:
    return select(GroupMember.group_id).where(
        GroupMember.tenant_id == ctx.tenant_id, GroupMember.user_id == ctx.user_id
    )


def _granted_to_my_groups(ctx: TenantContext, levels: Sequence[str]) -> ColumnElement[bool]:
    return exists().where(
        TicketAccess.tenant_id == Ticket.tenant_id,
        TicketAccess.ticket_id == Ticket.id,
        TicketAccess.level.in_(levels),
        TicketAccess.group_id.in_(_my_groups(ctx)),
    )


def _participates(ctx: TenantContext, **party: UUID | None) -> ColumnElement[bool]:
    ((column_name, value),) = party.items()
    column = getattr(TicketParticipant, column_name)
    return exists().where(
        TicketParticipant.tenant_id == Ticket.tenant_id,
        TicketParticipant.ticket_id == Ticket.id,
        column == value,
    )


def agent_sees_everything(ctx: TenantContext) -> bool:
    return ctx.role in ADMINS or bool(ctx.tenant.settings.get("agents_see_all_tickets"))


def visibility(ctx: TenantContext, *, for_write: bool = False) -> ColumnElement[bool]:
    """The tickets the caller may read (or, with `for_write`, change)."""
    if ctx.role is Role.CONTACT:
        return _contact_visibility(ctx)
    if agent_sees_everything(ctx):
        return true()
    levels = (
        [AccessLevel.WRITE.value]
        if for_write
        else [AccessLevel.READ.value, AccessLevel.WRITE.value]
    )
    return or_(
        Ticket.group_id.is_(None),
        Ticket.group_id.in_(_my_groups(ctx)),
        Ticket.assignee_id == ctx.user_id,
        _participates(ctx, user_id=ctx.user_id),
        _granted_to_my_groups(ctx, levels),
    )


def _contact_visibility(ctx: TenantContext) -> ColumnElement[bool]:
    if ctx.contact_id is None:
        return false()
    own = or_(Ticket.requester_id == ctx.contact_id, _participates(ctx, contact_id=ctx.contact_id))
    if not ctx.tenant.settings.get("contacts_see_organization_tickets"):
        return own
    organization = (
        select(Contact.organization_id)
        .where(Contact.tenant_id == ctx.tenant_id, Contact.id == ctx.contact_id)
        .scalar_subquery()
    )
    return or_(
        own, and_(Ticket.organization_id.is_not(None), Ticket.organization_id == organization)
    )


def visible_tickets(ctx: TenantContext, *, include_deleted: bool = False) -> Select[Ticket]:
    statement = scoped(Ticket, ctx.tenant_id).where(visibility(ctx))
    if not include_deleted:
        statement = statement.where(Ticket.deleted_at.is_(None))
    return statement


_TAGS = "frontdesk.ticket_tags"


async def tags_of(
    session: AsyncSession, tenant_id: UUID, ticket_ids: Sequence[UUID]
) -> dict[UUID, list[str]]:
    """The tickets' tags, read once per unit of work: a change takes a snapshot before and after
    and checks the tag diff, and a bulk change does that for every ticket. `remember_tags`
    keeps the cache right when tags change; a rollback forgets it."""
    cached: dict[UUID, list[str]] = session.info.setdefault(_TAGS, {})
    missing = [ticket_id for ticket_id in dict.fromkeys(ticket_ids) if ticket_id not in cached]
    if missing:
        rows = await session.execute(
            select(TicketTag.ticket_id, TicketTag.tag)
            .where(TicketTag.tenant_id == tenant_id, TicketTag.ticket_id.in_(missing))
            .order_by(TicketTag.ticket_id, TicketTag.tag)
        )
        found: dict[UUID, list[str]] = {ticket_id: [] for ticket_id in missing}
        for ticket_id, tag in rows:
            found[ticket_id].append(tag)
        cached.update(found)
    return {ticket_id: list(cached[ticket_id]) for ticket_id in ticket_ids}


def remember_tags(session: AsyncSession, ticket_id: UUID, tags: Iterable[str]) -> None:
    """Record the tags a ticket has after this unit of work changed them."""
    session.info.setdefault(_TAGS, {})[ticket_id] = sorted(tags)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous_transaction: object) -> None:
    """A rolled-back savepoint (one ticket of a bulk change) may have changed cached rows."""
    forget_cached_rows(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_after_transaction(session: Session, transaction: SessionTransaction) -> None:
    """After the unit of work, other writers' changes may show: a session that goes on (a job)
    reads afresh. A savepoint's end is not the unit's end."""
    if transaction.parent is None:
        forget_cached_rows(session)


def forget_cached_rows(session: Session) -> None:
    session.info.pop(_TAGS, None)
    session.info.pop(_STATUSES, None)


_STATUSES = "frontdesk.ticket_statuses"


async def statuses_by_id(session: AsyncSession, tenant_id: UUID) -> dict[UUID, TicketStatus]:
    """The tenant's statuses, read once per unit of work: every ticket view and snapshot needs
    them (a bulk update of 50 tickets would otherwise read them 100 times)."""
    cached: dict[UUID, dict[UUID, TicketStatus]] = session.info.setdefault(_STATUSES, {})
    if tenant_id not in cached:
        statuses = await session.scalars(scoped(TicketStatus, tenant_id))
        cached[tenant_id] = {status.id: status for status in statuses}
    return cached[tenant_id]


@event.listens_for(Session, "before_flush")
def _forget_statuses_on_change(session: Session, flush_context: object, instances: object) -> None:
    """A status added or removed in this unit of work makes the cached set stale (changed ones
    are the very objects the cache holds)."""
    touched = (*session.new, *session.deleted)
    if any(isinstance(obj, TicketStatus) for obj in touched):
        session.info.pop(_STATUSES, None)


async def status_by_key(session: AsyncSession, tenant_id: UUID, key: str) -> TicketStatus | None:
    statuses = (await statuses_by_id(session, tenant_id)).values()
    return next((status for status in statuses if status.key == key), None)


async def default_status(
    session: AsyncSession, tenant_id: UUID, category: str
) -> TicketStatus | None:
    """The category's default active status (else its first by position), from the cached set."""
    statuses = await statuses_by_id(session, tenant_id)
    candidates = [s for s in statuses.values() if s.category == category and s.is_active]
    return min(candidates, key=lambda s: (not s.is_default, s.position, s.id), default=None)
