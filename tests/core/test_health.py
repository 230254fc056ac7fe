"""Liveness and readiness."""

from __future__ import annotations

from pathlib import Path

import httpx

from frontdesk.core.config import Settings
from frontdesk.web.app import create_app


async def test_readiness_reports_pending_migrations(tmp_path: Path, settings: Settings) -> None:
    unmigrated = settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"}
    )
    app = create_app(unmigrated)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/healthz")).status_code == 200
            ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["migrations"] == "pending"


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    mine = await client.get("/healthz", headers={"X-Request-ID": "trace-123"})
    assert mine.headers["x-request-id"] == "trace-123"
    generated = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] != "bad id with spaces"
    assert len(generated.headers["x-request-id"]) == 36
    assert generated.headers["x-content-type-options"] == "nosniff"
