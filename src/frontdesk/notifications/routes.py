"""The caller's own notifications and notification preferences in one tenant."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from frontdesk.core.pagination import DEFAULT_LIMIT, PagePublic, paginate, parse_sort
from frontdesk.identity.context import TenantContext
from frontdesk.identity.dependencies import permits
from frontdesk.identity.policy import Action
from frontdesk.notifications import repository, service
from frontdesk.notifications.models import Notification
from frontdesk.notifications.schemas import (
    MarkedRead,
    NotificationPublic,
    PreferencesPublic,
    PreferencesUpdate,
    UnreadCount,
)

router = APIRouter(prefix="/api/v1/tenants/{tenant}/notifications", tags=["notifications"])

Recipient = Annotated[TenantContext, permits(Action.NOTIFICATION_OWN)]
SORTS = {"created_at": Notification.created_at}


@router.get("", response_model=PagePublic[NotificationPublic])
async def list_notifications(
    ctx: Recipient,
    unread: bool | None = None,
    sort: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PagePublic[NotificationPublic]:
    statement = repository.inbox(ctx.tenant_id, ctx.user_id)
    if unread is not None:
        read_at = Notification.read_at
        statement = statement.where(read_at.is_(None) if unread else read_at.is_not(None))
    page = await paginate(
        ctx.session,
        statement,
        order=parse_sort(sort, SORTS, "-created_at"),
        id_column=Notification.id,
        limit=limit,
        cursor=cursor,
    )
    items = [NotificationPublic.model_validate(n) for n in page.items]
    return PagePublic(items=items, next_cursor=page.next_cursor)


@router.get("/unread-count", response_model=UnreadCount)
async def unread_count(ctx: Recipient) -> UnreadCount:
    return UnreadCount(
        unread=await repository.unread_count(ctx.session, ctx.tenant_id, ctx.user_id)
    )


@router.post("/read-all", response_model=MarkedRead)
async def mark_all_read(ctx: Recipient) -> MarkedRead:
    return MarkedRead(marked=await service.mark_all_read(ctx))


@router.get("/preferences", response_model=PreferencesPublic)
async def get_preferences(ctx: Recipient) -> PreferencesPublic:
    return PreferencesPublic(preferences=await service.preferences(ctx))


@router.put("/preferences", response_model=PreferencesPublic)
async def put_preferences(body: PreferencesUpdate, ctx: Recipient) -> PreferencesPublic:
    return PreferencesPublic(preferences=await service.set_preferences(ctx, body.preferences))


@router.get("/{notification_id}", response_model=NotificationPublic)
async def get_notification(notification_id: UUID, ctx: Recipient) -> NotificationPublic:
    return NotificationPublic.model_validate(await service.get_mine(ctx, notification_id))


@router.post("/{notification_id}/read", response_model=NotificationPublic)
async def mark_read(notification_id: UUID, ctx: Recipient) -> NotificationPublic:
    return NotificationPublic.model_validate(await service.mark_read(ctx, notification_id))
