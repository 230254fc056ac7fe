"""The background loop: relays the event outbox and runs the jobs the domains register."""

from __future__ import annotations

import importlib

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from frontdesk.core.events import EventSink, JsonLinesSink, relay_batch, subscribers
from frontdesk.core.jobs import Job, JobContext, JobSchedule, registry
from frontdesk.core.logs import get_logger
from frontdesk.core.storage import LocalBlobStore

log = get_logger(__name__)

IDLE_SECONDS = 0.5

# The domains' `jobs.py` modules; importing one registers its periodic jobs.
JOB_MODULES: tuple[str, ...] = ("frontdesk.sla.jobs", "frontdesk.email.jobs")
# The domains' `events.py` modules; importing one registers its in-transaction subscribers.
SUBSCRIBER_MODULES: tuple[str, ...] = ("frontdesk.sla.events",)


def load_subscribers() -> None:
    """Every process that changes tickets (API, worker, CLI) must have these registered."""
    for module in SUBSCRIBER_MODULES:
        importlib.import_module(module)


def registered_jobs() -> list[Job]:
    load_subscribers()
    for module in JOB_MODULES:
        importlib.import_module(module)
    return list(registry)


def event_sinks(settings: Settings) -> list[EventSink]:
    """In-code subscribers always; a JSON-lines file when FRONTDESK_EVENT_LOG names one."""
    sinks: list[EventSink] = [subscribers]
    if settings.event_log is not None:
        sinks.append(JsonLinesSink(settings.event_log))
    return sinks


async def run_worker(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    stop: anyio.Event,
    blob_store: LocalBlobStore | None = None,
) -> None:
    """Relay events and run due jobs until `stop` is set; a failing pass is logged, never fatal."""
    sinks = event_sinks(settings)
    context = JobContext(
        settings=settings,
        sessionmaker=sessionmaker,
        blob_store=blob_store or LocalBlobStore(settings.data_dir / "blobs"),
    )
    schedule = JobSchedule(registered_jobs())
    log.info("worker_started", jobs=[job.name for job in schedule.jobs])
    while not stop.is_set():
        try:
            published = await relay_batch(sessionmaker, sinks)
        except Exception:
            log.exception("worker_pass_failed")
            published = 0
        worked = await schedule.run_due(context)
        if published == 0 and worked == 0:
            with anyio.move_on_after(IDLE_SECONDS):
                await stop.wait()
    log.info("worker_stopped")
