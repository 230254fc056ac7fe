"""The directly written mail reads, in a mail client's parser, exactly as the general
`EmailMessage` path's: the same headers, the same text and HTML."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from uuid import uuid4

import pytest

from frontdesk.core.clock import utcnow
from frontdesk.email.composing import general_message, message_bytes
from frontdesk.email.models import OutboundMail

HEADERS = (
    "From", "To", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
    "Auto-Submitted", "X-Auto-Response-Suppress", "X-Frontdesk-Ticket",
)  # fmt: skip


def queued(subject: str, body: str, html: str | None, sender: str) -> OutboundMail:
    return OutboundMail(
        from_address=sender,
        recipient="dana@customer.example.org",
        reply_to="help@acme.example.com",
        subject=subject,
        message_id="<m-1@frontdesk.example.com>",
        in_reply_to="<a-1@customer.example.org>",
        references=" ".join(f"<r-{n}@customer.example.org>" for n in range(12)),
        is_automatic=True,
        ticket_id=uuid4(),
        body_text=body,
        body_html=html,
        created_at=utcnow(),
    )


CASES = [
    queued("Received [ACME-1]", "Hello Dana,\n\nThanks.\n", "<p>Hi</p>", "A <d@x.example>"),
    queued("Grüße \u2013 vielen Dank für Ihre Geduld, wir melden uns sehr bald [ACME-7]",
           "Hallo Dörte,\r\n.a line with a dot\n" + "x" * 1500, None, "Désk Ünïcode <d@x.example>"),
    queued("Trailing", "spaces   \nand a tab\t\nend", "<b>ä</b>", "d@x.example"),
    queued("x" * 950, "Long subject: the general path folds it.", None, "d@x.example"),
]  # fmt: skip


def _parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def _text(message: EmailMessage, kind: str) -> str | None:
    part = message.get_body((kind,))
    if part is None or part.get_content_subtype() != kind:
        return None
    content: str = part.get_content()
    return content.replace("\r\n", "\n").rstrip("\n")


@pytest.mark.parametrize("mail", CASES)
def test_direct_and_general_mail_read_the_same(mail: OutboundMail) -> None:
    raw = message_bytes(mail)
    direct, general = _parsed(raw), _parsed(general_message(mail).as_bytes())
    for name in HEADERS:
        assert str(direct[name]) == str(general[name]), name
    assert direct["Subject"] == mail.subject
    for kind in ("plain", "html"):
        assert _text(direct, kind) == _text(general, kind), kind
    lines = raw.split(b"\r\n")
    assert all(len(line) <= 998 for line in lines)
    assert all(b"\n" not in line and b"\r" not in line for line in lines)


def test_a_line_break_in_a_header_is_refused() -> None:
    mail = queued("Hi\r\nBcc: everyone@example.com", "Body", None, "d@x.example")
    with pytest.raises(ValueError, match="line break"):
        message_bytes(mail)
