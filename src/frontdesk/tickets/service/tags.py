"""Tags: case-insensitive, trimmed, unique per ticket; counted across the tenant."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.tickets.models import Ticket, TicketTag
from frontdesk.tickets.repository import remember_tags, tags_of
from frontdesk.tickets.service.timeline import audit

MAX_TAGS_PER_TICKET = 50


def normalize(tags: Sequence[str]) -> list[str]:
    return sorted({tag.strip().lower() for tag in tags if tag.strip()})


async def current_tags(session: AsyncSession, ticket: Ticket) -> list[str]:
    return (await tags_of(session, ticket.tenant_id, [ticket.id]))[ticket.id]


async def set_tags(
    session: AsyncSession, ticket: Ticket, wanted: Sequence[str], *, audited: bool
) -> tuple[list[str], list[str]]:
    """Make the ticket's tags exactly `wanted`; returns (added, removed)."""
    have = set(await current_tags(session, ticket))
    want = set(normalize(wanted))
    added, removed = sorted(want - have), sorted(have - want)
    await _apply(session, ticket, added, removed, audited=audited)
    remember_tags(session, ticket.id, want)
    return added, removed


async def change_tags(
    session: AsyncSession, ticket: Ticket, add: Sequence[str], remove: Sequence[str]
) -> tuple[list[str], list[str]]:
    have = set(await current_tags(session, ticket))
    added = sorted(set(normalize(add)) - have)
    removed = sorted(set(normalize(remove)) & have)
    await _apply(session, ticket, added, removed, audited=True)
    remember_tags(session, ticket.id, (have | set(added)) - set(removed))
    return added, removed


async def _apply(
    session: AsyncSession, ticket: Ticket, added: list[str], removed: list[str], *, audited: bool
) -> None:
    if removed:
        await session.execute(
            delete(TicketTag).where(
                TicketTag.tenant_id == ticket.tenant_id,
                TicketTag.ticket_id == ticket.id,
                TicketTag.tag.in_(removed),
            )
        )
    session.add_all(
        TicketTag(tenant_id=ticket.tenant_id, ticket_id=ticket.id, tag=tag) for tag in added
    )
    if audited:
        for tag in added:
            audit(session, ticket, "tag_added", field="tags", after=tag)
        for tag in removed:
            audit(session, ticket, "tag_removed", field="tags", before=tag)


async def tenant_tag_counts(
    session: AsyncSession, tenant_id: UUID, prefix: str | None, limit: int
) -> list[tuple[str, int]]:
    """Tags in use across the tenant's live tickets, most used first."""
    statement = (
        select(TicketTag.tag, func.count())
        .join(
            Ticket, (Ticket.tenant_id == TicketTag.tenant_id) & (Ticket.id == TicketTag.ticket_id)
        )
        .where(TicketTag.tenant_id == tenant_id, Ticket.deleted_at.is_(None))
        .group_by(TicketTag.tag)
        .order_by(func.count().desc(), TicketTag.tag)
        .limit(limit)
    )
    if prefix:
        statement = statement.where(TicketTag.tag.startswith(prefix.lower(), autoescape=True))
    return [(tag, int(count)) for tag, count in (await session.execute(statement)).all()]
