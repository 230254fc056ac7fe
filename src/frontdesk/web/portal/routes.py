"""The customer portal: sign in (password or one-time link), my tickets, submit, reply, close."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from frontdesk.core.db import DbSession
from frontdesk.core.errors import InvalidCredentials, TooManyRequests, ValidationFailed
from frontdesk.core.pagination import paginate, parse_sort
from frontdesk.core.patch import validation_problem
from frontdesk.identity.context import TenantContext
from frontdesk.identity.dependencies import client_address, settings_of
from frontdesk.identity.service import signin
from frontdesk.tickets.listing import CUSTOMER_SORTS
from frontdesk.tickets.models import StatusCategory, Ticket
from frontdesk.tickets.repository import default_status, visible_tickets
from frontdesk.tickets.schemas import CustomerTicketUpdate, MessageCreate, TicketCreate
from frontdesk.tickets.service import messages, tickets
from frontdesk.tickets.service.views import view_for, views_for
from frontdesk.web import forms
from frontdesk.web.auth import OptionalPageUser, check_origin
from frontdesk.web.console.names import contact_names
from frontdesk.web.portal.access import (
    Customer,
    OptionalCustomer,
    PortalTenant,
    anonymous_submitter,
)
from frontdesk.web.portal.branding import brand_of
from frontdesk.web.portal.links import SignInLinkSender, consume_link, issue_link, usable_link
from frontdesk.web.signin import safe_next, set_session_cookie, sign_in_browser, sign_out_browser
from frontdesk.web.templating import render
from frontdesk.web.thread import load_thread
from frontdesk.web.uploads import attach_files

router = APIRouter(prefix="/portal/{tenant}", include_in_schema=False)

PAGE_SIZE = 25
NOTICES = {
    "submitted": "Thank you: your request was received. We will answer by email and here.",
    "replied": "Your message was added.",
    "closed": "The ticket is closed. You can reopen it if you need more help.",
    "reopened": "The ticket is open again.",
    "link_sent": "If that address belongs to a customer of ours, a sign-in link is on its way.",
}


def link_sender(request: Request) -> SignInLinkSender | None:
    sender: SignInLinkSender | None = getattr(request.app.state, "sign_in_link_sender", None)
    return sender


async def frame(
    request: Request,
    session: DbSession,
    tenant: PortalTenant,
    ctx: TenantContext | None,
    viewer: OptionalPageUser,
) -> dict[str, Any]:
    """What every portal page shows: the tenant's brand, who is signed in, the ways in."""
    return {
        "tenant": tenant,
        "brand": await brand_of(session, tenant),
        "customer": ctx,
        "viewer": viewer,
        "csrf_token": viewer.csrf_token if viewer else "",
        "allows_anonymous": bool(tenant.settings.get("portal_allows_anonymous_submission")),
        "links_available": link_sender(request) is not None,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        "sees_organization": bool(tenant.settings.get("contacts_see_organization_tickets")),
    }


