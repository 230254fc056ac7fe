"""Channels (admin CRUD), the mail logs and retries, and the push URL MTAs post mail to."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from frontdesk.core.db import DbSession
from frontdesk.core.errors import NotFound, UnsupportedMediaType, ValidationFailed
from frontdesk.core.idempotency import create_idempotently
from frontdesk.core.pagination import DEFAULT_LIMIT, PagePublic, paginate, parse_sort
from frontdesk.core.patch import patch_openapi, read_patch
from frontdesk.core.responses import with_etag
from frontdesk.core.storage import BlobNotFound, BlobStore
from frontdesk.email.models import InboundMail, OutboundMail
from frontdesk.email.schemas import (
    ChannelCreate,
    ChannelCreated,
    ChannelPublic,
    ChannelUpdate,
    EmailSettingsPublic,
    EmailSettingsUpdate,
    EmailTemplatePublic,
    EmailTemplateSet,
    InboundMailPublic,
    OutboundMailPublic,
    PushReceipt,
)
from frontdesk.email.service import channels, mail_log, templates, tenant_settings
from frontdesk.email.service.intake import receive
from frontdesk.identity.context import TenantContext
from frontdesk.identity.dependencies import permits
from frontdesk.identity.policy import Action

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["email"])
push_router = APIRouter(prefix="/api/v1/email", tags=["email"])

ChannelReaders = Annotated[TenantContext, permits(Action.CHANNEL_READ)]
ChannelManagers = Annotated[TenantContext, permits(Action.CHANNEL_MANAGE)]
LogReaders = Annotated[TenantContext, permits(Action.MAIL_LOG_READ)]
Retriers = Annotated[TenantContext, permits(Action.MAIL_RETRY)]
RFC822 = "message/rfc822"
PUSH_MEDIA_TYPES = frozenset({RFC822, "application/octet-stream", "text/plain"})
Cursor = Annotated[str | None, Query(max_length=500)]
Limit = Annotated[int, Query(ge=1, le=200)]
PUSH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {RFC822: {"schema": {"type": "string", "format": "binary"}}},
    }
}


async def blob_store(request: Request) -> BlobStore:
    store: BlobStore = request.app.state.blob_store
    return store


Store = Annotated[BlobStore, Depends(blob_store)]


# --- channels ---------------------------------------------------------------------------------


@router.get("/channels", response_model=list[ChannelPublic])
async def list_channels(ctx: ChannelReaders) -> list[ChannelPublic]:
    return [channels.channel_public(c) for c in await channels.list_channels(ctx)]


@router.post("/channels", response_model=ChannelCreated, status_code=201)
async def create_channel(
    body: ChannelCreate, ctx: ChannelManagers, request: Request
) -> JSONResponse:
    """Create a channel. A push channel's `push_url` is in this answer only: keep it."""
    return await create_idempotently(
        request,
        ctx.session,
        lambda: channels.create_channel(ctx, body),
        secret_fields=("push_url",),
    )


@router.get("/channels/{channel_id}", response_model=ChannelPublic)
async def get_channel(channel_id: UUID, ctx: ChannelReaders) -> JSONResponse:
    channel = await channels.get_channel(ctx, channel_id)
    return with_etag(channels.channel_public(channel), channel.version)


@router.patch(
    "/channels/{channel_id}",
    response_model=ChannelPublic,
    openapi_extra=patch_openapi(ChannelUpdate),
)
async def update_channel(channel_id: UUID, ctx: ChannelManagers, request: Request) -> JSONResponse:
    channel = await channels.get_channel(ctx, channel_id)
    editable = channels.editable_view(channel)
    changes = await read_patch(request, ChannelUpdate, editable, channel.version)
    public = await channels.update_channel(ctx, channel, changes)
    return with_etag(public, public.version)


@router.delete("/channels/{channel_id}", status_code=204)
async def delete_channel(channel_id: UUID, ctx: ChannelManagers) -> Response:
    channel = await channels.get_channel(ctx, channel_id)
    await channels.delete_channel(ctx, channel)
    return Response(status_code=204)


# --- the tenant's mail settings ----------------------------------------------------------------


@router.get("/email-settings", response_model=EmailSettingsPublic)
async def get_email_settings(ctx: ChannelReaders) -> JSONResponse:
    """Which status changes mail the requester and cc's (a tenant setting, for every channel)."""
    public = await tenant_settings.get_email_settings(ctx)
    return with_etag(public, public.version)


@router.patch(
    "/email-settings",
    response_model=EmailSettingsPublic,
    openapi_extra=patch_openapi(EmailSettingsUpdate),
)
async def update_email_settings(ctx: ChannelManagers, request: Request) -> JSONResponse:
    current = await tenant_settings.get_email_settings(ctx)
    editable = current.model_dump(mode="json", exclude={"version"})
    changes = await read_patch(request, EmailSettingsUpdate, editable, current.version)
    public = await tenant_settings.update_email_settings(ctx, changes)
    return with_etag(public, public.version)


# --- template overrides -----------------------------------------------------------------------


@router.get("/email-templates", response_model=list[EmailTemplatePublic])
async def list_email_templates(ctx: ChannelReaders) -> list[EmailTemplatePublic]:
    """The tenant's own templates; every other mail uses the built-in one of its language."""
    rows = await templates.list_templates(ctx)
    return [EmailTemplatePublic.model_validate(row) for row in rows]


