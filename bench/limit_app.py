"""The limit: the bare stack (Starlette + asyncpg, no ORM, no auth, no validation layer) doing
the same single-row ticket INSERT, the same indexed 50-row queue SELECT and the same text
search as Frontdesk (recent tickets first, then all when needed), on the same tables. Served
like Frontdesk: uvicorn, 2 processes.

    LIMIT_DSN=postgresql://... LIMIT_TENANT=<uuid> uvicorn limit_app:app --workers 2
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

TENANT = uuid.UUID(os.environ.get("LIMIT_TENANT", "00000000-0000-0000-0000-000000000000"))

INSERT = """
WITH n AS (
    UPDATE ticket_number_sequence SET last_number = last_number + 1
    WHERE tenant_id = $1 RETURNING last_number
)
INSERT INTO ticket (
    tenant_id, id, number, subject, description, status_id, status_category, priority,
    priority_rank, type, channel, requester_id, group_id, custom_fields, reopen_count,
    message_count, public_message_count, unread_by_agent, unread_by_customer, ai_auto_resolved,
    version, created_at, updated_at, created_by, updated_by
)
SELECT $1, $2, n.last_number, $3, $4, $5, 'new', 'normal', 1, 'question', 'api', $6, $7, '{}',
       0, 0, 0, 0, 0, false, 1, now(), now(), 'system:limit', 'system:limit'
FROM n
RETURNING *
"""

QUEUE = """
SELECT * FROM ticket
WHERE tenant_id = $1 AND group_id = $2 AND status_category = $3 AND deleted_at IS NULL
ORDER BY updated_at DESC, id DESC
LIMIT 50
"""

SEARCH = """
SELECT * FROM ticket
WHERE tenant_id = $1 AND deleted_at IS NULL
  AND to_tsvector('english'::regconfig, subject || ' ' || description)
      @@ websearch_to_tsquery('english'::regconfig, $2)
ORDER BY updated_at DESC, id DESC
LIMIT 50
"""

#: Frontdesk's first step of a search (tickets changed in the last 14 days, and whether the
#: tenant has older ones); the plain SEARCH follows only when it does not fill the page.
RECENT_SEARCH = """
SELECT *, EXISTS (
    SELECT 1 FROM ticket WHERE tenant_id = $1 AND updated_at < now() - interval '14 days'
) AS has_older
FROM ticket
WHERE tenant_id = $1 AND deleted_at IS NULL
  AND to_tsvector('english'::regconfig, subject || ' ' || description)
      @@ websearch_to_tsquery('english'::regconfig, $2)
  AND updated_at >= now() - interval '14 days'
ORDER BY updated_at DESC, id DESC
LIMIT 51
"""


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID | datetime):
        return str(value)
    return value


def _json(payload: Any, status: int = 200) -> Response:
    body = json.dumps(payload, default=_plain)
    return Response(body, status_code=status, media_type="application/json")


async def create_ticket(request: Request) -> Response:
    body = await request.json()
    pool: asyncpg.Pool = request.app.state.pool
    row = await pool.fetchrow(
        INSERT,
        TENANT,
        _uuid7(),
        body["subject"],
        body.get("description", ""),
        uuid.UUID(body["status_id"]),
        uuid.UUID(body["requester_id"]),
        uuid.UUID(body["group_id"]) if body.get("group_id") else None,
    )
    return _json(dict(row), 201)


async def list_queue(request: Request) -> Response:
    params = request.query_params
    rows = await request.app.state.pool.fetch(
        QUEUE, TENANT, uuid.UUID(params["group_id"]), params["status_category"]
    )
    return _json({"items": [dict(r) for r in rows]})


async def search(request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    q = request.query_params["q"]
    rows = await pool.fetch(RECENT_SEARCH, TENANT, q)
    if len(rows) > 50 or (rows and not rows[0]["has_older"]):
        items = [{k: v for k, v in r.items() if k != "has_older"} for r in rows[:50]]
        return _json({"items": items})
    rows = await pool.fetch(SEARCH, TENANT, q)
    return _json({"items": [dict(r) for r in rows]})


async def health(request: Request) -> Response:
    return _json({"ok": True})


def _uuid7() -> uuid.UUID:
    import time

    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = millis << 80 | 0x7 << 76 | (rand >> 68) << 64 | 0b10 << 62 | (rand & (2**62 - 1))
    return uuid.UUID(int=value)


async def _init(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(
        os.environ["LIMIT_DSN"], min_size=2, max_size=10, init=_init
    )
    yield
    await app.state.pool.close()


app = Starlette(
    routes=[
        Route("/healthz", health),
        Route("/tickets", create_ticket, methods=["POST"]),
        Route("/tickets", list_queue, methods=["GET"]),
        Route("/search", search),
    ],
    lifespan=lifespan,
)
