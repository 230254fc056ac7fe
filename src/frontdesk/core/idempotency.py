"""`Idempotency-Key` on creates: the first response is stored and replayed for the same key."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Index, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.core.clock import utcnow
from frontdesk.core.db import Base, actor_of
from frontdesk.core.errors import BadRequest, FrontdeskError
from frontdesk.core.events import jsonable
from frontdesk.core.ids import new_id

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200


class IdempotencyKeyReused(FrontdeskError):
    status = 422
    code = "idempotency_key_reused"
    title = "The Idempotency-Key was used for a different request"


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_record"
    __table_args__ = (
        UniqueConstraint("actor", "key"),
        Index("ix_idempotency_record_created_at", "created_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=new_id)
    actor: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_digest: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response_body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


async def _request_digest(request: Request) -> str:
    body = await request.body()
    material = request.method.encode() + b" " + request.url.path.encode() + b"\n" + body
    return hashlib.sha256(material).hexdigest()


async def create_idempotently(
    request: Request,
    session: AsyncSession,
    create: Callable[[], Awaitable[BaseModel]],
    status_code: int = 201,
    *,
    secret_fields: tuple[str, ...] = (),
) -> JSONResponse:
    """Run `create` once per (actor, Idempotency-Key); a repeat gets the stored response back.

    `secret_fields` are stored as null: a replay never shows a secret twice.
    """
    key = request.headers.get(HEADER)
    if key is None:
        created = await create()
        return JSONResponse(jsonable(created.model_dump(mode="json")), status_code=status_code)
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise BadRequest(f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters")
    actor = actor_of(session)
    digest = await _request_digest(request)
    existing = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.actor == actor, IdempotencyRecord.key == key
        )
    )
    if existing is not None:
        if existing.request_digest != digest:
            raise IdempotencyKeyReused()
        return JSONResponse(
            existing.response_body,
            status_code=existing.status_code,
            headers={"Idempotent-Replayed": "true"},
        )
    created = await create()
    body = created.model_dump(mode="json")
    stored = {name: None if name in secret_fields else value for name, value in body.items()}
    session.add(
        IdempotencyRecord(
            actor=actor,
            key=key,
            request_digest=digest,
            status_code=status_code,
            response_body=stored,
        )
    )
    return JSONResponse(body, status_code=status_code)
