"""Pure ASGI middleware: request ids and access logs, security headers, the body size cap."""

from __future__ import annotations

import json
import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontdesk.core.errors import PayloadTooLarge
from frontdesk.core.ids import new_id
from frontdesk.core.logs import get_logger, request_id_var

log = get_logger("frontdesk.access")
#: Asked before each access line: structlog runs its processors (time stamp included) before the
#: standard library drops a line below the level, ~20 us a request for nothing.
access_level = logging.getLogger("frontdesk.access")

SESSION_COOKIE_MARKER = b"frontdesk_session="
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    ),
]
DOCS_PATHS = ("/api/docs",)
#: POSTs that carry files: the API's uploads and the pages' forms with attachments.
UPLOAD_SUFFIXES = ("/attachments", "/compose", "/tickets/new")
#: Mail pushed by an MTA: authenticated by the secret in its path, checked before the body is read.
PUSH_PREFIX = "/api/v1/email/inbound/"


class RequestContextMiddleware:
    """Gives every request an id (kept from `X-Request-ID` when sane) and logs one line for it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else str(new_id())
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        is_docs = scope["path"].startswith(DOCS_PATHS)

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                present = {name.lower() for name, _ in headers}
                headers.extend(
                    (name, value)
                    for name, value in SECURITY_HEADERS
                    if name not in present and not (is_docs and name == b"content-security-policy")
                )
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if access_level.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )
            request_id_var.reset(token)


def _has_credentials(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    return b"authorization" in headers or SESSION_COOKIE_MARKER in headers.get(b"cookie", b"")


class BodySizeLimitMiddleware:
    """Answers 413 for bodies over the cap, by declared length or by bytes actually received.

    Uploads (POST to a path ending in one of UPLOAD_SUFFIXES) that carry credentials get
    `upload_max_bytes` instead; the tenant's own, usually smaller, file limit is enforced by the
    service. Without credentials the small cap stands, so an anonymous caller cannot make the
    server buffer a large body before authentication refuses it. Mail pushed to a channel's
    secret URL gets the upload cap too: the route checks the secret before it reads the body.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, upload_max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes or max_bytes

    def limit_for(self, scope: Scope) -> int:
        if scope["method"] != "POST":
            return self.max_bytes
        path = scope["path"]
        if path.startswith(PUSH_PREFIX):
            return self.upload_max_bytes
        is_upload = path.rstrip("/").endswith(UPLOAD_SUFFIXES)
        return self.upload_max_bytes if is_upload and _has_credentials(scope) else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > max_bytes
            except ValueError:
                too_large = False
            if too_large:
                await self._reject(send, max_bytes)
                return
        received = 0
        overflowed = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, overflowed
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    overflowed = True
                    raise PayloadTooLarge(f"the body exceeds {max_bytes} bytes")
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                if overflowed:
                    return
                started = True
            elif message["type"] == "http.response.body" and overflowed and not started:
                return
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except PayloadTooLarge:
            if started:
                raise
        if overflowed and not started:
            await self._reject(send, max_bytes)

    async def _reject(self, send: Send, max_bytes: int) -> None:
        error = PayloadTooLarge(f"the body exceeds {max_bytes} bytes")
        body = json.dumps(error.problem()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
