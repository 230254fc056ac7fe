"""Sign-in, sign-out, the caller's own profile, password and personal API tokens."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from frontdesk.core.db import DbSession
from frontdesk.core.idempotency import create_idempotently
from frontdesk.core.patch import patch_openapi, read_patch
from frontdesk.core.responses import with_etag
from frontdesk.core.security import csrf_token_for
from frontdesk.identity.dependencies import (
    SESSION_COOKIE,
    CurrentPrincipal,
    OptionalPrincipal,
    client_address,
    settings_of,
)
from frontdesk.identity.models import Contact, Membership
from frontdesk.identity.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    LoginRequest,
    LoginResponse,
    MePublic,
    MeUpdate,
    PasswordChange,
    TenantRolePublic,
    UserPublic,
)
from frontdesk.identity.service import signin, tokens, users
from frontdesk.tenancy.models import Tenant

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/login", response_model=LoginResponse)
async def login(body: LoginRequest, request: Request, session: DbSession) -> JSONResponse:
    settings = settings_of(request)
    signed_in = await signin.sign_in(
        session,
        request.app.state.sessionmaker,
        settings,
        email=body.email,
        password=body.password,
        client_address=client_address(request),
        user_agent=request.headers.get("User-Agent"),
    )
    payload = LoginResponse(
        user=UserPublic.model_validate(signed_in.user),
        csrf_token=signed_in.csrf_token,
        expires_at=signed_in.web_session.expires_at,
    )
    response = JSONResponse(payload.model_dump(mode="json"))
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.session_token,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        secure=settings.served_over_https,
        samesite="lax",
        path="/",
    )
    return response


@router.post("/auth/logout", status_code=204)
async def logout(principal: OptionalPrincipal, session: DbSession) -> Response:
    if principal is not None and principal.session_token_digest is not None:
        await signin.sign_out(session, principal.session_token_digest)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def _me(principal: CurrentPrincipal, session: DbSession) -> MePublic:
    user = principal.user
    tenant_filter = (
        [] if principal.token_tenant_id is None else [Tenant.id == principal.token_tenant_id]
    )
    memberships = await session.execute(
        select(Tenant, Membership.role)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .where(Membership.user_id == user.id, *tenant_filter)
        .order_by(Tenant.slug)
    )
    contacts = await session.execute(
        select(Tenant)
        .join(Contact, Contact.tenant_id == Tenant.id)
        .where(Contact.user_id == user.id, *tenant_filter)
        .order_by(Tenant.slug)
    )
    roles = [
        TenantRolePublic(tenant_id=t.id, slug=t.slug, name=t.name, role=role)
        for t, role in memberships
    ]
    seen = {r.tenant_id for r in roles}
    roles += [
        TenantRolePublic(tenant_id=t.id, slug=t.slug, name=t.name, role="contact")
        for t in contacts.scalars()
        if t.id not in seen
    ]
    csrf = (
        csrf_token_for(principal.session_token_digest) if principal.session_token_digest else None
    )
    return MePublic(
        user=UserPublic.model_validate(user),
        tenants=roles,
        auth_method=principal.method,
        csrf_token=csrf,
    )


@router.get("/me", response_model=MePublic)
async def get_me(principal: CurrentPrincipal, session: DbSession) -> JSONResponse:
    me = await _me(principal, session)
    return with_etag(me, principal.user.version)


@router.patch("/me", response_model=MePublic, openapi_extra=patch_openapi(MeUpdate))
async def update_me(
    principal: CurrentPrincipal, session: DbSession, request: Request
) -> JSONResponse:
    user = principal.user
    current = MeUpdate.model_construct(
        display_name=user.display_name, locale=user.locale, timezone=user.timezone
    ).model_dump(mode="json")
    changes = await read_patch(request, MeUpdate, current, user.version)
    await users.update_profile(session, user, changes)
    me = await _me(principal, session)
    return with_etag(me, user.version)


@router.post("/me/password", status_code=204)
async def change_password(
    body: PasswordChange, principal: CurrentPrincipal, session: DbSession, request: Request
) -> Response:
    await signin.change_password(
        session,
        request.app.state.sessionmaker,
        settings_of(request),
        user=principal.user,
        current_password=body.current_password,
        new_password=body.new_password,
        keep_session_digest=principal.session_token_digest,
        client_address=client_address(request),
    )
    return Response(status_code=204)


@router.get("/me/tokens", response_model=list[ApiTokenPublic])
async def list_my_tokens(principal: CurrentPrincipal, session: DbSession) -> list[ApiTokenPublic]:
    found = await tokens.list_tokens(
        session, tenant_id=principal.token_tenant_id, user_id=principal.user.id
    )
    return [ApiTokenPublic.model_validate(token) for token in found]


@router.post("/me/tokens", response_model=ApiTokenCreated, status_code=201)
async def create_my_token(
    body: ApiTokenCreate, principal: CurrentPrincipal, session: DbSession, request: Request
) -> JSONResponse:
    """A personal token; made with a tenant-limited token, it is limited to the same tenant."""

    async def create() -> ApiTokenCreated:
        token, secret = await tokens.create_token(
            session,
            user_id=principal.user.id,
            name=body.name,
            tenant_id=principal.token_tenant_id,
            expires_at=body.expires_at,
        )
        return ApiTokenCreated(**ApiTokenPublic.model_validate(token).model_dump(), token=secret)

    return await create_idempotently(request, session, create, secret_fields=("token",))


@router.delete("/me/tokens/{token_id}", status_code=204)
async def revoke_my_token(
    token_id: UUID, principal: CurrentPrincipal, session: DbSession
) -> Response:
    await tokens.revoke_token(
        session, token_id=token_id, tenant_id=principal.token_tenant_id, user_id=principal.user.id
    )
    return Response(status_code=204)
