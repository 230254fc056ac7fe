"""What hangs off a ticket: participants, tags, assignments, access grants, the timeline."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from frontdesk.core.errors import NotFound
from frontdesk.core.pagination import PagePublic, paginate, parse_sort
from frontdesk.core.repository import scoped
from frontdesk.identity.context import TenantContext
from frontdesk.identity.dependencies import permits
from frontdesk.identity.policy import Action, Role
from frontdesk.tickets.models import TicketAssignment, TicketAudit
from frontdesk.tickets.schemas import (
    AccessCreate,
    AccessPublic,
    AssignmentCreate,
    AssignmentPublic,
    AuditPublic,
    ParticipantCreate,
    ParticipantPublic,
    TagCreate,
)
from frontdesk.tickets.service import access, assignment, participants, tags, tickets
from frontdesk.tickets.service.tickets import finish_nested_change

router = APIRouter(prefix="/api/v1/tenants/{tenant}/tickets/{ticket_id}", tags=["ticket details"])

Readers = Annotated[TenantContext, permits(Action.TICKET_READ)]
Staff = Annotated[TenantContext, permits(Action.TICKET_INTERNALS_READ)]


@router.get("/participants", response_model=list[ParticipantPublic])
async def list_participants(ticket_id: UUID, ctx: Readers) -> list[ParticipantPublic]:
    ticket = await tickets.get_ticket(ctx, ticket_id)
    found = await participants.list_participants(ctx.session, ticket)
    if ctx.role is Role.CONTACT:
        return [p for p in found if p.contact_id is not None and p.role != "follower"]
    return found


@router.post("/participants", response_model=ParticipantPublic, status_code=201)
async def add_participant(
    ticket_id: UUID,
    body: ParticipantCreate,
    ctx: Annotated[TenantContext, permits(Action.PARTICIPANT_MANAGE)],
) -> ParticipantPublic:
    ticket = await tickets.get_ticket(ctx, ticket_id, for_write=True)
    before = await tickets.snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix)
    added = await participants.add_participant(ctx.session, ticket, body)
    await finish_nested_change(ctx, ticket, before, "participant_added")
    found = await participants.list_participants(ctx.session, ticket)
    return next(p for p in found if p.id == added.id)


@router.delete("/participants/{participant_id}", status_code=204)
async def remove_participant(
    ticket_id: UUID,
    participant_id: UUID,
    ctx: Annotated[TenantContext, permits(Action.PARTICIPANT_MANAGE)],
) -> Response:
    ticket = await tickets.get_ticket(ctx, ticket_id, for_write=True)
    before = await tickets.snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix)
    await participants.remove_participant(ctx.session, ticket, participant_id)
    await finish_nested_change(ctx, ticket, before, "participant_removed")
    return Response(status_code=204)


@router.get("/tags", response_model=list[str])
async def list_ticket_tags(ticket_id: UUID, ctx: Staff) -> list[str]:
    return await tags.current_tags(ctx.session, await tickets.get_ticket(ctx, ticket_id))


@router.post("/tags", response_model=list[str], status_code=201)
async def add_tag(
    ticket_id: UUID, body: TagCreate, ctx: Annotated[TenantContext, permits(Action.TAG_MANAGE)]
) -> JSONResponse:
    ticket = await tickets.get_ticket(ctx, ticket_id, for_write=True)
    before = await tickets.snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix)
    added, _ = await tags.change_tags(ctx.session, ticket, [body.tag], [])
    if added:
        await finish_nested_change(ctx, ticket, before, "updated")
    return JSONResponse(
        await tags.current_tags(ctx.session, ticket), status_code=201 if added else 200
    )


@router.delete("/tags/{tag}", status_code=204)
async def remove_tag(
    ticket_id: UUID, tag: str, ctx: Annotated[TenantContext, permits(Action.TAG_MANAGE)]
) -> Response:
    ticket = await tickets.get_ticket(ctx, ticket_id, for_write=True)
    before = await tickets.snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix)
    _, removed = await tags.change_tags(ctx.session, ticket, [], [tag])
    if not removed:
        raise NotFound("the ticket has no such tag")
    await finish_nested_change(ctx, ticket, before, "updated")
    return Response(status_code=204)


@router.get("/assignments", response_model=list[AssignmentPublic])
async def list_assignments(ticket_id: UUID, ctx: Staff) -> list[AssignmentPublic]:
    ticket = await tickets.get_ticket(ctx, ticket_id)
    rows = await ctx.session.scalars(
        scoped(TicketAssignment, ctx.tenant_id)
        .where(TicketAssignment.ticket_id == ticket.id)
        .order_by(TicketAssignment.id)
    )
    return [AssignmentPublic.model_validate(row) for row in rows]


@router.post(
    "/assignments",
    response_model=AssignmentPublic,
    status_code=201,
    responses={
        200: {"model": AssignmentPublic, "description": "Nothing moved: the current assignment"},
        204: {"description": "Nothing moved, and the ticket was never assigned"},
    },
)
async def assign_ticket(
    ticket_id: UUID,
    body: AssignmentCreate,
    ctx: Annotated[TenantContext, permits(Action.TICKET_ASSIGN)],
) -> Response:
    """Transfer the ticket to a group and/or agent, with a reason; a field left out keeps its
    value (see `assignment.target_of`). 200 when nothing moved (204 when nothing moved and there
    is no assignment to show)."""
    ticket = await tickets.get_ticket(ctx, ticket_id, for_write=True)
    before = await tickets.snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix)
    group_id, assignee_id = assignment.target_of(ticket, body, body.model_fields_set)
    moved = await assignment.assign(
        ctx.session,
        ticket,
        group_id=group_id,
        assignee_id=assignee_id,
        reason=body.reason,
        ai_session_ref=body.ai_session_ref,
    )
    if moved:
        await finish_nested_change(ctx, ticket, before, "updated")
    last = await ctx.session.scalar(
        scoped(TicketAssignment, ctx.tenant_id)
        .where(TicketAssignment.ticket_id == ticket.id)
        .order_by(TicketAssignment.id.desc())
        .limit(1)
    )
    if last is None:
        return Response(status_code=204)
    public = AssignmentPublic.model_validate(last)
    return JSONResponse(public.model_dump(mode="json"), status_code=201 if moved else 200)


@router.get("/access", response_model=list[AccessPublic])
async def list_access(ticket_id: UUID, ctx: Staff) -> list[AccessPublic]:
    ticket = await tickets.get_ticket(ctx, ticket_id)
    return [AccessPublic.model_validate(g) for g in await access.list_grants(ctx.session, ticket)]


@router.post("/access", response_model=AccessPublic, status_code=201)
async def grant_access(
    ticket_id: UUID,
    body: AccessCreate,
    ctx: Annotated[TenantContext, permits(Action.TICKET_SHARE)],
) -> AccessPublic:
    ticket = await tickets.get_ticket(ctx, ticket_id, for_write=True)
    before = await tickets.snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix)
    grant = await access.grant(ctx.session, ticket, body)
    await finish_nested_change(ctx, ticket, before, "access_granted")
    return AccessPublic.model_validate(grant)


@router.delete("/access/{grant_id}", status_code=204)
async def revoke_access(
    ticket_id: UUID,
    grant_id: UUID,
    ctx: Annotated[TenantContext, permits(Action.TICKET_SHARE)],
) -> Response:
    ticket = await tickets.get_ticket(ctx, ticket_id, for_write=True)
    before = await tickets.snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix)
    await access.revoke(ctx.session, ticket, grant_id)
    await finish_nested_change(ctx, ticket, before, "access_revoked")
    return Response(status_code=204)


@router.get("/audit", response_model=PagePublic[AuditPublic])
async def ticket_timeline(
    ticket_id: UUID,
    ctx: Annotated[TenantContext, permits(Action.TICKET_AUDIT_READ)],
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PagePublic[AuditPublic]:
    """The ticket's timeline, oldest first; customers see public changes only."""
    ticket = await tickets.get_ticket(ctx, ticket_id, include_deleted=ctx.role is not Role.CONTACT)
    statement = scoped(TicketAudit, ctx.tenant_id).where(TicketAudit.ticket_id == ticket.id)
    if ctx.role is Role.CONTACT:
        statement = statement.where(TicketAudit.is_internal.is_(False))
    page = await paginate(
        ctx.session,
        statement,
        order=parse_sort("created", {"created": TicketAudit.created_at}, "created"),
        id_column=TicketAudit.id,
        limit=limit,
        cursor=cursor,
    )
    return PagePublic(
        items=[AuditPublic.model_validate(e) for e in page.items], next_cursor=page.next_cursor
    )
