"""Server-Sent Events that tell an open page something changed, driven from the database.

Each stream polls cheap indexed values: the tenant's latest ticket change
(`max(ticket.updated_at)`, index `ix_ticket_updated`), the viewer's unread notification count
(index `ix_notification_unread`) and, on a ticket page, that ticket's version and message
count. Any API process sees every other process's commits this way, so it works with several
processes behind a load balancer. The page then fetches itself again and
swaps the changed regions; the stream carries no ticket data, only "look again" (and the
bell's new count, which is the viewer's own).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.identity.context import TenantContext
from frontdesk.identity.policy import Action
from frontdesk.notifications.repository import unread_count
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.service import tickets
from frontdesk.web.auth import page_permits

router = APIRouter(prefix="/app/{tenant}", include_in_schema=False)

Readers = Annotated[TenantContext, page_permits(Action.TICKET_READ)]
POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
#: A stream ends after this long; the browser's EventSource reconnects on its own.
STREAM_SECONDS = 55


async def tenant_mark(session: AsyncSession, tenant_id: UUID) -> str:
    latest = await session.scalar(
        select(func.max(Ticket.updated_at)).where(Ticket.tenant_id == tenant_id)
    )
    return latest.isoformat() if latest is not None else ""


async def ticket_mark(session: AsyncSession, tenant_id: UUID, ticket_id: UUID) -> str:
    row = (
        await session.execute(
            select(Ticket.version, Ticket.message_count).where(
                Ticket.tenant_id == tenant_id, Ticket.id == ticket_id
            )
        )
    ).first()
    return f"{row[0]}:{row[1]}" if row is not None else ""


def _event(name: str, data: dict[str, str]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


@dataclass(frozen=True)
class Watch:
    """Whose stream this is and what its page was rendered with."""

    tenant_id: UUID
    user_id: UUID
    ticket_id: UUID | None
    tenant_mark: str
    ticket_mark: str
    unread: str


async def _changes(
    sessionmaker: async_sessionmaker[AsyncSession], watch: Watch, seconds: int
) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    tenant_id, ticket_id = watch.tenant_id, watch.ticket_id
    last_tenant, last_ticket, last_unread = watch.tenant_mark, watch.ticket_mark, watch.unread
    started = last_sent = time.monotonic()
    while time.monotonic() - started < seconds:
        async with sessionmaker() as session:
            now_tenant = await tenant_mark(session, tenant_id)
            now_ticket = await ticket_mark(session, tenant_id, ticket_id) if ticket_id else ""
            now_unread = str(await unread_count(session, tenant_id, watch.user_id))
        # Without a count from the page (an older page), the first reading is the baseline.
        if last_unread and now_unread != last_unread:
            yield _event("notifications", {"unread": now_unread})
            last_sent = time.monotonic()
        if ticket_id and now_ticket != last_ticket:
            yield _event("ticket", {"mark": now_ticket})
            last_sent = time.monotonic()
        if now_tenant != last_tenant:
            yield _event("tenant", {"mark": now_tenant})
            last_sent = time.monotonic()
        last_tenant, last_ticket, last_unread = now_tenant, now_ticket, now_unread
        if time.monotonic() - last_sent > KEEPALIVE_SECONDS:
            yield ": keepalive\n\n"
            last_sent = time.monotonic()
        await anyio.sleep(POLL_SECONDS)


@router.get("/live")
async def live(
    request: Request,
    ctx: Readers,
    ticket: UUID | None = None,
    tenant_since: Annotated[str, Query(max_length=64)] = "",
    ticket_since: Annotated[str, Query(max_length=64)] = "",
    unread_since: Annotated[str, Query(max_length=12)] = "",
    seconds: Annotated[int, Query(ge=1, le=300)] = STREAM_SECONDS,
) -> StreamingResponse:
    """`event: tenant` when any ticket of the tenant changed, `event: ticket` when this one did,
    `event: notifications` with the viewer's unread count when it moved, each measured from
    the marks the page was rendered with."""
    if ticket is not None:
        await tickets.get_ticket(ctx, ticket)
    return StreamingResponse(
        _changes(
            request.app.state.sessionmaker,
            Watch(ctx.tenant_id, ctx.user_id, ticket, tenant_since, ticket_since, unread_since),
            seconds,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
