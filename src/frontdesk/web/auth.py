"""Who is looking at a page: the browser session cookie, and the CSRF token every form carries.

Pages share the API's sessions (`web_session`, cookie `frontdesk_session`). The API wants the
CSRF token in the `X-CSRF-Token` header; a plain HTML form cannot send headers, so a page accepts
it from the form field `csrf_token` too. Forms posted before anyone is signed in (sign-in, the
anonymous portal form) are checked by their `Origin` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request

from frontdesk.core.clock import utcnow
from frontdesk.core.db import DbSession, set_actor
from frontdesk.core.errors import CsrfFailed, Forbidden, Unauthorized
from frontdesk.core.security import csrf_token_for, csrf_token_matches, digest_token
from frontdesk.identity.context import Principal, TenantContext
from frontdesk.identity.dependencies import (
    CSRF_HEADER,
    LAST_USED_RESOLUTION,
    SAFE_METHODS,
    SESSION_COOKIE,
    tenant_context,
)
from frontdesk.identity.models import User
from frontdesk.identity.policy import Action, Role, authorize
from frontdesk.identity.repository import live_session

CSRF_FIELD = "csrf_token"


class SignInRequired(Unauthorized):
    """A page needs a signed-in user: the browser is sent to the sign-in page."""

    code = "sign_in_required"
    title = "Sign in to continue"

    def __init__(self, sign_in_url: str, next_url: str) -> None:
        super().__init__()
        self.sign_in_url = sign_in_url
        self.next_url = next_url


class StaffOnly(Forbidden):
    code = "staff_only"
    title = "The agent console is for the support team; customers use the portal"


@dataclass(frozen=True)
class PageUser:
    principal: Principal
    csrf_token: str

    @property
    def user(self) -> User:
        return self.principal.user


async def _presented_csrf(request: Request) -> str | None:
    presented = request.headers.get(CSRF_HEADER)
    if presented:
        return presented
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def check_origin(request: Request) -> None:
    """Refuse a form posted from another site (for forms made before any session exists)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return
    host = request.headers.get("host", "")
    if urlsplit(origin).netloc != host:
        raise CsrfFailed("the form was posted from another site")


async def optional_page_user(request: Request, session: DbSession) -> PageUser | None:
    """The signed-in user of this browser, or None; an unsafe request must carry the CSRF token."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    digest = digest_token(cookie)
    web_session = await live_session(session, digest)
    now = utcnow()
    if web_session is None or web_session.revoked_at is not None or web_session.expires_at <= now:
        return None
    user = await session.get(User, web_session.user_id)
    if user is None or not user.is_active:
        return None
    if request.method not in SAFE_METHODS and not csrf_token_matches(
        digest, await _presented_csrf(request)
    ):
        raise CsrfFailed("the form's security token is missing or stale; reload the page")
    if now - web_session.last_seen_at > LAST_USED_RESOLUTION:
        web_session.last_seen_at = now
    set_actor(session, f"user:{user.id}")
    principal = Principal(user, "session", session_token_digest=digest)
    return PageUser(principal, csrf_token_for(digest))


OptionalPageUser = Annotated[PageUser | None, Depends(optional_page_user)]


def next_url_of(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{request.url.path}{query}"


async def console_user(request: Request, viewer: OptionalPageUser) -> PageUser:
    if viewer is None:
        raise SignInRequired("/app/login", next_url_of(request))
    return viewer


ConsoleUser = Annotated[PageUser, Depends(console_user)]


async def staff_context(viewer: ConsoleUser, session: DbSession, tenant: str) -> TenantContext:
    """The viewer's standing in `{tenant}` as staff; customers are turned away from /app."""
    ctx = await tenant_context(viewer.principal, session, tenant)
    if ctx.role is Role.CONTACT:
        raise StaffOnly()
    return ctx


StaffContext = Annotated[TenantContext, Depends(staff_context)]


def page_permits(action: Action) -> object:
    """A console page's declared permission, checked against the one policy table."""

    async def dependency(ctx: StaffContext) -> TenantContext:
        authorize(ctx.role, action)
        return ctx

    dependency.permits_action = action  # type: ignore[attr-defined]
    return Depends(dependency)
