"""Admin pages for email: inbound channels (IMAP or push) and the outbound mail queue."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from frontdesk.email.models import ImapSecurity, NonParticipantPolicy, OutboundMail, OutboundStatus
from frontdesk.email.schemas import ChannelCreate, ChannelUpdate
from frontdesk.email.service import channels, mail_log
from frontdesk.identity.context import TenantContext
from frontdesk.tickets.models import Priority, TicketType
from frontdesk.tickets.service import statuses
from frontdesk.web import forms
from frontdesk.web.admin import channel_forms, queries
from frontdesk.web.admin.frame import (
    ChannelAdmins,
    FormError,
    MailLogReaders,
    MailRetriers,
    attempt,
    back,
    page,
    validated,
)
from frontdesk.web.auth import ConsoleUser, PageUser

router = APIRouter()

CHANNELS, OUTBOUND = "channels", "mail/outbound"
OUTBOUND_SHOWN = 100


async def _channel_list(
    request: Request,
    ctx: TenantContext,
    viewer: PageUser,
    *,
    values: dict[str, str] | None = None,
    error: FormError | None = None,
    push_url: str | None = None,
) -> HTMLResponse:
    """The channels, the form for a new one, and (once, right after it is made) a push URL."""
    return await page(
        request,
        ctx,
        viewer,
        "admin/channels.html",
        CHANNELS,
        status_code=error.status if error else 200,
        channels=[channels.channel_public(c) for c in await channels.list_channels(ctx)],
        values=values or channel_forms.new_channel_form(),
        push_url=push_url,
        error=error,
        **await _choices(ctx),
    )


async def _choices(ctx: TenantContext) -> dict[str, Any]:
    return {
        "all_groups": await queries.all_groups(ctx),
        "statuses": await statuses.list_statuses(ctx.session, ctx.tenant_id),
        "priorities": [p.value for p in Priority],
        "ticket_types": [t.value for t in TicketType],
        "securities": [s.value for s in ImapSecurity],
        "stranger_policies": [p.value for p in NonParticipantPolicy],
    }


async def _channel_page(
    request: Request,
    ctx: TenantContext,
    viewer: PageUser,
    channel_id: UUID,
    *,
    values: dict[str, str] | None = None,
    error: FormError | None = None,
    push_url: str | None = None,
) -> HTMLResponse:
    public = channels.channel_public(await channels.get_channel(ctx, channel_id))
    return await page(
        request,
        ctx,
        viewer,
        "admin/channel.html",
        CHANNELS,
        title=f"Channel {public.name}",
        status_code=error.status if error else 200,
        channel=public,
        values=values or channel_forms.channel_form(public),
        push_url=push_url,
        error=error,
        **await _choices(ctx),
    )


@router.get("/channels")
async def channels_page(request: Request, ctx: ChannelAdmins, viewer: ConsoleUser) -> HTMLResponse:
    return await _channel_list(request, ctx, viewer)


@router.post("/channels")
async def create_channel(
    request: Request, form: forms.PageForm, ctx: ChannelAdmins, viewer: ConsoleUser
) -> Response:
    """A push channel's secret URL is shown on this response only (never in a URL)."""

    async def create() -> str | None:
        data = validated(ChannelCreate, **channel_forms.create_values(form))
        return (await channels.create_channel(ctx, data)).push_url

    outcome = await attempt(ctx, create)
    if isinstance(outcome, FormError):
        values = channel_forms.without_secrets(form)
        return await _channel_list(request, ctx, viewer, values=values, error=outcome)
    if outcome is not None:
        return await _channel_list(request, ctx, viewer, push_url=outcome)
    return back(ctx, CHANNELS)


@router.get("/channels/{channel_id}")
async def channel_page(
    request: Request, channel_id: UUID, ctx: ChannelAdmins, viewer: ConsoleUser
) -> HTMLResponse:
    return await _channel_page(request, ctx, viewer, channel_id)


@router.post("/channels/{channel_id}")
async def update_channel(
    request: Request,
    form: forms.PageForm,
    channel_id: UUID,
    ctx: ChannelAdmins,
    viewer: ConsoleUser,
) -> Response:
    channel = await channels.get_channel(ctx, channel_id)
    current = channels.editable_view(channel)

    async def update() -> object:
        data = validated(ChannelUpdate, **channel_forms.update_values(form, current))
        return await channels.update_channel(ctx, channel, data)

    outcome = await attempt(ctx, update)
    if isinstance(outcome, FormError):
        await ctx.session.refresh(channel)
        values = channel_forms.without_secrets(form)
        return await _channel_page(request, ctx, viewer, channel_id, values=values, error=outcome)
    return back(ctx, f"{CHANNELS}/{channel_id}")


@router.post("/channels/{channel_id}/rotate")
async def rotate_push_url(
    request: Request, channel_id: UUID, ctx: ChannelAdmins, viewer: ConsoleUser
) -> Response:
    """A new secret push URL, shown on this response only; the old one stops working."""
    channel = await channels.get_channel(ctx, channel_id)
    outcome = await attempt(ctx, lambda: channels.rotate_push_url(ctx, channel))
    if isinstance(outcome, FormError):
        return await _channel_page(request, ctx, viewer, channel_id, error=outcome)
    return await _channel_page(request, ctx, viewer, channel_id, push_url=outcome)


@router.post("/channels/{channel_id}/delete")
async def delete_channel(channel_id: UUID, ctx: ChannelAdmins) -> Response:
    await channels.delete_channel(ctx, await channels.get_channel(ctx, channel_id))
    return back(ctx, CHANNELS, "removed")


# --- the outbound queue -----------------------------------------------------------------------


async def _outbound_list(
    request: Request,
    ctx: TenantContext,
    viewer: PageUser,
    status: str,
    error: FormError | None = None,
) -> HTMLResponse:
    chosen = status if status in {s.value for s in OutboundStatus} else None
    statement = mail_log.outbound_statement(ctx, status=chosen, ticket_id=None)
    found = await ctx.session.scalars(
        statement.order_by(OutboundMail.created_at.desc(), OutboundMail.id).limit(OUTBOUND_SHOWN)
    )
    return await page(
        request,
        ctx,
        viewer,
        "admin/outbound.html",
        OUTBOUND,
        status_code=error.status if error else 200,
        mails=list(found),
        status=chosen or "",
        statuses=[s.value for s in OutboundStatus],
        shown=OUTBOUND_SHOWN,
        error=error,
    )


@router.get("/mail/outbound")
async def outbound_page(
    request: Request,
    ctx: MailLogReaders,
    viewer: ConsoleUser,
    status: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """The most recent outbound mail, newest first, optionally of one status."""
    return await _outbound_list(request, ctx, viewer, status)


@router.post("/mail/outbound/{mail_id}/retry")
async def retry_outbound(
    request: Request, mail_id: UUID, ctx: MailRetriers, viewer: ConsoleUser
) -> Response:
    mail = await mail_log.get_outbound(ctx, mail_id)
    outcome = await attempt(ctx, lambda: mail_log.retry(ctx, mail))
    if isinstance(outcome, FormError):
        return await _outbound_list(request, ctx, viewer, "", outcome)
    return back(ctx, OUTBOUND, "retried")
