"""The migrations make exactly the schema the models describe, on every backend."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.metadata import metadata


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():
        # PostgreSQL-only expression indexes (`ddl_if`, e.g. full-text search) do not exist on
        # SQLite, which cannot reflect expression indexes anyway; PostgreSQL compares them.
        warnings.filterwarnings(
            "ignore", message="autogenerate skipping metadata-specified expression-based index"
        )
        return list(compare_metadata(context, metadata))


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


def _tenant_keys(connection: Connection) -> dict[str, list[str]]:
    inspector = inspect(connection)
    return {
        name: inspector.get_pk_constraint(name)["constrained_columns"]
        for name in inspector.get_table_names()
        if "tenant_id" in {column["name"] for column in inspector.get_columns(name)}
        and name not in {"event_outbox", "audit_entry", "api_token", "ticket_number_sequence"}
    }


async def test_tenant_owned_tables_are_keyed_by_tenant_first(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        keys = await connection.run_sync(_tenant_keys)
    assert keys, "expected tenant-owned tables"
    assert all(columns == ["tenant_id", "id"] for columns in keys.values()), keys
