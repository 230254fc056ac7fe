"""The console's ticket page and what its forms do: fields, the composer, people, assignment."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from frontdesk.core.errors import PreconditionFailed
from frontdesk.core.patch import validation_problem
from frontdesk.identity.context import TenantContext
from frontdesk.identity.policy import Action, Role
from frontdesk.tickets.models import Priority, TicketType
from frontdesk.tickets.schemas import MessageCreate, ParticipantCreate, TicketUpdate
from frontdesk.tickets.service import messages, participants, tickets
from frontdesk.tickets.service.views import view_for
from frontdesk.web import forms
from frontdesk.web.auth import ConsoleUser, page_permits
from frontdesk.web.console.frame import console_frame
from frontdesk.web.console.ticket_page import load_ticket_page
from frontdesk.web.templating import render
from frontdesk.web.uploads import attach_files

router = APIRouter(prefix="/app/{tenant}/tickets/{ticket_id}", include_in_schema=False)

Readers = Annotated[TenantContext, page_permits(Action.TICKET_READ)]
Editors = Annotated[TenantContext, page_permits(Action.TICKET_UPDATE_OWN)]
Writers = Annotated[TenantContext, page_permits(Action.MESSAGE_WRITE)]
Assigners = Annotated[TenantContext, page_permits(Action.TICKET_ASSIGN)]
PeopleManagers = Annotated[TenantContext, page_permits(Action.PARTICIPANT_MANAGE)]


def _ticket_url(ctx: TenantContext, ticket_id: UUID, notice: str, anchor: str = "") -> str:
    return f"/app/{ctx.tenant.slug}/tickets/{ticket_id}?notice={notice}{anchor}"


@router.get("")
async def ticket_page(
    request: Request,
    ticket_id: UUID,
    ctx: Readers,
    viewer: ConsoleUser,
    view: Annotated[str | None, Query(max_length=60)] = None,
    notice: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    ticket = await tickets.get_ticket(ctx, ticket_id)
    frame = await console_frame(ctx, viewer, view=view, notice=notice)
    page = await load_ticket_page(ctx, ticket, frame["groups"])
    return render(
        request,
        "console/ticket.html",
        **frame,
        page=page,
        t=page.ticket,
        priorities=list(Priority),
        types=list(TicketType),
        notes_only=ctx.role is Role.LIGHT_AGENT,
        title=f"{page.ticket.display_id} {page.ticket.subject}",
    )


@router.post("/fields")
async def update_fields(
    request: Request, form: forms.PageForm, ticket_id: UUID, ctx: Editors
) -> Response:
    """The properties form: applied as one update, refused if the ticket changed meanwhile."""
    ticket = await tickets.get_ticket(ctx, ticket_id, for_write=True)
    version = forms.integer(form, "version")
    if version is not None and version != ticket.version:
        raise PreconditionFailed("someone changed this ticket meanwhile; reload and try again")
    current = (await view_for(ctx, ticket)).model_dump(mode="json")
    fields = tickets.editable_fields(current)
    fields.update(
        subject=forms.text(form, "subject") or fields["subject"],
        status=forms.text(form, "status", max_length=60) or fields["status"],
        priority=forms.text(form, "priority", max_length=20) or fields["priority"],
        type=forms.text(form, "type", max_length=20) or fields["type"],
        group_id=forms.optional_uuid(form, "group_id"),
        assignee_id=forms.optional_uuid(form, "assignee_id"),
        category_id=forms.optional_uuid(form, "category_id"),
        tags=forms.tag_list(form, "tags"),
    )
    try:
        update = TicketUpdate.model_validate(fields)
    except ValidationError as exc:
        raise validation_problem(exc) from exc
    await tickets.update_ticket(ctx, ticket, update)
    return RedirectResponse(_ticket_url(ctx, ticket.id, "saved"), status_code=303)


@router.post("/assign-to-me")
async def assign_to_me(ticket_id: UUID, ctx: Assigners) -> Response:
    ticket = await tickets.get_ticket(ctx, ticket_id, for_write=True)
    current = (await view_for(ctx, ticket)).model_dump(mode="json")
    fields = tickets.editable_fields(current)
    fields["assignee_id"] = str(ctx.user_id)
    await tickets.update_ticket(ctx, ticket, TicketUpdate.model_validate(fields))
    return RedirectResponse(_ticket_url(ctx, ticket.id, "assigned"), status_code=303)


@router.post("/compose")
async def compose(
    request: Request, form: forms.PageForm, ticket_id: UUID, ctx: Writers
) -> Response:
    """A public reply or an internal note, with files and (replies) the status to set."""
    is_internal = forms.text(form, "mode", max_length=10) == "note" or ctx.role is Role.LIGHT_AGENT
    try:
        data = MessageCreate(
            body=forms.text(form, "body", max_length=forms.MAX_FIELD),
            is_internal=is_internal,
            status=None if is_internal else (forms.text(form, "status", max_length=60) or None),
        )
    except ValidationError as exc:
        raise validation_problem(exc) from exc
    ticket = await tickets.get_ticket(ctx, ticket_id, for_write=not is_internal)
    message, _ = await messages.add_message(ctx, ticket, data)
    await attach_files(request, ctx, ticket, forms.files(form, "files"), message_id=message.id)
    notice = "noted" if is_internal else "replied"
    return RedirectResponse(
        _ticket_url(ctx, ticket.id, notice, f"#m-{message.id}"), status_code=303
    )


@router.post("/participants")
async def add_participant(
    request: Request, form: forms.PageForm, ticket_id: UUID, ctx: PeopleManagers
) -> Response:
    try:
        data = ParticipantCreate(
            role="cc", email=forms.text(form, "email", required=True, max_length=320)
        )
    except ValidationError as exc:
        raise validation_problem(exc) from exc
    ticket = await tickets.get_ticket(ctx, ticket_id, for_write=True)
    before = await tickets.snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix)
    await participants.add_participant(ctx.session, ticket, data)
    await tickets.finish_nested_change(ctx, ticket, before, "participant_added")
    return RedirectResponse(_ticket_url(ctx, ticket.id, "participant_added"), status_code=303)


@router.post("/participants/{participant_id}/remove")
async def remove_participant(
    ticket_id: UUID, participant_id: UUID, ctx: PeopleManagers
) -> Response:
    ticket = await tickets.get_ticket(ctx, ticket_id, for_write=True)
    before = await tickets.snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix)
    await participants.remove_participant(ctx.session, ticket, participant_id)
    await tickets.finish_nested_change(ctx, ticket, before, "participant_removed")
    return RedirectResponse(_ticket_url(ctx, ticket.id, "participant_removed"), status_code=303)


@router.post("/read", status_code=204)
async def mark_read(ticket_id: UUID, ctx: Readers) -> Response:
    """Sent by the page's script once the ticket is on screen."""
    ticket = await tickets.get_ticket(ctx, ticket_id)
    await tickets.mark_read(ctx, ticket)
    return Response(status_code=204)