@router.get("")
async def home(
    request: Request,
    session: DbSession,
    tenant: PortalTenant,
    ctx: OptionalCustomer,
    viewer: OptionalPageUser,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> HTMLResponse:
    """Signed in: my tickets (and my organization's where allowed). Otherwise: the ways in."""
    context = await frame(request, session, tenant, ctx, viewer)
    if ctx is None:
        return render(request, "portal/welcome.html", **context, error=None, email="", next="")
    page = await paginate(
        session,
        visible_tickets(ctx),
        order=parse_sort("-updated", CUSTOMER_SORTS, "-updated"),
        id_column=Ticket.id,
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    items = await views_for(ctx, page.items)
    requesters = await contact_names(session, tenant.id, [t.requester_id for t in page.items])
    return render(
        request,
        "portal/tickets.html",
        **context,
        items=items,
        requesters=requesters,
        next_cursor=page.next_cursor,
        title="My requests",
    )


@router.get("/login")
async def login_page(
    request: Request,
    session: DbSession,
    tenant: PortalTenant,
    ctx: OptionalCustomer,
    viewer: OptionalPageUser,
    next: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    if ctx is not None:
        return RedirectResponse(safe_next(next, f"/portal/{tenant.slug}"), status_code=303)
    context = await frame(request, session, tenant, ctx, viewer)
    return render(request, "portal/welcome.html", **context, error=None, email="", next=next)


@router.post("/login")
async def login(
    request: Request,
    form: forms.PageForm,
    session: DbSession,
    tenant: PortalTenant,
    viewer: OptionalPageUser,
) -> Response:
    check_origin(request)
    email = forms.text(form, "email", required=True, max_length=320)
    password = forms.text(form, "password", required=True, max_length=1000)
    go_to = safe_next(forms.text(form, "next", max_length=500), f"/portal/{tenant.slug}")
    try:
        return await sign_in_browser(request, session, email, password, go_to=go_to)
    except (InvalidCredentials, TooManyRequests) as error:
        context = await frame(request, session, tenant, None, None)
        response = render(
            request,
            "portal/welcome.html",
            status_code=error.status,
            **context,
            error=error.detail,
            email=email,
            next=go_to,
        )
        response.headers.update(error.headers)
        return response


@router.post("/logout")
async def logout(session: DbSession, tenant: PortalTenant, viewer: OptionalPageUser) -> Response:
    return await sign_out_browser(session, viewer, go_to=f"/portal/{tenant.slug}")


@router.post("/link")
async def request_link(
    request: Request, form: forms.PageForm, session: DbSession, tenant: PortalTenant
) -> Response:
    """Email a one-time sign-in link; answers the same whether or not the address is known."""
    check_origin(request)
    sender = link_sender(request)
    if sender is None:
        raise ValidationFailed("sign-in links by email are not available here", field="email")
    email = forms.text(form, "email", required=True, max_length=320)
    await issue_link(
        session,
        tenant,
        email,
        base_url=settings_of(request).public_base_url,
        sender=sender,
    )
    return RedirectResponse(f"/portal/{tenant.slug}?notice=link_sent", status_code=303)


@router.get("/link/use")
async def link_page(
    request: Request,
    session: DbSession,
    tenant: PortalTenant,
    token: Annotated[str, Query(max_length=100)],
    viewer: OptionalPageUser,
) -> HTMLResponse:
    """A button, not an automatic sign-in: mail scanners that open links must not use them up.

    The token travels in the query and the form, never in the path, which the access log keeps.
    """
    await usable_link(session, tenant, token)
    context = await frame(request, session, tenant, None, viewer)
    return render(request, "portal/link.html", **context, token=token)


@router.post("/link/use")
async def use_link(
    request: Request, form: forms.PageForm, session: DbSession, tenant: PortalTenant
) -> Response:
    check_origin(request)
    user = await consume_link(session, tenant, forms.text(form, "token", max_length=100))
    signed_in = await signin.open_session(
        session,
        settings_of(request),
        user,
        client_address=client_address(request),
        user_agent=request.headers.get("User-Agent"),
        method="portal_link",
    )
    response = RedirectResponse(f"/portal/{tenant.slug}", status_code=303)
    set_session_cookie(request, response, signed_in.session_token)
    return response


@router.get("/tickets/new")
async def new_ticket_page(
    request: Request,
    session: DbSession,
    tenant: PortalTenant,
    ctx: OptionalCustomer,
    viewer: OptionalPageUser,
) -> Response:
    context = await frame(request, session, tenant, ctx, viewer)
    if ctx is None and not context["allows_anonymous"]:
        return RedirectResponse(
            f"/portal/{tenant.slug}/login?next=/portal/{tenant.slug}/tickets/new", status_code=303
        )
    return render(request, "portal/new.html", **context, title="New request")


@router.post("/tickets/new")
async def submit(
    request: Request,
    form: forms.PageForm,
    session: DbSession,
    tenant: PortalTenant,
    ctx: OptionalCustomer,
) -> Response:
    """A customer's new ticket; without an account only where the tenant allows it."""
    if ctx is None:
        check_origin(request)
        if not tenant.settings.get("portal_allows_anonymous_submission"):
            raise ValidationFailed("sign in to submit a request", field="email")
        try:
            ctx = await anonymous_submitter(
                session,
                tenant,
                name=forms.text(form, "name", max_length=200),
                email=forms.text(form, "email", required=True, max_length=320),
            )
        except ValidationError as exc:
            raise validation_problem(exc) from exc
    try:
        data = TicketCreate(
            subject=forms.text(form, "subject", required=True),
            description=forms.text(form, "description", required=True, max_length=forms.MAX_FIELD),
        )
    except ValidationError as exc:
        raise validation_problem(exc) from exc
    ticket = await tickets.create_ticket(ctx, data)
    await attach_files(request, ctx, ticket, forms.files(form, "files"), message_id=None)
    if ctx.principal.session_token_digest is None:
        return RedirectResponse(f"/portal/{tenant.slug}?notice=submitted", status_code=303)
    return RedirectResponse(
        f"/portal/{tenant.slug}/tickets/{ticket.id}?notice=submitted", status_code=303
    )


@router.get("/tickets/{ticket_id}")
async def ticket_page(
    request: Request,
    session: DbSession,
    tenant: PortalTenant,
    ticket_id: UUID,
    ctx: Customer,
    viewer: OptionalPageUser,
) -> HTMLResponse:
    """The public thread only: the tickets domain leaves out notes and staff-only files."""
    ticket = await tickets.get_ticket(ctx, ticket_id)
    context = await frame(request, session, tenant, ctx, viewer)
    view = await view_for(ctx, ticket)
    return render(
        request,
        "portal/ticket.html",
        **context,
        t=view,
        thread=await load_thread(ctx, ticket),
        is_done=ticket.status_category in ("resolved", "closed"),
        title=f"{view.display_id} {view.subject}",
    )


@router.post("/tickets/{ticket_id}/compose")
async def reply(
    request: Request, form: forms.PageForm, tenant: PortalTenant, ticket_id: UUID, ctx: Customer
) -> Response:
    try:
        data = MessageCreate(body=forms.text(form, "body", max_length=forms.MAX_FIELD))
    except ValidationError as exc:
        raise validation_problem(exc) from exc
    ticket = await tickets.get_ticket(ctx, ticket_id, for_write=True)
    message, _ = await messages.add_message(ctx, ticket, data)
    if message.ticket_id != ticket.id:  # closed for good: the message opened a follow-up
        ticket = await tickets.get_ticket(ctx, message.ticket_id)
    await attach_files(request, ctx, ticket, forms.files(form, "files"), message_id=message.id)
    return RedirectResponse(
        f"/portal/{tenant.slug}/tickets/{ticket.id}?notice=replied#m-{message.id}", status_code=303
    )


@router.post("/tickets/{ticket_id}/status")
async def close_or_reopen(
    request: Request, form: forms.PageForm, tenant: PortalTenant, ticket_id: UUID, ctx: Customer
) -> Response:
    """Close my ticket, or reopen it (the transition rules decide whether it still may be)."""
    action = forms.text(form, "action", required=True, max_length=10)
    if action not in ("close", "reopen"):
        raise ValidationFailed("action is close or reopen", field="action")
    category = StatusCategory.CLOSED if action == "close" else StatusCategory.OPEN
    ticket = await tickets.get_ticket(ctx, ticket_id, for_write=True)
    target = await default_status(ctx.session, ctx.tenant_id, category.value)
    if target is None:
        raise ValidationFailed(f"this desk has no {category.value} status", field="action")
    await tickets.update_ticket_as_customer(
        ctx, ticket, CustomerTicketUpdate(subject=ticket.subject, status=target.key)
    )
    notice = "closed" if action == "close" else "reopened"
    return RedirectResponse(
        f"/portal/{tenant.slug}/tickets/{ticket.id}?notice={notice}", status_code=303
    )
