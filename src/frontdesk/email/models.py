"""Inbound channels, the mail they received, the mail we send, and tenants' template overrides."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.core.db import Base
from frontdesk.identity.models import TenantOwned, in_values


class ChannelKind(StrEnum):
    EMAIL = "email"
    CHAT = "chat"
    SMS = "sms"
    VOICE = "voice"
    API = "api"


class ChannelMode(StrEnum):
    IMAP = "imap"
    PUSH = "push"


class ImapSecurity(StrEnum):
    TLS = "tls"
    STARTTLS = "starttls"
    NONE = "none"


class NonParticipantPolicy(StrEnum):
    """What a mail that matches a ticket but comes from a stranger becomes."""

    NEW_TICKET = "new_ticket"
    INTERNAL_NOTE = "internal_note"


class InboundOutcome(StrEnum):
    NEW_TICKET = "new_ticket"
    APPENDED = "appended"
    FOLLOW_UP = "follow_up"
    INTERNAL_NOTE = "internal_note"
    BOUNCE = "bounce"
    DROPPED_OWN_ADDRESS = "dropped_own_address"
    UNPARSEABLE = "unparseable"
    FAILED = "failed"


class OutboundStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    SENT = "sent"
    FAILED = "failed"


class InboundChannel(TenantOwned, Base):
    """An entry point that creates or updates tickets; for email, a mailbox polled or pushed."""

    __tablename__ = "inbound_channel"
    __table_args__ = (
        UniqueConstraint("tenant_id", "address"),
        UniqueConstraint("push_secret_digest"),
        CheckConstraint(in_values("kind", ChannelKind), name="kind"),
        CheckConstraint(f"mode IS NULL OR {in_values('mode', ChannelMode)}", name="mode"),
        CheckConstraint(in_values("non_participant_policy", NonParticipantPolicy), name="policy"),
    )

    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(320))
    #: Further addresses that deliver to this channel (aliases), lower case.
    aliases: Mapped[list[str]] = mapped_column(default=list)
    mode: Mapped[str | None] = mapped_column(String(10))
    external_ref: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    #: Checked when set; a group deleted later is ignored at intake.
    default_group_id: Mapped[UUID | None]
    default_priority: Mapped[str] = mapped_column(String(10), default="normal")
    default_type: Mapped[str] = mapped_column(String(20), default="question")
    default_status: Mapped[str | None] = mapped_column(String(60))
    auto_acknowledge: Mapped[bool] = mapped_column(default=True)
    add_cc_participants: Mapped[bool] = mapped_column(default=True)
    non_participant_policy: Mapped[str] = mapped_column(
        String(20), default=NonParticipantPolicy.NEW_TICKET.value
    )
    #: A mail from a staff member's address may speak to the customer as that agent (public
    #: reply) only when this is on and `trusted_authserv_id` vouches for its From domain.
    trust_staff_mail: Mapped[bool] = mapped_column(default=False)
    #: The authserv-id of the desk's receiving server in `Authentication-Results` headers.
    trusted_authserv_id: Mapped[str | None] = mapped_column(String(253))
    #: Automatic mails (acknowledgements) one sender may get per hour.
    auto_reply_limit_per_hour: Mapped[int] = mapped_column(default=5)
    imap_host: Mapped[str | None] = mapped_column(String(253))
    imap_port: Mapped[int | None]
    imap_security: Mapped[str | None] = mapped_column(String(10))
    imap_user: Mapped[str | None] = mapped_column(String(320))
    #: Fernet ciphertext (core.security.encrypt_secret); never returned by the API.
    imap_password_encrypted: Mapped[str | None] = mapped_column(Text)
    imap_folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    #: Where fetched mail is moved; without one it is flagged and left in place.
    imap_processed_folder: Mapped[str | None] = mapped_column(String(200))
    push_secret_digest: Mapped[str | None] = mapped_column(String(64))
    last_polled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class InboundMail(TenantOwned, Base):
    """One received message: its raw form (in the blob store) and what became of it.

    Ticket and message ids are plain references, not foreign keys: the record of what arrived
    outlives a purged ticket.
    """

    __tablename__ = "inbound_mail"
    __table_args__ = (
        UniqueConstraint("tenant_id", "dedup_key"),
        ForeignKeyConstraint(
            ["tenant_id", "channel_id"],
            ["inbound_channel.tenant_id", "inbound_channel.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint(in_values("outcome", InboundOutcome), name="outcome"),
        Index("ix_inbound_mail_channel", "tenant_id", "channel_id", "created_at"),
        Index("ix_inbound_mail_sender", "tenant_id", "sender", "created_at"),
        Index("ix_inbound_mail_review", "tenant_id", "needs_review"),
    )

    channel_id: Mapped[UUID]
    #: sha256 of the Message-ID (of the raw bytes when there is none).
    dedup_key: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(998))
    sender: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500), default="")
    outcome: Mapped[str] = mapped_column(String(30))
    is_auto_reply: Mapped[bool] = mapped_column(default=False)
    acknowledged: Mapped[bool] = mapped_column(default=False)
    needs_review: Mapped[bool] = mapped_column(default=False)
    detail: Mapped[str | None] = mapped_column(Text)
    raw_key: Mapped[str] = mapped_column(String(64))
    raw_size: Mapped[int]
    ticket_id: Mapped[UUID | None]
    ticket_message_id: Mapped[UUID | None]
    outbound_mail_id: Mapped[UUID | None]
    quoted_text: Mapped[str | None] = mapped_column(Text)
    signature: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboundMail(TenantOwned, Base):
    """One mail in the notification outbox, rendered when queued, sent by the worker."""

    __tablename__ = "outbound_mail"
    __table_args__ = (
        UniqueConstraint("tenant_id", "dedup_key"),
        CheckConstraint(in_values("status", OutboundStatus), name="status"),
        # The sender scans across tenants for due mail.
        Index("ix_outbound_mail_due", "status", "next_attempt_at"),
        Index("ix_outbound_mail_message_id", "tenant_id", "message_id"),
        Index("ix_outbound_mail_ticket", "tenant_id", "ticket_id", "created_at"),
        Index("ix_outbound_mail_recipient", "tenant_id", "recipient", "created_at"),
    )

    #: `<event id>:<kind>:<recipient>`: a re-delivered event queues nothing twice.
    dedup_key: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[UUID | None]
    ticket_message_id: Mapped[UUID | None]
    recipient: Mapped[str] = mapped_column(String(320))
    recipient_user_id: Mapped[UUID | None]
    recipient_contact_id: Mapped[UUID | None]
    from_address: Mapped[str] = mapped_column(String(320))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(998))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(998))
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[str | None] = mapped_column(Text)
    is_automatic: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(12), default=OutboundStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    bounced_at: Mapped[datetime | None]


class EmailTemplate(TenantOwned, Base):
    """A tenant's override of one built-in template in one language."""

    __tablename__ = "email_template"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "locale"),)

    kind: Mapped[str] = mapped_column(String(40))
    locale: Mapped[str] = mapped_column(String(35))
    subject: Mapped[str] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class EmailSettings(TenantOwned, Base):
    """A tenant's mail settings (one row, made on first write; absent means the defaults)."""

    __tablename__ = "email_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    #: Status categories whose reaching is mailed to the requester and cc's.
    status_mail_categories: Mapped[list[str]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class EmailEventCursor(Base):
    """How far the mail planner has read the relayed event stream (one row)."""

    __tablename__ = "email_event_cursor"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    published_at: Mapped[datetime]
    event_id: Mapped[UUID]
