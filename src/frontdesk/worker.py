"""The background loop: relays the event outbox and runs the jobs the domains register."""

from __future__ import annotations

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from frontdesk.core.events import EventSink, JsonLinesSink, relay_batch, subscribers
from frontdesk.core.logs import get_logger

log = get_logger(__name__)

IDLE_SECONDS = 0.5


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
) -> None:
    """Relay events until `stop` is set; a failing pass is logged and retried, never fatal."""
    sinks = event_sinks(settings)
    log.info("worker_started")
    while not stop.is_set():
        try:
            published = await relay_batch(sessionmaker, sinks)
        except Exception:
            log.exception("worker_pass_failed")
            published = 0
        if published == 0:
            with anyio.move_on_after(IDLE_SECONDS):
                await stop.wait()
    log.info("worker_stopped")
