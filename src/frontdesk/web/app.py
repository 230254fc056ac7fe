"""The application: routers, middleware, error handlers, OpenAPI and the process lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI, routing
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

import frontdesk
from frontdesk.core.config import Settings, get_settings
from frontdesk.core.db import create_engine, create_sessionmaker
from frontdesk.core.logs import configure_logging
from frontdesk.core.migrations import is_current
from frontdesk.core.patch import PATCH_MODELS
from frontdesk.core.storage import LocalBlobStore
from frontdesk.email import routes as email_routes
from frontdesk.email.service.sign_in_links import OutboundSignInLinks
from frontdesk.identity.routes import auth, contacts, groups, members, organizations, tokens
from frontdesk.notifications import routes as notification_routes
from frontdesk.sla import routes as sla_routes
from frontdesk.tenancy import routes as tenancy_routes
from frontdesk.tickets.routes import admin as ticket_admin_routes
from frontdesk.tickets.routes import attachments, conversation, nested
from frontdesk.tickets.routes import settings as ticket_settings
from frontdesk.tickets.routes import tickets as ticket_routes
from frontdesk.tickets.service.attachments import SkippingScanner
from frontdesk.web.admin import platform as platform_pages
from frontdesk.web.admin import routes as admin_pages
from frontdesk.web.console import live as console_live
from frontdesk.web.console import notifications as console_notifications
from frontdesk.web.console import routes as console_routes
from frontdesk.web.console import ticket_routes as console_ticket_routes
from frontdesk.web.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from frontdesk.web.portal import assets as portal_assets
from frontdesk.web.portal import routes as portal_routes
from frontdesk.web.problems import PROBLEM_JSON, ProblemDetails, install_problem_handlers
from frontdesk.web.templating import STATIC
from frontdesk.worker import load_subscribers, run_worker

#: A request is matched against the routes in this order, one by one: the busiest come first.
#: No two routes' paths overlap (tests/web/test_routing.py), so the order changes nothing else.
API_ROUTERS = [
    ticket_routes.router,
    conversation.router,
    nested.router,
    attachments.router,
    email_routes.push_router,
    auth.router,
    tenancy_routes.admin_router,
    tenancy_routes.tenant_router,
    members.router,
    groups.router,
    contacts.router,
    organizations.router,
    tokens.router,
    ticket_settings.router,
    ticket_admin_routes.router,
    email_routes.router,
    notification_routes.router,
    sla_routes.router,
]

#: Server-rendered pages (not in the OpenAPI document). Literal paths such as /app/login and
#: /app/platform come before /app/{tenant}.
PAGE_ROUTERS = [
    platform_pages.router,
    console_routes.router,
    admin_pages.router,
    console_live.router,
    console_notifications.router,
    console_ticket_routes.router,
    portal_assets.router,
    portal_routes.router,
]

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
    }
    for status, description in {
        400: "Bad request",
        401: "Not authenticated",
        403: "Not allowed",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict",
        412: "Precondition failed",
        413: "Body too large",
        415: "Unsupported media type",
        422: "Invalid request",
        429: "Too many requests",
        503: "Service unavailable",
    }.items()
}


def _run_embedded_worker(settings: Settings) -> bool:
    return settings.embedded_worker if settings.embedded_worker is not None else settings.is_sqlite


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    warm_routes(app)
    engine = create_engine(settings.db_url)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.blob_store = LocalBlobStore(settings.data_dir / "blobs")
    try:
        if not _run_embedded_worker(settings):
            yield
            return
        stop = anyio.Event()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(
                lambda: run_worker(
                    settings, app.state.sessionmaker, stop=stop, blob_store=app.state.blob_store
                )
            )
            try:
                yield
            finally:
                stop.set()
    finally:
        await engine.dispose()


def warm_routes(app: FastAPI) -> None:
    """Build every route's handler before the first request instead of during it.

    FastAPI 0.165 sets up an included router's routes (dependency graph, response fields,
    handler) when a request first reaches that router, and reads an endpoint's source location
    on its first call; together about 0.6 s per process, paid by the first callers.
    """
    locate = getattr(routing, "_extract_endpoint_context", None)
    for context in routing.iter_route_contexts(app.routes):
        dependant = getattr(context.original_route, "dependant", None)
        if locate is not None and dependant is not None and dependant.call is not None:
            locate(dependant.call)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ProblemDetails"] = ProblemDetails.model_json_schema()
    for model in PATCH_MODELS:
        definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, nested_schema in definition.pop("$defs", {}).items():
            components.setdefault(name, nested_schema)
        components.setdefault(model.__name__, definition)
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_safe_to_start()
    load_subscribers()
    configure_logging(settings.log_level, settings.log_format)
    app = FastAPI(
        title="Frontdesk",
        version=frontdesk.__version__,
        description="A multi-tenant helpdesk: tickets by email, portal and API.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    # A deployment with a virus scanner replaces this before serving.
    app.state.scanner = SkippingScanner()
    # Portal sign-in links go by mail; without an SMTP server they could never arrive.
    app.state.sign_in_link_sender = OutboundSignInLinks(settings) if settings.smtp_url else None
    install_problem_handlers(app)
    for router in API_ROUTERS:
        app.include_router(router, responses=PROBLEM_RESPONSES)
    _add_health_routes(app)
    for router in PAGE_ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        upload_max_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(RequestContextMiddleware)
    return app


def _add_health_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: PROBLEM_RESPONSES[503]})
    async def readyz() -> JSONResponse:
        """The database answers and its schema is at the newest migration."""
        settings: Settings = app.state.settings
        try:
            async with app.state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            current = await is_current(app.state.engine, settings.db_url)
        except Exception as exc:  # any failure to reach the database means not ready
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable", "error": type(exc).__name__},
                status_code=503,
            )
        if not current:
            return JSONResponse({"status": "unavailable", "migrations": "pending"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "migrations": "current"})
