"""The agent console: signing in, the ticket list with its views, bulk changes, new tickets."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from frontdesk.core.db import DbSession
from frontdesk.core.errors import InvalidCredentials, TooManyRequests, ValidationFailed
from frontdesk.core.patch import validation_problem
from frontdesk.identity.context import TenantContext
from frontdesk.identity.models import Membership
from frontdesk.identity.policy import Action
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.models import Channel, Priority, TicketType
from frontdesk.tickets.schemas import BulkChanges, BulkUpdate, RequesterRef, TicketCreate
from frontdesk.tickets.service import bulk, tickets
from frontdesk.web import forms
from frontdesk.web.auth import ConsoleUser, OptionalPageUser, check_origin, page_permits
from frontdesk.web.console.frame import console_frame
from frontdesk.web.console.listing import ListQuery, ids_from_form, list_rows, sort_link_value
from frontdesk.web.console.ticket_page import load_options
from frontdesk.web.console.views import view_label
from frontdesk.web.signin import safe_next, sign_in_browser, sign_out_browser
from frontdesk.web.templating import render
from frontdesk.web.uploads import attach_files

router = APIRouter(prefix="/app", include_in_schema=False)

Readers = Annotated[TenantContext, page_permits(Action.TICKET_READ)]
Creators = Annotated[TenantContext, page_permits(Action.TICKET_CREATE)]
BulkEditors = Annotated[TenantContext, page_permits(Action.TICKET_BULK)]


async def _staff_tenants(session: DbSession, viewer: ConsoleUser) -> list[Tenant]:
    rows = await session.scalars(
        select(Tenant)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .where(Membership.user_id == viewer.user.id, Tenant.is_active.is_(True))
        .order_by(Tenant.slug)
    )
    return list(rows)


@router.get("")
async def home(viewer: ConsoleUser, session: DbSession, request: Request) -> Response:
    """One tenant: straight to its tickets; several: a choice; none: platform or refusal."""
    tenants = await _staff_tenants(session, viewer)
    if len(tenants) == 1:
        return RedirectResponse(f"/app/{tenants[0].slug}/tickets", status_code=303)
    if not tenants and viewer.user.is_platform_admin:
        return RedirectResponse("/app/platform", status_code=303)
    return render(
        request,
        "console/choose_tenant.html",
        status_code=200 if tenants else 403,
        tenants=tenants,
        viewer=viewer,
        csrf_token=viewer.csrf_token,
    )


@router.get("/login")
async def login_page(
    request: Request, viewer: OptionalPageUser, next: Annotated[str, Query(max_length=500)] = ""
) -> Response:
    if viewer is not None:
        return RedirectResponse(safe_next(next, "/app"), status_code=303)
    return render(request, "console/login.html", next=next, error=None, email="")


@router.post("/login")
async def login(request: Request, form: forms.PageForm, session: DbSession) -> Response:
    check_origin(request)
    email = forms.text(form, "email", required=True, max_length=320)
    password = forms.text(form, "password", required=True, max_length=1000)
    go_to = safe_next(forms.text(form, "next", max_length=500), "/app")
    try:
        return await sign_in_browser(request, session, email, password, go_to=go_to)
    except (InvalidCredentials, TooManyRequests) as error:
        response = render(
            request,
            "console/login.html",
            status_code=error.status,
            next=go_to,
            error=error.detail,
            email=email,
        )
        response.headers.update(error.headers)
        return response


@router.post("/logout")
async def logout(session: DbSession, viewer: ConsoleUser) -> Response:
    return await sign_out_browser(session, viewer, go_to="/app/login")


@router.get("/admin")
async def admin_home(viewer: ConsoleUser, session: DbSession) -> Response:
    tenants = await _staff_tenants(session, viewer)
    if not tenants:
        return RedirectResponse("/app", status_code=303)
    return RedirectResponse(f"/app/{tenants[0].slug}/admin", status_code=303)


@router.get("/{tenant}")
async def tenant_home(ctx: Readers) -> Response:
    return RedirectResponse(f"/app/{ctx.tenant.slug}/tickets", status_code=303)


@router.get("/{tenant}/tickets")
async def ticket_list(
    request: Request,
    ctx: Readers,
    viewer: ConsoleUser,
    view: Annotated[str, Query(max_length=60)] = "unassigned",
    q: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006 - FastAPI reads it
    priority: Annotated[list[Priority], Query(max_length=4)] = [],  # noqa: B006
    sla: Literal["", "breached", "at_risk"] = "",
    sort: Annotated[str, Query(max_length=20)] = "-updated",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    notice: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    query = ListQuery(
        view=view, q=q, status=status, priority=priority, sla=sla, sort=sort, cursor=cursor
    )
    frame = await console_frame(ctx, viewer, view=view, notice=notice)
    page = await list_rows(ctx, query, frame["groups"])
    options = await load_options(ctx, frame["groups"])
    base = {
        "view": view,
        "q": q,
        "status": status,
        "priority": [p.value for p in priority],
        "sla": sla,
    }
    return render(
        request,
        "console/list.html",
        **frame,
        page=page,
        query=query,
        options=options,
        title=view_label(view, frame["views"], frame["queues"]),
        sort_href=lambda column: (
            "?" + urlencode({**base, "sort": sort_link_value(sort, column)}, doseq=True)
        ),
        next_href="?" + urlencode({**base, "sort": sort, "cursor": page.next_cursor}, doseq=True)
        if page.next_cursor
        else None,
        priorities=list(Priority),
    )


@router.post("/{tenant}/tickets/bulk")
async def bulk_change(request: Request, form: forms.PageForm, ctx: BulkEditors) -> Response:
    """The bulk bar: the same change to every ticket ticked, through the API's bulk service."""
    ticket_ids = ids_from_form([str(v) for v in form.getlist("ticket_ids")])
    if not ticket_ids:
        raise ValidationFailed("tick at least one ticket", field="ticket_ids")
    assignee = forms.text(form, "assignee", max_length=40)
    assignee_id: object = None if assignee in ("", "none") else assignee
    if assignee == "me":
        assignee_id = ctx.user_id
    try:
        changes = BulkChanges(
            status=forms.text(form, "status", max_length=60) or None,
            priority=forms.choice(form, "priority", Priority),
            group_id=forms.optional_uuid(form, "group_id"),
            assignee_id=assignee_id,
            unassign=assignee == "none",
            add_tags=forms.tag_list(form, "add_tags"),
            remove_tags=forms.tag_list(form, "remove_tags"),
        )
        update = BulkUpdate(ticket_ids=ticket_ids[:100], changes=changes)
    except ValidationError as exc:
        raise validation_problem(exc) from exc
    results = await bulk.bulk_update(ctx, update)
    failed = sum(1 for result in results if not result.ok)
    back = forms.text(form, "back", max_length=1000)
    target = safe_next(back, f"/app/{ctx.tenant.slug}/tickets")
    separator = "&" if "?" in target else "?"
    query = urlencode({"notice": "bulk", "ok": len(results) - failed, "failed": failed})
    return RedirectResponse(f"{target}{separator}{query}", status_code=303)


