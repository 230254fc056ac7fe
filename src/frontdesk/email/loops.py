"""Noise and loop protection: pure judgements over a parsed message's headers."""

from __future__ import annotations

from frontdesk.email.parsing import ParsedMail

BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
DAEMON_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster"})


def is_auto_reply(mail: ParsedMail) -> bool:
    """An automatic mail (RFC 3834 and the common vendor headers): stored, never answered."""
    headers = mail.headers
    auto_submitted = headers.get("auto-submitted", "").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return True
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return True
    if "x-auto-response-suppress" in headers:
        return True
    if headers.get("precedence", "").strip().lower() in BULK_PRECEDENCE:
        return True
    return mail.return_path == ""


def is_bounce(mail: ParsedMail) -> bool:
    """A delivery status notification: a multipart/report, or a daemon's mail about one."""
    if mail.report is not None:
        return True
    local_part = (mail.sender or "").split("@", 1)[0]
    return local_part in DAEMON_LOCAL_PARTS and mail.return_path == ""


def is_own_address(address: str | None, own: frozenset[str]) -> bool:
    return address is not None and address.lower() in own
