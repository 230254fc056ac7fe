"""In-app notifications and the opt-outs people choose per kind and channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.core.db import Base
from frontdesk.identity.models import TenantOwned, in_values
from frontdesk.notifications.kinds import NotificationChannel


class Notification(TenantOwned, Base):
    """A notice shown to one user in one tenant, e.g. 'ticket ACME-12 was assigned to you'."""

    __tablename__ = "notification"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "ticket_id"], ["ticket.tenant_id", "ticket.id"], ondelete="CASCADE"
        ),
        # The inbox: a user's notifications newest first, and the unread count.
        Index("ix_notification_inbox", "tenant_id", "user_id", "created_at", "id"),
        Index("ix_notification_unread", "tenant_id", "user_id", "read_at"),
    )

    user_id: Mapped[UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(60))
    ticket_id: Mapped[UUID | None]
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    read_at: Mapped[datetime | None]


class NotificationPreference(TenantOwned, Base):
    """An explicit choice for one kind on one channel; no row means the default (enabled).

    Either a user (staff, or a contact with a login) or a contact (a customer known only by
    address, who opts out through a link in a mail) holds it.
    """

    __tablename__ = "notification_preference"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "kind", "channel"),
        UniqueConstraint("tenant_id", "contact_id", "kind", "channel"),
        ForeignKeyConstraint(
            ["tenant_id", "contact_id"], ["contact.tenant_id", "contact.id"], ondelete="CASCADE"
        ),
        CheckConstraint("(user_id IS NULL) <> (contact_id IS NULL)", name="one_holder"),
        CheckConstraint(in_values("channel", NotificationChannel), name="channel"),
    )

    user_id: Mapped[UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    contact_id: Mapped[UUID | None]
    kind: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(20))
    enabled: Mapped[bool] = mapped_column(default=True)