@router.get("/{tenant}/tickets/new")
async def new_ticket_page(request: Request, ctx: Creators, viewer: ConsoleUser) -> HTMLResponse:
    frame = await console_frame(ctx, viewer)
    return render(
        request,
        "console/new_ticket.html",
        **frame,
        options=await load_options(ctx, frame["groups"]),
        priorities=list(Priority),
        types=list(TicketType),
        title="New ticket",
    )


@router.post("/{tenant}/tickets/new")
async def create_ticket(request: Request, form: forms.PageForm, ctx: Creators) -> Response:
    try:
        data = TicketCreate(
            subject=forms.text(form, "subject", required=True),
            description=forms.text(form, "description", max_length=forms.MAX_FIELD),
            requester=RequesterRef(
                email=forms.text(form, "requester_email", required=True, max_length=320),
                name=forms.text(form, "requester_name", max_length=200) or None,
            ),
            priority=forms.choice(form, "priority", Priority) or Priority.NORMAL,
            type=forms.choice(form, "type", TicketType) or TicketType.QUESTION,
            channel=forms.choice(form, "channel", Channel) or Channel.PHONE,
            group_id=forms.optional_uuid(form, "group_id"),
            assignee_id=forms.optional_uuid(form, "assignee_id"),
            category_id=forms.optional_uuid(form, "category_id"),
            tags=forms.tag_list(form, "tags"),
        )
    except ValidationError as exc:
        raise validation_problem(exc) from exc
    ticket = await tickets.create_ticket(ctx, data)
    await attach_files(request, ctx, ticket, forms.files(form, "files"), message_id=None)
    return RedirectResponse(
        f"/app/{ctx.tenant.slug}/tickets/{ticket.id}?notice=created", status_code=303
    )
