"""Mail templates: Jinja2, text and HTML, per language, overridable per tenant.

Built-in templates live in `templates/<language>/` (English is the fallback for anything a
language lacks). A tenant's override is a template string from the database, so every template
renders in Jinja2's sandbox. A broken override falls back to the built-in template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateError, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from frontdesk.core.logs import get_logger

log = get_logger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
FALLBACK_LANGUAGE = "en"
LINE_BREAKS = re.compile(r"[\r\n\t]+")


@dataclass(frozen=True)
class Override:
    subject: str
    body_text: str
    body_html: str | None


@dataclass(frozen=True)
class Rendered:
    subject: str
    body_text: str
    body_html: str | None


def language_of(locale: str | None) -> str:
    language = (locale or FALLBACK_LANGUAGE).replace("_", "-").split("-", 1)[0].lower()
    return language if _has_templates(language) else FALLBACK_LANGUAGE


@lru_cache(maxsize=64)
def _has_templates(language: str) -> bool:
    return (TEMPLATES / language).is_dir()


@lru_cache
def environment(language: str) -> SandboxedEnvironment:
    paths = [str(TEMPLATES / language)]
    if language != FALLBACK_LANGUAGE:
        paths.append(str(TEMPLATES / FALLBACK_LANGUAGE))
    return SandboxedEnvironment(
        loader=FileSystemLoader(paths),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        # The built-in templates ship with the code: compiled once, never checked for changes.
        auto_reload=False,
    )


def one_line(subject: str) -> str:
    """A header value cannot carry line breaks (header injection) or run on forever."""
    return LINE_BREAKS.sub(" ", subject).strip()[:900]


def render(
    kind: str,
    locale: str | None,
    context: dict[str, Any],
    override: Override | None = None,
    *,
    strict: bool = False,
) -> Rendered:
    """The mail of `kind` in the recipient's language; a tenant's override wins unless it
    fails to render (then the built-in one is used, or with `strict` the error raised)."""
    env = environment(language_of(locale))
    if override is not None:
        try:
            return _render_override(env, override, context)
        except TemplateError:
            if strict:
                raise
            log.warning("email_template_override_failed", kind=kind)
    return Rendered(
        subject=one_line(env.get_template(f"{kind}.subject.txt").render(context)),
        body_text=env.get_template(f"{kind}.txt").render(context).strip() + "\n",
        body_html=env.get_template(f"{kind}.html").render(context),
    )


def _render_override(
    env: SandboxedEnvironment, override: Override, context: dict[str, Any]
) -> Rendered:
    html = None
    if override.body_html is not None:
        html = _compiled(env, override.body_html, html=True).render(context)
    return Rendered(
        subject=one_line(_compiled(env, override.subject).render(context)),
        body_text=_compiled(env, override.body_text).render(context).strip() + "\n",
        body_html=html,
    )


@lru_cache(maxsize=256)
def _compiled(env: SandboxedEnvironment, source: str, *, html: bool = False) -> Template:
    """A tenant's template, compiled once per text (a batch of mail renders it many times)."""
    return (env.overlay(autoescape=True) if html else env).from_string(source)
