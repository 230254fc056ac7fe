"""Periodic work the domains register and the worker runs (SLA sweeps, mailbox polling, sending).

A domain declares its jobs in its own `jobs.py` with the `periodic` decorator; the worker, a
composition root, imports those modules and runs each job when its interval has passed. A job owns
its units of work (`core.db.transaction`, one commit per unit) and returns how much it did, so the
worker can run it again at once while there is a backlog instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from frontdesk.core.logs import get_logger
from frontdesk.core.storage import LocalBlobStore

log = get_logger(__name__)


@dataclass(frozen=True)
class JobContext:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    blob_store: LocalBlobStore


JobFunction = Callable[[JobContext], Awaitable[int]]


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: JobFunction


@dataclass
class JobRegistry:
    jobs: dict[str, Job] = field(default_factory=dict)

    def periodic(self, name: str, *, every_seconds: float) -> Callable[[JobFunction], JobFunction]:
        """Register the decorated coroutine to run at most every `every_seconds` when idle."""

        def register(function: JobFunction) -> JobFunction:
            if name in self.jobs:
                raise ValueError(f"job {name!r} is registered twice")
            self.jobs[name] = Job(name=name, every_seconds=every_seconds, run=function)
            return function

        return register

    def __iter__(self) -> Iterator[Job]:
        return iter(self.jobs.values())


registry = JobRegistry()
periodic = registry.periodic


@dataclass
class JobSchedule:
    """When each job last ran; a job with a backlog (it did work) is due again immediately."""

    jobs: list[Job]
    next_run: dict[str, float] = field(default_factory=dict)

    def due(self, now: float) -> list[Job]:
        return [job for job in self.jobs if self.next_run.get(job.name, 0.0) <= now]

    async def run_due(self, context: JobContext) -> int:
        done = 0
        for job in self.due(time.monotonic()):
            try:
                worked = await job.run(context)
            except Exception:
                log.exception("job_failed", job=job.name)
                worked = 0
            done += worked
            delay = 0.0 if worked else job.every_seconds
            self.next_run[job.name] = time.monotonic() + delay
        return done
