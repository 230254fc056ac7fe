"""Crash tests on PostgreSQL: real processes killed with SIGKILL at random points.

1. The worker is killed 20 times while it relays the outbox (each time once it has started
   writing events out, after a random delay), then runs to the end: every event committed to
   the outbox is in the JSON-lines event log at least once (compared by id).
2. The API process is killed during 200 concurrent ticket creations and replies, then restarted:
   every write it acknowledged (2xx) exists with its timeline entry and its event, and no ticket
   or message exists without them (nothing half-written).

SQLite runs the API in one process with the worker inside it, so these run on PostgreSQL only
(CI sets FRONTDESK_TEST_DATABASE_URL). The process kinds live in `processes.py`.
3. The worker is killed 20 times while it relays events and sends the mail they cause to a real
   SMTP server on loopback (aiosmtpd), each time at a random point after it has started relaying
   or started sending; then it runs to the end: every committed event is in the event log, every
   agent reply was planned as a mail, and every queued mail reached the server at least once
   (compared by Message-ID; duplicates are counted, since a kill between sending and recording
   sends a mail again).
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
from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from frontdesk.core.db import transaction
from frontdesk.core.events import OutboxEvent, emit
from frontdesk.core.ids import new_id
from frontdesk.email.models import EmailEventCursor, OutboundMail, OutboundStatus
from frontdesk.email.service.planner import CURSOR
from frontdesk.email.service.sending import LEASE
from frontdesk.tickets.models import Ticket, TicketAudit, TicketMessage
from tests.factories import World
from tests.robustness.counters import record
from tests.robustness.mail_sink import Inbox, smtp_sink
from tests.robustness.processes import Server, Worker

SEED = int(os.environ.get("FRONTDESK_CRASH_SEED", "8"))
WORKER_KILLS = 20
EVENTS_PER_ROUND = 400
MAIL_KILLS = 20
REPLIES_PER_ROUND = 12
PROBES_PER_ROUND = 150
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


async def test_killing_the_worker_while_it_sends_mail_loses_no_mail(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    world: World,
    tmp_path: Path,
) -> None:
    require_postgres(settings)
    rng = random.Random(SEED + 1)
    log = tmp_path / "events.jsonl"
    tickets = [await _customer_ticket(client, world, n) for n in range(4)]
    kills = {"relay": 0, "send": 0, "mid_relay": 0, "mid_send": 0}
    with smtp_sink() as (inbox, port):
        worker = Worker(
            settings.db_url,
            tmp_path / "mailer",
            "mailer",
            {
                "FRONTDESK_EVENT_LOG": str(log),
                "FRONTDESK_SMTP_URL": f"smtp://127.0.0.1:{port}",
                "FRONTDESK_MAIL_FROM": "desk@frontdesk.example.com",
                "FRONTDESK_MAIL_RETRY_BASE_SECONDS": "0",
            },
        )
        try:
            for round_ in range(MAIL_KILLS):
                await _agent_replies(client, world, tickets, round_)
                await _emit_events(sessionmaker, world.a.id, PROBES_PER_ROUND)
                claimed = await _mails_in(sessionmaker, OutboundStatus.PROCESSING)
                await _kill_at_random(worker, rng, log, inbox, kills)
                kills["mid_relay"] += await _unpublished(sessionmaker) > 0
                # claimed by the killed worker and never recorded: sent or not, it goes again
                kills["mid_send"] += (
                    await _mails_in(sessionmaker, OutboundStatus.PROCESSING) > claimed
                )
            # A killed sender's claim expires after LEASE (5 minutes): move it back instead.
            await _expire_claims(sessionmaker)
            worker.start()
            await _drained(sessionmaker)
            worker.stop()
        finally:
            worker.kill()
        received = [str(mail.message["Message-ID"]) for mail in inbox.mails]

    async with sessionmaker() as session:
        committed = {str(i) for i in await session.scalars(select(OutboxEvent.id))}
        mails = {m.message_id: m for m in await session.scalars(select(OutboundMail))}
        unplanned = await _replies_without_mail(session)
    queued = set(mails)
    delivered, torn = _delivered(log)
    lost_events = committed - set(delivered)
    lost_mails = queued - set(received)
    record(
        "crash_mail",
        "postgresql",
        {
            "kills": MAIL_KILLS,
            "kills_after_relay_began": kills["relay"],
            "kills_after_sending_began": kills["send"],
            "kills_mid_relay": kills["mid_relay"],
            "kills_mid_send": kills["mid_send"],
            "events_committed": len(committed),
            "events_lost": len(lost_events),
            "mails_queued": len(queued),
            "mails_received": len(received),
            "duplicate_mails": len(received) - len(set(received)),
            "replies_not_planned": len(unplanned),
            "mails_lost": len(lost_mails),
            "torn_lines": torn,
        },
    )
    assert kills["send"] >= MAIL_KILLS // 4, kills
    assert kills["relay"] >= MAIL_KILLS // 4, kills
    assert len(queued) >= MAIL_KILLS * REPLIES_PER_ROUND
    assert not lost_events, f"{len(lost_events)} committed events never delivered"
    assert not unplanned, f"agent replies without their mail: {unplanned[:10]}"
    assert not lost_mails, (
        f"{len(lost_mails)} queued mails never reached the SMTP server: "
        + "; ".join(_described(mails[m]) for m in sorted(lost_mails)[:20])
    )
    assert set(received) <= queued, "the server received mail the queue does not know"


def _described(mail: OutboundMail) -> str:
    return (
        f"{mail.message_id} to {mail.recipient}: {mail.status}, {mail.attempts} attempts,"
        f" created {mail.created_at:%H:%M:%S.%f}, claimed {mail.claimed_at}, sent {mail.sent_at}"
    )


async def _customer_ticket(client: httpx.AsyncClient, world: World, n: int) -> str:
    response = await client.post(
        f"/api/v1/tenants/{world.a.slug}/tickets",
        json={"subject": f"Mail crash {n}", "requester_id": str(world.a.contact_id)},
        headers=world.a["agent"].auth,
    )
    assert response.status_code == 201, response.text
    made: str = response.json()["id"]
    return made


async def _agent_replies(
    client: httpx.AsyncClient, world: World, tickets: list[str], round_: int
) -> None:
    """Each public agent reply is one mail to the ticket's customer."""
    for n in range(REPLIES_PER_ROUND):
        url = f"/api/v1/tenants/{world.a.slug}/tickets/{tickets[n % len(tickets)]}/messages"
        body = {"body": f"Reply {round_}.{n}"}
        response = await client.post(url, json=body, headers=world.a["agent"].auth)
        assert response.status_code == 201, response.text


