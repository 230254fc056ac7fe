"""The ticket and everything nested under it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.core.db import Base, JSONType
from frontdesk.identity.models import TenantOwned, in_values


class StatusCategory(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


#: The text search configuration; ticket text is mostly English, and `english` stems plurals
#: and tenses ("charged" finds "charge") while keeping every other word as it is.
SEARCH_CONFIG = "english"

PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class TicketType(StrEnum):
    QUESTION = "question"
    INCIDENT = "incident"
    PROBLEM = "problem"
    TASK = "task"


class Channel(StrEnum):
    PORTAL = "portal"
    EMAIL = "email"
    API = "api"
    CHAT = "chat"
    PHONE = "phone"
    AI = "ai"
    SYSTEM = "system"


class AuthorType(StrEnum):
    CONTACT = "contact"
    AGENT = "agent"
    SYSTEM = "system"
    AI = "ai"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ParticipantRole(StrEnum):
    REQUESTER = "requester"
    CC = "cc"
    FOLLOWER = "follower"


class AccessLevel(StrEnum):
    READ = "read"
    WRITE = "write"


class ScanStatus(StrEnum):
    PENDING = "pending"
    CLEAN = "clean"
    INFECTED = "infected"
    SKIPPED = "skipped"
    FAILED = "failed"


def _ticket_fk(*, ondelete: str | None = "CASCADE") -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "ticket_id"], ["ticket.tenant_id", "ticket.id"], ondelete=ondelete
    )


class TicketStatus(TenantOwned, Base):
    """A tenant's status; every status belongs to one fixed category."""

    __tablename__ = "ticket_status"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        CheckConstraint(in_values("category", StatusCategory), name="category"),
    )

    key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(default=0)
    is_default: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class TicketCategory(TenantOwned, Base):
    """A node of the tenant's category tree."""

    __tablename__ = "ticket_category"
    __table_args__ = (
        UniqueConstraint("tenant_id", "parent_id", "name"),
        ForeignKeyConstraint(
            ["tenant_id", "parent_id"], ["ticket_category.tenant_id", "ticket_category.id"]
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[UUID | None]
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class TicketNumberSequence(Base):
    """The next ticket number of each tenant; its row lock serializes numbering per tenant."""

    __tablename__ = "ticket_number_sequence"

    tenant_id: Mapped[UUID] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True
    )
    last_number: Mapped[int] = mapped_column(default=0)


class Ticket(TenantOwned, Base):
    __tablename__ = "ticket"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        ForeignKeyConstraint(
            ["tenant_id", "status_id"], ["ticket_status.tenant_id", "ticket_status.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "requester_id"], ["contact.tenant_id", "contact.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "organization_id"], ["organization.tenant_id", "organization.id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "group_id"], ["agent_group.tenant_id", "agent_group.id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "assignee_id"], ["membership.tenant_id", "membership.user_id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "category_id"], ["ticket_category.tenant_id", "ticket_category.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "follow_up_of_id"], ["ticket.tenant_id", "ticket.id"]),
        CheckConstraint(in_values("status_category", StatusCategory), name="status_category"),
        CheckConstraint(in_values("priority", Priority), name="priority"),
        CheckConstraint(in_values("type", TicketType), name="type"),
        CheckConstraint(in_values("channel", Channel), name="channel"),
        Index("ix_ticket_queue_status", "tenant_id", "status_category", "updated_at"),
        Index("ix_ticket_queue_group", "tenant_id", "group_id", "status_category", "updated_at"),
        Index(
            "ix_ticket_queue_assignee", "tenant_id", "assignee_id", "status_category", "updated_at"
        ),
        Index("ix_ticket_requester", "tenant_id", "requester_id", "created_at"),
        Index("ix_ticket_organization", "tenant_id", "organization_id", "created_at"),
        Index("ix_ticket_due", "tenant_id", "due_at"),
        Index("ix_ticket_updated", "tenant_id", "updated_at"),
        # Full-text search is PostgreSQL's (SQLite matches words with LIKE, tickets/listing.py);
        # queries repeat this expression through ticket_search_document().
        Index(
            "ix_ticket_search",
            # As PostgreSQL prints it back, so that comparing models and migrations agrees.
            text(
                f"to_tsvector('{SEARCH_CONFIG}'::regconfig,"
                " (subject::text || ' '::text) || description)"
            ),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
        Index("ix_ticket_sla_due", "tenant_id", "sla_next_due_at"),
    )

    number: Mapped[int]
    subject: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    status_id: Mapped[UUID]
    status_category: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(10), default=Priority.NORMAL.value)
    priority_rank: Mapped[int] = mapped_column(default=1)
    type: Mapped[str] = mapped_column(String(20), default=TicketType.QUESTION.value)
    channel: Mapped[str] = mapped_column(String(20), default=Channel.API.value)
    requester_id: Mapped[UUID]
    organization_id: Mapped[UUID | None]
    group_id: Mapped[UUID | None]
    assignee_id: Mapped[UUID | None]
    category_id: Mapped[UUID | None]
    form_id: Mapped[UUID | None]
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    due_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    last_message_at: Mapped[datetime | None]
    last_public_author_type: Mapped[str | None] = mapped_column(String(10))
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(default=0)
    message_count: Mapped[int] = mapped_column(default=0)
    public_message_count: Mapped[int] = mapped_column(default=0)
    unread_by_agent: Mapped[int] = mapped_column(default=0)
    unread_by_customer: Mapped[int] = mapped_column(default=0)
    ai_mode: Mapped[str | None] = mapped_column(String(20))
    ai_summary: Mapped[str | None] = mapped_column(Text)
    ai_confidence: Mapped[float | None]
    ai_auto_resolved: Mapped[bool] = mapped_column(default=False)
    ai_first_response_at: Mapped[datetime | None]
    orchestration_ref: Mapped[str | None] = mapped_column(String(200))
    follow_up_of_id: Mapped[UUID | None]
    #: Kept by the SLA service (never a user): the earliest due time and at-risk time of the
    #: ticket's running SLA clocks, and whether any clock has breached; for lists and sorting.
    sla_next_due_at: Mapped[datetime | None]
    sla_at_risk_at: Mapped[datetime | None]
    sla_breached: Mapped[bool] = mapped_column(default=False)
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


