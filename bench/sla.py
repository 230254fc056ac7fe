"""SLA performance: one sweep of the due clocks, and the SLA bookkeeping of one ticket update.

    .venv/bin/python bench/sla.py [--server postgresql+asyncpg://postgres@127.0.0.1:5432]
                                  [--tickets 100000] [--due 1000] [--updates 200] [--keep]

Creates a fresh PostgreSQL database (`fd_sla_bench_<time>`, dropped at the end unless `--keep`),
migrates it, makes 10 tenants through Frontdesk's services (staff, a group with a lead, contacts,
a business calendar on half of them, a default policy that notifies and escalates), then COPYs
`--tickets` open tickets, each with a first-response and a resolution clock, of which `--due`
clocks have something to announce (half at risk, half past due). Then:

1. times the worker's `sla.sweep` job function, run as the worker runs it (again while it
   reports work), until the due clocks are announced: events, notifications, escalations.
   Each pass shows its wall time and this process's CPU time (PostgreSQL's is apart): on a
   busy machine the CPU time is the steadier figure to compare.
   A small sweep runs first (`warm_up`: two older breaches per tenant, loaded beyond
   `--tickets`), as a long-running worker has swept before: statements compiled and
   prepared, the tenants' rules cached; its time is printed too (a restart's extra cost);
2. times the SLA bookkeeping of ticket updates (priority change, public agent reply, status to
   pending): the in-transaction SLA subscriber alone (with the flush of what it wrote; the
   ticket's own change flushed first, so its summary is written apart), and the whole update
   with the subscriber as registered and without it, alternating; their difference is the
   SLA's share of an update. p50/p95 over `--updates` each.

Issue 4's targets: the sweep under 1 s, the bookkeeping under 2 ms per update. Bounded: the
sizes are fixed by the options and every phase is a fixed number of operations.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from frontdesk.core.db import create_engine, create_sessionmaker, set_actor, transaction
from frontdesk.core.events import OutboxEvent, in_transaction
from frontdesk.core.ids import new_id
from frontdesk.core.jobs import JobContext
from frontdesk.core.migrations import upgrade
from frontdesk.core.storage import LocalBlobStore
from frontdesk.identity.context import Principal, TenantContext
from frontdesk.identity.models import GroupMemberRole, User
from frontdesk.identity.policy import Role
from frontdesk.identity.schemas import ContactCreate, GroupCreate, GroupMemberCreate
from frontdesk.identity.service import contacts, groups, users
from frontdesk.identity.service.members import add_member_as
from frontdesk.notifications.models import Notification
from frontdesk.sla.jobs import sla_sweep
from frontdesk.sla.models import TicketSlaState
from frontdesk.sla.schemas import CalendarCreate, PolicyCreate
from frontdesk.sla.service import calendars, policies
from frontdesk.sla.service.sweep import sweep
from frontdesk.tenancy.schemas import TenantCreate
from frontdesk.tenancy.service import create_tenant
from frontdesk.tickets.models import PRIORITY_RANK, Priority, Ticket, TicketStatus
from frontdesk.tickets.schemas import MessageCreate, TicketUpdate
from frontdesk.tickets.service import messages as ticket_messages
from frontdesk.tickets.service import tickets as ticket_service
from frontdesk.worker import load_subscribers

TENANTS = 10
#: Breaches the warm-up sweep takes: two per tenant.
WARM_UP = 2 * TENANTS
FIRST_RESPONSE_MINUTES = 24 * 60
RESOLUTION_MINUTES = 7 * 24 * 60
AT_RISK_PERCENT = 75
#: The policies' escalation on breach (`--no-escalation` empties it).
ESCALATION: list[dict[str, str]] = [
    {"action": "raise_priority"},
    {"action": "add_tag", "tag": "late"},
]
ACTOR = "system:bench"


@dataclass
class Desk:
    """One tenant's people and ids, as the loader and the updates need them."""

    tenant_id: UUID
    owner: User
    group_id: UUID
    agents: list[UUID]
    contacts: list[UUID]
    status_ids: dict[str, UUID]
    policy_id: UUID
    calendar_id: UUID | None
    next_number: int = 1


@dataclass
class Loaded:
    desks: list[Desk]
    #: (tenant index, ticket id) of tickets with nothing due: the updates work on them.
    quiet: list[tuple[int, UUID]] = field(default_factory=list)


