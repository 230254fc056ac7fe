"""The RFC 5322 bytes of a queued mail, written directly for the common shape.

`email.message.EmailMessage` with the SMTP policy costs milliseconds per message (its header
model parses and refolds every value), as much as the SMTP exchange itself. The mails the desk
sends have one shape: a few short headers, a text part and maybe an HTML alternative. Those are
written here as text, header values RFC 2047-encoded when not ASCII and bodies
quoted-printable when not plain short ASCII lines; anything else (a header too long for one
line, a non-ASCII address) goes through `EmailMessage`, the general path.
"""

from __future__ import annotations

import binascii
import os
from email.charset import QP, Charset
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr

from frontdesk.core.clock import utcnow
from frontdesk.email.models import OutboundMail as Mail

#: Longest header line written directly (RFC 5322 allows 998; folding is left to the slow path).
MAX_HEADER_LINE = 900
MAX_BODY_LINE = 998
UTF8 = Charset("utf-8")
UTF8.header_encoding = QP


class NeedsGeneralPath(ValueError):
    """The mail has something the direct writer does not handle."""


def message_bytes(mail: Mail) -> bytes:
    """The mail as it goes over SMTP (CRLF line ends); raises ValueError on a header with a
    line break, as the SMTP policy does."""
    try:
        return _direct(mail)
    except NeedsGeneralPath:
        return general_message(mail).as_bytes()


def general_message(mail: Mail) -> EmailMessage:
    """The mail through `EmailMessage` (the SMTP policy refuses line breaks in headers)."""
    message = EmailMessage(policy=SMTP)
    for name, value in _headers(mail):
        message[name] = value
    message.set_content(mail.body_text)
    if mail.body_html:
        message.add_alternative(mail.body_html, subtype="html")
    return message


def _headers(mail: Mail) -> list[tuple[str, str]]:
    headers = [("From", mail.from_address), ("To", mail.recipient)]
    if mail.reply_to:
        headers.append(("Reply-To", mail.reply_to))
    headers += [
        ("Subject", mail.subject),
        ("Date", format_datetime(mail.created_at or utcnow())),
        ("Message-ID", mail.message_id),
    ]
    if mail.in_reply_to:
        headers.append(("In-Reply-To", mail.in_reply_to))
    if mail.references:
        headers.append(("References", mail.references))
    if mail.is_automatic:
        headers += [("Auto-Submitted", "auto-generated"), ("X-Auto-Response-Suppress", "All")]
    if mail.ticket_id is not None:
        headers.append(("X-Frontdesk-Ticket", str(mail.ticket_id)))
    return headers


ADDRESS_HEADERS = frozenset({"From", "To", "Reply-To"})


def _direct(mail: Mail) -> bytes:
    lines = [_header_line(name, value) for name, value in _headers(mail)]
    lines.append("MIME-Version: 1.0")
    if mail.body_html:
        boundary = f"=_{binascii.hexlify(os.urandom(12)).decode()}"
        lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        lines += ["", f"--{boundary}", *_part(mail.body_text, "plain"), f"--{boundary}"]
        lines += [*_part(mail.body_html, "html"), f"--{boundary}--", ""]
    else:
        lines += _part(mail.body_text, "plain")
    return "\r\n".join(lines).encode("ascii")


def _header_line(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"a line break in the {name} header")
    if not value.isascii():
        value = _encoded_address(value) if name in ADDRESS_HEADERS else _encoded(value, name)
    line = f"{name}: {value}"
    if any(len(physical) > MAX_HEADER_LINE for physical in line.split("\r\n")):
        raise NeedsGeneralPath(name)
    return line


def _encoded(value: str, name: str) -> str:
    """RFC 2047 encoded words, folded onto continuation lines as needed."""
    return Header(value, UTF8, header_name=name).encode(linesep="\r\n")


def _encoded_address(value: str) -> str:
    display, address = parseaddr(value)
    if not address.isascii() or not address:
        raise NeedsGeneralPath("address")
    return formataddr((display, address), charset=UTF8)


def _part(text: str, subtype: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    head = f'Content-Type: text/{subtype}; charset="utf-8"'
    lines = text.split("\n")[:-1]
    if text.isascii() and all(len(line) <= MAX_BODY_LINE for line in lines):
        return [head, "Content-Transfer-Encoding: 7bit", "", *lines]
    encoded = binascii.b2a_qp(text.encode("utf-8"), istext=True, header=False).decode("ascii")
    return [head, "Content-Transfer-Encoding: quoted-printable", "", *encoded.split("\n")[:-1]]
