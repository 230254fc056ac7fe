"""Crash tests on PostgreSQL: real processes killed with SIGKILL at random points.

1. The worker is killed 20 times while it relays the outbox (each time once it has started
   writing events out, after a random delay), then runs to the end: every event committed to
   the outbox is in the JSON-lines event log at least once (compared by id).
2. The API process is killed during 200 concurrent ticket creations and replies, then restarted:
   every write it acknowledged (2xx) exists with its timeline entry and its event, and no ticket
   or message exists without them (nothing half-written).

SQLite runs the API in one process with the worker inside it, so these run on PostgreSQL only
(CI sets FRONTDESK_TEST_DATABASE_URL). The process kinds live in `processes.py`; a mail sender
gets its crash case the same way (start, kill at random during sending, compare the outbox of
mails with what the SMTP server received).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from frontdesk.core.db import transaction
from frontdesk.core.events import OutboxEvent, emit
from frontdesk.core.ids import new_id
from frontdesk.tickets.models import Ticket, TicketAudit, TicketMessage
from tests.factories import World
from tests.robustness.counters import record
from tests.robustness.processes import Server, Worker

SEED = int(os.environ.get("FRONTDESK_CRASH_SEED", "8"))
WORKER_KILLS = 20
EVENTS_PER_ROUND = 400
API_WRITES = 200
API_CONCURRENCY = 40


def require_postgres(settings: Settings) -> None:
    if not settings.db_url.startswith("postgresql"):
        pytest.skip("crash tests kill separate API and worker processes: PostgreSQL only")


async def _eventually(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def _emit_events(
    sessionmaker: async_sessionmaker[AsyncSession], tenant_id: UUID, count: int
) -> None:
    async with transaction(sessionmaker) as session:
        for n in range(count):
            emit(
                session,
                subject_type="probe",
                action="created",
                tenant_id=tenant_id,
                subject_id=new_id(),
                snapshot={"n": n, "padding": "x" * 200},
            )


async def _unpublished(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        statement = select(func.count()).where(OutboxEvent.published_at.is_(None))
        return int(await session.scalar(statement) or 0)


def _delivered(log: Path) -> tuple[list[str], int]:
    """Event ids in the log, and lines a kill cut short (their events are delivered again)."""
    ids, torn = [], 0
    for line in log.read_text().splitlines():
        try:
            ids.append(json.loads(line)["id"])
        except (json.JSONDecodeError, KeyError):
            torn += 1
    return ids, torn


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


async def test_killing_the_worker_during_relay_loses_no_event(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    tmp_path: Path,
) -> None:
    require_postgres(settings)
    rng = random.Random(SEED)
    log = tmp_path / "events.jsonl"
    worker = Worker(
        settings.db_url, tmp_path / "worker", "worker", {"FRONTDESK_EVENT_LOG": str(log)}
    )
    mid_relay = 0
    try:
        for _ in range(WORKER_KILLS):
            await _emit_events(sessionmaker, world.a.id, EVENTS_PER_ROUND)
            size = _size(log)
            worker.start()
            await _eventually(lambda: _size(log) > size, 60, "the worker to relay")  # noqa: B023
            await asyncio.sleep(rng.uniform(0, 0.05))
            worker.kill()
            mid_relay += await _unpublished(sessionmaker) > 0
        worker.start()
        for _ in range(600):
            if await _unpublished(sessionmaker) == 0:
                break
            await asyncio.sleep(0.1)
        worker.stop()
    finally:
        worker.kill()

    async with sessionmaker() as session:
        committed = {str(i) for i in await session.scalars(select(OutboxEvent.id))}
    delivered, torn = _delivered(log)
    lost = committed - set(delivered)
    record(
        "crash_worker",
        "postgresql",
        {
            "kills": WORKER_KILLS,
            "kills_mid_relay": mid_relay,
            "events_committed": len(committed),
            "events_delivered": len(set(delivered)),
            "redeliveries": len(delivered) - len(set(delivered)),
            "torn_lines": torn,
            "events_lost": len(lost),
        },
    )
    assert len(committed) >= WORKER_KILLS * EVENTS_PER_ROUND
    assert mid_relay >= WORKER_KILLS // 2, "most kills should land while events are pending"
    assert not lost, f"{len(lost)} committed events never delivered"


async def test_killing_the_api_loses_no_acknowledged_write(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    tmp_path: Path,
) -> None:
    require_postgres(settings)
    rng = random.Random(SEED)
    server = Server(settings.db_url, tmp_path / "api", "api")
    agent = world.a["agent"].auth
    base = f"/api/v1/tenants/{world.a.slug}/tickets"
    acknowledged: list[tuple[str, str]] = []  # ("ticket" | "message", id)
    failed = 0
    kill_after = rng.randint(API_WRITES // 5, API_WRITES // 2)
    try:
        server.start_and_wait()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            targets = []
            for n in range(5):
                made = await http.post(base, json=_ticket(n), headers=agent)
                assert made.status_code == 201, made.text
                targets.append(made.json()["id"])
            gate = asyncio.Semaphore(API_CONCURRENCY)

            async def write(n: int) -> None:
                nonlocal failed
                async with gate:
                    try:
                        if n % 2:
                            response = await http.post(base, json=_ticket(n), headers=agent)
                            kind = "ticket"
                        else:
                            url = f"{base}/{targets[n % len(targets)]}/messages"
                            response = await http.post(url, json={"body": f"r{n}"}, headers=agent)
                            kind = "message"
                    except httpx.TransportError:
                        failed += 1
                        return
                    if response.is_success:
                        acknowledged.append((kind, response.json()["id"]))
                    else:
                        failed += 1

            async def killer() -> None:
                await _eventually(lambda: len(acknowledged) >= kill_after, 120, "writes")
                server.kill()

            await asyncio.gather(killer(), *(write(n) for n in range(API_WRITES)))
        server.start_and_wait()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            for kind, object_id in acknowledged[:: max(1, len(acknowledged) // 20)]:
                url = f"{base}/{object_id}" if kind == "ticket" else None
                if url:
                    assert (await http.get(url, headers=agent)).status_code == 200
    finally:
        server.kill()

    problems = await _half_written(sessionmaker, acknowledged)
    record(
        "crash_api",
        "postgresql",
        {
            "writes_sent": API_WRITES,
            "acknowledged": len(acknowledged),
            "failed_or_cut": failed,
            "restarts": server.starts - 1,
            "acknowledged_missing": len(problems["missing"]),
            "half_written": len(problems["half"]),
        },
    )
    assert server.starts == 2
    assert len(acknowledged) >= kill_after
    assert failed > 0, "the kill should have cut some requests short"
    assert not problems["missing"], problems["missing"][:20]
    assert not problems["half"], problems["half"][:20]


def _ticket(n: int) -> dict[str, object]:
    return {"subject": f"Crash {n}", "requester": {"email": f"crash{n % 7}@example.org"}}


async def _half_written(
    sessionmaker: async_sessionmaker[AsyncSession], acknowledged: list[tuple[str, str]]
) -> dict[str, list[str]]:
    """Acknowledged writes that are missing, and rows without their timeline entry or event."""
    async with sessionmaker() as session:
        tickets = {str(i) for i in await session.scalars(select(Ticket.id))}
        messages = {str(i) for i in await session.scalars(select(TicketMessage.id))}
        created = {
            str(i)
            for i in await session.scalars(
                select(TicketAudit.ticket_id).where(TicketAudit.action == "created")
            )
        }
        added = {
            str(a)
            for a in await session.scalars(
                select(TicketAudit.after).where(TicketAudit.action == "message_added")
            )
        }
        events = {
            (t.rsplit(".", 2)[-2] + "." + t.rsplit(".", 1)[-1], str(s))
            for t, s in (await session.execute(select(OutboxEvent.type, OutboxEvent.subject_id)))
        }
    missing = [
        f"{kind} {object_id}"
        for kind, object_id in acknowledged
        if object_id not in (tickets if kind == "ticket" else messages)
    ]
    half = [f"ticket {t}: no timeline entry" for t in tickets - created]
    half += [f"ticket {t}: no event" for t in tickets if ("ticket.created", t) not in events]
    half += [f"message {m}: no timeline entry" for m in messages - added]
    half += [
        f"message {m}: no event" for m in messages if ("ticket_message.created", m) not in events
    ]
    return {"missing": missing, "half": half}
