"""Notifying people in the app, reading and clearing their notices, and their opt-outs.

Other domains call `notify_users` (in their own transaction, next to the change the notice is
about) and `wants` (before sending through another channel, such as email).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.audit import Change, record_change, record_grouped, record_update
from frontdesk.core.clock import utcnow
from frontdesk.core.db import new_row_stamps
from frontdesk.core.errors import NotFound
from frontdesk.core.events import jsonable
from frontdesk.core.ids import new_id
from frontdesk.identity.context import TenantContext
from frontdesk.notifications import repository
from frontdesk.notifications.kinds import NotificationChannel, NotificationKind
from frontdesk.notifications.models import Notification, NotificationPreference
from frontdesk.notifications.schemas import NotificationPublic, PreferenceSetting


def notification_snapshot(notification: Notification) -> dict[str, object]:
    return NotificationPublic.model_validate(notification).model_dump(mode="json")


async def notify_users(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    user_ids: list[UUID],
    kind: NotificationKind,
    title: str,
    body: str = "",
    ticket_id: UUID | None = None,
    data: dict[str, Any] | None = None,
) -> list[Notification]:
    """One in-app notice per distinct user, except those who turned this kind off in the app."""
    distinct = list(dict.fromkeys(user_ids))
    if not distinct:
        return []
    muted = await repository.opted_out_users(
        session, tenant_id, distinct, kind, NotificationChannel.IN_APP
    )
    notifications = [
        Notification(
            tenant_id=tenant_id,
            user_id=user_id,
            kind=kind,
            title=title[:300],
            body=body,
            ticket_id=ticket_id,
            data=data or {},
        )
        for user_id in distinct
        if user_id not in muted
    ]
    session.add_all(notifications)
    await session.flush()
    for notification in notifications:
        record_change(
            session,
            subject_type="notification",
            action="created",
            tenant_id=tenant_id,
            subject_id=notification.id,
            snapshot=notification_snapshot(notification) | {"user_id": str(notification.user_id)},
        )
    return notifications


@dataclass(frozen=True)
class Notice:
    """One notice for `notify_many`: the arguments of one `notify_users` call."""

    tenant_id: UUID
    user_ids: list[UUID]
    kind: NotificationKind
    title: str
    body: str = ""
    ticket_id: UUID | None = None
    data: dict[str, Any] | None = None


#: `NotificationPublic`'s fields: a bulk row's snapshot without building the model.
_PUBLIC_FIELDS = tuple(NotificationPublic.model_fields)


async def notify_many(session: AsyncSession, notices: Sequence[Notice]) -> int:
    """`notify_users` for many notices at once (a sweep's): one opt-out query, one INSERT of
    the notifications, one of their audit entries (one per tenant and kind, listing each
    notification's id, recipient and ticket) and one of their events (one per notification,
    as `notify_users` emits it); returns how many notifications."""
    wanted = [(n, list(dict.fromkeys(n.user_ids))) for n in notices if n.user_ids]
    if not wanted:
        return 0
    muted = await repository.opted_out_many(
        session,
        tenant_ids={n.tenant_id for n, _ in wanted},
        user_ids={user_id for _, users in wanted for user_id in users},
        kinds={n.kind for n, _ in wanted},
        channel=NotificationChannel.IN_APP,
    )
    stamps = new_row_stamps(session, utcnow())
    rows = []
    for notice, users in wanted:
        data = jsonable(notice.data or {})  # once per notice, shared by its recipients' rows
        rows += [
            {
                "tenant_id": notice.tenant_id,
                "id": new_id(),
                "user_id": user_id,
                "kind": notice.kind.value,
                "ticket_id": notice.ticket_id,
                "title": notice.title[:300],
                "body": notice.body,
                "data": data,
                "read_at": None,
            }
            | stamps
            for user_id in users
            if (notice.tenant_id, user_id, notice.kind) not in muted
        ]
    if not rows:
        return 0
    await session.execute(insert(cast(Table, Notification.__table__)), rows)
    await record_grouped(session, _audited_together(rows))
    return len(rows)


def _audited_together(rows: list[dict[str, Any]]) -> list[tuple[Change, list[Change]]]:
    """A batch's notifications as one audit entry per tenant and kind (the notification rows
    themselves hold the rest: title, body, data, who made them and when), each with its own
    `notification.created` event carrying the snapshot `notify_users` gives it."""
    by_kind: dict[tuple[UUID, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_kind[(row["tenant_id"], row["kind"])].append(row)
    return [
        (
            Change(
                subject_type="notification",
                action="created",
                tenant_id=tenant_id,
                subject_id=None,
                snapshot={
                    "kind": kind,
                    "notifications": [
                        {name: _text(row[name]) for name in ("id", "user_id", "ticket_id")}
                        for row in made
                    ],
                },
            ),
            [
                Change(
                    subject_type="notification",
                    action="created",
                    tenant_id=tenant_id,
                    subject_id=row["id"],
                    snapshot=_snapshot_of(row),
                )
                for row in made
            ],
        )
        for (tenant_id, kind), made in by_kind.items()
    ]


#: Ids turned to text here: the event and audit writers' generic JSON conversion takes ten
#: times as long for a UUID (thousands of them in a sweep's notices).
_IDS = frozenset({"id", "ticket_id", "user_id"})


def _snapshot_of(row: dict[str, Any]) -> dict[str, Any]:
    """The notification's event snapshot, as `notify_users` gives it."""
    snapshot = {name: row[name] for name in _PUBLIC_FIELDS} | {"user_id": row["user_id"]}
    return {name: _text(v) if name in _IDS else v for name, v in snapshot.items()}


