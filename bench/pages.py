#!/usr/bin/env python3
"""Page speed: the server time of the console, portal and admin pages at a data set's size.

    bench/pages.py                            # 100k tickets, up to 30 samples a page
    bench/pages.py --tickets 20000 --samples 10 --keep

Loads the benchmark data set (bench/suite: 50 tenants, 40% of the tickets in the measured one,
~5 messages a ticket, every 50th with a 20-message thread) into a fresh PostgreSQL database,
starts `frontdesk serve`, signs in an agent, the owner and a customer over loopback and calls
each page one request at a time. The server time of each request is the `duration_ms` the
app's request log records for its `X-Request-Id` (so the client and loopback do not count).
Prints p50/p95 per page against the 200 ms budget and writes bench/out/pages.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = ROOT / ".venv" / "bin" / "python"

if __name__ == "__main__" and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
    os.execv(PYTHON, [str(PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])  # noqa: S606

sys.path.insert(0, str(BENCH))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from suite import frontdesk_data, processes, texts  # noqa: E402

OUT = BENCH / "out"
PG = "postgres@127.0.0.1:5432"
PORT = 8721
PASSWORD = "bench-password-123"
BUDGET_MS = 200.0
NOTIFICATIONS = 300


@dataclass
class Page:
    name: str
    who: str
    paths: list[str]


@dataclass
class Timings:
    server_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def psql(sql: str) -> None:
    command = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql]
    subprocess.run(command, check=True)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def load(fd_url: str, tickets: int, rng: random.Random) -> frontdesk_data.Cast:
    cast = await frontdesk_data.build_cast(fd_url, rng)
    pool = texts.conversation_pool(rng, 4000)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(fd_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        for tenant, count in zip(cast.tenants, frontdesk_data.share_of(tickets), strict=True):
            for rows in frontdesk_data.generate(tenant, count, 5.0, pool, rng, now):
                await frontdesk_data.copy_rows(conn, rows)
        await frontdesk_data.finish_numbers(conn, cast)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return cast


async def people(fd_url: str, cast: frontdesk_data.Cast) -> dict[str, str]:
    """Passwords for the agent and owner, a portal login for the busiest customer, and some
    notifications for the agent's bell; returns the e-mail of each."""
    from sqlalchemy import func, select

    from frontdesk.core.db import create_engine, create_sessionmaker, transaction
    from frontdesk.core.security import hash_password
    from frontdesk.identity.models import Contact, User
    from frontdesk.identity.service.users import create_user
    from frontdesk.notifications.kinds import NotificationKind
    from frontdesk.notifications.service import notify_users
    from frontdesk.tickets.models import Ticket

    tenant = cast.measured
    engine = create_engine(fd_url)
    try:
        async with transaction(create_sessionmaker(engine), actor="system:bench") as session:
            digest = hash_password(PASSWORD)
            agent = await session.get(User, cast.agent_id)
            owner = await session.scalar(
                select(User).where(User.email == f"owner@{tenant.slug}.example.com")
            )
            assert agent is not None
            assert owner is not None
            agent.password_hash = owner.password_hash = digest
            busiest = await session.scalar(
                select(Ticket.requester_id)
                .where(Ticket.tenant_id == tenant.id)
                .group_by(Ticket.requester_id)
                .order_by(func.count().desc())
                .limit(1)
            )
            contact = await session.get(Contact, (tenant.id, busiest))
            assert contact is not None
            customer = await create_user(
                session, email=f"customer@{tenant.slug}.example.org", password=PASSWORD
            )
            contact.user_id = customer.id
            for n in range(NOTIFICATIONS):
                await notify_users(
                    session,
                    tenant_id=tenant.id,
                    user_ids=[agent.id],
                    kind=NotificationKind.TICKET_ASSIGNED,
                    title=f"{tenant.prefix}-{n + 1}: assigned to you",
                )
            return {"agent": agent.email, "owner": owner.email, "customer": customer.email}
    finally:
        await engine.dispose()


async def pages_of(conn: asyncpg.Connection, cast: frontdesk_data.Cast) -> list[Page]:
    tenant = cast.measured
    app, portal = f"/app/{tenant.slug}", f"/portal/{tenant.slug}"
    threads = await conn.fetch(
        "SELECT id FROM ticket WHERE tenant_id = $1 AND message_count = 20 LIMIT 50", tenant.id
    )
    mine = await conn.fetch(
        "SELECT t.id FROM ticket t JOIN contact c ON c.tenant_id = t.tenant_id"
        " AND c.id = t.requester_id WHERE t.tenant_id = $1 AND c.user_id IS NOT NULL LIMIT 50",
        tenant.id,
    )
    views = ["mine", "unassigned", "open", "pending", "on_hold", "resolved"]
    found = [Page(f"list {v}", "agent", [f"{app}/tickets?view={v}"]) for v in views]
    found += [
        Page("list group queue", "agent", [f"{app}/tickets?view=group:{tenant.groups[0]}"]),
        Page("list open by SLA due", "agent", [f"{app}/tickets?view=open&sort=sla_due"]),
        Page("list SLA breached", "agent", [f"{app}/tickets?view=open&sla=breached"]),
        Page("list search", "agent", [f"{app}/tickets?view=open&q=invoice"]),
        Page("ticket, 20 messages", "agent", [f"{app}/tickets/{r['id']}" for r in threads]),
        Page("new ticket form", "agent", [f"{app}/tickets/new"]),
        Page("notifications", "agent", [f"{app}/notifications"]),
        Page("portal list", "customer", [portal]),
        Page("portal ticket", "customer", [f"{portal}/tickets/{r['id']}" for r in mine]),
    ]
    admin = ["members", "groups", "customers", "statuses", "tokens", "portal"]
    found += [Page(f"admin {a}", "owner", [f"{app}/admin/{a}"]) for a in admin]
    return found


