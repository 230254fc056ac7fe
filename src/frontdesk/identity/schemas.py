"""API shapes of people and access."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from frontdesk.core.storable import JsonObject
from frontdesk.identity.models import AiWorkMode, AssignmentStrategy, GroupMemberRole, MemberRole

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[str, StringConstraints(min_length=10, max_length=1024)]
Notes = Annotated[str, StringConstraints(max_length=10_000)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9+() .\-]{3,40}$")]
Domain = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=253,
        pattern=r"^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    ),
]
Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")]
TimeZoneName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def _check_timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- users and sign-in -------------------------------------------------------------------------


class LoginRequest(Strict):
    email: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    email: str
    display_name: str
    is_active: bool
    locale: str
    timezone: str
    is_platform_admin: bool
    last_login_at: datetime | None
    created_at: datetime


class TenantRolePublic(BaseModel):
    tenant_id: UUID
    slug: str
    name: str
    role: str


class MePublic(BaseModel):
    user: UserPublic
    tenants: list[TenantRolePublic]
    auth_method: str
    csrf_token: str | None


class LoginResponse(BaseModel):
    user: UserPublic
    csrf_token: str
    expires_at: datetime


class MeUpdate(Strict):
    display_name: Name
    locale: Locale
    timezone: TimeZoneName

    _tz = field_validator("timezone")(_check_timezone)


class PasswordChange(Strict):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    new_password: Password


# --- members ---------------------------------------------------------------------------------


class MemberCreate(Strict):
    """Adds a user to the tenant; the user is created when no account has this email yet."""

    email: EmailStr
    role: MemberRole
    display_name: Name | None = None
    password: Password | None = None


class MemberUpdate(Strict):
    role: MemberRole


class MemberPublic(BaseModel):
    id: UUID
    user_id: UUID
    email: str
    display_name: str
    role: str
    is_active: bool
    version: int
    created_at: datetime
    updated_at: datetime


# --- groups ----------------------------------------------------------------------------------


class GroupFields(Strict):
    description: Notes | None = None
    is_active: bool = True
    assignment_strategy: AssignmentStrategy = AssignmentStrategy.QUEUE_ONLY
    is_support_queue: bool = True
    default_sla_policy_id: UUID | None = None
    routing_config: JsonObject = Field(default_factory=dict)
    ai_work_mode: AiWorkMode = AiWorkMode.OFF


class GroupCreate(GroupFields):
    name: Name


class GroupUpdate(Strict):
    name: Name
    description: Notes | None
    is_active: bool
    assignment_strategy: AssignmentStrategy
    is_support_queue: bool
    default_sla_policy_id: UUID | None
    routing_config: JsonObject
    ai_work_mode: AiWorkMode


class GroupPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    description: str | None
    is_active: bool
    assignment_strategy: str
    is_support_queue: bool
    default_sla_policy_id: UUID | None
    routing_config: dict[str, Any]
    ai_work_mode: str
    version: int
    created_at: datetime
    updated_at: datetime


class GroupMemberCreate(Strict):
    user_id: UUID
    role: GroupMemberRole = GroupMemberRole.AGENT


class GroupMemberUpdate(Strict):
    role: GroupMemberRole


class GroupMemberPublic(BaseModel):
    id: UUID
    group_id: UUID
    user_id: UUID
    email: str
    display_name: str
    role: str
    created_at: datetime


# --- organizations and contacts --------------------------------------------------------------


class OrganizationCreate(Strict):
    name: Name
    domains: Annotated[list[Domain], Field(max_length=50)] = Field(default_factory=list)
    notes: Notes | None = None


class OrganizationUpdate(Strict):
    name: Name
    domains: Annotated[list[Domain], Field(max_length=50)]
    notes: Notes | None


class OrganizationPublic(BaseModel):
    id: UUID
    name: str
    domains: list[str]
    notes: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class ContactCreate(Strict):
    name: Name
    emails: Annotated[list[EmailStr], Field(min_length=1, max_length=20)]
    phone: Phone | None = None
    organization_id: UUID | None = None
    notes: Notes | None = None
    password: Password | None = None


class ContactUpdate(Strict):
    name: Name
    emails: Annotated[list[EmailStr], Field(min_length=1, max_length=20)]
    phone: Phone | None
    organization_id: UUID | None
    notes: Notes | None


class ContactPublic(BaseModel):
    id: UUID
    name: str
    emails: list[str]
    phone: str | None
    organization_id: UUID | None
    notes: str | None
    has_portal_login: bool
    version: int
    created_at: datetime
    updated_at: datetime


# --- API tokens ------------------------------------------------------------------------------


class ApiTokenCreate(Strict):
    name: Name
    expires_at: datetime | None = None


class ApiTokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    user_id: UUID
    tenant_id: UUID | None
    name: str
    token_hint: str
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class ApiTokenCreated(ApiTokenPublic):
    token: str | None = Field(
        description="The secret; shown only in the first response (null on an idempotent replay)."
    )


RoleName = Literal["owner", "admin", "agent", "light_agent"]
