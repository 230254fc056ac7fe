"""The audit log of administrative changes; each entry is written with its event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Index, String, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.core.clock import utcnow
from frontdesk.core.db import Base, actor_of
from frontdesk.core.events import emit, emit_many, event_row, jsonable
from frontdesk.core.ids import new_id
from frontdesk.core.logs import request_id_var


class AuditEntry(Base):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_subject", "tenant_id", "subject_type", "subject_id"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[UUID | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(60))
    subject_id: Mapped[UUID | None]
    changes: Mapped[dict[str, Any]]
    request_id: Mapped[str | None] = mapped_column(String(64))


def delta_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """`{field: [before, after]}` for every field whose JSON value changed."""
    return json_delta(jsonable(before), jsonable(after))


def json_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """`delta_between` of two views that are JSON values already (no second conversion)."""
    return {key: [before.get(key), new] for key, new in after.items() if before.get(key) != new}


def record_change(
    session: AsyncSession,
    *,
    subject_type: str,
    action: str,
    tenant_id: UUID | None,
    subject_id: UUID | None,
    snapshot: dict[str, Any],
    delta: dict[str, Any] | None = None,
) -> None:
    """Audit a change and emit its domain event, both in the caller's transaction."""
    session.add(
        AuditEntry(
            id=new_id(),
            tenant_id=tenant_id,
            at=utcnow(),
            actor=actor_of(session),
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            changes=jsonable(delta if delta is not None else snapshot),
            request_id=request_id_var.get(),
        )
    )
    emit(
        session,
        subject_type=subject_type,
        action=action,
        tenant_id=tenant_id,
        subject_id=subject_id,
        snapshot=snapshot,
        delta=delta,
    )


def record_update(
    session: AsyncSession,
    *,
    subject_type: str,
    tenant_id: UUID | None,
    subject_id: UUID | None,
    before: dict[str, Any],
    after: dict[str, Any],
) -> dict[str, list[Any]]:
    """Audit and emit `<subject>.updated` with the delta, if anything changed; returns the delta."""
    delta = delta_between(before, after)
    if delta:
        record_change(
            session,
            subject_type=subject_type,
            action="updated",
            tenant_id=tenant_id,
            subject_id=subject_id,
            snapshot=after,
            delta=delta,
        )
    return delta


@dataclass(frozen=True)
class Change:
    """The arguments of one `record_change` call, for `record_many`."""

    subject_type: str
    action: str
    tenant_id: UUID | None
    subject_id: UUID | None
    snapshot: dict[str, Any]
    delta: dict[str, Any] | None = None


async def record_many(session: AsyncSession, changes: Sequence[Change]) -> None:
    """`record_change` for many changes: one INSERT of audit entries, one of events."""
    if not changes:
        return
    await _insert_entries(session, changes)
    await _emit_changes(session, changes)


async def record_grouped(
    session: AsyncSession, groups: Sequence[tuple[Change, Sequence[Change]]]
) -> None:
    """Like changes audited together: each group's `Change` is its one audit entry (listing
    the group's changes, and emitting no event of its own), and each change in the group
    still emits its own event. One INSERT of the entries, one of the events."""
    if not groups:
        return
    await _insert_entries(session, [entry for entry, _ in groups])
    await _emit_changes(session, [change for _, changes in groups for change in changes])


async def _insert_entries(session: AsyncSession, changes: Sequence[Change]) -> None:
    actor, request_id, now = actor_of(session), request_id_var.get(), utcnow()
    entries = [
        {
            "id": new_id(),
            "tenant_id": change.tenant_id,
            "at": now,
            "actor": actor,
            "action": change.action,
            "subject_type": change.subject_type,
            "subject_id": change.subject_id,
            "changes": jsonable(change.delta if change.delta is not None else change.snapshot),
            "request_id": request_id,
        }
        for change in changes
    ]
    await session.execute(insert(cast(Table, AuditEntry.__table__)), entries)


async def _emit_changes(session: AsyncSession, changes: Sequence[Change]) -> None:
    await emit_many(
        session,
        [
            event_row(
                session,
                subject_type=change.subject_type,
                action=change.action,
                tenant_id=change.tenant_id,
                subject_id=change.subject_id,
                snapshot=change.snapshot,
                delta=change.delta,
            )
            for change in changes
        ],
    )
