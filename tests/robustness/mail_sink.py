"""A real SMTP server (aiosmtpd) on a loopback port for robustness tests that read what the
desk mails: the crash test's separate worker process and the in-process mail sweeps.

The server keeps what it accepted in `tests.email.conftest.Inbox`, as the email tests do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message

from aiosmtpd.controller import Controller

from tests.email.conftest import Inbox, free_port

__all__ = ["Inbox", "html_parts", "smtp_sink", "text_of"]


@contextmanager
def smtp_sink() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def html_parts(message: Message) -> list[str]:
    """Every text/html part of a received message, decoded."""
    found = []
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return found


def text_of(message: Message) -> str:
    """Headers and every decoded text part: what a mail client can show of the message."""
    parts = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            parts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(parts)
