"""People and access: users, memberships, organizations, contacts, groups, tokens, sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
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

from frontdesk.core.db import AuditMixin, Base, IdMixin
from frontdesk.core.ids import new_id


class MemberRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    AGENT = "agent"
    LIGHT_AGENT = "light_agent"


class GroupMemberRole(StrEnum):
    AGENT = "agent"
    LEAD = "lead"


class AssignmentStrategy(StrEnum):
    QUEUE_ONLY = "queue_only"
    ROUND_ROBIN = "round_robin"
    LOAD_BALANCED = "load_balanced"


class AiWorkMode(StrEnum):
    OFF = "off"
    SUGGEST = "suggest"
    ASSIST = "assist"
    AUTONOMOUS = "autonomous"


def in_values(column: str, enum: type[StrEnum]) -> str:
    """A CHECK constraint expression: `column` holds one of the enum's values."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"


class TenantOwned(AuditMixin):
    """Primary key `(tenant_id, id)`: every reference into the table carries the tenant."""

    tenant_id: Mapped[UUID] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True, sort_order=-20
    )
    id: Mapped[UUID] = mapped_column(primary_key=True, default=new_id, sort_order=-10)


class User(AuditMixin, IdMixin, Base):
    __tablename__ = "user_account"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str] = mapped_column(String(35), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Membership(TenantOwned, Base):
    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        CheckConstraint(in_values("role", MemberRole), name="role"),
        Index("ix_membership_user", "user_id"),
    )

    user_id: Mapped[UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Organization(TenantOwned, Base):
    __tablename__ = "organization"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class OrganizationDomain(TenantOwned, Base):
    """An email domain whose new contacts join the organization."""

    __tablename__ = "organization_domain"
    __table_args__ = (
        UniqueConstraint("tenant_id", "domain"),
        ForeignKeyConstraint(
            ["tenant_id", "organization_id"],
            ["organization.tenant_id", "organization.id"],
            ondelete="CASCADE",
        ),
    )

    organization_id: Mapped[UUID]
    domain: Mapped[str] = mapped_column(String(253))


class Contact(TenantOwned, Base):
    __tablename__ = "contact"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        ForeignKeyConstraint(
            ["tenant_id", "organization_id"], ["organization.tenant_id", "organization.id"]
        ),
        Index("ix_contact_organization", "tenant_id", "organization_id"),
        Index("ix_contact_user", "user_id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    organization_id: Mapped[UUID | None]
    user_id: Mapped[UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class ContactEmail(TenantOwned, Base):
    __tablename__ = "contact_email"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        ForeignKeyConstraint(
            ["tenant_id", "contact_id"], ["contact.tenant_id", "contact.id"], ondelete="CASCADE"
        ),
        Index("ix_contact_email_contact", "tenant_id", "contact_id"),
    )

    contact_id: Mapped[UUID]
    email: Mapped[str] = mapped_column(String(320))
    is_primary: Mapped[bool] = mapped_column(default=False)


class Group(TenantOwned, Base):
    """A team and queue of agents, with its support profile."""

    __tablename__ = "agent_group"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint(in_values("assignment_strategy", AssignmentStrategy), name="strategy"),
        CheckConstraint(in_values("ai_work_mode", AiWorkMode), name="ai_work_mode"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)
    assignment_strategy: Mapped[str] = mapped_column(String(20), default="queue_only")
    is_support_queue: Mapped[bool] = mapped_column(default=True)
    default_sla_policy_id: Mapped[UUID | None]
    routing_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ai_work_mode: Mapped[str] = mapped_column(String(20), default="off")
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class GroupMember(TenantOwned, Base):
    __tablename__ = "agent_group_member"
    __table_args__ = (
        UniqueConstraint("tenant_id", "group_id", "user_id"),
        ForeignKeyConstraint(
            ["tenant_id", "group_id"],
            ["agent_group.tenant_id", "agent_group.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["membership.tenant_id", "membership.user_id"],
            ondelete="CASCADE",
        ),
        CheckConstraint(in_values("role", GroupMemberRole), name="role"),
        Index("ix_agent_group_member_user", "tenant_id", "user_id"),
    )

    group_id: Mapped[UUID]
    user_id: Mapped[UUID]
    role: Mapped[str] = mapped_column(String(20), default="agent")


class ApiToken(AuditMixin, IdMixin, Base):
    """A bearer token of one user, optionally limited to one tenant; only its digest is kept."""

    __tablename__ = "api_token"
    __table_args__ = (
        Index("ix_api_token_user", "user_id"),
        Index("ix_api_token_tenant", "tenant_id"),
    )

    user_id: Mapped[UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    tenant_id: Mapped[UUID | None] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    token_hint: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class WebSession(AuditMixin, IdMixin, Base):
    """A browser sign-in; the cookie holds the token, the table only its digest."""

    __tablename__ = "web_session"
    __table_args__ = (Index("ix_web_session_user", "user_id"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    revoked_at: Mapped[datetime | None]


class LoginFailure(IdMixin, Base):
    """One failed sign-in, counted per account and per client address in a sliding window."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_key_at", "scope", "key", "at"),)

    scope: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime]
