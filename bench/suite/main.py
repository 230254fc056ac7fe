"""`bench/run`: load data, start the three systems, drive the load, write the report."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import platform
import random
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import asyncpg

from suite import frontdesk_data, operations, peer, processes, report, texts
from suite.loadgen import Cell, Operation, run_cell

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent
OUT = BENCH / "out"
PG = "postgres@127.0.0.1:5432"
PORTS = {"frontdesk": 8711, "limit": 8712, "peer": 8713}
#: The mean of the per-ticket draw; floored, wrapped below 19, at least 1, and every 50th
#: ticket's 20-message thread, it comes to about 5 messages a ticket (5M for 1M tickets).
MESSAGES_PER_TICKET = 5.75


@dataclass
class Plan:
    sizes: list[int]
    levels: list[int]
    seconds: float
    max_requests: int
    scaling_requests: int
    peer: bool
    keep: bool
    timeout: float


def parse(argv: list[str]) -> tuple[Plan, list[str]]:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k tickets, levels 1 and 16")
    parser.add_argument("--sizes", help="comma-separated ticket totals, the scaling points")
    parser.add_argument("--levels", help="comma-separated concurrency levels")
    parser.add_argument("--seconds", type=float, help="time limit of one measurement")
    parser.add_argument("--requests", type=int, help="request limit of one measurement")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request time-out (s)")
    parser.add_argument("--no-peer", action="store_true", help="skip django-helpdesk")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    args = parser.parse_args(argv)
    if args.quick:
        plan = Plan([10_000, 100_000], [1, 16], 5.0, 3000, 150, True, False, args.timeout)
    else:
        plan = Plan([10_000, 100_000, 1_000_000], [1, 8, 32], 15.0, 20_000, 400, True, False,
                    args.timeout)  # fmt: skip
    if args.sizes:
        plan.sizes = [int(s) for s in args.sizes.split(",")]
    if args.levels:
        plan.levels = [int(s) for s in args.levels.split(",")]
    plan.seconds = args.seconds or plan.seconds
    plan.max_requests = args.requests or plan.max_requests
    plan.peer = not args.no_peer
    plan.keep = args.keep
    return plan, ["bench/run", *argv]


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def main(argv: list[str] | None = None) -> None:
    plan, command = parse(sys.argv[1:] if argv is None else argv)
    OUT.mkdir(exist_ok=True)
    stamp = f"{int(time.time())}"
    names = {"frontdesk": f"fd_bench_{stamp}", "peer": f"fd_bench_{stamp}_peer"}
    started = time.monotonic()
    servers: list[processes.Server] = []
    try:
        results = asyncio.run(_run(plan, names, servers))
    finally:
        for server in servers:
            server.stop()
        if not plan.keep:
            for name in names.values():
                _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    results["meta"] |= {
        "command": " ".join(command),
        "duration_s": round(time.monotonic() - started),
    }
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report.markdown(results)
    (OUT / "results.md").write_text(table)
    print(table)


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql],
        check=True,
        capture_output=True,
    )


async def _run(plan: Plan, names: dict[str, str], servers: list[processes.Server]) -> dict:  # type: ignore[type-arg]
    rng = random.Random(7)
    now = datetime.now(UTC)
    pool = texts.conversation_pool(rng, 4000)
    fd_db = names["frontdesk"]
    _psql(f"CREATE DATABASE {fd_db}")
    fd_url = f"postgresql+asyncpg://{PG}/{fd_db}"
    env = {
        "FRONTDESK_DATABASE_URL": fd_url,
        "FRONTDESK_ENVIRONMENT": "production",
        "FRONTDESK_SECRET_KEY": secrets.token_urlsafe(48),
        "FRONTDESK_DATA_DIR": str(OUT / "var"),
        "FRONTDESK_LOG_LEVEL": "WARNING",
    }
    frontdesk_cli = str(ROOT / ".venv" / "bin" / "frontdesk")
    log(f"database {fd_db}: migrations")
    migrate = [frontdesk_cli, "db", "upgrade"]
    await asyncio.to_thread(subprocess.run, migrate, env={**_environ(), **env}, check=True)
    log("tenants, staff, groups, contacts and the API token through the services")
    cast = await frontdesk_data.build_cast(fd_url, rng)
    conn = await asyncpg.connect(f"postgresql://{PG}/{fd_db}")
    peer_conn = None
    peer_loaded = 0
    if plan.peer:
        log("peer: virtualenv, migrations, staff user and queues")
        peer.ensure_venv()
        peer_secret = secrets.token_urlsafe(48)
        _psql(f"CREATE DATABASE {names['peer']}")
        peer.prepare(names["peer"], peer_secret)
        peer_conn = await asyncpg.connect(f"postgresql://{PG}/{names['peer']}")
    log("starting Frontdesk (2 API processes + 1 worker) and the limit (2 processes)")
    servers.append(processes.start(
        "frontdesk-api",
        [frontdesk_cli, "serve", "--port", str(PORTS["frontdesk"]), "--workers", "2"],
        env, OUT,
    ))  # fmt: skip
    servers.append(processes.start("frontdesk-worker", [frontdesk_cli, "worker"], env, OUT))
    servers.append(processes.start(
        "limit",
        [str(ROOT / ".venv" / "bin" / "uvicorn"), "limit_app:app", "--app-dir", str(BENCH),
         "--port", str(PORTS["limit"]), "--workers", "2", "--no-access-log",
         "--log-level", "warning"],
        {"LIMIT_DSN": f"postgresql://{PG}/{fd_db}", "LIMIT_TENANT": str(cast.measured.id)}, OUT,
    ))  # fmt: skip
    loaded = 0
    scaling: dict[str, dict[str, object]] = {op: {} for op in operations.SCALED}
    fixture = None
    push_path = ""
    load_seconds = 0.0
    for size in plan.sizes:
        t0 = time.monotonic()
        counts = frontdesk_data.share_of(size)
        previous = frontdesk_data.share_of(loaded) if loaded else [0] * len(counts)
        log(f"loading Frontdesk tickets up to {size:,} ({counts[0]:,} in the measured tenant)")
        for tenant, want, have in zip(cast.tenants, counts, previous, strict=True):
            for rows in frontdesk_data.generate(
                tenant, want - have, MESSAGES_PER_TICKET, pool, rng, now
            ):
                await frontdesk_data.copy_rows(conn, rows)
        await frontdesk_data.finish_numbers(conn, cast)
        # As autovacuum would have by then: statistics and the visibility map (index-only
        # scans skip the heap only for pages it marks all-visible).
        await conn.execute("VACUUM (ANALYZE)")
        load_seconds += time.monotonic() - t0
        if peer_conn is not None:
            log(f"loading the peer's tickets up to {size:,}")
            await peer.load(peer_conn, peer_loaded + 1, size - peer_loaded, MESSAGES_PER_TICKET,
                            pool, rng, now)  # fmt: skip
            await peer_conn.execute("VACUUM (ANALYZE)")
            peer_loaded = size
        loaded = size
        processes.wait_until_up(servers[0], f"http://127.0.0.1:{PORTS['frontdesk']}/readyz")
        fixture = await _fixture(conn, cast, pool, rng)
        fixture.push_path = push_path or await operations.create_push_channel(
            f"http://127.0.0.1:{PORTS['frontdesk']}", fixture, cast.owner_token
        )
        push_path = fixture.push_path
        ops = operations.frontdesk_operations(fixture)
        log(f"scaling point {size:,}: {', '.join(operations.SCALED)} at concurrency 1")
        for op in operations.SCALED:
            cell = await _measure("frontdesk", ops[op], operations.frontdesk_headers(fixture),
                                  1, plan, requests=plan.scaling_requests)  # fmt: skip
            scaling[op][str(counts[0])] = cell.summary() | {"tickets_total": size}
    assert fixture is not None
    results: dict[str, dict[str, object]] = {op: {} for op in operations.OPERATIONS}
    processes.wait_until_up(servers[2], f"http://127.0.0.1:{PORTS['limit']}/healthz")
    systems: list[tuple[str, dict[str, Operation], dict[str, str]]] = [
        ("frontdesk", operations.frontdesk_operations(fixture),
         operations.frontdesk_headers(fixture)),
        ("limit", operations.limit_operations(fixture), {}),
    ]  # fmt: skip
    if plan.peer:
        servers.append(processes.start(
            "peer",
            [str(peer.VENV / "bin" / "gunicorn"), "--workers", "2", "--bind",
             f"127.0.0.1:{PORTS['peer']}", "--timeout", str(int(plan.timeout) + 30),
             "helpdesk_site.wsgi"],
            peer.env(names["peer"], peer_secret), OUT, cwd=peer.SITE,
        ))  # fmt: skip
        processes.wait_until_up(servers[-1], f"http://127.0.0.1:{PORTS['peer']}/")
        assert peer_conn is not None
        peer_fixture = await _peer_fixture(peer_conn)
        systems.append(("peer", operations.peer_operations(fixture, peer_fixture),
                        operations.peer_headers(peer_fixture)))  # fmt: skip
    for system, ops, headers in systems:
        # The peer's list is last: a timed-out request keeps its worker busy for a while.
        for op in sorted(ops, key=lambda name: name == "queue_list"):
            levels = {}
            for level in plan.levels:
                log(f"{system} {op} at concurrency {level}")
                cell = await _measure(system, ops[op], headers, level, plan)
                levels[str(level)] = cell.summary()
            results[op][system] = levels
    memory = {server.name: server.peak_rss_mb() for server in servers}
    await conn.close()
    if peer_conn is not None:
        await peer_conn.close()
    return report.assemble(
        results,
        scaling,
        memory,
        meta={
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "tickets_total": loaded,
            "messages_total": await _count_messages(fd_url),
            "tickets_in_measured_tenant": frontdesk_data.share_of(loaded)[0],
            "tenants": frontdesk_data.TENANTS,
            "levels": plan.levels,
            "seconds_per_measurement": plan.seconds,
            "max_requests_per_measurement": plan.max_requests,
            "request_timeout_s": plan.timeout,
            "frontdesk_load_seconds": round(load_seconds),
            "versions": _versions(),
        },
    )


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


async def _count_messages(fd_url: str) -> int:
    conn = await asyncpg.connect(fd_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM ticket_message"))
    finally:
        await conn.close()


async def _measure(
    system: str,
    operation: Operation,
    headers: dict[str, str],
    concurrency: int,
    plan: Plan,
    requests: int | None = None,
) -> Cell:
    base = f"http://127.0.0.1:{PORTS[system]}"
    counter = itertools.count(_offsets.setdefault(id(operation), 0))
    # One warm-up call (connections, caches), not counted.
    await run_cell(base, headers, operation, concurrency=1, max_requests=1,
                   max_seconds=plan.timeout, request_timeout=plan.timeout,
                   counter=counter)  # fmt: skip
    cell = await run_cell(
        base,
        headers,
        operation,
        concurrency=concurrency,
        max_requests=requests or plan.max_requests,
        max_seconds=plan.seconds,
        request_timeout=plan.timeout,
        counter=counter,
    )
    _offsets[id(operation)] = next(counter)
    return cell


#: Where each operation's next call continues, so repeated runs do not reuse the same rows.
_offsets: dict[int, int] = {}


async def _fixture(
    conn: asyncpg.Connection,
    cast: frontdesk_data.Cast,
    pool: list[texts.Conversation],
    rng: random.Random,
) -> operations.Fixture:
    tenant = cast.measured
    threads = await conn.fetch(
        "SELECT id FROM ticket WHERE tenant_id = $1 AND message_count = 20 LIMIT 2000", tenant.id
    )
    # Tickets still being worked or recently solved: replies and changes go to those.
    working = await conn.fetch(
        "SELECT id FROM ticket WHERE tenant_id = $1 AND status_category <> 'closed'"
        " ORDER BY random() LIMIT 20000",
        tenant.id,
    )
    return operations.Fixture(
        tenant_slug=tenant.slug,
        tenant_id=tenant.id,
        token=cast.token,
        groups=tenant.groups,
        new_status_id=tenant.status_ids["new"],
        contacts=tenant.contacts,
        threads=[r["id"] for r in threads],
        working=[r["id"] for r in working],
        conversations=pool,
        phrases=texts.search_phrases(pool, rng, 500),
    )


async def _peer_fixture(conn: asyncpg.Connection) -> operations.PeerFixture:
    queues = await conn.fetch("SELECT id FROM helpdesk_queue ORDER BY id")
    tickets = await conn.fetch(
        "SELECT id FROM helpdesk_ticket WHERE status = 1 ORDER BY random() LIMIT 20000"
    )
    return operations.PeerFixture(
        peer.USERNAME, peer.PASSWORD, [r["id"] for r in queues], [r["id"] for r in tickets]
    )


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("frontdesk", "fastapi", "starlette", "uvicorn", "sqlalchemy", "asyncpg",
                    "pydantic", "httpx"):  # fmt: skip
        found[package] = version(package)
    server = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"],
        capture_output=True,
        text=True,
        check=False,
    )
    found["postgresql"] = server.stdout.strip()
    found["peer"] = ", ".join(peer.REQUIREMENTS)
    return found
