"""API shapes of tenants."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", max_length=63)
]
TicketPrefix = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{0,9}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Plan = Literal["free", "standard", "professional", "enterprise"]
FeatureFlags = dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")], bool]
#: IANA names (Europe/Berlin, UTC, Etc/GMT+2): a plain `str` would take even lone surrogates,
#: which no response can encode.
TimeZoneName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+\-/]{1,64}$")]
Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")]


class TenantSettings(BaseModel):
    """Per-tenant behaviour switches; unknown keys are refused so typos don't pass silently."""

    model_config = ConfigDict(extra="forbid")

    agents_see_all_tickets: bool = False
    contacts_see_organization_tickets: bool = False
    portal_allows_anonymous_submission: bool = False
    reopen_window_days: int = Field(default=14, ge=0, le=365)
    timezone: TimeZoneName = "UTC"
    locale: Locale = "en"
    #: Largest attachment; uploads are also capped by the server's FRONTDESK_MAX_UPLOAD_BYTES.
    attachment_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, le=1024**3)
    #: Attachments per ticket, messages' included; 0 turns uploads off.
    attachment_max_per_ticket: int = Field(default=100, ge=0, le=10_000)


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Slug
    name: Name
    plan: Plan = "standard"
    ticket_prefix: TicketPrefix | None = None
    settings: TenantSettings = Field(default_factory=TenantSettings)
    feature_flags: FeatureFlags = Field(default_factory=dict)
    owner_email: EmailStr | None = Field(
        default=None, description="A user (created when new) who becomes the tenant's owner"
    )


class TenantUpdate(BaseModel):
    """Every editable field; a PATCH is applied to the current values and validated as a whole."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    plan: Plan
    ticket_prefix: TicketPrefix
    settings: TenantSettings
    feature_flags: FeatureFlags
    is_active: bool


class TenantPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    slug: str
    name: str
    plan: str
    ticket_prefix: str
    settings: dict[str, Any]
    feature_flags: dict[str, bool]
    is_active: bool
    version: int
    created_at: datetime
    updated_at: datetime
