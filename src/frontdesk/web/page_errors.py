"""Errors on pages become HTML pages (or a redirect to sign in), never problem+json."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from frontdesk.core.errors import FrontdeskError
from frontdesk.web.auth import SignInRequired
from frontdesk.web.templating import render

PAGE_PREFIXES = ("/app", "/portal")


def is_page(request: Request) -> bool:
    path = request.url.path
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PAGE_PREFIXES)


def wants_html(request: Request) -> bool:
    """A browser navigating (or posting a form), not a script asking for data."""
    if request.headers.get("x-requested-with") == "fetch":
        return False
    return is_page(request)


def page_error(request: Request, error: FrontdeskError) -> Response:
    if isinstance(error, SignInRequired):
        query = urlencode({"next": error.next_url})
        return RedirectResponse(f"{error.sign_in_url}?{query}", status_code=303)
    response: HTMLResponse = render(
        request,
        "error.html",
        status_code=error.status,
        error=error,
        fields=_fields(error),
    )
    response.headers.update(error.headers)
    return response


def _fields(error: FrontdeskError) -> list[str]:
    """The names of the bad fields, whichever way the error carries them."""
    names: list[str] = []
    if isinstance(error.data.get("field"), str):
        names.append(error.data["field"])
    for item in error.data.get("fields", []) or []:
        names.append(str(item))
    for item in error.data.get("errors", []) or []:
        location = [str(part) for part in item.get("loc", []) if part not in ("body", "query")]
        names.append(".".join(location) or "request")
    return names
