"""A real server on a loopback port with its own SQLite data, and Debian's Chromium to drive it.

The browser suite runs on SQLite only (the server is its own process with its own data dir);
the database-backed behaviour it relies on is covered on both backends by tests/web.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from frontdesk.core.db import create_engine, create_sessionmaker, transaction
from frontdesk.core.migrations import upgrade
from frontdesk.tenancy.models import Tenant
from tests.factories import World, build_world

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
SERVER_START_SECONDS = 30

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
        allow_module_level=True,
    )

from playwright.async_api import Browser, async_playwright  # noqa: E402


@dataclass(frozen=True)
class Server:
    url: str
    world: World


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare(url: str) -> World:
    upgrade(url)

    async def seed() -> World:
        engine = create_engine(url)
        try:
            maker = create_sessionmaker(engine)
            world = await build_world(maker)
            async with transaction(maker) as session:
                tenant = await session.get(Tenant, world.a.id)
                assert tenant is not None
                tenant.name = "Acme Support"
            return world
        finally:
            await engine.dispose()

    return asyncio.run(seed())


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start in time")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("e2e-data")
    database_url = f"sqlite+aiosqlite:///{data_dir / 'frontdesk.sqlite3'}"
    world = _prepare(database_url)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FRONTDESK_DATA_DIR": str(data_dir),
        "FRONTDESK_DATABASE_URL": database_url,
        "FRONTDESK_PUBLIC_BASE_URL": url,
        "FRONTDESK_LOG_LEVEL": "WARNING",
    }
    env.pop("FRONTDESK_TEST_DATABASE_URL", None)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "frontdesk"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(url, process)
        yield Server(url, world)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()
