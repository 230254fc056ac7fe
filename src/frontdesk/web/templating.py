"""Jinja2 templates for the pages: autoescaped, with the few filters the templates share."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from frontdesk.core.clock import utcnow

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def when(value: datetime | None) -> str:
    """A compact absolute time in UTC (the `title` of a relative one)."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """`3 min ago`, `in 2 h`, `5 d ago`: how far a moment is from now, coarsely."""
    if value is None:
        return ""
    seconds = int(((now or utcnow()) - value).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            amount = f"{seconds // size} {unit}"
            return f"in {amount}" if future else f"{amount} ago"
    return "just now"


def file_size(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size = size / 1024  # type: ignore[assignment]
    return f"{size:.1f} GB"


def safe_html(value: str | None) -> Markup:
    """Message HTML is sanitized (nh3) when stored; only that may be rendered as markup."""
    return Markup(value or "")  # noqa: S704 - sanitized at write time (tickets/service/messages.py)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, ago=ago, file_size=file_size, sanitized=safe_html)
    return env


ENVIRONMENT = _environment()


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    template = ENVIRONMENT.get_template(name)
    html = template.render(request=request, now=utcnow(), **context)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
