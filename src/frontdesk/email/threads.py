"""Which ticket a mail belongs to: the pure part (subject tokens) of the threading decision."""

from __future__ import annotations

import re

TOKEN = re.compile(r"\[([A-Z][A-Z0-9]{0,9})-(\d{1,9})\]")


def ticket_number_in_subject(subject: str, prefix: str) -> int | None:
    """The number of the first `[PREFIX-123]` token of the tenant's own prefix."""
    for found_prefix, number in TOKEN.findall(subject):
        if found_prefix == prefix:
            return int(number)
    return None


def subject_with_token(subject: str, prefix: str, number: int) -> str:
    """The subject with the ticket's token once, whatever the reply prefixes before it."""
    token = f"[{prefix}-{number}]"
    if token in subject:
        return subject
    return f"{subject} {token}".strip()
