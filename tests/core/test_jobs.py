"""The worker runs registered periodic jobs: on their interval when idle, at once while a job
reports a backlog, and a failing job never stops the worker or the other jobs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from frontdesk.core.jobs import Job, JobContext, JobRegistry, JobSchedule, registry
from frontdesk.core.storage import LocalBlobStore
from frontdesk.worker import run_worker


def _context(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> JobContext:
    return JobContext(
        settings=settings, sessionmaker=sessionmaker, blob_store=LocalBlobStore(tmp_path)
    )


async def test_a_job_with_a_backlog_runs_again_at_once_and_an_idle_one_waits(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    backlog = [3, 2, 0]
    calls: list[str] = []

    async def drain(context: JobContext) -> int:
        calls.append("drain")
        return backlog.pop(0)

    async def idle(context: JobContext) -> int:
        calls.append("idle")
        return 0

    schedule = JobSchedule(
        [Job("drain", every_seconds=60, run=drain), Job("idle", every_seconds=60, run=idle)]
    )
    context = _context(settings, sessionmaker, tmp_path)
    assert await schedule.run_due(context) == 3
    assert await schedule.run_due(context) == 2
    assert await schedule.run_due(context) == 0
    assert await schedule.run_due(context) == 0
    assert calls == ["drain", "idle", "drain", "drain"]


async def test_a_failing_job_is_logged_and_the_others_still_run(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    ran: list[str] = []

    async def broken(context: JobContext) -> int:
        raise RuntimeError("mailbox unreachable")

    async def healthy(context: JobContext) -> int:
        ran.append("healthy")
        return 1

    schedule = JobSchedule(
        [Job("broken", every_seconds=0, run=broken), Job("healthy", every_seconds=0, run=healthy)]
    )
    assert await schedule.run_due(_context(settings, sessionmaker, tmp_path)) == 1
    assert ran == ["healthy"]


def test_a_name_is_registered_once() -> None:
    jobs = JobRegistry()

    @jobs.periodic("sweep", every_seconds=5)
    async def sweep(context: JobContext) -> int:
        return 0

    assert [job.name for job in jobs] == ["sweep"]
    with pytest.raises(ValueError, match="registered twice"):
        jobs.periodic("sweep", every_seconds=5)(sweep)


@pytest.fixture
def counting_job() -> Iterator[tuple[list[JobContext], anyio.Event]]:
    seen: list[JobContext] = []
    ran_twice = anyio.Event()

    async def count(context: JobContext) -> int:
        seen.append(context)
        if len(seen) == 2:
            ran_twice.set()
        return 0

    registry.periodic("test.count", every_seconds=0.05)(count)
    try:
        yield seen, ran_twice
    finally:
        del registry.jobs["test.count"]


async def test_the_worker_runs_registered_jobs_until_stopped(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    counting_job: tuple[list[JobContext], anyio.Event],
) -> None:
    seen, ran_twice = counting_job
    stop = anyio.Event()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(lambda: run_worker(settings, sessionmaker, stop=stop))
        with anyio.fail_after(10):
            await ran_twice.wait()
        stop.set()
    assert seen[0].settings is settings
    assert seen[0].blob_store.root == settings.data_dir / "blobs"
