"""API tokens limited to one tenant: your own, or every member's for admins."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from frontdesk.core.idempotency import create_idempotently
from frontdesk.identity.context import TenantContext
from frontdesk.identity.dependencies import permits
from frontdesk.identity.policy import Action, can
from frontdesk.identity.schemas import ApiTokenCreate, ApiTokenCreated, ApiTokenPublic
from frontdesk.identity.service import tokens

router = APIRouter(prefix="/api/v1/tenants/{tenant}/tokens", tags=["api tokens"])

TokenUsers = Annotated[TenantContext, permits(Action.TOKEN_OWN)]


def _visible_user(ctx: TenantContext) -> UUID | None:
    """Admins see and revoke every token of the tenant; others only their own."""
    return None if can(ctx.role, Action.TOKEN_MANAGE_ALL) else ctx.user_id


@router.get("", response_model=list[ApiTokenPublic])
async def list_tokens(ctx: TokenUsers) -> list[ApiTokenPublic]:
    found = await tokens.list_tokens(
        ctx.session, tenant_id=ctx.tenant_id, user_id=_visible_user(ctx)
    )
    return [ApiTokenPublic.model_validate(token) for token in found]


@router.post("", response_model=ApiTokenCreated, status_code=201)
async def create_token(body: ApiTokenCreate, ctx: TokenUsers, request: Request) -> JSONResponse:
    """A token of the caller, usable only in this tenant. The secret is in this response only."""

    async def create() -> ApiTokenCreated:
        token, secret = await tokens.create_token(
            ctx.session,
            user_id=ctx.user_id,
            name=body.name,
            tenant_id=ctx.tenant_id,
            expires_at=body.expires_at,
        )
        return ApiTokenCreated(**ApiTokenPublic.model_validate(token).model_dump(), token=secret)

    return await create_idempotently(request, ctx.session, create, secret_fields=("token",))


@router.delete("/{token_id}", status_code=204)
async def revoke_token(token_id: UUID, ctx: TokenUsers) -> Response:
    await tokens.revoke_token(
        ctx.session, token_id=token_id, tenant_id=ctx.tenant_id, user_id=_visible_user(ctx)
    )
    return Response(status_code=204)
