"""The ticket list: filters and sort orders, applied to what the caller may see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Select,
    Uuid,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    not_,
    or_,
    select,
)

from frontdesk.core.clock import utcnow
from frontdesk.core.errors import Forbidden, ValidationFailed
from frontdesk.core.pagination import Page, SortOrder, page_of, page_statement, paginate
from frontdesk.identity.context import TenantContext
from frontdesk.identity.policy import Role
from frontdesk.tickets.models import (
    SEARCH_CONFIG,
    Channel,
    Priority,
    StatusCategory,
    Ticket,
    TicketStatus,
    TicketTag,
    TicketType,
    ticket_search_document,
)

SORTS: dict[str, Any] = {
    "created": Ticket.created_at,
    "updated": Ticket.updated_at,
    "priority": Ticket.priority_rank,
    "due": Ticket.due_at,
    "number": Ticket.number,
    "sla_due": Ticket.sla_next_due_at,
}
#: A customer's view has no due date, assignment or tags: they neither sort nor filter by them
#: (a cursor would carry the due date; a filter would confirm a tag or a group).
CUSTOMER_SORTS: dict[str, Any] = {
    name: column for name, column in SORTS.items() if name not in ("due", "sla_due")
}
INTERNAL_FILTERS = ("group_id", "assignee", "tag", "sla_breached", "sla_at_risk")
#: A text search ordered by last change looks among the tickets changed this recently first
#: (see `search_page`).
RECENT_WINDOW = timedelta(days=14)


class FilterNotAllowed(Forbidden):
    code = "filter_not_allowed"
    title = "You may not filter by these fields"


def sorts_for(ctx: TenantContext) -> dict[str, Any]:
    return CUSTOMER_SORTS if ctx.role is Role.CONTACT else SORTS


@dataclass
class TicketFilters:
    status: list[str] = field(default_factory=list)
    status_category: list[StatusCategory] = field(default_factory=list)
    priority: list[Priority] = field(default_factory=list)
    type: list[TicketType] = field(default_factory=list)
    channel: list[Channel] = field(default_factory=list)
    group_id: list[UUID] = field(default_factory=list)
    assignee: str | None = None
    requester_id: UUID | None = None
    organization_id: UUID | None = None
    tag: list[str] = field(default_factory=list)
    tag_mode: str = "any"
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    q: str | None = None
    sla_breached: bool | None = None
    sla_at_risk: bool | None = None


def _assignee_condition(ctx: TenantContext, assignee: str) -> Any:
    if assignee == "me":
        return Ticket.assignee_id == ctx.user_id
    if assignee == "none":
        return Ticket.assignee_id.is_(None)
    try:
        return Ticket.assignee_id == UUID(assignee)
    except ValueError as exc:
        raise ValidationFailed("assignee is `me`, `none` or a user id", field="assignee") from exc


def _tag_condition(tags: list[str], mode: str) -> Any:
    wanted = sorted({t.strip().lower() for t in tags if t.strip()})

    def has(tag: str) -> Any:
        return exists().where(
            TicketTag.tenant_id == Ticket.tenant_id,
            TicketTag.ticket_id == Ticket.id,
            TicketTag.tag == tag,
        )

    if mode == "all":
        return and_(*(has(tag) for tag in wanted))
    return exists().where(
        TicketTag.tenant_id == Ticket.tenant_id,
        TicketTag.ticket_id == Ticket.id,
        TicketTag.tag.in_(wanted),
    )


def apply_filters(
    ctx: TenantContext, statement: Select[Ticket], filters: TicketFilters
) -> Select[Ticket]:
    if ctx.role is Role.CONTACT:
        internal = [
            name for name in INTERNAL_FILTERS if getattr(filters, name) not in (None, [], "")
        ]
        if internal:
            raise FilterNotAllowed(
                f"customers cannot filter by: {', '.join(internal)}", fields=internal
            )
    conditions: list[Any] = []
    if filters.status:
        conditions.append(
            Ticket.status_id.in_(
                select(TicketStatus.id).where(
                    TicketStatus.tenant_id == ctx.tenant_id, TicketStatus.key.in_(filters.status)
                )
            )
        )
    in_lists: list[tuple[Any, list[Any]]] = [
        (Ticket.status_category, filters.status_category),
        (Ticket.priority, filters.priority),
        (Ticket.type, filters.type),
        (Ticket.channel, filters.channel),
    ]
    for column, values in in_lists:
        if values:
            conditions.append(column.in_([v.value for v in values]))
    if filters.group_id:
        conditions.append(Ticket.group_id.in_(filters.group_id))
    if filters.assignee:
        conditions.append(_assignee_condition(ctx, filters.assignee))
    if filters.requester_id:
        conditions.append(Ticket.requester_id == filters.requester_id)
    if filters.organization_id:
        conditions.append(Ticket.organization_id == filters.organization_id)
    if filters.tag:
        conditions.append(_tag_condition(filters.tag, filters.tag_mode))
    ranges: list[tuple[Any, datetime | None, bool]] = [
        (Ticket.created_at, filters.created_after, True),
        (Ticket.created_at, filters.created_before, False),
        (Ticket.updated_at, filters.updated_after, True),
        (Ticket.updated_at, filters.updated_before, False),
    ]
    for column, bound, after in ranges:
        if bound is not None:
            conditions.append(column >= bound if after else column < bound)
    conditions.extend(_sla_conditions(filters, utcnow()))
    if filters.q and filters.q.strip():
        dialect = ctx.session.get_bind().dialect.name
        conditions.append(_text_condition(filters.q.strip(), ctx.tenant.ticket_prefix, dialect))
    return statement.where(*conditions)


def _sla_conditions(filters: TicketFilters, now: datetime) -> list[Any]:
    """Breached (flagged, or past due before the sweep saw it) and at risk, on ticket columns."""
    conditions: list[Any] = []
    # NULL-safe both ways: a ticket without running clocks is neither (and is in the `false`s).
    due = and_(Ticket.sla_next_due_at.is_not(None), Ticket.sla_next_due_at <= now)
    breached = or_(Ticket.sla_breached.is_(True), due)
    at_risk = and_(
        Ticket.sla_at_risk_at.is_not(None),
        Ticket.sla_next_due_at.is_not(None),
        Ticket.sla_at_risk_at <= now,
        Ticket.sla_next_due_at > now,
    )
    if filters.sla_breached is not None:
        conditions.append(breached if filters.sla_breached else not_(breached))
    if filters.sla_at_risk is not None:
        conditions.append(at_risk if filters.sla_at_risk else not_(at_risk))
    return conditions


def _text_condition(text: str, prefix: str, dialect: str) -> Any:
    """Every word in the subject or description, or a ticket number (`42`, `#42`, `ACME-42`).

    PostgreSQL searches its full-text index (web search syntax: `"a phrase"`, `or`, `-word`);
    elsewhere every word must appear, case-insensitively, as part of the subject or description.
    """
    if dialect == "postgresql":
        query = func.websearch_to_tsquery(literal_column(f"'{SEARCH_CONFIG}'::regconfig"), text)
        matches: list[Any] = [ticket_search_document().op("@@")(query)]
    else:
        matches = [and_(*(_word_condition(word) for word in text.split()))]
    number = text.upper().removeprefix(f"{prefix}-").lstrip("#")
    if number.isdigit() and len(number) < 12:
        matches.append(Ticket.number == int(number))
    return or_(*matches)


def _word_condition(word: str) -> Any:
    return or_(
        Ticket.subject.icontains(word, autoescape=True),
        Ticket.description.icontains(word, autoescape=True),
    )


async def list_page(
    ctx: TenantContext,
    statement: Select[Ticket],
    filters: TicketFilters,
    *,
    order: SortOrder,
    limit: int,
    cursor: str | None,
) -> Page[Ticket]:
    """One page of `statement` (already filtered); text searches take `search_page`."""
    searching = bool(filters.q and filters.q.strip())
    by_last_change = order.column is Ticket.updated_at and order.descending
    if searching and by_last_change and ctx.session.get_bind().dialect.name == "postgresql":
        return await search_page(ctx, statement, order=order, limit=limit, cursor=cursor)
    return await paginate(
        ctx.session, statement, order=order, id_column=Ticket.id, limit=limit, cursor=cursor
    )


def _recent_since() -> Any:
    # In SQL, not a parameter: PostgreSQL then estimates with the actual instant even in a
    # prepared statement's generic plan (with a parameter, that plan read older tickets
    # backwards along the last-change index, parsing each one's text).
    return func.now() - literal_column(f"interval '{RECENT_WINDOW.days} days'")


@cache
def _has_older() -> Any:
    """Whether the tenant has tickets changed before the recent window (built once)."""
    return (
        exists()
        .where(
            Ticket.tenant_id == bindparam("recent_tenant_id", type_=Uuid()),
            Ticket.updated_at < _recent_since(),
        )
        .label("has_older")
    )


async def search_page(
    ctx: TenantContext,
    statement: Select[Ticket],
    *,
    order: SortOrder,
    limit: int,
    cursor: str | None,
) -> Page[Ticket]:
    """A search page, newest change first, looking at recently changed tickets first.

    The full-text index finds the matches in the whole table; ordering them by last change
    means reading every matching row, which grows with the data. Most searches fill their page
    with tickets changed lately, so the first statement keeps to the tickets changed in the
    last RECENT_WINDOW (an index range intersected with the text index). If that fills the
    page, those are the newest matches (all others changed earlier); if the tenant has no
    older tickets, the answer is complete too. Otherwise the plain search runs after it.
    """
    page = page_statement(statement, order=order, id_column=Ticket.id, limit=limit, cursor=cursor)
    recent = page.where(Ticket.updated_at >= _recent_since()).add_columns(_has_older())
    rows = (await ctx.session.execute(recent, {"recent_tenant_id": ctx.tenant_id})).all()
    if len(rows) > limit or (rows and not rows[0].has_older):
        tickets = [row[0] for row in rows]
        return page_of(tickets, order=order, id_column=Ticket.id, limit=limit)
    return await paginate(
        ctx.session, statement, order=order, id_column=Ticket.id, limit=limit, cursor=cursor
    )


def parse_instant(name: str, raw: str | None) -> datetime | None:
    """An RFC 3339 instant from a query parameter; one without an offset is refused."""
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed(f"{name} is not an RFC 3339 timestamp", field=name) from exc
    if parsed.tzinfo is None:
        raise ValidationFailed(f"{name} needs a time zone offset", field=name)
    return parsed
