"""Domain events through a transactional outbox: written with the change, relayed after commit.

An event row is added to the same session as the change it describes, so it exists exactly when
the change does. The relay reads unpublished rows in id order (UUIDv7, so in commit-ish order per
writer), hands them to the sinks and marks them published; a crash between delivery and marking
re-delivers, and every event carries a stable id for consumers to de-duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import anyio
from pydantic_core import to_jsonable_python
from sqlalchemy import Index, String, Table, Text, func, insert, select
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from frontdesk.core.clock import utcnow
from frontdesk.core.config import get_settings
from frontdesk.core.db import Base, actor_of
from frontdesk.core.ids import new_id
from frontdesk.core.logs import get_logger, request_id_var

log = get_logger(__name__)


class OutboxEvent(Base):
    __tablename__ = "event_outbox"
    __table_args__ = (Index("ix_event_outbox_unpublished", "published_at", "id"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(200))
    tenant_id: Mapped[UUID | None] = mapped_column(index=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str] = mapped_column(String(60))
    subject_id: Mapped[UUID | None]
    snapshot: Mapped[dict[str, Any]]
    delta: Mapped[dict[str, Any]]
    request_id: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    def envelope(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "tenant_id": str(self.tenant_id) if self.tenant_id else None,
            "occurred_at": self.occurred_at.isoformat(),
            "actor": self.actor,
            "subject_type": self.subject_type,
            "subject_id": str(self.subject_id) if self.subject_id else None,
            "snapshot": self.snapshot,
            "delta": self.delta,
            "request_id": self.request_id,
        }


def jsonable(value: Any) -> Any:
    return to_jsonable_python(value)


def emit(
    session: AsyncSession,
    *,
    subject_type: str,
    action: str,
    tenant_id: UUID | None,
    subject_id: UUID | None,
    snapshot: dict[str, Any],
    delta: dict[str, Any] | None = None,
) -> OutboxEvent:
    event = OutboxEvent(
        id=new_id(),
        type=f"{get_settings().event_exchange}.{subject_type}.{action}",
        tenant_id=tenant_id,
        occurred_at=utcnow(),
        actor=actor_of(session),
        subject_type=subject_type,
        subject_id=subject_id,
        snapshot=jsonable(snapshot),
        delta=jsonable(delta or {}),
        request_id=request_id_var.get(),
    )
    session.add(event)
    return event


TransactionHandler = Callable[[AsyncSession, OutboxEvent], Awaitable[None]]
BatchPreparer = Callable[[AsyncSession, UUID, list[UUID]], Awaitable[None]]


@dataclass
class InTransactionSubscribers:
    """Reactions that must commit or roll back with the change they react to (SLA state).

    The emitting service awaits `react` right after `emit`; the handlers run in its session,
    before the commit, and may change other domains' rows through those domains' services.
    A pattern is `<subject>.<action>` without the exchange (`ticket.updated`) or a prefix
    ending in `*` (`ticket.*`). Everything that can wait goes through the outbox.
    """

    handlers: list[tuple[str, TransactionHandler]] = field(default_factory=list)
    #: subject type -> what reads ahead for a batch of changes of such subjects
    preparers: list[tuple[str, BatchPreparer]] = field(default_factory=list)

    def subscribe(self, pattern: str, handler: TransactionHandler) -> None:
        if (pattern, handler) not in self.handlers:
            self.handlers.append((pattern, handler))

    def prepare_with(self, subject_type: str, preparer: BatchPreparer) -> None:
        if (subject_type, preparer) not in self.preparers:
            self.preparers.append((subject_type, preparer))

    async def prepare(
        self, session: AsyncSession, subject_type: str, tenant_id: UUID, subject_ids: list[UUID]
    ) -> None:
        """Before a batch changes these subjects one by one: let each subscriber read what its
        reactions will need for all of them at once."""
        for name, preparer in list(self.preparers):
            if name == subject_type:
                await preparer(session, tenant_id, subject_ids)

    async def react(self, session: AsyncSession, event: OutboxEvent) -> None:
        anticipated: set[tuple[str, str, UUID | None]] = session.info.get(_ANTICIPATED, set())
        if _key_of(event) in anticipated:
            anticipated.discard(_key_of(event))
            return  # the handlers saw this change before it was written
        name = f"{event.subject_type}.{event.type.rsplit('.', 1)[-1]}"
        for pattern, handler in list(self.handlers):
            if pattern == name or (pattern.endswith("*") and name.startswith(pattern[:-1])):
                await handler(session, event)

    async def anticipate(self, session: AsyncSession, event: OutboxEvent) -> None:
        """Run the handlers on an event that is not emitted yet, while its subject's changes are
        still pending in the session: what they set on the subject is written with it, in the
        subject's one UPDATE. Autoflush is off meanwhile, so their reads do not write the
        subject early. The `react` of the emitted event (same type and subject) skips them."""
        with session.no_autoflush:
            await self.react(session, event)
        session.info.setdefault(_ANTICIPATED, set()).add(_key_of(event))


_ANTICIPATED = "frontdesk.events_anticipated"


def _key_of(event: OutboxEvent) -> tuple[str, str, UUID | None]:
    return (event.type, event.subject_type, event.subject_id)


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_anticipated(session: Session, previous_transaction: object) -> None:
    """An anticipated event whose change was rolled back (a failed ticket of a bulk change)
    must not excuse a later one from its reactions."""
    session.info.pop(_ANTICIPATED, None)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_anticipated_after_unit(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_ANTICIPATED, None)


in_transaction = InTransactionSubscribers()


async def emit_and_react(
    session: AsyncSession,
    *,
    subject_type: str,
    action: str,
    tenant_id: UUID | None,
    subject_id: UUID | None,
    snapshot: dict[str, Any],
    delta: dict[str, Any] | None = None,
) -> OutboxEvent:
    """`emit`, then run the in-transaction subscribers of the event in the same session."""
    event = emit(
        session,
        subject_type=subject_type,
        action=action,
        tenant_id=tenant_id,
        subject_id=subject_id,
        snapshot=snapshot,
        delta=delta,
    )
    await in_transaction.react(session, event)
    return event


async def react_ahead(
    session: AsyncSession,
    *,
    subject_type: str,
    action: str,
    tenant_id: UUID | None,
    subject_id: UUID | None,
    snapshot: dict[str, Any],
    delta: dict[str, Any] | None = None,
) -> None:
    """Let the in-transaction subscribers follow a change before it is flushed (see
    `InTransactionSubscribers.anticipate`); `emit_and_react` then writes the event only.
    `snapshot` and `delta` need only what the subscribers read (the delta's keys)."""
    event = OutboxEvent(
        type=f"{get_settings().event_exchange}.{subject_type}.{action}",
        tenant_id=tenant_id,
        subject_type=subject_type,
        subject_id=subject_id,
        snapshot=snapshot,
        delta=delta or {},
    )
    await in_transaction.anticipate(session, event)


EventSink = Callable[[Sequence[dict[str, Any]]], Awaitable[None]]
EventHandler = Callable[[dict[str, Any]], Awaitable[None]]

#: The relay holds this PostgreSQL advisory lock while it delivers, so that with several
#: workers one relays at a time and events keep their order (per ticket and overall).
RELAY_LOCK_KEY = 0x66647278


@dataclass
class Subscribers:
    """Handlers registered in code, called by the relay for the event types they match.

    A pattern is an exact type (`frontdesk.ticket.created`) or a prefix ending in `*`
    (`frontdesk.ticket.*`). Handlers must be idempotent: delivery is at least once.
    """

    handlers: list[tuple[str, EventHandler]] = field(default_factory=list)

    def subscribe(self, pattern: str, handler: EventHandler) -> None:
        self.handlers.append((pattern, handler))

    def matching(self, event_type: str) -> list[EventHandler]:
        return [
            handler
            for pattern, handler in self.handlers
            if pattern == event_type
            or (pattern.endswith("*") and event_type.startswith(pattern[:-1]))
        ]

    async def __call__(self, events: Sequence[dict[str, Any]]) -> None:
        for event in events:
            for handler in self.matching(event["type"]):
                await handler(event)


subscribers = Subscribers()


@dataclass
class JsonLinesSink:
    """Appends each event as one JSON line: the embedded default's event stream."""

    path: Path
    _lock: anyio.Lock = field(default_factory=anyio.Lock)

    async def __call__(self, events: Sequence[dict[str, Any]]) -> None:
        if not events:
            return
        lines = "".join(json.dumps(event, separators=(",", ":")) + "\n" for event in events)
        async with self._lock:
            await anyio.to_thread.run_sync(self._append, lines)

    def _append(self, lines: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(lines)
            handle.flush()


async def relay_batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    sinks: Sequence[EventSink],
    batch_size: int = 200,
) -> int:
    """Deliver one batch of unpublished events to every sink; returns how many were published.

    Events go out in id order. A sink failure leaves the whole batch for the next pass, and a
    crash before the commit re-delivers it: at least once, never lost.
    """
    async with sessionmaker() as session:
        if not await _take_relay_lock(session):
            await session.rollback()
            return 0
        statement = (
            select(OutboxEvent)
            .where(OutboxEvent.published_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        events = list((await session.scalars(statement)).all())
        if not events:
            await session.rollback()
            return 0
        envelopes = [event.envelope() for event in events]
        try:
            for sink in sinks:
                await sink(envelopes)
        except Exception as exc:
            log.warning("event_relay_failed", error=str(exc), count=len(events))
            for event in events:
                event.attempts += 1
                event.last_error = str(exc)[:2000]
            await session.commit()
            return 0
        now = utcnow()
        for event in events:
            event.attempts += 1
            event.published_at = now
        await session.commit()
        return len(events)


async def _take_relay_lock(session: AsyncSession) -> bool:
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return True  # SQLite: one process writes at a time anyway
    acquired = await session.scalar(select(func.pg_try_advisory_xact_lock(RELAY_LOCK_KEY)))
    return bool(acquired)


def event_row(
    session: AsyncSession,
    *,
    subject_type: str,
    action: str,
    tenant_id: UUID | None,
    subject_id: UUID | None,
    snapshot: dict[str, Any],
    delta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The outbox row `emit` would add, as plain values for `emit_many`."""
    return {
        "id": new_id(),
        "type": f"{get_settings().event_exchange}.{subject_type}.{action}",
        "tenant_id": tenant_id,
        "occurred_at": utcnow(),
        "actor": actor_of(session),
        "subject_type": subject_type,
        "subject_id": subject_id,
        "snapshot": jsonable(snapshot),
        "delta": jsonable(delta or {}),
        "request_id": request_id_var.get(),
        "published_at": None,
        "attempts": 0,
        "last_error": None,
    }


async def emit_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Write many events (from `event_row`) with one multi-row INSERT, in the caller's
    transaction: for batches (the SLA sweep). No ORM objects, and no in-transaction
    subscribers: use `emit_and_react` for events that other domains must follow."""
    if rows:
        await session.execute(insert(cast(Table, OutboxEvent.__table__)), list(rows))
