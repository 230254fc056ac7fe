"""Engine, sessions, the declarative base and the column types every domain uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request
from sqlalchemy import JSON, DateTime, Dialect, MetaData, String, Uuid, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from frontdesk.core.clock import utcnow
from frontdesk.core.ids import new_id

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SYSTEM_ACTOR = "system"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both databases (SQLite stores naive UTC text that sorts correctly)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        # SQLAlchemy 2.1 answers `object` for a TypeDecorator; keyset cursors need the real type.
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        UUID: Uuid(),
        dict[str, Any]: JSONType,
        list[str]: JSONType,
    }


class AuditMixin:
    """created/updated timestamps and actors, filled from the session's actor on flush."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow, sort_order=90)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, sort_order=91)
    created_by: Mapped[str] = mapped_column(String(100), default=SYSTEM_ACTOR, sort_order=92)
    updated_by: Mapped[str] = mapped_column(String(100), default=SYSTEM_ACTOR, sort_order=93)


class IdMixin:
    id: Mapped[UUID] = mapped_column(primary_key=True, default=new_id, sort_order=-10)


def actor_of(session: Session | AsyncSession) -> str:
    return str(session.info.get("actor", SYSTEM_ACTOR))


def set_actor(session: AsyncSession, actor: str) -> None:
    session.info["actor"] = actor


def new_row_stamps(session: Session | AsyncSession, now: datetime) -> dict[str, Any]:
    """The audit columns a flush stamps on a new row, for rows written as plain INSERTs."""
    actor = actor_of(session)
    return {"created_at": now, "updated_at": now, "created_by": actor, "updated_by": actor}


@event.listens_for(Session, "before_flush")
def _stamp_audit_fields(session: Session, _context: object, _instances: object) -> None:
    actor = actor_of(session)
    now = utcnow()
    for obj in session.new:
        if isinstance(obj, AuditMixin):
            obj.created_at = obj.created_at or now
            obj.updated_at = now
            obj.created_by = actor
            obj.updated_by = actor
    for obj in session.dirty:
        if isinstance(obj, AuditMixin) and session.is_modified(obj, include_collections=False):
            obj.updated_at = now
            obj.updated_by = actor


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    # No pre-ping: it costs a round trip on every checkout (a tenth of a queue list's time).
    # A connection the server dropped fails its one request, and SQLAlchemy then discards
    # the whole pool; recycling keeps idle connections from outliving server-side timeouts.
    # 10 + 10 per API process: two processes stay well under PostgreSQL's 100 connections.
    # JIT off: the planner compiled the console's count queries at about 2 s a time for plans
    # that run in milliseconds; this workload is short indexed queries.
    return create_async_engine(
        url,
        echo=echo,
        pool_size=10,
        max_overflow=10,
        pool_recycle=1800,
        pool_timeout=10,
        connect_args={"server_settings": {"jit": "off"}},
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    # The driver's own transaction handling defers BEGIN and breaks SAVEPOINT; take it over.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
    # writes fails at once with "database is locked" when another writer got there first,
    # while an immediate one waits its turn (busy_timeout). SQLite has one writer anyway.
    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession], actor: str = SYSTEM_ACTOR
) -> AsyncIterator[AsyncSession]:
    """One unit of work outside a request (CLI, jobs): commit on success, roll back on error."""
    async with sessionmaker() as session:
        set_actor(session, actor)
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed once after the endpoint returns, else rolled back.

    Used with `Depends(..., scope="function")` so the commit happens before the response is
    sent: a client never sees success for a write that did not commit.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        set_actor(session, "anonymous")
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


DbSession = Annotated[AsyncSession, Depends(request_session, scope="function")]
