"""Reading any MIME message into plain data: pure functions over bytes, no I/O.

Built on the standard library's `email` package with the lenient `compat32` policy: a message
in the wild breaks every rule, and a header that does not parse must not lose the whole mail.
The walk over parts is iterative and bounded (depth and count), so a hostile message with a
thousand nested multiparts costs a bounded amount of work.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

from frontdesk.core.html import html_to_text, sanitize_html
from frontdesk.email.quotes import split_reply

MAX_DEPTH = 30
MAX_PARTS = 200
#: The standard parser recurses once per nested multipart; past this many, only the headers
#: are read (a hostile message cannot make it exhaust the stack or the CPU).
MAX_MULTIPARTS = 100
MESSAGE_ID = re.compile(r"<[^<>\s]{1,990}>")
WHITESPACE = re.compile(r"\s+")
KEPT_HEADERS = (
    "message-id",
    "in-reply-to",
    "references",
    "from",
    "to",
    "cc",
    "reply-to",
    "date",
    "subject",
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "return-path",
    "x-frontdesk-ticket",
    "content-type",
)


class UnparseableMail(ValueError):
    """Not a message at all: kept raw and flagged for an admin."""


@dataclass(frozen=True)
class MailPart:
    """A file in the message: an attachment, or an inline image named by its Content-ID."""

    filename: str | None
    content_type: str
    content_id: str | None
    is_inline: bool
    payload: bytes


@dataclass(frozen=True)
class DeliveryReport:
    """What a delivery status notification says about a message that did not arrive."""

    original_message_id: str | None
    recipients: list[str]
    action: str | None
    status: str | None
    diagnostic: str | None


@dataclass
class ParsedMail:
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: str | None
    sender_name: str
    to: list[str]
    cc: list[str]
    reply_to: str | None
    #: None without the header; "" for the null sender `<>` (bounces, auto-replies).
    return_path: str | None
    headers: dict[str, str]
    #: Every Authentication-Results header, top (added last) first.
    authentication_results: list[str] = field(default_factory=list)
    text: str = ""
    quoted: str = ""
    signature: str = ""
    full_text: str = ""
    html: str | None = None
    parts: list[MailPart] = field(default_factory=list)
    report: DeliveryReport | None = None
    #: What was left out (too deep, too many parts, undecodable), for the record.
    notes: list[str] = field(default_factory=list)
    #: The body could not be read at all: the message needs a person to look at it.
    body_unreadable: bool = False

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this mail answers, nearest first."""
        return list(dict.fromkeys([*self.in_reply_to, *reversed(self.references)]))


