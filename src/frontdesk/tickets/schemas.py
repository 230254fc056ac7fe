"""API shapes of tickets and what hangs off them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from frontdesk.core.storable import JsonObject
from frontdesk.tickets.models import (
    AccessLevel,
    AuthorType,
    Channel,
    ParticipantRole,
    Priority,
    StatusCategory,
    TicketType,
)

Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=200_000)]
StatusKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,59}$")]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=64)
]
Tags = Annotated[list[Tag], Field(max_length=50)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
DedupKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- statuses and categories -----------------------------------------------------------------


class StatusCreate(Strict):
    key: StatusKey
    label: Label
    category: StatusCategory
    position: int = Field(default=0, ge=0, le=10_000)
    is_default: bool = False
    is_active: bool = True


class StatusUpdate(Strict):
    label: Label
    position: int = Field(ge=0, le=10_000)
    is_default: bool
    is_active: bool


class StatusPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    key: str
    label: str
    category: str
    position: int
    is_default: bool
    is_active: bool
    version: int


class CategoryCreate(Strict):
    name: Label
    parent_id: UUID | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    position: int = Field(default=0, ge=0, le=10_000)
    is_active: bool = True


class CategoryUpdate(Strict):
    name: Label
    parent_id: UUID | None
    description: Annotated[str, StringConstraints(max_length=2000)] | None
    position: int = Field(ge=0, le=10_000)
    is_active: bool


class CategoryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    parent_id: UUID | None
    description: str | None
    position: int
    is_active: bool
    version: int


# --- tickets ----------------------------------------------------------------------------------


class RequesterRef(Strict):
    email: EmailStr
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class TicketCreate(Strict):
    subject: Subject
    description: LongText = ""
    description_html: LongText | None = None
    requester_id: UUID | None = None
    requester: RequesterRef | None = None
    status: StatusKey | None = None
    priority: Priority = Priority.NORMAL
    type: TicketType = TicketType.QUESTION
    channel: Channel | None = None
    group_id: UUID | None = None
    assignee_id: UUID | None = None
    category_id: UUID | None = None
    tags: Tags = Field(default_factory=list)
    due_at: datetime | None = None
    custom_fields: JsonObject = Field(default_factory=dict)
    ai_mode: Annotated[str, StringConstraints(max_length=20)] | None = None
    orchestration_ref: Ref | None = None

    @model_validator(mode="after")
    def _one_requester(self) -> TicketCreate:
        if self.requester_id is not None and self.requester is not None:
            raise ValueError("give requester_id or requester, not both")
        return self


class TicketUpdate(Strict):
    """The editable fields; a PATCH is applied to the current values and validated whole."""

    subject: Subject
    description: LongText
    status: StatusKey
    priority: Priority
    type: TicketType
    requester_id: UUID
    group_id: UUID | None
    assignee_id: UUID | None
    category_id: UUID | None
    tags: Tags
    due_at: datetime | None
    custom_fields: JsonObject
    ai_mode: Annotated[str, StringConstraints(max_length=20)] | None
    ai_summary: LongText | None
    ai_confidence: Annotated[float, Field(ge=0, le=1)] | None
    ai_auto_resolved: bool
    orchestration_ref: Ref | None


class CustomerTicketUpdate(Strict):
    """What a contact may change on their own ticket."""

    subject: Subject
    status: StatusKey


class TicketCustomerView(BaseModel):
    """A ticket as its customer sees it: no internal fields, no assignment internals."""

    id: UUID
    number: int
    display_id: str
    subject: str
    description: str
    status: str
    status_label: str
    status_category: str
    priority: str
    type: str
    channel: str
    requester_id: UUID
    organization_id: UUID | None
    first_response_at: datetime | None
    last_message_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    public_message_count: int
    unread_by_customer: int
    version: int
    created_at: datetime
    updated_at: datetime


class TicketPublic(TicketCustomerView):
    group_id: UUID | None
    assignee_id: UUID | None
    category_id: UUID | None
    form_id: UUID | None
    tags: list[str]
    custom_fields: dict[str, Any]
    due_at: datetime | None
    last_public_author_type: str | None
    reopen_count: int
    message_count: int
    unread_by_agent: int
    ai_mode: str | None
    ai_summary: str | None
    ai_confidence: float | None
    ai_auto_resolved: bool
    ai_first_response_at: datetime | None
    orchestration_ref: str | None
    follow_up_of_id: UUID | None
    sla_next_due_at: datetime | None
    sla_at_risk: bool
    sla_breached: bool
    deleted_at: datetime | None
    deleted_by: str | None
    created_by: str
    updated_by: str


# --- conversation -----------------------------------------------------------------------------


class MessageCreate(Strict):
    body: LongText = ""
    body_html: LongText | None = None
    is_internal: bool = False
    status: StatusKey | None = Field(
        default=None, description="For agents' public replies: the status to set with it"
    )
    dedup_key: DedupKey | None = None
    external_message_id: Annotated[str, StringConstraints(max_length=998)] | None = None
    author_type: Literal["agent", "system", "ai"] | None = Field(
        default=None, description="Staff only: record a system or AI message"
    )


class MessagePublic(BaseModel):
    id: UUID
    ticket_id: UUID
    author_type: AuthorType
    author_user_id: UUID | None
    author_contact_id: UUID | None
    body_text: str
    body_html: str | None
    is_internal: bool
    direction: str
    channel: str
    external_message_id: str | None
    attachment_ids: list[UUID]
    redacted_at: datetime | None
    created_at: datetime


class AttachmentPublic(BaseModel):
    id: UUID
    ticket_id: UUID
    message_id: UUID | None
    filename: str
    content_type: str = Field(description="Sniffed from the content; the client's claim is ignored")
    size: int
    sha256: str
    scan_status: str
    is_public: bool = Field(description="Attached to a public message: every reader sees it")
    created_at: datetime


# --- participants, tags, assignment, access, audit --------------------------------------------


class ParticipantCreate(Strict):
    role: Literal["cc", "follower"]
    contact_id: UUID | None = None
    user_id: UUID | None = None
    email: EmailStr | None = None

    @model_validator(mode="after")
    def _one_party(self) -> ParticipantCreate:
        given = [v for v in (self.contact_id, self.user_id, self.email) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of contact_id, user_id or email")
        return self


class ParticipantPublic(BaseModel):
    id: UUID
    role: ParticipantRole
    contact_id: UUID | None
    user_id: UUID | None
    name: str
    email: str | None


class TagCreate(Strict):
    tag: Tag


class TagCount(BaseModel):
    tag: str
    count: int


class AssignmentCreate(Strict):
    group_id: UUID | None = None
    assignee_id: UUID | None = None
    reason: Reason | None = None
    ai_session_ref: Ref | None = None


class AssignmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    from_group_id: UUID | None
    to_group_id: UUID | None
    from_user_id: UUID | None
    to_user_id: UUID | None
    reason: str | None
    ai_session_ref: str | None
    created_by: str
    created_at: datetime


class AccessCreate(Strict):
    group_id: UUID
    level: AccessLevel = AccessLevel.READ


class AccessPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    group_id: UUID
    level: str
    created_at: datetime


class AuditPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    action: str
    field: str | None
    before: Any
    after: Any
    created_by: str
    created_at: datetime


class BulkChanges(Strict):
    status: StatusKey | None = None
    priority: Priority | None = None
    group_id: UUID | None = None
    assignee_id: UUID | None = None
    unassign: bool = False
    add_tags: Tags = Field(default_factory=list)
    remove_tags: Tags = Field(default_factory=list)


class BulkUpdate(Strict):
    ticket_ids: Annotated[list[UUID], Field(min_length=1, max_length=100)]
    changes: BulkChanges


class BulkResult(BaseModel):
    id: UUID
    ok: bool
    status: int
    code: str | None = None
    detail: str | None = None
    version: int | None = None


class BulkResponse(BaseModel):
    results: list[BulkResult]
