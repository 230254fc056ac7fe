"""The engine's settings on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from frontdesk.core.db import create_engine


async def test_postgresql_connections_run_without_jit(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL setting")
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("SHOW jit")) == "off"
    finally:
        await engine.dispose()
