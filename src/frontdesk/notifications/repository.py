"""The queries of notifications: always one user's, inside one tenant."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.repository import scoped
from frontdesk.notifications.models import Notification, NotificationPreference


def inbox(tenant_id: UUID, user_id: UUID) -> Select[Notification]:
    return scoped(Notification, tenant_id).where(Notification.user_id == user_id)


async def unread_count(session: AsyncSession, tenant_id: UUID, user_id: UUID) -> int:
    statement = (
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.tenant_id == tenant_id,
            Notification.user_id == user_id,
            Notification.read_at.is_(None),
        )
    )
    return int(await session.scalar(statement) or 0)


def preferences_of(
    tenant_id: UUID, *, user_id: UUID | None = None, contact_id: UUID | None = None
) -> Select[NotificationPreference]:
    statement = scoped(NotificationPreference, tenant_id)
    if user_id is not None:
        return statement.where(NotificationPreference.user_id == user_id)
    return statement.where(NotificationPreference.contact_id == contact_id)


async def opted_out_users(
    session: AsyncSession, tenant_id: UUID, user_ids: list[UUID], kind: str, channel: str
) -> set[UUID]:
    statement = select(NotificationPreference.user_id).where(
        NotificationPreference.tenant_id == tenant_id,
        NotificationPreference.user_id.in_(user_ids),
        NotificationPreference.kind == kind,
        NotificationPreference.channel == channel,
        NotificationPreference.enabled.is_(False),
    )
    return {user_id for user_id in (await session.scalars(statement)).all() if user_id}
