"""Errors are types: each carries a stable code and an HTTP status, rendered as problem+json."""

from __future__ import annotations

from typing import Any, ClassVar


class FrontdeskError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, **data: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.data = data
        self.headers: dict[str, str] = {}

    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://frontdesk.dev/problems/{self.code.replace('_', '-')}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        body.update(self.data)
        return body


class BadRequest(FrontdeskError):
    pass


class MalformedJson(BadRequest):
    code = "malformed_json"
    title = "The body is not valid JSON"


class InvalidCursor(FrontdeskError):
    code = "invalid_cursor"
    title = "Invalid pagination cursor"


class InvalidSort(FrontdeskError):
    code = "invalid_sort"
    title = "Unknown sort order"


class InvalidPatch(FrontdeskError):
    status = 422
    code = "invalid_patch"
    title = "The patch cannot be applied"


class ValidationFailed(FrontdeskError):
    status = 422
    code = "validation_failed"
    title = "The request is not valid"


class Unauthorized(FrontdeskError):
    status = 401
    code = "unauthorized"
    title = "Authentication required"


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    title = "Email or password is wrong"


class Forbidden(FrontdeskError):
    status = 403
    code = "forbidden"
    title = "You are not allowed to do this"


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    title = "Missing or wrong CSRF token"


class NotFound(FrontdeskError):
    status = 404
    code = "not_found"
    title = "Not found"


class MethodNotAllowed(FrontdeskError):
    status = 405
    code = "method_not_allowed"
    title = "Method not allowed"


class Conflict(FrontdeskError):
    status = 409
    code = "conflict"
    title = "Conflict"


class AlreadyExists(Conflict):
    code = "already_exists"
    title = "It already exists"


class PreconditionFailed(FrontdeskError):
    status = 412
    code = "precondition_failed"
    title = "The resource changed since you read it"


class PayloadTooLarge(FrontdeskError):
    status = 413
    code = "payload_too_large"
    title = "The request body is too large"


class UnsupportedMediaType(FrontdeskError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported content type"


class TooManyRequests(FrontdeskError):
    status = 429
    code = "too_many_requests"
    title = "Too many attempts"

    def __init__(self, detail: str | None = None, *, retry_after: int, **data: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **data)
        self.headers["Retry-After"] = str(retry_after)


class ServiceUnavailable(FrontdeskError):
    status = 503
    code = "service_unavailable"
    title = "Service unavailable"