def log(message: str) -> None:
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"[{time.strftime('%H:%M:%S')} load {' '.join(load)}] {message}", flush=True)


async def make_desk(session: AsyncSession, index: int, rng: random.Random) -> Desk:
    slug = f"slabench-{index:02d}"
    tenant = await create_tenant(session, TenantCreate(slug=slug, name=f"SLA bench {index}"))
    owner = await users.create_user(session, email=f"owner@{slug}.example.com", display_name="O")
    await add_member_as(session, tenant.id, owner, Role.OWNER)
    admin = await users.create_user(session, email=f"admin@{slug}.example.com", display_name="A")
    await add_member_as(session, tenant.id, admin, Role.ADMIN)
    ctx = TenantContext(tenant, Principal(owner, "session"), Role.OWNER, session)
    set_actor(session, f"user:{owner.id}")
    group = await groups.create_group(ctx, GroupCreate(name="Support"))
    await groups.add_group_member(
        ctx, group, GroupMemberCreate(user_id=admin.id, role=GroupMemberRole.LEAD)
    )
    agents = []
    for n in range(4):
        agent = await users.create_user(
            session, email=f"agent{n}@{slug}.example.com", display_name=f"Agent {n}"
        )
        await add_member_as(session, tenant.id, agent, Role.AGENT)
        await groups.add_group_member(
            ctx, group, GroupMemberCreate(user_id=agent.id, role=GroupMemberRole.AGENT)
        )
        agents.append(agent.id)
    contact_ids = []
    for n in range(20):
        made = await contacts.create_contact(
            session, tenant.id, ContactCreate(name=f"C {n}", emails=[f"c{n}@{slug}.example.org"])
        )
        contact_ids.append(made.id)
    calendar_id = None
    if index % 2 == 1:
        calendar = await calendars.create_calendar(
            ctx,
            CalendarCreate.model_validate(
                {
                    "name": "Office",
                    "timezone": "Europe/Berlin",
                    "schedule": {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu")}
                    | {"fri": [["08:00", "12:00"], ["13:00", "17:00"]]},
                    "holidays": [{"date": "2026-12-24", "end_date": "2026-12-26", "name": "X"}],
                    "holiday_country": "DE",
                }
            ),
        )
        calendar_id = calendar.id
    policy = await policies.create_policy(
        ctx,
        PolicyCreate.model_validate(
            {
                "name": "Standard",
                "is_default": True,
                "calendar_id": str(calendar_id) if calendar_id else None,
                "business_hours_only": calendar_id is not None,
                "at_risk_percent": AT_RISK_PERCENT,
                "notify_at_risk": ["assignee"],
                "notify_breach": ["assignee", "group_leads", "admins"],
                "escalation": ESCALATION,
                "targets": [
                    {"priority": p, "metric": m, "minutes": minutes}
                    for p in ("low", "normal", "high", "urgent")
                    for m, minutes in (
                        ("first_response", FIRST_RESPONSE_MINUTES),
                        ("next_response", FIRST_RESPONSE_MINUTES),
                        ("resolution", RESOLUTION_MINUTES),
                    )
                ],
            }
        ),
    )
    mine = select(TicketStatus).where(TicketStatus.tenant_id == tenant.id)
    statuses = await session.scalars(mine)
    status_ids = {s.category: s.id for s in sorted(statuses, key=lambda s: s.is_default)}
    await session.flush()
    return Desk(tenant.id, owner, group.id, agents, contact_ids, status_ids, policy.id, calendar_id)


TICKET_COLUMNS = [
    "tenant_id",
    "id",
    "number",
    "subject",
    "description",
    "status_id",
    "status_category",
    "priority",
    "priority_rank",
    "type",
    "channel",
    "requester_id",
    "group_id",
    "assignee_id",
    "custom_fields",
    "reopen_count",
    "message_count",
    "public_message_count",
    "unread_by_agent",
    "unread_by_customer",
    "ai_auto_resolved",
    "version",
    "sla_next_due_at",
    "sla_at_risk_at",
    "sla_breached",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
]
STATE_COLUMNS = [
    "tenant_id",
    "id",
    "ticket_id",
    "metric",
    "policy_id",
    "calendar_id",
    "target_minutes",
    "status",
    "started_at",
    "running_since",
    "elapsed_business_seconds",
    "due_at",
    "at_risk_at",
    "paused_business_minutes",
    "at_risk_notified_at",
    "next_check_at",
    "assignee_id",
    "group_id",
    "priority",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
]
PARTICIPANT_COLUMNS = [
    "tenant_id",
    "id",
    "ticket_id",
    "role",
    "contact_id",
    "party_key",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
]


def clock(
    desk: Desk, ticket: tuple[Any, ...], metric: str, minutes: int, started: datetime
) -> tuple[Any, ...]:
    """A running clock as `states.start` leaves it (24/7 arithmetic: the loader's shortcut)."""
    due = started + timedelta(minutes=minutes)
    risk = started + timedelta(minutes=minutes * AT_RISK_PERCENT / 100)
    tenant_id, ticket_id, priority, assignee = ticket[0], ticket[1], ticket[7], ticket[13]
    return (
        tenant_id, new_id(), ticket_id, metric, desk.policy_id, desk.calendar_id, minutes,
        "active", started, started, 0.0, due, risk, 0.0, None, min(risk, due), assignee,
        desk.group_id, priority, started, started, ACTOR, ACTOR,
    )  # fmt: skip


def generate(
    loaded: Loaded, count: int, due: int, now: datetime, rng: random.Random
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Tickets, clocks and requester rows: `due` tickets have one clock to announce each, and
    `WARM_UP` more (two per tenant, beyond `count`) one breach each, for the warm-up sweep."""
    tickets, clocks, participants = [], [], []
    for n in range(-WARM_UP, count):
        index = n % len(loaded.desks)
        desk = loaded.desks[index]
        if n < 0:  # the warm-up's: past due longer ago than any other, so swept first
            created = now - timedelta(minutes=FIRST_RESPONSE_MINUTES * 2)
        elif n < due // 2:  # first response at risk (75% used), not yet due
            created = now - timedelta(minutes=FIRST_RESPONSE_MINUTES * 0.8)
        elif n < due:  # first response past due, never announced (a catch-up)
            created = now - timedelta(minutes=FIRST_RESPONSE_MINUTES * 1.2)
        else:
            created = now - timedelta(minutes=rng.uniform(1, FIRST_RESPONSE_MINUTES * 0.7))
        priority = rng.choice([Priority.LOW, Priority.NORMAL, Priority.NORMAL, Priority.HIGH])
        assignee = rng.choice(desk.agents)
        requester = rng.choice(desk.contacts)
        ticket_id = new_id()
        first_due = created + timedelta(minutes=FIRST_RESPONSE_MINUTES)
        first_risk = created + timedelta(minutes=FIRST_RESPONSE_MINUTES * AT_RISK_PERCENT / 100)
        ticket = (
            desk.tenant_id, ticket_id, desk.next_number, f"Bench ticket {n}", "It is broken.",
            desk.status_ids["open"], "open", priority.value, PRIORITY_RANK[priority], "incident",
            "email", requester, desk.group_id, assignee, "{}", 0, 1, 1, 1, 0, False, 1,
            first_due, first_risk, False, created, created, ACTOR, ACTOR,
        )  # fmt: skip
        desk.next_number += 1
        tickets.append(ticket)
        clocks.append(clock(desk, ticket, "first_response", FIRST_RESPONSE_MINUTES, created))
        clocks.append(clock(desk, ticket, "resolution", RESOLUTION_MINUTES, created))
        participants.append(
            (desk.tenant_id, new_id(), ticket_id, "requester", requester,
             f"contact:{requester}", created, created, ACTOR, ACTOR)
        )  # fmt: skip
        if n >= due:
            loaded.quiet.append((index, ticket_id))
    return tickets, clocks, participants


async def load(server: str, database: str, url: str, tickets: int, due: int) -> Loaded:
    rng = random.Random(4)
    engine = create_engine(url)
    async with transaction(create_sessionmaker(engine), actor=ACTOR) as session:
        desks = [await make_desk(session, i, rng) for i in range(TENANTS)]
    await engine.dispose()
    loaded = Loaded(desks)
    now = datetime.now(UTC)
    ticket_rows, clock_rows, participant_rows = generate(loaded, tickets, due, now, rng)
    conn = await asyncpg.connect(_dsn(server, database))
    try:
        async with conn.transaction():
            await conn.copy_records_to_table("ticket", records=ticket_rows, columns=TICKET_COLUMNS)
            await conn.copy_records_to_table(
                "ticket_participant", records=participant_rows, columns=PARTICIPANT_COLUMNS
            )
            await conn.copy_records_to_table(
                "ticket_sla_state", records=clock_rows, columns=STATE_COLUMNS
            )
            await conn.executemany(
                "UPDATE ticket_number_sequence SET last_number = $2 WHERE tenant_id = $1",
                [(d.tenant_id, d.next_number - 1) for d in desks],
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return loaded


async def warm_up(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """One small sweep first, as a long-running worker has done before: it takes only the
    `WARM_UP` oldest breaches (two per tenant, loaded beyond `--tickets`), so the sweep's
    statements are compiled and prepared on the pooled connection and each tenant's rules
    are cached (behind their fingerprint, still checked on every sweep). Its time is what a
    restarted worker pays once more than a running one; it is printed, not hidden."""
    begun = time.perf_counter()
    worked = await sweep(sessionmaker, batch_size=WARM_UP)
    log(f"warm-up sweep (a fresh process): {worked} breaches in "
        f"{(time.perf_counter() - begun) * 1000:.0f} ms")  # fmt: skip


async def time_sweep(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    context = JobContext(settings, sessionmaker, LocalBlobStore(settings.data_dir / "blobs"))
    passes, handled = [], 0
    started = time.perf_counter()
    while True:
        begun, cpu = time.perf_counter(), time.process_time()
        worked = await sla_sweep(context)
        passes.append((worked, time.perf_counter() - begun, time.process_time() - cpu))
        handled += worked
        if worked == 0:
            break
    total = time.perf_counter() - started
    async with sessionmaker() as session:
        events = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.subject_type == "sla")
        )
        notices = await session.scalar(select(func.count()).select_from(Notification))
        left = await session.scalar(
            select(func.count())
            .select_from(TicketSlaState)
            .where(TicketSlaState.next_check_at <= datetime.now(UTC))
        )
    shown = ", ".join(f"{w} in {s * 1000:.0f} ms (CPU {c * 1000:.0f} ms)" for w, s, c in passes)
    log(
        f"sweep: {handled} due clocks announced in {total * 1000:.0f} ms ({shown}); "
        f"{events} sla events, {notices} notifications (the warm-up's included), {left} still due"
    )


Update = Callable[[TenantContext, Ticket, int], Awaitable[None]]


async def change_priority(ctx: TenantContext, ticket: Ticket, i: int) -> None:
    public = await ticket_service.snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix)
    fields = ticket_service.editable_fields(public)
    fields["priority"] = "high" if ticket.priority != "high" else "normal"
    await ticket_service.update_ticket(ctx, ticket, TicketUpdate.model_validate(fields))


async def public_reply(ctx: TenantContext, ticket: Ticket, i: int) -> None:
    await ticket_messages.add_message(ctx, ticket, MessageCreate(body=f"Looking into it ({i})."))


async def status_pending(ctx: TenantContext, ticket: Ticket, i: int) -> None:
    public = await ticket_service.snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix)
    fields = ticket_service.editable_fields(public)
    fields["status"] = "pending_customer"
    await ticket_service.update_ticket(ctx, ticket, TicketUpdate.model_validate(fields))


@dataclass
class Timings:
    subscriber: list[float] = field(default_factory=list)


def timed_handlers(timings: Timings) -> list[Any]:
    """The registered in-transaction handlers, each timed with the flush of what it wrote."""
    wrapped = []
    for pattern, handler in in_transaction.handlers:

        async def timed(session: AsyncSession, event: OutboxEvent, handler: Any = handler) -> None:
            await session.flush()  # the change itself is not the subscriber's cost
            begun = time.perf_counter()
            await handler(session, event)
            await session.flush()
            timings.subscriber.append(time.perf_counter() - begun)

        wrapped.append((pattern, timed))
    return wrapped


async def run_update(
    sessionmaker: async_sessionmaker[AsyncSession],
    loaded: Loaded,
    tenants: dict[UUID, Any],
    pick: tuple[int, UUID],
    update: Update,
    i: int,
) -> float:
    desk = loaded.desks[pick[0]]
    begun = time.perf_counter()
    async with transaction(sessionmaker, actor=f"user:{desk.owner.id}") as session:
        tenant = await session.merge(tenants[desk.tenant_id], load=False)
        owner = await session.merge(desk.owner, load=False)
        ctx = TenantContext(tenant, Principal(owner, "session"), Role.OWNER, session)
        ticket = await session.get(Ticket, (desk.tenant_id, pick[1]))
        assert ticket is not None
        await update(ctx, ticket, i)
    return time.perf_counter() - begun


def quantiles(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"p50 {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms (n={len(ms)})"


async def time_updates(
    sessionmaker: async_sessionmaker[AsyncSession], loaded: Loaded, count: int
) -> None:
    from frontdesk.tenancy.models import Tenant

    async with sessionmaker() as session:
        tenants = {t.id: t for t in await session.scalars(select(Tenant))}
    rng = random.Random(7)
    picks = rng.sample(loaded.quiet, min(len(loaded.quiet), count * 9))
    registered = list(in_transaction.handlers)
    kinds: list[tuple[str, Update]] = [
        ("priority change", change_priority),
        ("public agent reply", public_reply),
        ("status to pending", status_pending),
    ]
    for number, (name, update) in enumerate(kinds):
        timed, mine, other = (
            picks[(number * 3 + k) * count : (number * 3 + k + 1) * count] for k in range(3)
        )
        timings = Timings()
        in_transaction.handlers = timed_handlers(timings)
        for i, p in enumerate(timed):
            await run_update(sessionmaker, loaded, tenants, p, update, i)
        # The whole update as it runs in production (the subscriber unwrapped: it may write
        # what it keeps on the ticket with the ticket's own UPDATE), and without it,
        # alternating update by update so that the machine's load drifts over both alike.
        with_sla: list[float] = []
        without: list[float] = []
        for i, (p, q) in enumerate(zip(mine, other, strict=False)):
            in_transaction.handlers = registered
            with_sla.append(await run_update(sessionmaker, loaded, tenants, p, update, i))
            in_transaction.handlers = []
            without.append(await run_update(sessionmaker, loaded, tenants, q, update, i))
        in_transaction.handlers = registered
        log(
            f"{name}: SLA subscriber {quantiles(timings.subscriber)}; whole update with SLA "
            f"{quantiles(with_sla)}, without {quantiles(without)}; SLA share of the update "
            f"p50 {(statistics.median(with_sla) - statistics.median(without)) * 1000:.2f} ms"
        )


def _dsn(server: str, database: str) -> str:
    return f"{server.replace('+asyncpg', '')}/{database}"


async def main(args: argparse.Namespace) -> None:
    if args.no_escalation:
        ESCALATION.clear()
    database = f"fd_sla_bench_{time.time_ns() % 10**10}"
    admin = await asyncpg.connect(_dsn(args.server, "postgres"))
    await admin.execute(f'CREATE DATABASE "{database}"')
    url = f"{args.server}/{database}"
    try:
        log(f"database {database}: migrating")
        await asyncio.to_thread(upgrade, url)
        load_subscribers()
        begun = time.perf_counter()
        loaded = await load(args.server, database, url, args.tickets, args.due)
        log(f"loaded {args.tickets} open tickets (+{WARM_UP} for the warm-up), "
            f"{args.tickets * 2} clocks, {args.due} due, "
            f"in {time.perf_counter() - begun:.1f} s")  # fmt: skip
        data_dir = Path(tempfile.mkdtemp(prefix="fd-sla-bench-"))
        settings = Settings(database_url=url, data_dir=data_dir)
        engine = create_engine(url)
        sessionmaker = create_sessionmaker(engine)
        try:
            await warm_up(sessionmaker)
            await time_sweep(settings, sessionmaker)
            await time_updates(sessionmaker, loaded, args.updates)
        finally:
            await engine.dispose()
            shutil.rmtree(data_dir, ignore_errors=True)
    finally:
        if args.keep:
            log(f"kept {database}")
        else:
            await admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        await admin.close()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--no-escalation", action="store_true", help="policies without escalation actions"
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
    print(json.dumps({"done": True}))
