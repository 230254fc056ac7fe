"""User HTML: sanitized to a safe subset, and turned into readable plain text."""

from __future__ import annotations

import html
import re

import nh3

ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr", "i", "img",
    "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "td": {"colspan"}}
BLOCK_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h[1-4]|/blockquote)\s*/?>", re.IGNORECASE)


def sanitize_html(raw: str) -> str:
    """Keep formatting and links, drop scripts, styles, handlers and unknown schemes."""
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "cid"},
        link_rel="noopener noreferrer nofollow",
    )


def html_to_text(raw: str) -> str:
    with_breaks = BLOCK_BREAKS.sub("\n", raw)
    text = html.unescape(nh3.clean(with_breaks, tags=set()))
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