def ticket_search_document() -> ColumnElement[Any]:
    """The words of a ticket's subject and description, as PostgreSQL indexes them.

    Built from literals only (no bound parameters) so that a query using it has the very
    expression of the GIN index `ix_ticket_search`, and the planner uses that index.
    """
    return func.to_tsvector(
        literal_column(f"'{SEARCH_CONFIG}'::regconfig"),
        Ticket.subject.concat(literal_column("' '")).concat(Ticket.description),
    )


class TicketMessage(TenantOwned, Base):
    """One entry of the conversation; append-only except for an admin's redaction."""

    __tablename__ = "ticket_message"
    __table_args__ = (
        _ticket_fk(),
        UniqueConstraint("tenant_id", "dedup_key"),
        CheckConstraint(in_values("author_type", AuthorType), name="author_type"),
        CheckConstraint(in_values("direction", Direction), name="direction"),
        Index("ix_ticket_message_thread", "tenant_id", "ticket_id", "created_at"),
        Index("ix_ticket_message_external", "tenant_id", "external_message_id"),
    )

    ticket_id: Mapped[UUID]
    author_type: Mapped[str] = mapped_column(String(10))
    author_user_id: Mapped[UUID | None]
    author_contact_id: Mapped[UUID | None]
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    is_internal: Mapped[bool] = mapped_column(default=False)
    direction: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(20))
    external_message_id: Mapped[str | None] = mapped_column(String(998))
    dedup_key: Mapped[str | None] = mapped_column(String(200))
    email_headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    redacted_at: Mapped[datetime | None]
    redacted_by: Mapped[str | None] = mapped_column(String(100))