@router.put("/email-templates/{kind}/{locale}", response_model=EmailTemplatePublic)
async def set_email_template(
    kind: str, locale: str, body: EmailTemplateSet, ctx: ChannelManagers
) -> EmailTemplatePublic:
    """Replace the `kind` mail (acknowledgement, agent_reply, status_changed, …) in `locale`."""
    return await templates.set_template(ctx, kind, locale, body)


@router.delete("/email-templates/{kind}/{locale}", status_code=204)
async def delete_email_template(kind: str, locale: str, ctx: ChannelManagers) -> Response:
    await templates.delete_template(ctx, kind, locale)
    return Response(status_code=204)


# --- what arrived -----------------------------------------------------------------------------

INBOUND_SORTS = {"created_at": InboundMail.created_at}


@router.get("/inbound-mail", response_model=PagePublic[InboundMailPublic])
async def list_inbound_mail(
    ctx: LogReaders,
    needs_review: bool | None = None,
    outcome: Annotated[str | None, Query(max_length=30)] = None,
    sort: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> PagePublic[InboundMailPublic]:
    """Received messages, newest first; `needs_review=true` lists what an admin should look at."""
    page = await paginate(
        ctx.session,
        mail_log.inbound_statement(ctx, needs_review=needs_review, outcome=outcome),
        order=parse_sort(sort, INBOUND_SORTS, "-created_at"),
        id_column=InboundMail.id,
        limit=limit,
        cursor=cursor,
    )
    items = [InboundMailPublic.model_validate(row) for row in page.items]
    return PagePublic(items=items, next_cursor=page.next_cursor)


@router.get("/inbound-mail/{inbound_mail_id}", response_model=InboundMailPublic)
async def get_inbound_mail(inbound_mail_id: UUID, ctx: LogReaders) -> InboundMailPublic:
    return InboundMailPublic.model_validate(await mail_log.get_inbound(ctx, inbound_mail_id))


@router.get(
    "/inbound-mail/{inbound_mail_id}/raw",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The raw message, always as a download (never rendered)",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def download_raw_mail(
    inbound_mail_id: UUID, ctx: LogReaders, store: Store
) -> StreamingResponse:
    """The message exactly as it arrived, as a `.eml` download."""
    record = await mail_log.get_inbound(ctx, inbound_mail_id)
    try:
        content = await store.open(record.raw_key)
    except BlobNotFound as exc:
        raise NotFound("the raw message is missing from the store") from exc
    return StreamingResponse(
        content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{record.id}.eml"',
            "Content-Length": str(record.raw_size),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private",
        },
    )


# --- what was sent ----------------------------------------------------------------------------

OUTBOUND_SORTS = {"created_at": OutboundMail.created_at}


@router.get("/outbound-mail", response_model=PagePublic[OutboundMailPublic])
async def list_outbound_mail(
    ctx: LogReaders,
    status: Annotated[
        str | None, Query(max_length=20, description="pending, processing, sent or failed")
    ] = None,
    ticket_id: UUID | None = None,
    sort: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> PagePublic[OutboundMailPublic]:
    page = await paginate(
        ctx.session,
        mail_log.outbound_statement(ctx, status=status, ticket_id=ticket_id),
        order=parse_sort(sort, OUTBOUND_SORTS, "-created_at"),
        id_column=OutboundMail.id,
        limit=limit,
        cursor=cursor,
    )
    items = [OutboundMailPublic.model_validate(row) for row in page.items]
    return PagePublic(items=items, next_cursor=page.next_cursor)


@router.get("/outbound-mail/{outbound_mail_id}", response_model=OutboundMailPublic)
async def get_outbound_mail(outbound_mail_id: UUID, ctx: LogReaders) -> OutboundMailPublic:
    return OutboundMailPublic.model_validate(await mail_log.get_outbound(ctx, outbound_mail_id))


@router.post("/outbound-mail/{outbound_mail_id}/retry", response_model=OutboundMailPublic)
async def retry_outbound_mail(outbound_mail_id: UUID, ctx: Retriers) -> OutboundMailPublic:
    """Send a failed mail again (attempts start over)."""
    return await mail_log.retry(ctx, await mail_log.get_outbound(ctx, outbound_mail_id))


# --- the push URL -----------------------------------------------------------------------------


@push_router.post(
    "/inbound/{secret}", response_model=PushReceipt, status_code=202, openapi_extra=PUSH_BODY
)
async def push_inbound_mail(
    secret: str,
    request: Request,
    session: DbSession,
    store: Store,
) -> PushReceipt:
    """Accept one raw RFC 5322 message (`message/rfc822`) for the channel the secret URL names.

    The secret is the credential: an unknown one is 404 before the body is read.
    """
    if len(secret) > 200:
        raise NotFound("no channel has this URL")
    channel = await channels.channel_by_push_secret(session, secret)
    if channel is None:
        raise NotFound("no channel has this URL")
    media_type = (request.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if media_type not in PUSH_MEDIA_TYPES:
        raise UnsupportedMediaType(f"send the message as {RFC822}")
    raw = await request.body()
    if not raw.strip():
        raise ValidationFailed("the body is empty: send one RFC 5322 message", field="body")
    received = await receive(session, store, channel, raw)
    return PushReceipt.of(received.record, received.duplicate)
