"""Inbound channels: admin CRUD, secrets encrypted at rest, the push URL shown once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.audit import record_change, record_update
from frontdesk.core.config import get_settings
from frontdesk.core.errors import AlreadyExists, NotFound, ValidationFailed
from frontdesk.core.repository import get_scoped, scoped
from frontdesk.core.security import digest_token, encrypt_secret, new_secret_token
from frontdesk.email.models import ChannelKind, ChannelMode, InboundChannel
from frontdesk.email.schemas import (
    ChannelCreate,
    ChannelCreated,
    ChannelFields,
    ChannelPublic,
    ChannelUpdate,
    ImapPublic,
    check_complete,
)
from frontdesk.identity.context import TenantContext
from frontdesk.identity.models import Group
from frontdesk.tickets.repository import status_by_key

PUSH_PATH = "/api/v1/email/inbound/"

EDITABLE = set(ChannelUpdate.model_fields)


def channel_public(channel: InboundChannel) -> ChannelPublic:
    imap = None
    if channel.mode == ChannelMode.IMAP and channel.imap_host:
        imap = ImapPublic(
            host=channel.imap_host,
            port=channel.imap_port or 993,
            security=channel.imap_security or "tls",
            user=channel.imap_user or "",
            has_password=channel.imap_password_encrypted is not None,
            folder=channel.imap_folder,
            processed_folder=channel.imap_processed_folder,
        )
    return ChannelPublic(
        id=channel.id,
        kind=channel.kind,
        name=channel.name,
        address=channel.address,
        aliases=list(channel.aliases),
        mode=channel.mode,
        external_ref=channel.external_ref,
        is_active=channel.is_active,
        default_group_id=channel.default_group_id,
        default_priority=channel.default_priority,
        default_type=channel.default_type,
        default_status=channel.default_status,
        auto_acknowledge=channel.auto_acknowledge,
        add_cc_participants=channel.add_cc_participants,
        non_participant_policy=channel.non_participant_policy,
        auto_reply_limit_per_hour=channel.auto_reply_limit_per_hour,
        trust_staff_mail=channel.trust_staff_mail,
        trusted_authserv_id=channel.trusted_authserv_id,
        imap=imap,
        has_push_url=channel.push_secret_digest is not None,
        last_polled_at=channel.last_polled_at,
        last_error=channel.last_error,
        version=channel.version,
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    )


def editable_view(channel: InboundChannel) -> dict[str, Any]:
    """The PATCH target: the public fields an admin sets (the IMAP password stays hidden)."""
    public = channel_public(channel).model_dump(mode="json", include=EDITABLE)
    if public.get("imap") is not None:
        imap = dict(public["imap"])
        imap.pop("has_password")
        public["imap"] = imap
    return public


def push_url(secret: str) -> str:
    return get_settings().public_base_url.rstrip("/") + PUSH_PATH + secret


async def list_channels(ctx: TenantContext) -> Sequence[InboundChannel]:
    rows = await ctx.session.scalars(
        scoped(InboundChannel, ctx.tenant_id).order_by(InboundChannel.name, InboundChannel.id)
    )
    return rows.all()


async def get_channel(ctx: TenantContext, channel_id: UUID) -> InboundChannel:
    return await get_scoped(ctx.session, InboundChannel, ctx.tenant_id, channel_id, what="channel")


async def _check_references(ctx: TenantContext, data: ChannelFields) -> None:
    if data.default_group_id is not None:
        group = await ctx.session.get(Group, (ctx.tenant_id, data.default_group_id))
        if group is None:
            raise NotFound("group not found", field="default_group_id")
    if data.default_status is not None:
        status = await status_by_key(ctx.session, ctx.tenant_id, data.default_status)
        if status is None or not status.is_active:
            raise ValidationFailed("unknown or inactive status", field="default_status")


async def _check_address_free(
    ctx: TenantContext, address: str | None, except_id: UUID | None = None
) -> None:
    if address is None:
        return
    statement = scoped(InboundChannel, ctx.tenant_id).where(
        InboundChannel.address == address.lower()
    )
    if except_id is not None:
        statement = statement.where(InboundChannel.id != except_id)
    if await ctx.session.scalar(statement) is not None:
        raise AlreadyExists(f"a channel with address {address} exists", field="address")


def _apply(channel: InboundChannel, data: ChannelFields) -> None:
    channel.name = data.name
    channel.address = data.address.lower() if data.address else None
    channel.aliases = sorted({alias.lower() for alias in data.aliases})
    channel.external_ref = data.external_ref
    channel.is_active = data.is_active
    channel.default_group_id = data.default_group_id
    channel.default_priority = data.default_priority.value
    channel.default_type = data.default_type.value
    channel.default_status = data.default_status
    channel.auto_acknowledge = data.auto_acknowledge
    channel.add_cc_participants = data.add_cc_participants
    channel.non_participant_policy = data.non_participant_policy.value
    channel.auto_reply_limit_per_hour = data.auto_reply_limit_per_hour
    channel.trust_staff_mail = data.trust_staff_mail
    authserv_id = data.trusted_authserv_id
    channel.trusted_authserv_id = authserv_id.lower() if authserv_id else None
    imap = data.imap
    channel.imap_host = imap.host if imap else None
    channel.imap_port = imap.port if imap else None
    channel.imap_security = imap.security.value if imap else None
    channel.imap_user = imap.user if imap else None
    channel.imap_folder = imap.folder if imap else "INBOX"
    channel.imap_processed_folder = imap.processed_folder if imap else None
    if imap is None:
        channel.imap_password_encrypted = None
    elif imap.password:
        channel.imap_password_encrypted = encrypt_secret(imap.password)


async def create_channel(ctx: TenantContext, data: ChannelCreate) -> ChannelCreated:
    """Create a channel (audited, emits `inbound_channel.created`); a push channel's secret URL
    is in the answer and nowhere else (only its digest is stored)."""
    await _check_references(ctx, data)
    await _check_address_free(ctx, data.address)
    channel = InboundChannel(
        tenant_id=ctx.tenant_id, kind=data.kind.value, mode=data.mode.value if data.mode else None
    )
    _apply(channel, data)
    secret = None
    if data.mode is ChannelMode.PUSH:
        secret = new_secret_token("fdm_")
        channel.push_secret_digest = digest_token(secret)
    ctx.session.add(channel)
    await ctx.session.flush()
    public = channel_public(channel)
    record_change(
        ctx.session,
        subject_type="inbound_channel",
        action="created",
        tenant_id=ctx.tenant_id,
        subject_id=channel.id,
        snapshot=public.model_dump(mode="json"),
    )
    return ChannelCreated(
        **public.model_dump(), push_url=push_url(secret) if secret is not None else None
    )


async def update_channel(
    ctx: TenantContext, channel: InboundChannel, data: ChannelUpdate
) -> ChannelPublic:
    try:
        check_complete(
            ChannelKind(channel.kind), ChannelMode(channel.mode) if channel.mode else None, data
        )
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="imap" if channel.mode else "address") from exc
    if (
        channel.mode == ChannelMode.IMAP
        and data.imap is not None
        and not data.imap.password
        and channel.imap_password_encrypted is None
    ):
        raise ValidationFailed("an IMAP channel needs imap.password", field="imap")
    await _check_references(ctx, data)
    await _check_address_free(ctx, data.address, except_id=channel.id)
    before = channel_public(channel).model_dump(mode="json")
    _apply(channel, data)
    await ctx.session.flush()
    after = channel_public(channel)
    record_update(
        ctx.session,
        subject_type="inbound_channel",
        tenant_id=ctx.tenant_id,
        subject_id=channel.id,
        before=_without_bookkeeping(before),
        after=_without_bookkeeping(after.model_dump(mode="json")),
    )
    return after


def _without_bookkeeping(public: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in public.items() if k not in ("version", "updated_at")}


async def delete_channel(ctx: TenantContext, channel: InboundChannel) -> None:
    snapshot = channel_public(channel).model_dump(mode="json")
    await ctx.session.delete(channel)
    await ctx.session.flush()
    record_change(
        ctx.session,
        subject_type="inbound_channel",
        action="deleted",
        tenant_id=ctx.tenant_id,
        subject_id=channel.id,
        snapshot=snapshot,
    )


async def rotate_push_url(ctx: TenantContext, channel: InboundChannel) -> str:
    """Give a push channel a new secret URL, returned here only; the old one stops working at
    once. Audited, emits `inbound_channel.push_url_rotated` (without the secret)."""
    if channel.mode != ChannelMode.PUSH.value:
        raise ValidationFailed("only a push channel has a secret URL", field="mode")
    secret = new_secret_token("fdm_")
    channel.push_secret_digest = digest_token(secret)
    await ctx.session.flush()
    record_change(
        ctx.session,
        subject_type="inbound_channel",
        action="push_url_rotated",
        tenant_id=ctx.tenant_id,
        subject_id=channel.id,
        snapshot=channel_public(channel).model_dump(mode="json"),
    )
    return push_url(secret)


async def channel_by_push_secret(session: AsyncSession, secret: str) -> InboundChannel | None:
    """The active push channel of a secret URL (looked up by digest, across tenants)."""
    return await session.scalar(
        select(InboundChannel).where(
            InboundChannel.push_secret_digest == digest_token(secret),
            InboundChannel.is_active.is_(True),
            InboundChannel.mode == ChannelMode.PUSH.value,
        )
    )


async def own_addresses(session: AsyncSession, tenant_id: UUID) -> frozenset[str]:
    """Every address of the tenant's channels and the service's default sender."""
    rows = await session.execute(
        scoped(InboundChannel, tenant_id).with_only_columns(
            InboundChannel.address, InboundChannel.aliases
        )
    )
    found = {get_settings().mail_from.lower()}
    for address, aliases in rows:
        if address:
            found.add(address.lower())
        found.update(alias.lower() for alias in aliases or [])
    return frozenset(found)
