"""Every ticket query starts from what the caller may see (DESIGN.md §4)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Select,
    Uuid,
    and_,
    bindparam,
    event,
    exists,
    false,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, Session, SessionTransaction

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


@dataclass(frozen=True)
class _Caller:
    """Whose visibility a clause states: the values themselves, or bind parameters in the
    cached statements (`visible_tickets`)."""

    tenant_id: Any
    user_id: Any
    contact_id: Any


def _caller_of(ctx: TenantContext) -> _Caller:
    return _Caller(ctx.tenant_id, ctx.user_id, ctx.contact_id)


def _my_groups(caller: _Caller) -> Select[UUID]:
    return select(GroupMember.group_id).where(
        GroupMember.tenant_id == caller.tenant_id, GroupMember.user_id == caller.user_id
    )


def _granted_to_my_groups(caller: _Caller, levels: Sequence[str]) -> ColumnElement[bool]:
    return exists().where(
        TicketAccess.tenant_id == Ticket.tenant_id,
        TicketAccess.ticket_id == Ticket.id,
        TicketAccess.level.in_(levels),
        TicketAccess.group_id.in_(_my_groups(caller)),
    )


def _participates(column: InstrumentedAttribute[UUID | None], value: Any) -> ColumnElement[bool]:
    return exists().where(
        TicketParticipant.tenant_id == Ticket.tenant_id,
        TicketParticipant.ticket_id == Ticket.id,
        column == value,
    )


def agent_sees_everything(ctx: TenantContext) -> bool:
    return ctx.role in ADMINS or bool(ctx.tenant.settings.get("agents_see_all_tickets"))


def _kind_of(ctx: TenantContext) -> str:
    """Which visibility rule applies: the clause's shape, whoever the caller is."""
    if ctx.role is Role.CONTACT:
        if ctx.contact_id is None:
            return "nothing"
        if ctx.tenant.settings.get("contacts_see_organization_tickets"):
            return "contact_and_organization"
        return "contact"
    return "everything" if agent_sees_everything(ctx) else "agent"


def visibility(ctx: TenantContext, *, for_write: bool = False) -> ColumnElement[bool]:
    """The tickets the caller may read (or, with `for_write`, change)."""
    return _visibility(_kind_of(ctx), _caller_of(ctx), for_write=for_write)


def _visibility(kind: str, caller: _Caller, *, for_write: bool) -> ColumnElement[bool]:
    if kind == "nothing":
        return false()
    if kind in ("contact", "contact_and_organization"):
        return _contact_visibility(caller, organization=kind == "contact_and_organization")
    if kind == "everything":
        return true()
    levels = (
        [AccessLevel.WRITE.value]
        if for_write
        else [AccessLevel.READ.value, AccessLevel.WRITE.value]
    )
    return or_(
        Ticket.group_id.is_(None),
        Ticket.group_id.in_(_my_groups(caller)),
        Ticket.assignee_id == caller.user_id,
        _participates(TicketParticipant.user_id, caller.user_id),
        _granted_to_my_groups(caller, levels),
    )


def _contact_visibility(caller: _Caller, *, organization: bool) -> ColumnElement[bool]:
    own = or_(
        Ticket.requester_id == caller.contact_id,
        _participates(TicketParticipant.contact_id, caller.contact_id),
    )
    if not organization:
        return own
    their_organization = (
        select(Contact.organization_id)
        .where(Contact.tenant_id == caller.tenant_id, Contact.id == caller.contact_id)
        .scalar_subquery()
    )
    return or_(
        own,
        and_(Ticket.organization_id.is_not(None), Ticket.organization_id == their_organization),
    )


#: The caller in the cached statements: bound per request by `visible_tickets`.
_BOUND = _Caller(
    bindparam("visible_tenant_id", type_=Uuid()),
    bindparam("visible_user_id", type_=Uuid()),
    bindparam("visible_contact_id", type_=Uuid()),
)


@cache
def _visible_template(kind: str, include_deleted: bool) -> Select[Ticket]:
    """Built once per shape: building this statement (and its cache key) from scratch cost a
    few milliseconds of CPU per request, more than the database took to answer it."""
    statement = select(Ticket).where(
        Ticket.tenant_id == _BOUND.tenant_id, _visibility(kind, _BOUND, for_write=False)
    )
    if not include_deleted:
        statement = statement.where(Ticket.deleted_at.is_(None))
    return statement


def visible_tickets(ctx: TenantContext, *, include_deleted: bool = False) -> Select[Ticket]:
    """The tenant's tickets the caller may read: every ticket query starts here."""
    return _visible_template(_kind_of(ctx), include_deleted).params(
        visible_tenant_id=ctx.tenant_id,
        visible_user_id=ctx.user_id,
        visible_contact_id=ctx.contact_id,
    )


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
            _tags_statement(), {"tenant_id": tenant_id, "ticket_ids": missing}
        )
        found: dict[UUID, list[str]] = {ticket_id: [] for ticket_id in missing}
        for ticket_id, tag in rows:
            found[ticket_id].append(tag)
        cached.update(found)
    return {ticket_id: list(cached[ticket_id]) for ticket_id in ticket_ids}


@cache
def _tags_statement() -> Select[UUID, str]:
    return (
        select(TicketTag.ticket_id, TicketTag.tag)
        .where(
            TicketTag.tenant_id == bindparam("tenant_id", type_=Uuid()),
            TicketTag.ticket_id.in_(bindparam("ticket_ids", type_=Uuid(), expanding=True)),
        )
        .order_by(TicketTag.ticket_id, TicketTag.tag)
    )


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
        statuses = await session.scalars(_statuses_statement(), {"tenant_id": tenant_id})
        cached[tenant_id] = {status.id: status for status in statuses}
    return cached[tenant_id]


@cache
def _statuses_statement() -> Select[TicketStatus]:
    return select(TicketStatus).where(
        TicketStatus.tenant_id == bindparam("tenant_id", type_=Uuid())
    )


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