def _text(value: UUID | None) -> str | None:
    return str(value) if value is not None else None


async def wants(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    kind: NotificationKind,
    channel: NotificationChannel,
    user_id: UUID | None = None,
    contact_id: UUID | None = None,
) -> bool:
    """Whether the user or contact still receives `kind` on `channel` (yes unless opted out)."""
    if (user_id is None) == (contact_id is None):
        raise ValueError("name exactly one of user_id and contact_id")
    statement = repository.preferences_of(tenant_id, user_id=user_id, contact_id=contact_id).where(
        NotificationPreference.kind == kind, NotificationPreference.channel == channel
    )
    preference = await session.scalar(statement)
    return preference is None or preference.enabled


async def get_mine(ctx: TenantContext, notification_id: UUID) -> Notification:
    statement = repository.inbox(ctx.tenant_id, ctx.user_id).where(
        Notification.id == notification_id
    )
    notification = await ctx.session.scalar(statement)
    if notification is None:
        raise NotFound("notification not found")
    return notification


async def mark_read(ctx: TenantContext, notification_id: UUID) -> Notification:
    notification = await get_mine(ctx, notification_id)
    if notification.read_at is None:
        before = notification_snapshot(notification)
        notification.read_at = utcnow()
        await ctx.session.flush()
        record_update(
            ctx.session,
            subject_type="notification",
            tenant_id=ctx.tenant_id,
            subject_id=notification.id,
            before=before,
            after=notification_snapshot(notification),
        )
    return notification


async def mark_all_read(ctx: TenantContext) -> int:
    result = await ctx.session.execute(
        update(Notification)
        .where(
            Notification.tenant_id == ctx.tenant_id,
            Notification.user_id == ctx.user_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow(), updated_at=utcnow(), updated_by=ctx.principal.actor)
        .execution_options(synchronize_session=False)
    )
    marked = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if marked:
        record_change(
            ctx.session,
            subject_type="notification",
            action="read_all",
            tenant_id=ctx.tenant_id,
            subject_id=None,
            snapshot={"user_id": str(ctx.user_id), "marked": marked},
        )
    return marked


async def preferences(ctx: TenantContext) -> list[PreferenceSetting]:
    """Every kind on every channel, with the user's choice or the default (enabled)."""
    chosen = {
        (row.kind, row.channel): row.enabled
        for row in (
            await ctx.session.scalars(repository.preferences_of(ctx.tenant_id, user_id=ctx.user_id))
        ).all()
    }
    return [
        PreferenceSetting(kind=kind, channel=channel, enabled=chosen.get((kind, channel), True))
        for kind in NotificationKind
        for channel in NotificationChannel
    ]


async def set_preferences(
    ctx: TenantContext, settings: list[PreferenceSetting]
) -> list[PreferenceSetting]:
    before = {f"{p.kind}/{p.channel}": p.enabled for p in await preferences(ctx)}
    existing = {
        (row.kind, row.channel): row
        for row in (
            await ctx.session.scalars(repository.preferences_of(ctx.tenant_id, user_id=ctx.user_id))
        ).all()
    }
    for setting in settings:
        row = existing.get((setting.kind, setting.channel))
        if row is None:
            row = NotificationPreference(
                tenant_id=ctx.tenant_id,
                user_id=ctx.user_id,
                kind=setting.kind,
                channel=setting.channel,
            )
            ctx.session.add(row)
            existing[(setting.kind, setting.channel)] = row
        row.enabled = setting.enabled
    await ctx.session.flush()
    after_settings = await preferences(ctx)
    record_update(
        ctx.session,
        subject_type="notification_preferences",
        tenant_id=ctx.tenant_id,
        subject_id=ctx.user_id,
        before=before,
        after={f"{p.kind}/{p.channel}": p.enabled for p in after_settings},
    )
    return after_settings
