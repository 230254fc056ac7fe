"""Tenant-scoped statements: every query on a tenant-owned table starts here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from frontdesk.core.errors import NotFound


class TenantOwnedModel(Protocol):
    tenant_id: InstrumentedAttribute[UUID]
    id: InstrumentedAttribute[UUID]


ModelT = TypeVar("ModelT")


def scoped(model: type[ModelT], tenant_id: UUID) -> Select[ModelT]:
    """`SELECT model WHERE tenant_id = :tenant_id`, the base of every tenant query."""
    column: Any = model.tenant_id  # type: ignore[attr-defined]
    return select(model).where(column == tenant_id)


async def get_scoped(
    session: AsyncSession, model: type[ModelT], tenant_id: UUID, object_id: UUID, *, what: str
) -> ModelT:
    """The tenant's object by id, else NotFound: another tenant's id looks like no id at all."""
    found = await session.get(model, (tenant_id, object_id))
    if found is None:
        raise NotFound(f"{what} not found")
    return found


def in_tenants(
    tenant_column: Any, column: Any, ids_by_tenant: Mapping[UUID, Sequence[UUID]]
) -> ColumnElement[bool]:
    """Rows of several tenants by id: one `tenant_id = ? AND column IN (...)` per tenant.

    For batches that span tenants (the SLA sweep): each arm goes through a `(tenant_id, ...)`
    index, where a bare `column IN (...)` (ids are unique across tenants) cannot use one and
    scans the whole table.
    """
    return or_(
        false(),  # no ids at all
        *(
            and_(tenant_column == tenant_id, column.in_(ids))
            for tenant_id, ids in ids_by_tenant.items()
        ),
    )


def ids_by_tenant(pairs: Iterable[tuple[UUID, UUID | None]]) -> dict[UUID, list[UUID]]:
    """`(tenant_id, id)` pairs as `in_tenants` takes them: each tenant's ids, once each, in
    order; pairs without an id are left out."""
    grouped: dict[UUID, dict[UUID, None]] = {}
    for tenant_id, id_ in pairs:
        if id_ is not None:
            grouped.setdefault(tenant_id, {})[id_] = None
    return {tenant_id: list(ids) for tenant_id, ids in grouped.items()}
