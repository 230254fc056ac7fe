"""Alembic, driven from code: the schema is made only by migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import frontdesk


def migrations_dir() -> Path:
    packaged = Path(frontdesk.__file__).parent / "migrations"
    if packaged.is_dir():
        return packaged
    return Path(frontdesk.__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` (blocking; runs its own event loop in env.py)."""
    command.upgrade(alembic_config(database_url), revision)


def head_revisions(database_url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


def _current_revisions(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


async def is_current(engine: AsyncEngine, database_url: str) -> bool:
    async with engine.connect() as connection:
        current = await connection.run_sync(_current_revisions)
    return current == head_revisions(database_url)
