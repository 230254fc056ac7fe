"""Every error leaves as RFC 9457 problem+json with a stable code; nothing else renders errors."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from frontdesk.core.errors import (
    BadRequest,
    Conflict,
    FrontdeskError,
    MalformedJson,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from frontdesk.core.logs import get_logger
from frontdesk.web.page_errors import page_error, wants_html

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"


class ProblemDetails(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str


class ConcurrentUpdate(Conflict):
    code = "concurrent_update"
    title = "Someone else changed this at the same time; read it again and retry"


class IntegrityConflict(Conflict):
    code = "integrity_conflict"
    title = "The change conflicts with existing data"


class UnstorableValue(ValidationFailed):
    code = "unstorable_value"
    title = "A value cannot be stored, e.g. text with a NUL character"


class InternalError(FrontdeskError):
    status = 500
    code = "internal_error"
    title = "Internal error"


def problem_response(error: FrontdeskError) -> JSONResponse:
    return JSONResponse(
        error.problem(), status_code=error.status, media_type=PROBLEM_JSON, headers=error.headers
    )


def _respond(request: Request, error: FrontdeskError) -> Response:
    """problem+json for the API; an HTML page (or the sign-in redirect) for the web pages."""
    if wants_html(request):
        return page_error(request, error)
    return problem_response(error)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "loc": list(error.get("loc", ())),
            "msg": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in exc.errors()
    ]


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(FrontdeskError)
    async def _frontdesk(request: Request, exc: FrontdeskError) -> Response:
        return _respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = _validation_errors(exc)
        if any(error["type"] == "json_invalid" for error in errors):
            return _respond(request, MalformedJson())
        return _respond(request, ValidationFailed(errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        error: FrontdeskError
        if exc.status_code == 404:
            error = NotFound()
        elif exc.status_code == 405:
            error = MethodNotAllowed()
        else:
            error = BadRequest(str(exc.detail))
            error.status = exc.status_code  # type: ignore[misc]
        response = _respond(request, error)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, _exc: StaleDataError) -> Response:
        return _respond(request, ConcurrentUpdate())

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        log.info("integrity_conflict", error=str(exc.orig)[:500])
        return _respond(request, IntegrityConflict())

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> Response:
        log.error("database_unavailable", error=str(exc.orig)[:500])
        error = ServiceUnavailable("the database is busy or unreachable; retry shortly")
        error.headers["Retry-After"] = "1"
        return _respond(request, error)

    @app.exception_handler(DBAPIError)
    async def _data(request: Request, exc: DBAPIError) -> Response:
        # SQLSTATE class 22 is "data exception": a value from the request that the database
        # refuses (PostgreSQL text cannot hold U+0000, for one). Anything else is unexpected.
        if not str(getattr(exc.orig, "sqlstate", None) or "").startswith("22"):
            raise exc
        log.info("unstorable_value", error=str(exc.orig)[:500])
        return _respond(request, UnstorableValue())

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled_error", error_type=type(exc).__name__)
        return _respond(request, InternalError())
