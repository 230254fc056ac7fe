"""The conversation of a ticket: messages and internal notes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from frontdesk.core.pagination import PagePublic, paginate, parse_sort
from frontdesk.identity.context import TenantContext
from frontdesk.identity.dependencies import permits
from frontdesk.identity.policy import Action
from frontdesk.tickets.models import TicketMessage
from frontdesk.tickets.schemas import MessageCreate, MessagePublic
from frontdesk.tickets.service import messages, tickets

router = APIRouter(
    prefix="/api/v1/tenants/{tenant}/tickets/{ticket_id}/messages", tags=["conversation"]
)

Readers = Annotated[TenantContext, permits(Action.TICKET_READ)]
SORTS = {"created": TicketMessage.created_at}


@router.get("", response_model=PagePublic[MessagePublic])
async def list_messages(
    ticket_id: UUID,
    ctx: Readers,
    sort: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PagePublic[MessagePublic]:
    """The thread, oldest first; customers get public messages only."""
    ticket = await tickets.get_ticket(ctx, ticket_id)
    page = await paginate(
        ctx.session,
        messages.visible_messages(ctx, ticket),
        order=parse_sort(sort, SORTS, "created"),
        id_column=TicketMessage.id,
        limit=limit,
        cursor=cursor,
    )
    return PagePublic(
        items=await messages.publics(ctx.session, page.items), next_cursor=page.next_cursor
    )


@router.post(
    "",
    response_model=MessagePublic,
    status_code=201,
    responses={
        200: {"model": MessagePublic, "description": "The caller's message with this dedup key"}
    },
)
async def add_message(
    ticket_id: UUID,
    body: MessageCreate,
    ctx: Annotated[TenantContext, permits(Action.MESSAGE_WRITE)],
) -> JSONResponse:
    """Reply or note. The same `dedup_key` again answers 200 with the first message (the
    caller's own; someone else's key is a 409 `dedup_key_taken`)."""
    ticket = await tickets.get_ticket(ctx, ticket_id, for_write=not body.is_internal)
    message, created = await messages.add_message(ctx, ticket, body)
    (public,) = await messages.publics(ctx.session, [message])
    if not created:
        return JSONResponse(public.model_dump(mode="json"), headers={"Idempotent-Replayed": "true"})
    return JSONResponse(public.model_dump(mode="json"), status_code=201)


@router.get("/{message_id}", response_model=MessagePublic)
async def get_message(ticket_id: UUID, message_id: UUID, ctx: Readers) -> MessagePublic:
    ticket = await tickets.get_ticket(ctx, ticket_id)
    (public,) = await messages.publics(
        ctx.session, [await messages.get_message(ctx, ticket, message_id)]
    )
    return public


@router.post("/{message_id}/redact", response_model=MessagePublic)
async def redact_message(
    ticket_id: UUID,
    message_id: UUID,
    ctx: Annotated[TenantContext, permits(Action.MESSAGE_REDACT)],
) -> MessagePublic:
    """Erase a message's content for good; the timeline records who did it and when."""
    ticket = await tickets.get_ticket(ctx, ticket_id, include_deleted=True)
    message = await messages.get_message(ctx, ticket, message_id)
    await messages.redact(ctx, ticket, message)
    (public,) = await messages.publics(ctx.session, [message])
    return public