def clean_text(value: str) -> str:
    """No NUL (PostgreSQL refuses it) and no lone surrogates (nothing can encode them)."""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def decode_bytes(payload: bytes, charset: str | None) -> str:
    """Text of a part whose declared charset may be wrong: 8-bit bytes that are valid UTF-8 are
    UTF-8 (the commonest mis-declaration), else the declared charset (7-bit ones such as
    ISO-2022-JP included), else Windows-1252, which decodes anything."""
    if not payload.isascii():
        try:
            return clean_text(payload.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    if charset:
        try:
            codecs.lookup(charset)
            return clean_text(payload.decode(charset))
        except (LookupError, UnicodeDecodeError, ValueError):
            pass
    return clean_text(payload.decode("cp1252", errors="replace"))


def header_text(message: Message, name: str) -> str:
    """A header decoded (encoded words included) on one line; "" when absent or hopeless."""
    raw = message.get(name)
    if raw is None:
        return ""
    try:
        text = "".join(
            decode_bytes(part, None if charset in (None, "unknown-8bit") else charset)
            if isinstance(part, bytes)
            else part
            for part, charset in decode_header(raw)
        )
    except Exception:
        text = str(raw)
    return clean_text(WHITESPACE.sub(" ", text)).strip()


def message_ids(value: str) -> list[str]:
    return MESSAGE_ID.findall(value)


def _all_headers(message: Message, name: str, limit: int = 20) -> list[str]:
    values = message.get_all(name) or []
    return [clean_text(WHITESPACE.sub(" ", str(value)))[:2000] for value in values[:limit]]


def _addresses(message: Message, name: str) -> list[tuple[str, str]]:
    values = [header_text(message, name)] if message.get(name) is not None else []
    found = []
    for display, address in getaddresses(values):
        address = address.strip().lower()
        if "@" in address and len(address) <= 320 and " " not in address:
            found.append((display, address))
    return found


def _first_message_id(message: Message, name: str) -> str | None:
    ids = message_ids(header_text(message, name))
    return ids[0] if ids else None


def _return_path(message: Message) -> str | None:
    if message.get("Return-Path") is None:
        return None
    value = header_text(message, "Return-Path").strip("<> ")
    return value.lower()


def parse_mail(raw: bytes, *, max_depth: int = MAX_DEPTH, max_parts: int = MAX_PARTS) -> ParsedMail:
    """Everything Frontdesk needs of a raw RFC 5322 message. Raises UnparseableMail when the
    bytes carry no message header at all."""
    if not raw.strip():
        raise UnparseableMail("the message is empty")
    headers_only = raw.lower().count(b"multipart/") > MAX_MULTIPARTS
    try:
        if headers_only:
            message = BytesHeaderParser(policy=compat32).parsebytes(raw)
        else:
            message = message_from_bytes(raw, policy=compat32)
    except Exception as exc:  # the parser is lenient; this is for the truly unexpected
        raise UnparseableMail(f"the message cannot be read: {exc}") from exc
    if not any(message.get(name) for name in ("From", "Message-ID", "Subject", "Date", "To")):
        raise UnparseableMail("the message has no From, To, Subject, Date or Message-ID header")
    senders = _addresses(message, "From")
    reply_to = _addresses(message, "Reply-To")
    parsed = ParsedMail(
        message_id=_first_message_id(message, "Message-ID"),
        in_reply_to=message_ids(header_text(message, "In-Reply-To")),
        references=message_ids(header_text(message, "References")),
        subject=header_text(message, "Subject")[:500],
        sender=senders[0][1] if senders else None,
        sender_name=(senders[0][0] if senders else "")[:200],
        to=[address for _, address in _addresses(message, "To")],
        cc=[address for _, address in _addresses(message, "Cc")],
        reply_to=reply_to[0][1] if reply_to else None,
        return_path=_return_path(message),
        headers={
            name: header_text(message, name)[:2000]
            for name in KEPT_HEADERS
            if message.get(name) is not None
        },
        authentication_results=_all_headers(message, "Authentication-Results"),
    )
    if headers_only:
        parsed.body_unreadable = True
        parsed.notes.append(f"the body has more than {MAX_MULTIPARTS} multiparts and was not read")
        return parsed
    _read_body(message, parsed, max_depth=max_depth, max_parts=max_parts)
    return parsed


def _read_body(message: Message, parsed: ParsedMail, *, max_depth: int, max_parts: int) -> None:
    plain: str | None = None
    html: str | None = None
    seen = 0
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > max_parts:
            parsed.notes.append(f"parts beyond the first {max_parts} were not read")
            break
        content_type = part.get_content_type()
        if content_type == "multipart/report":
            parsed.report = _delivery_report(part)
        if part.is_multipart() and content_type != "message/rfc822":
            if depth >= max_depth:
                parsed.notes.append(f"parts nested deeper than {max_depth} levels were not read")
                continue
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend(
                    (child, depth + 1) for child in reversed(children) if isinstance(child, Message)
                )
            continue
        disposition = (part.get_content_disposition() or "").lower()
        is_body_text = content_type in ("text/plain", "text/html") and disposition != "attachment"
        if is_body_text and not _filename(part):
            text = decode_bytes(_payload(part), part.get_content_charset())
            if content_type == "text/plain" and plain is None:
                plain = text
                continue
            if content_type == "text/html" and html is None:
                html = text
                continue
        file = _file(part, content_type, disposition)
        if file is not None:
            parsed.parts.append(file)
    _set_bodies(parsed, plain, html)


def _set_bodies(parsed: ParsedMail, plain: str | None, html: str | None) -> None:
    if html is not None:
        parsed.html = clean_text(sanitize_html(html)) or None
    if plain is None and parsed.html is not None:
        plain = html_to_text(parsed.html)
    full = (plain or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    parsed.full_text = full
    parsed.text, parsed.quoted, parsed.signature = split_reply(full)


def _payload(part: Message) -> bytes:
    """The decoded bytes; broken base64 or quoted-printable yields what can be recovered."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "replace") if isinstance(raw, str) else b""


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    if not name:
        return None
    with contextlib.suppress(Exception):  # a broken encoded word: keep the name as written
        name = str(make_header(decode_header(name)))
    return clean_text(name)[:255] or None


def _file(part: Message, content_type: str, disposition: str) -> MailPart | None:
    if content_type == "message/rfc822":
        inner = part.get_payload()
        inner_message = inner[0] if isinstance(inner, list) and inner else None
        payload = _as_bytes(inner_message) if isinstance(inner_message, Message) else b""
        filename: str | None = _filename(part) or "forwarded-message.eml"
    else:
        payload = _payload(part)
        filename = _filename(part)
    if not payload:
        return None
    content_id = header_text(part, "Content-ID").strip("<> ") or None
    is_inline = content_id is not None and disposition != "attachment"
    return MailPart(
        filename=filename,
        content_type=content_type,
        content_id=content_id[:255] if content_id else None,
        is_inline=is_inline,
        payload=payload,
    )


def _as_bytes(message: Message) -> bytes:
    try:
        return message.as_bytes(policy=compat32)
    except Exception:
        return b""


def _delivery_report(report: Message) -> DeliveryReport:
    """The original Message-ID, recipients and status of a multipart/report (RFC 3464)."""
    original: str | None = None
    recipients: list[str] = []
    action = status = diagnostic = None
    children = report.get_payload()
    for child in children if isinstance(children, list) else []:
        if not isinstance(child, Message):
            continue
        kind = child.get_content_type()
        if kind == "message/delivery-status":
            for block in _status_blocks(child):
                recipient = header_text(block, "Final-Recipient") or header_text(
                    block, "Original-Recipient"
                )
                if recipient:
                    recipients.append(recipient.rsplit(";", 1)[-1].strip().lower())
                action = action or header_text(block, "Action") or None
                status = status or header_text(block, "Status") or None
                diagnostic = diagnostic or header_text(block, "Diagnostic-Code") or None
        elif kind in ("message/rfc822", "text/rfc822-headers"):
            original = original or _original_message_id(child)
    return DeliveryReport(original, recipients, action, status, diagnostic)


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = payload if isinstance(payload, str) else ""
    return [message_from_bytes(chunk.encode(), policy=compat32) for chunk in text.split("\n\n")]


def _original_message_id(part: Message) -> str | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return _first_message_id(payload[0], "Message-ID")
    text = decode_bytes(_payload(part), None)
    headers = message_from_bytes(text.encode(), policy=compat32)
    return _first_message_id(headers, "Message-ID")
