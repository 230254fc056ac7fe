"""Signing a browser in and out from a page form (the API's sign-in service and cookie)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.identity.dependencies import SESSION_COOKIE, client_address, settings_of
from frontdesk.identity.service import signin
from frontdesk.web.auth import PageUser


def safe_next(next_url: str | None, default: str) -> str:
    """Only a path on this site: never `//evil.example` or `https://…`."""
    if not next_url or not next_url.startswith("/") or next_url.startswith("//"):
        return default
    if "\\" in next_url:
        return default
    return next_url


async def sign_in_browser(
    request: Request, session: AsyncSession, email: str, password: str, *, go_to: str
) -> RedirectResponse:
    """Check the password (throttled, audited) and set the session cookie on the redirect."""
    settings = settings_of(request)
    signed_in = await signin.sign_in(
        session,
        request.app.state.sessionmaker,
        settings,
        email=email,
        password=password,
        client_address=client_address(request),
        user_agent=request.headers.get("User-Agent"),
    )
    response = RedirectResponse(go_to, status_code=303)
    set_session_cookie(request, response, signed_in.session_token)
    return response


def set_session_cookie(request: Request, response: RedirectResponse, token: str) -> None:
    settings = settings_of(request)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        secure=settings.served_over_https,
        samesite="lax",
        path="/",
    )


async def sign_out_browser(
    session: AsyncSession, viewer: PageUser | None, *, go_to: str
) -> RedirectResponse:
    if viewer is not None and viewer.principal.session_token_digest is not None:
        await signin.sign_out(session, viewer.principal.session_token_digest)
    response = RedirectResponse(go_to, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
