"""Many rows of one tenant table updated, each to its own values, in one statement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Table, bindparam, func, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType, TypeEngine

KEYS = ("tenant_id", "id")


async def update_rows(
    session: AsyncSession, table: Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Set the columns `names` of each row, found by its `tenant_id` and `id`, to its values
    (every row holds the keys and all of `names`; no key twice).

    On PostgreSQL one `UPDATE ... FROM unnest(<one array per column>)`: the server plans and
    runs one statement, where an executemany runs one per row (500 tickets: 34-45 ms against
    56-69 ms). Elsewhere an executemany. No row locks are taken in a chosen order here: callers
    hold them already (the sweep's claim, a batch's `FOR UPDATE ... ORDER BY`).
    """
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        await _unnest(session, table, names, rows)
        return
    statement = (
        update(table)
        .where(table.c.tenant_id == bindparam("k_tenant"), table.c.id == bindparam("k_id"))
        .values({name: bindparam(name) for name in names})
    )
    params = [
        {"k_tenant": row["tenant_id"], "k_id": row["id"]} | {name: row[name] for name in names}
        for row in rows
    ]
    await session.execute(statement, params)


async def _unnest(
    session: AsyncSession, table: Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    columns = (*KEYS, *names)
    arrays = [bindparam(f"a_{name}", type_=ARRAY(_type_of(table.c[name]))) for name in columns]
    given = func.unnest(*arrays).table_valued(*columns).render_derived(name="given")
    statement = (
        update(table)
        .where(table.c.tenant_id == given.c.tenant_id, table.c.id == given.c.id)
        .values({name: given.c[name] for name in names})
    )
    await session.execute(statement, {f"a_{name}": [row[name] for row in rows] for name in columns})


def _type_of(column: Column[Any]) -> TypeEngine[Any]:
    """The column's type; a foreign key declared without one takes its target's."""
    if isinstance(column.type, NullType) and column.foreign_keys:
        return next(iter(column.foreign_keys)).column.type
    return column.type
