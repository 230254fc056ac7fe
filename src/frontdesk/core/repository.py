"""Tenant-scoped statements: every query on a tenant-owned table starts here."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar
from uuid import UUID

from sqlalchemy import Select, select
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
