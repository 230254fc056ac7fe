"""The portal's own tables: each tenant's branding and the one-time sign-in links."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.core.db import Base
from frontdesk.identity.models import TenantOwned

DEFAULT_PRIMARY = "#1f5fbf"
DEFAULT_ACCENT = "#0d7a5f"


class PortalBranding(TenantOwned, Base):
    """How a tenant's portal looks: name, colours, logo (a blob in the file store)."""

    __tablename__ = "portal_branding"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    display_name: Mapped[str | None] = mapped_column(String(200))
    primary_color: Mapped[str] = mapped_column(String(7), default=DEFAULT_PRIMARY)
    accent_color: Mapped[str] = mapped_column(String(7), default=DEFAULT_ACCENT)
    logo_storage_key: Mapped[str | None] = mapped_column(String(64))
    logo_content_type: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class PortalSignInLink(TenantOwned, Base):
    """An emailed one-time sign-in link; only the token's digest is kept."""

    __tablename__ = "portal_sign_in_link"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "contact_id"], ["contact.tenant_id", "contact.id"], ondelete="CASCADE"
        ),
        Index("ix_portal_sign_in_link_contact", "tenant_id", "contact_id"),
    )

    contact_id: Mapped[UUID]
    email: Mapped[str] = mapped_column(String(320))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
