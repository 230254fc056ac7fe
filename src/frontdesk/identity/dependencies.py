"""Resolving the caller: bearer token, session cookie (with CSRF) or trusted gateway header."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.clock import utcnow
from frontdesk.core.config import Settings
from frontdesk.core.db import DbSession, set_actor
from frontdesk.core.errors import CsrfFailed, Forbidden, NotFound, Unauthorized
from frontdesk.core.security import csrf_token_matches, digest_token
from frontdesk.identity.context import AdminContext, Principal, TenantContext
from frontdesk.identity.models import User
from frontdesk.identity.policy import Action, Role, authorize
from frontdesk.identity.repository import (
    TenantAndMembership,
    api_token_and_user,
    api_token_user_and_tenant,
    contact_of_user,
    live_session,
    tenant_and_membership,
    user_by_email,
)

SESSION_COOKIE = "frontdesk_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LAST_USED_RESOLUTION = timedelta(minutes=1)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _from_bearer(session: AsyncSession, token: str, tenant_ref: str | None) -> Principal:
    digest = digest_token(token)
    if tenant_ref is None:
        found = await api_token_and_user(session, digest)
    else:
        # A tenant route: its tenant and the caller's membership come in the same round trip,
        # kept for `tenant_context`.
        with_tenant = await api_token_user_and_tenant(session, digest, tenant_ref)
        found = None if with_tenant is None else with_tenant[:2]
        if with_tenant is not None:
            session.info[_PREFETCHED_TENANT] = (tenant_ref, with_tenant[1].id, with_tenant[2])
    now = utcnow()
    if found is None or found[0].revoked_at is not None:
        raise Unauthorized("the API token is unknown or revoked")
    api_token, user = found
    if api_token.expires_at is not None and api_token.expires_at <= now:
        raise Unauthorized("the API token has expired")
    if not user.is_active:
        raise Unauthorized("the API token's user is deactivated")
    if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_RESOLUTION:
        api_token.last_used_at = now
    return Principal(user, "token", token_tenant_id=api_token.tenant_id, api_token_id=api_token.id)


_PREFETCHED_TENANT = "frontdesk.prefetched_tenant"


async def _tenant_of(session: AsyncSession, ref: str, user_id: UUID) -> TenantAndMembership | None:
    prefetched = session.info.pop(_PREFETCHED_TENANT, None)
    if prefetched is not None and prefetched[:2] == (ref, user_id):
        found: TenantAndMembership | None = prefetched[2]
        return found
    return await tenant_and_membership(session, ref, user_id)


async def _from_cookie(session: AsyncSession, request: Request, token: str) -> Principal | None:
    digest = digest_token(token)
    web_session = await live_session(session, digest)
    now = utcnow()
    if web_session is None or web_session.revoked_at is not None or web_session.expires_at <= now:
        return None
    user = await session.get(User, web_session.user_id)
    if user is None or not user.is_active:
        return None
    if request.method not in SAFE_METHODS and not csrf_token_matches(
        digest, request.headers.get(CSRF_HEADER)
    ):
        raise CsrfFailed(f"send the {CSRF_HEADER} header returned at sign-in")
    if now - web_session.last_seen_at > LAST_USED_RESOLUTION:
        web_session.last_seen_at = now
    return Principal(user, "session", session_token_digest=digest)


def _from_trusted_proxy(request: Request, settings: Settings) -> bool:
    address = client_address(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in settings.trusted_proxies)


async def _from_header(
    session: AsyncSession, request: Request, settings: Settings
) -> Principal | None:
    email = request.headers.get(settings.trusted_header_name)
    if not email or not _from_trusted_proxy(request, settings):
        return None
    user = await user_by_email(session, email)
    if user is None or not user.is_active:
        raise Unauthorized("the gateway's user is unknown here")
    return Principal(user, "header")


async def authenticate(request: Request, session: DbSession) -> Principal | None:
    """The caller, or None when anonymous. A bad bearer token is 401, never anonymous."""
    settings = settings_of(request)
    authorization = request.headers.get("Authorization")
    principal: Principal | None = None
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise Unauthorized("use `Authorization: Bearer <token>`")
        tenant_ref = request.path_params.get("tenant")
        principal = await _from_bearer(session, credentials.strip(), tenant_ref)
    elif cookie := request.cookies.get(SESSION_COOKIE):
        principal = await _from_cookie(session, request, cookie)
    if principal is None and settings.trusted_header_enabled:
        principal = await _from_header(session, request, settings)
    if principal is not None:
        set_actor(session, principal.actor)
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(authenticate)]


async def require_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise Unauthorized()
    return principal


CurrentPrincipal = Annotated[Principal, Depends(require_principal)]


async def tenant_context(
    principal: CurrentPrincipal,
    session: DbSession,
    tenant: Annotated[str, Path(max_length=100, description="The tenant's id or slug")],
) -> TenantContext:
    """The caller's standing in `{tenant}`; a tenant they are not in does not exist for them."""
    row = await _tenant_of(session, tenant, principal.user.id)
    if row is None or (
        principal.token_tenant_id is not None and principal.token_tenant_id != row[0].id
    ):
        raise NotFound("tenant not found")
    found, membership = row
    if membership is not None:
        role, contact_id = Role(membership.role), None
    else:
        contact = await contact_of_user(session, found.id, principal.user.id)
        if contact is None:
            raise NotFound("tenant not found")
        role, contact_id = Role.CONTACT, contact.id
    if not found.is_active:
        raise Forbidden("this tenant is suspended")
    return TenantContext(found, principal, role, session, contact_id=contact_id)


CurrentTenant = Annotated[TenantContext, Depends(tenant_context)]


def permits(action: Action) -> Any:
    """A route's declared permission: resolves the tenant context and checks the policy."""

    async def dependency(ctx: CurrentTenant) -> TenantContext:
        authorize(ctx.role, action)
        return ctx

    dependency.permits_action = action  # type: ignore[attr-defined]
    return Depends(dependency)


async def admin_context(principal: CurrentPrincipal, session: DbSession) -> AdminContext:
    if not principal.user.is_platform_admin:
        raise Forbidden("platform administrators only")
    if principal.token_tenant_id is not None:
        raise Forbidden("a tenant-limited token cannot use the platform admin routes")
    return AdminContext(principal, session)


PlatformAdmin = Annotated[AdminContext, Depends(admin_context)]
