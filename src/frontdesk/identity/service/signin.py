"""Signing in and out, password changes, and the throttle that slows password guessing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.audit import record_change
from frontdesk.core.clock import utcnow
from frontdesk.core.config import Settings
from frontdesk.core.db import transaction
from frontdesk.core.errors import InvalidCredentials, TooManyRequests
from frontdesk.core.security import (
    csrf_token_for,
    digest_token,
    hash_password,
    new_secret_token,
    password_needs_rehash,
    verify_password,
)
from frontdesk.identity.models import LoginFailure, User, WebSession
from frontdesk.identity.repository import normalize_email, user_by_email

ACCOUNT = "account"
ADDRESS = "address"


@dataclass(frozen=True)
class SignedIn:
    user: User
    web_session: WebSession
    session_token: str
    csrf_token: str


@dataclass(frozen=True)
class Throttle:
    settings: Settings

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.settings.login_window_seconds)

    async def check(self, session: AsyncSession, email: str, address: str) -> None:
        """429 while either the account or the client address has too many recent failures."""
        now = utcnow()
        for scope, key, limit in (
            (ACCOUNT, email, self.settings.login_max_failures_per_account),
            (ADDRESS, address, self.settings.login_max_failures_per_address),
        ):
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(LoginFailure.at)).where(
                        LoginFailure.scope == scope,
                        LoginFailure.key == key,
                        LoginFailure.at > now - self.window,
                    )
                )
            ).one()
            if count >= limit:
                retry_after = max(1, int((oldest + self.window - now).total_seconds()) + 1)
                raise TooManyRequests(
                    "too many failed sign-ins; try again later", retry_after=retry_after
                )

    async def record_failure_now(
        self, sessionmaker: async_sessionmaker[AsyncSession], email: str, address: str
    ) -> None:
        """Committed in its own transaction: the request that failed is rolled back, this is not."""
        now = utcnow()
        async with transaction(sessionmaker) as session:
            session.add_all(
                [
                    LoginFailure(scope=ACCOUNT, key=email, at=now),
                    LoginFailure(scope=ADDRESS, key=address, at=now),
                ]
            )
            await session.execute(
                delete(LoginFailure).where(LoginFailure.at < now - self.window * 4)
            )

    async def forget_account(self, session: AsyncSession, email: str) -> None:
        await session.execute(
            delete(LoginFailure).where(LoginFailure.scope == ACCOUNT, LoginFailure.key == email)
        )


async def sign_in(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    email: str,
    password: str,
    client_address: str,
    user_agent: str | None,
) -> SignedIn:
    """Check the password under the throttle and open a web session (audited)."""
    email = normalize_email(email)
    throttle = Throttle(settings)
    await throttle.check(session, email, client_address)
    user = await user_by_email(session, email)
    usable_hash = user.password_hash if user is not None and user.is_active else None
    if user is None or not verify_password(usable_hash, password):
        # End the failing request's transaction first: on SQLite it holds the write lock.
        await session.rollback()
        await throttle.record_failure_now(sessionmaker, email, client_address)
        raise InvalidCredentials()
    await throttle.forget_account(session, email)
    if user.password_hash and password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return await open_session(
        session, settings, user, client_address=client_address, user_agent=user_agent
    )


async def open_session(
    session: AsyncSession,
    settings: Settings,
    user: User,
    *,
    client_address: str,
    user_agent: str | None,
    method: str = "password",
) -> SignedIn:
    """A new web session for a user whose identity is already proven (audited)."""
    now = utcnow()
    user.last_login_at = now
    token = new_secret_token()
    web_session = WebSession(
        user_id=user.id,
        token_digest=digest_token(token),
        expires_at=now + timedelta(seconds=settings.session_max_age_seconds),
        last_seen_at=now,
        client_address=client_address[:64],
        user_agent=(user_agent or "")[:400] or None,
    )
    session.add(web_session)
    session.info["actor"] = f"user:{user.id}"
    await session.flush()
    record_change(
        session,
        subject_type="user",
        action="signed_in",
        tenant_id=None,
        subject_id=user.id,
        snapshot={"web_session_id": str(web_session.id), "client_address": client_address}
        | ({} if method == "password" else {"method": method}),
    )
    return SignedIn(user, web_session, token, csrf_token_for(web_session.token_digest))


async def sign_out(session: AsyncSession, token_digest: str) -> None:
    web_session = await session.scalar(
        select(WebSession).where(WebSession.token_digest == token_digest)
    )
    if web_session is None or web_session.revoked_at is not None:
        return
    web_session.revoked_at = utcnow()
    record_change(
        session,
        subject_type="user",
        action="signed_out",
        tenant_id=None,
        subject_id=web_session.user_id,
        snapshot={"web_session_id": str(web_session.id)},
    )


async def change_password(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    user: User,
    current_password: str,
    new_password: str,
    keep_session_digest: str | None,
    client_address: str,
) -> None:
    """Replace the password after checking the current one; every other web session ends."""
    throttle = Throttle(settings)
    await throttle.check(session, user.email, client_address)
    if not verify_password(user.password_hash, current_password):
        email = user.email
        # The request fails anyway: end its transaction first, so a write it already made (the
        # token's or session's last-used stamp) cannot hold SQLite's single write lock against
        # the failure's own transaction (which would wait on it until "database is locked").
        await session.rollback()
        await throttle.record_failure_now(sessionmaker, email, client_address)
        raise InvalidCredentials("the current password is wrong")
    user.password_hash = hash_password(new_password)
    await session.execute(
        update(WebSession)
        .where(
            WebSession.user_id == user.id,
            WebSession.revoked_at.is_(None),
            WebSession.token_digest != (keep_session_digest or ""),
        )
        .values(revoked_at=utcnow())
    )
    record_change(
        session,
        subject_type="user",
        action="password_changed",
        tenant_id=None,
        subject_id=user.id,
        snapshot={"user_id": str(user.id)},
    )


def session_is_live(web_session: WebSession, now: datetime) -> bool:
    return web_session.revoked_at is None and web_session.expires_at > now