class TicketParticipant(TenantOwned, Base):
    __tablename__ = "ticket_participant"
    __table_args__ = (
        _ticket_fk(),
        UniqueConstraint("tenant_id", "ticket_id", "role", "party_key"),
        ForeignKeyConstraint(
            ["tenant_id", "contact_id"], ["contact.tenant_id", "contact.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["membership.tenant_id", "membership.user_id"],
            ondelete="CASCADE",
        ),
        CheckConstraint(in_values("role", ParticipantRole), name="role"),
        CheckConstraint("(contact_id IS NULL) <> (user_id IS NULL)", name="one_party"),
        Index("ix_ticket_participant_contact", "tenant_id", "contact_id"),
        Index("ix_ticket_participant_user", "tenant_id", "user_id"),
    )

    ticket_id: Mapped[UUID]
    role: Mapped[str] = mapped_column(String(10))
    contact_id: Mapped[UUID | None]
    user_id: Mapped[UUID | None]
    #: `contact:<id>` or `user:<id>`: one column to make "unique per role" a plain constraint.
    party_key: Mapped[str] = mapped_column(String(60))


class TicketTag(TenantOwned, Base):
    __tablename__ = "ticket_tag"
    __table_args__ = (
        _ticket_fk(),
        UniqueConstraint("tenant_id", "ticket_id", "tag"),
        Index("ix_ticket_tag_tag", "tenant_id", "tag"),
    )

    ticket_id: Mapped[UUID]
    tag: Mapped[str] = mapped_column(String(64))


class TicketAttachment(TenantOwned, Base):
    __tablename__ = "ticket_attachment"
    __table_args__ = (
        _ticket_fk(),
        ForeignKeyConstraint(
            ["tenant_id", "message_id"], ["ticket_message.tenant_id", "ticket_message.id"]
        ),
        CheckConstraint(in_values("scan_status", ScanStatus), name="scan_status"),
        Index("ix_ticket_attachment_ticket", "tenant_id", "ticket_id"),
        Index("ix_ticket_attachment_message", "tenant_id", "message_id"),
    )

    ticket_id: Mapped[UUID]
    message_id: Mapped[UUID | None]
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    scan_status: Mapped[str] = mapped_column(String(10), default=ScanStatus.PENDING.value)
    is_inline: Mapped[bool] = mapped_column(default=False)
    content_id: Mapped[str | None] = mapped_column(String(255))


class TicketAssignment(TenantOwned, Base):
    """One change of a ticket's group and/or assignee."""

    __tablename__ = "ticket_assignment"
    __table_args__ = (_ticket_fk(), Index("ix_ticket_assignment_ticket", "tenant_id", "ticket_id"))

    ticket_id: Mapped[UUID]
    from_group_id: Mapped[UUID | None]
    to_group_id: Mapped[UUID | None]
    from_user_id: Mapped[UUID | None]
    to_user_id: Mapped[UUID | None]
    reason: Mapped[str | None] = mapped_column(String(500))
    ai_session_ref: Mapped[str | None] = mapped_column(String(200))


class TicketAccess(TenantOwned, Base):
    """Another group's read or write grant on one ticket."""

    __tablename__ = "ticket_access"
    __table_args__ = (
        _ticket_fk(),
        UniqueConstraint("tenant_id", "ticket_id", "group_id"),
        ForeignKeyConstraint(
            ["tenant_id", "group_id"],
            ["agent_group.tenant_id", "agent_group.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint(in_values("level", AccessLevel), name="level"),
        Index("ix_ticket_access_group", "tenant_id", "group_id"),
    )

    ticket_id: Mapped[UUID]
    group_id: Mapped[UUID]
    level: Mapped[str] = mapped_column(String(5))


class TicketAudit(TenantOwned, Base):
    """The ticket's append-only timeline: one row per discrete change."""

    __tablename__ = "ticket_audit"
    __table_args__ = (
        _ticket_fk(),
        Index("ix_ticket_audit_timeline", "tenant_id", "ticket_id", "id"),
    )

    ticket_id: Mapped[UUID]
    action: Mapped[str] = mapped_column(String(60))
    field: Mapped[str | None] = mapped_column(String(60))
    before: Mapped[Any | None] = mapped_column(JSONType, nullable=True)
    after: Mapped[Any | None] = mapped_column(JSONType, nullable=True)
    #: Hidden from contacts: internal notes, assignment internals, internal-only fields.
    is_internal: Mapped[bool] = mapped_column(default=False)
