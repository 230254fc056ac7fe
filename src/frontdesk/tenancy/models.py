"""The tenant: the root every tenant-owned row hangs from."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.core.db import AuditMixin, Base
from frontdesk.core.ids import new_id


class Tenant(AuditMixin, Base):
    __tablename__ = "tenant"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(40), default="standard")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    feature_flags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ticket_prefix: Mapped[str] = mapped_column(String(10))
    is_active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
