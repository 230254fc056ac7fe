"""Test fixtures: the app over ASGI on SQLite and (when configured) PostgreSQL, with real data.

Every test that uses `client` runs once per database backend. The schema is made by the real
migrations once per backend; after each test every table is emptied.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

# Cheap password hashing and a fixed key for the whole test process (read by get_settings()).
os.environ.setdefault("FRONTDESK_PASSWORD_HASH_TIME_COST", "1")
os.environ.setdefault("FRONTDESK_PASSWORD_HASH_MEMORY_KIB", "8")
os.environ.setdefault("FRONTDESK_SECRET_KEY", "test-secret-key-for-the-suite-0123456789")

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings, get_settings
from frontdesk.core.db import create_engine
from frontdesk.core.migrations import upgrade
from frontdesk.metadata import metadata
from frontdesk.web.app import create_app
from tests.factories import World, build_world

get_settings.cache_clear()

POSTGRES_URL = os.environ.get("FRONTDESK_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "frontdesk.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        assert POSTGRES_URL is not None
        url = POSTGRES_URL
        _reset_postgres_schema(url)
    upgrade(url)
    return url


def _reset_postgres_schema(url: str) -> None:
    import asyncio

    async def reset() -> None:
        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture
def settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        embedded_worker=False,
        log_level="WARNING",
        log_format="console",
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
    await _empty_tables(settings.db_url)


async def _empty_tables(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        names = [table.name for table in metadata.sorted_tables]
        if connection.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in names)
            await connection.execute(text(f"TRUNCATE {quoted} CASCADE"))
        else:
            for name in reversed(names):
                await connection.execute(text(f'DELETE FROM "{name}"'))
    await engine.dispose()


@pytest.fixture
def sessionmaker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


@pytest.fixture
def engine(app: FastAPI) -> AsyncEngine:
    bound: AsyncEngine = app.state.engine
    return bound


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    """Two tenants (`acme`, `acmeco`), each with one person per role and an API token each."""
    return await build_world(sessionmaker)
