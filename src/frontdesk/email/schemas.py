"""API shapes of channels, received mail and the outbound mail queue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from frontdesk.email.models import (
    ChannelKind,
    ChannelMode,
    ImapSecurity,
    NonParticipantPolicy,
    OutboundStatus,
)
from frontdesk.tickets.models import Priority, StatusCategory, TicketType

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Host = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9.\-:\[\]]{1,253}$")
]
Folder = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\"\\]{1,200}$")]
StatusKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,59}$")]
Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Address = Annotated[EmailStr, StringConstraints(max_length=320)]
AuthservId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,252}$")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImapSettings(Strict):
    host: Host
    port: int = Field(default=993, ge=1, le=65535)
    security: ImapSecurity = ImapSecurity.TLS
    user: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    #: Write-only; on update, leave it out (or null) to keep the stored one.
    password: Secret | None = None
    folder: Folder = "INBOX"
    processed_folder: Folder | None = None


class ChannelFields(Strict):
    """Everything of a channel an admin sets (create and update share it)."""

    name: Name
    address: Address | None = None
    aliases: Annotated[list[Address], Field(max_length=20)] = Field(default_factory=list)
    external_ref: Ref | None = None
    is_active: bool = True
    default_group_id: UUID | None = None
    default_priority: Priority = Priority.NORMAL
    default_type: TicketType = TicketType.QUESTION
    default_status: StatusKey | None = None
    auto_acknowledge: bool = True
    add_cc_participants: bool = True
    non_participant_policy: NonParticipantPolicy = NonParticipantPolicy.NEW_TICKET
    auto_reply_limit_per_hour: int = Field(default=5, ge=0, le=1000)
    trust_staff_mail: bool = Field(
        default=False,
        description="Mail from a staff member's address becomes a public reply as that agent "
        "only when `trusted_authserv_id` vouches for it (aligned dkim=pass or spf=pass); "
        "otherwise it is an internal note marked as not verified",
    )
    trusted_authserv_id: AuthservId | None = None
    imap: ImapSettings | None = None

    @model_validator(mode="after")
    def _trust_needs_a_server(self) -> ChannelFields:
        if self.trust_staff_mail and not self.trusted_authserv_id:
            raise ValueError("trust_staff_mail needs trusted_authserv_id")
        return self


class ChannelCreate(ChannelFields):
    kind: ChannelKind = ChannelKind.EMAIL
    #: For email: `imap` when imap settings are given, else `push`, unless said.
    mode: ChannelMode | None = None

    @model_validator(mode="after")
    def _complete(self) -> ChannelCreate:
        if self.kind is ChannelKind.EMAIL and self.mode is None:
            self.mode = ChannelMode.IMAP if self.imap is not None else ChannelMode.PUSH
        check_complete(self.kind, self.mode, self)
        if self.mode is ChannelMode.IMAP and self.imap is not None and not self.imap.password:
            raise ValueError("an IMAP channel needs imap.password")
        return self


class ChannelUpdate(ChannelFields):
    """The editable fields; a PATCH is applied to the current values and validated whole."""


def check_complete(kind: ChannelKind, mode: ChannelMode | None, fields: ChannelFields) -> None:
    """An email channel has an address and a mode; IMAP needs its settings, push none."""
    if kind is not ChannelKind.EMAIL:
        if mode is not None or fields.imap is not None:
            raise ValueError(f"a {kind.value} channel has no mode or imap settings")
        return
    if fields.address is None:
        raise ValueError("an email channel needs an address")
    if mode is None:
        raise ValueError("an email channel needs a mode: imap or push")
    if mode is ChannelMode.IMAP and fields.imap is None:
        raise ValueError("an IMAP channel needs imap settings")
    if mode is ChannelMode.PUSH and fields.imap is not None:
        raise ValueError("a push channel has no imap settings")


class ImapPublic(BaseModel):
    host: str
    port: int
    security: str
    user: str
    has_password: bool
    folder: str
    processed_folder: str | None


class ChannelPublic(BaseModel):
    id: UUID
    kind: str
    name: str
    address: str | None
    aliases: list[str]
    mode: str | None
    external_ref: str | None
    is_active: bool
    default_group_id: UUID | None
    default_priority: str
    default_type: str
    default_status: str | None
    auto_acknowledge: bool
    add_cc_participants: bool
    non_participant_policy: str
    auto_reply_limit_per_hour: int
    trust_staff_mail: bool
    trusted_authserv_id: str | None
    imap: ImapPublic | None
    has_push_url: bool
    last_polled_at: datetime | None
    last_error: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class ChannelCreated(ChannelPublic):
    #: Shown once, when a push channel is created: the secret URL an MTA posts mail to.
    push_url: str | None = None


class InboundMailPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    channel_id: UUID
    message_id: str | None
    sender: str | None
    subject: str
    outcome: str
    is_auto_reply: bool
    acknowledged: bool
    needs_review: bool
    detail: str | None
    raw_size: int
    ticket_id: UUID | None
    ticket_message_id: UUID | None
    outbound_mail_id: UUID | None
    created_at: datetime


class OutboundMailPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    kind: str
    ticket_id: UUID | None
    ticket_message_id: UUID | None
    recipient: str
    from_address: str
    subject: str
    message_id: str
    is_automatic: bool
    status: OutboundStatus
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    bounced_at: datetime | None
    created_at: datetime


class PushReceipt(BaseModel):
    id: UUID
    outcome: str
    duplicate: bool
    ticket_id: UUID | None
    needs_review: bool

    @classmethod
    def of(cls, record: Any, duplicate: bool) -> PushReceipt:
        return cls(
            id=record.id,
            outcome=record.outcome,
            duplicate=duplicate,
            ticket_id=record.ticket_id,
            needs_review=record.needs_review,
        )


class EmailSettingsUpdate(Strict):
    status_mail_categories: Annotated[
        list[StatusCategory],
        Field(
            max_length=6,
            description="Status categories whose reaching is mailed to the requester and cc's",
        ),
    ]


class EmailSettingsPublic(BaseModel):
    status_mail_categories: list[str]
    version: int


class EmailTemplateSet(Strict):
    """A tenant's own version of one template in one language (Jinja2, rendered sandboxed)."""

    subject: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    body_text: Annotated[str, StringConstraints(min_length=1, max_length=50_000)]
    body_html: Annotated[str, StringConstraints(max_length=100_000)] | None = None


class EmailTemplatePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    locale: str
    subject: str
    body_text: str
    body_html: str | None
    version: int
    updated_at: datetime
