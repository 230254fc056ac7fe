"""API tokens: created for a user (optionally limited to one tenant), shown once, revocable."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.audit import record_change
from frontdesk.core.clock import utcnow
from frontdesk.core.errors import NotFound, ValidationFailed
from frontdesk.core.security import API_TOKEN_PREFIX, digest_token, new_secret_token
from frontdesk.identity.models import ApiToken
from frontdesk.identity.schemas import ApiTokenPublic


def token_snapshot(token: ApiToken) -> dict[str, object]:
    return ApiTokenPublic.model_validate(token).model_dump(mode="json")


async def create_token(
    session: AsyncSession,
    *,
    user_id: UUID,
    name: str,
    tenant_id: UUID | None,
    expires_at: datetime | None,
) -> tuple[ApiToken, str]:
    """A new token and its secret; only the secret's digest is stored."""
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise ValidationFailed("expires_at needs a time zone offset", field="expires_at")
        if expires_at <= utcnow():
            raise ValidationFailed("expires_at must be in the future", field="expires_at")
    secret = new_secret_token(API_TOKEN_PREFIX)
    token = ApiToken(
        user_id=user_id,
        tenant_id=tenant_id,
        name=name,
        token_digest=digest_token(secret),
        token_hint=secret[: len(API_TOKEN_PREFIX) + 6],
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    record_change(
        session,
        subject_type="api_token",
        action="created",
        tenant_id=tenant_id,
        subject_id=token.id,
        snapshot=token_snapshot(token),
    )
    return token, secret


async def list_tokens(
    session: AsyncSession, *, tenant_id: UUID | None, user_id: UUID | None
) -> list[ApiToken]:
    statement = select(ApiToken).order_by(ApiToken.id)
    if tenant_id is not None:
        statement = statement.where(ApiToken.tenant_id == tenant_id)
    if user_id is not None:
        statement = statement.where(ApiToken.user_id == user_id)
    return list((await session.scalars(statement)).all())


async def revoke_token(
    session: AsyncSession, *, token_id: UUID, tenant_id: UUID | None, user_id: UUID | None
) -> ApiToken:
    """Revoke a token the caller can see (the listing's filters); revoking twice is a no-op."""
    token = await session.get(ApiToken, token_id)
    visible = (
        token is not None
        and (tenant_id is None or token.tenant_id == tenant_id)
        and (user_id is None or token.user_id == user_id)
    )
    if token is None or not visible:
        raise NotFound("token not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_change(
            session,
            subject_type="api_token",
            action="revoked",
            tenant_id=token.tenant_id,
            subject_id=token.id,
            snapshot=token_snapshot(token),
        )
    return token