async def _kill_at_random(
    worker: Worker, rng: random.Random, log: Path, inbox: Inbox, kills: dict[str, int]
) -> None:
    """Start the worker, wait until it relays (or sends), then kill it a random moment later."""
    phase = rng.choice(["relay", "send"])
    size, received = _size(log), len(inbox.mails)
    worker.start()
    if phase == "relay":
        await _eventually(lambda: _size(log) > size, 60, "the worker to relay")
        await asyncio.sleep(rng.uniform(0, 0.05))
    else:
        await _eventually(lambda: len(inbox.mails) > received, 60, "the worker to send")
        await asyncio.sleep(rng.uniform(0, 0.02))
    worker.kill()
    kills[phase] += 1


async def _mails_in(sessionmaker: async_sessionmaker[AsyncSession], status: str) -> int:
    async with sessionmaker() as session:
        statement = select(func.count()).where(OutboundMail.status == status)
        return int(await session.scalar(statement) or 0)


async def _expire_claims(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessionmaker) as session:
        claimed = await session.scalars(
            select(OutboundMail).where(OutboundMail.status == OutboundStatus.PROCESSING.value)
        )
        for mail in claimed:
            assert mail.claimed_at is not None
            mail.claimed_at -= LEASE


async def _drained(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Until every event is relayed and planned and every mail sent (2 minutes at most).

    All is read in one snapshot: counted one query at a time, a mail the planner queued between
    the mail counts and the planner check was missed, and the worker stopped before sending it.
    """
    for _ in range(1200):
        if await _quiet(sessionmaker):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the worker did not relay, plan and send everything within 2 minutes")


async def _quiet(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    async with sessionmaker() as session:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        unsent = await session.scalar(
            select(func.count()).where(OutboundMail.status.in_(["pending", "processing", "failed"]))
        )
        cursor = await session.get(EmailEventCursor, CURSOR)
        if cursor is None:  # the planner has not run yet
            return False
        unplanned_events = await session.scalar(
            select(func.count()).where(
                OutboxEvent.published_at.is_not(None),
                tuple_(OutboxEvent.published_at, OutboxEvent.id)
                > tuple_(cursor.published_at, cursor.event_id),
            )
        )
        unpublished = await session.scalar(
            select(func.count()).where(OutboxEvent.published_at.is_(None))
        )
        unplanned_replies = await _replies_without_mail(session)
    return not (unsent or unplanned_events or unpublished or unplanned_replies)


async def _replies_without_mail(session: AsyncSession) -> list[str]:
    planned = select(OutboundMail.ticket_message_id).where(
        OutboundMail.ticket_message_id.is_not(None)
    )
    rows = await session.scalars(
        select(TicketMessage.id).where(
            TicketMessage.author_user_id.is_not(None),
            TicketMessage.is_internal.is_(False),
            TicketMessage.id.not_in(planned),
        )
    )
    return [str(i) for i in rows]
