"""Separating what a reply says from the history it quotes and the signature under it.

Pure and line-based: mail clients mark quoted history in a handful of ways (Gmail and Apple
Mail "On … wrote:", Outlook's "-----Original Message-----" or a From:/Sent: block, `>` lines,
our own reply marker), and signatures with the RFC 3676 "-- " line or a mobile footer.
"""

from __future__ import annotations

import re

#: Placed at the top of every mail Frontdesk sends; a reply's text ends above it.
REPLY_MARKER = "##- Please type your reply above this line -##"

ATTRIBUTION = re.compile(
    r"^(on\b.{0,200}\bwrote:|am\b.{0,200}\bschrieb.{0,100}:|le\b.{0,200}\ba écrit ?:"
    r"|el\b.{0,200}\bescribió:|op\b.{0,200}\bschreef.{0,100}:)\s*$",
    re.IGNORECASE,
)
ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|"
    r"mensaje original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
#: A forward's quoted mail is what the sender wants us to read: nothing after it is cut.
FORWARDED = re.compile(
    r"^(-{2,}\s*(forwarded message|weitergeleitete nachricht)\s*-{2,}|begin forwarded message:)$",
    re.IGNORECASE,
)
OUTLOOK_HEADER = re.compile(r"^\*?(from|von|de):\*?\s", re.IGNORECASE)
OUTLOOK_FOLLOWING = re.compile(r"^\*?(sent|date|gesendet|envoyé|to|an|à|subject):\*?\s", re.I)
RULE = re.compile(r"^_{10,}\s*$")
MOBILE_FOOTER = re.compile(
    r"^(sent from my (iphone|ipad|android|mobile|samsung|phone)|get outlook for (ios|android)"
    r"|von meinem iphone gesendet)\b.*$",
    re.IGNORECASE,
)


def split_reply(text: str) -> tuple[str, str, str]:
    """(new text, quoted history, signature) of a plain-text body; whitespace-trimmed."""
    lines = text.split("\n")
    cut = _quote_start(lines)
    new, quoted = lines[:cut], lines[cut:]
    new, signature = _split_signature(new)
    body = "\n".join(new).strip()
    if not body:
        # Nothing but a quote (or a bare signature): keep everything rather than nothing.
        return text.strip(), "", ""
    return body, "\n".join(quoted).strip(), "\n".join(signature).strip()


def _quote_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        stripped = line.strip()
        if FORWARDED.match(stripped):
            return len(lines)
        if REPLY_MARKER in stripped or ORIGINAL_MESSAGE.match(stripped):
            return index
        if ATTRIBUTION.match(stripped):
            return index
        joined = f"{stripped} {lines[index + 1].strip()}" if index + 1 < len(lines) else ""
        if stripped.lower().startswith("on ") and ATTRIBUTION.match(joined):
            return index
        if RULE.match(stripped) and _outlook_block(lines, index + 1):
            return index
        if OUTLOOK_HEADER.match(stripped) and _outlook_block(lines, index):
            return index
        if stripped.startswith(">") and _all_quoted(lines[index:]):
            return index
    return len(lines)


def _outlook_block(lines: list[str], start: int) -> bool:
    """A From: line followed closely by Sent:/Date:/To:/Subject: lines."""
    window = [line.strip() for line in lines[start : start + 6] if line.strip()]
    if not window or not OUTLOOK_HEADER.match(window[0]):
        return False
    return sum(1 for line in window[1:] if OUTLOOK_FOLLOWING.match(line)) >= 2


def _all_quoted(lines: list[str]) -> bool:
    return all(not line.strip() or line.lstrip().startswith(">") for line in lines)


def _split_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].rstrip() in ("--", "-- ") or lines[index] == "-- ":
            return lines[:index], lines[index + 1 :]
    for index in range(len(lines) - 1, max(-1, len(lines) - 4), -1):
        if MOBILE_FOOTER.match(lines[index].strip()):
            return lines[:index], lines[index:]
    return lines, []
