"""Who is calling, and as what, in which tenant: passed explicitly to every service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.identity.models import User
from frontdesk.identity.policy import Role
from frontdesk.tenancy.models import Tenant

AuthMethod = Literal["session", "token", "header"]


@dataclass(frozen=True)
class Principal:
    user: User
    method: AuthMethod
    token_tenant_id: UUID | None = None
    session_token_digest: str | None = None
    api_token_id: UUID | None = None

    @property
    def actor(self) -> str:
        return f"user:{self.user.id}"


@dataclass(frozen=True)
class TenantContext:
    """A principal acting in one tenant with one role; the session is the request's unit of work."""

    tenant: Tenant
    principal: Principal
    role: Role
    session: AsyncSession
    contact_id: UUID | None = None

    @property
    def tenant_id(self) -> UUID:
        return self.tenant.id

    @property
    def user_id(self) -> UUID:
        return self.principal.user.id


@dataclass(frozen=True)
class AdminContext:
    """A platform admin on the `/api/v1/admin` routes."""

    principal: Principal
    session: AsyncSession
