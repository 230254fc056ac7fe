"""API shapes of notifications and preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from frontdesk.notifications.kinds import NotificationChannel, NotificationKind


class NotificationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    kind: str
    ticket_id: UUID | None
    title: str
    body: str
    data: dict[str, Any]
    read_at: datetime | None
    created_at: datetime


class UnreadCount(BaseModel):
    unread: int


class MarkedRead(BaseModel):
    marked: int


class PreferenceSetting(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: NotificationKind
    channel: NotificationChannel
    enabled: bool


class PreferencesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preferences: list[PreferenceSetting] = Field(max_length=200)


class PreferencesPublic(BaseModel):
    preferences: list[PreferenceSetting]