async def sign_in(base: str, email: str, login_path: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=60)
    response = await client.post(login_path, data={"email": email, "password": PASSWORD})
    if response.status_code != 303:
        raise RuntimeError(f"{email} could not sign in: {response.status_code}")
    return client


async def measure(
    clients: dict[str, httpx.AsyncClient], pages: list[Page], samples: int, seconds: float
) -> dict[str, Timings]:
    """Each page in turn, one request at a time; the first call warms it up, uncounted."""
    sent: dict[str, str] = {}
    timings = {page.name: Timings() for page in pages}
    for page in pages:
        client = clients[page.who]
        await client.get(page.paths[0])
        started = time.monotonic()
        for n in range(samples):
            if time.monotonic() - started > seconds:
                break
            request_id = f"pages-{secrets.token_hex(6)}"
            t0 = time.perf_counter()
            response = await client.get(
                page.paths[n % len(page.paths)], headers={"X-Request-Id": request_id}
            )
            timings[page.name].client_ms.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{page.name}: {response.status_code} {response.text[:300]}")
            sent[request_id] = page.name
    return timings | _server_times(sent, timings)


def _server_times(sent: dict[str, str], timings: dict[str, Timings]) -> dict[str, Timings]:
    for line in (OUT / "pages-server.log").read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        name = sent.get(entry.get("request_id", ""))
        if name and entry.get("event") == "request":
            timings[name].server_ms.append(float(entry["duration_ms"]))
    return timings


def report(timings: dict[str, Timings], meta: dict[str, object]) -> str:
    lines = [
        f"Pages at {meta['tickets']:,} tickets ({meta['tickets_in_tenant']:,} in the measured "
        f"tenant), {meta['date']}, load average before/after {meta['load_before']} / "
        f"{meta['load_after']}",
        "",
        "| page | samples | server p50 ms | server p95 ms | client p50 ms | under 200 ms (p95) |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, t in timings.items():
        p95 = quantile(t.server_ms, 0.95)
        ok = "yes" if p95 is not None and p95 < BUDGET_MS else "NO"
        lines.append(
            f"| {name} | {len(t.server_ms)} | {quantile(t.server_ms, 0.5)} | {p95} | "
            f"{quantile(t.client_ms, 0.5)} | {ok} |"
        )
    return "\n".join(lines) + "\n"


async def run(args: argparse.Namespace, db: str) -> None:
    fd_url = f"postgresql+asyncpg://{PG}/{db}"
    env = {
        "FRONTDESK_DATABASE_URL": fd_url,
        "FRONTDESK_ENVIRONMENT": "production",
        "FRONTDESK_SECRET_KEY": secrets.token_urlsafe(48),
        "FRONTDESK_DATA_DIR": str(OUT / "pages-var"),
        "FRONTDESK_LOG_LEVEL": "INFO",
        "FRONTDESK_LOG_FORMAT": "json",
        "FRONTDESK_EMBEDDED_WORKER": "false",
    }
    os.environ.update(env)
    cli = str(ROOT / ".venv" / "bin" / "frontdesk")
    upgrade = [cli, "db", "upgrade"]
    await asyncio.to_thread(subprocess.run, upgrade, env={**os.environ, **env}, check=True)
    print(f"loading {args.tickets:,} tickets into {db}", flush=True)
    cast = await load(fd_url, args.tickets, random.Random(7))
    emails = await people(fd_url, cast)
    conn = await asyncpg.connect(f"postgresql://{PG}/{db}")
    try:
        await conn.execute("ANALYZE")
        pages = await pages_of(conn, cast)
    finally:
        await conn.close()
    server = processes.start("pages-server", [cli, "serve", "--port", str(args.port)], env, OUT)
    base = f"http://127.0.0.1:{args.port}"
    clients: dict[str, httpx.AsyncClient] = {}
    try:
        processes.wait_until_up(server, f"{base}/readyz")
        slug = cast.measured.slug
        clients = {
            "agent": await sign_in(base, emails["agent"], "/app/login"),
            "owner": await sign_in(base, emails["owner"], "/app/login"),
            "customer": await sign_in(base, emails["customer"], f"/portal/{slug}/login"),
        }
        before = load_average()
        timings = await measure(clients, pages, args.samples, args.seconds)
        after = load_average()
    finally:
        for client in clients.values():
            await client.aclose()
        server.stop()
    meta: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "tickets": args.tickets,
        "tickets_in_tenant": frontdesk_data.share_of(args.tickets)[0],
        "load_before": before,
        "load_after": after,
        "command": " ".join(sys.argv),
    }
    table = report(timings, meta)
    (OUT / "pages.md").write_text(table)
    figures = {
        name: {
            "samples": len(t.server_ms),
            "server_p50_ms": quantile(t.server_ms, 0.5),
            "server_p95_ms": quantile(t.server_ms, 0.95),
            "client_p50_ms": quantile(t.client_ms, 0.5),
        }
        for name, t in timings.items()
    }
    (OUT / "pages.json").write_text(json.dumps({"meta": meta, "pages": figures}, indent=2) + "\n")
    print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets in all tenants")
    parser.add_argument("--samples", type=int, default=30, help="requests per page, at most")
    parser.add_argument("--seconds", type=float, default=20.0, help="time per page, at most")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    db = f"fd_pages_{int(time.time())}"
    psql(f"CREATE DATABASE {db}")
    try:
        asyncio.run(run(args, db))
    finally:
        if not args.keep:
            psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


if __name__ == "__main__":
    main()
