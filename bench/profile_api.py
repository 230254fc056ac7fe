"""Profile one operation against a running Frontdesk API process, with py-spy.

    .venv/bin/python bench/profile_api.py --database fd_bench_… --op create_ticket -n 300

Needs a database loaded by `bench/run --keep` and `py-spy` in the virtualenv (`pip install
py-spy`; a measurement tool, not a project dependency). Starts one API process under
`py-spy record`, drives `-n` calls of the operation at concurrency 1 over loopback, stops the
server and prints where the samples went (inclusive share per function, the slowest first).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import operations, processes, texts
from suite.loadgen import run_cell

from frontdesk.core.db import create_engine, create_sessionmaker, transaction
from frontdesk.identity.service.tokens import create_token

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PG = "postgres@127.0.0.1:5432"
PORT = 8719
#: Frames whose inclusive share is reported (the rest are the interpreter and the event loop).
REQUEST_FRAME = "RequestContextMiddleware.__call__"
OURS = ("frontdesk", "sqlalchemy", "pydantic", "fastapi", "starlette", "asyncpg", "uvicorn")


async def _fixture(database: str) -> operations.Fixture:
    conn = await asyncpg.connect(f"postgresql://{PG}/{database}")
    try:
        tenant = await conn.fetchrow("SELECT id, slug FROM tenant WHERE slug = 'bench-00'")
        agent = await conn.fetchval(
            "SELECT id FROM user_account WHERE email = 'agent0@bench-00.example.com'"
        )
        groups = await conn.fetch(
            "SELECT id FROM agent_group WHERE tenant_id = $1 ORDER BY name", tenant["id"]
        )
        new = await conn.fetchval(
            "SELECT id FROM ticket_status WHERE tenant_id = $1 AND category = 'new'"
            " ORDER BY is_default DESC LIMIT 1",
            tenant["id"],
        )
        contacts = await conn.fetch(
            "SELECT id FROM contact WHERE tenant_id = $1 LIMIT 400", tenant["id"]
        )
        threads = await conn.fetch(
            "SELECT id FROM ticket WHERE tenant_id = $1 AND message_count = 20 LIMIT 2000",
            tenant["id"],
        )
        working = await conn.fetch(
            "SELECT id FROM ticket WHERE tenant_id = $1 AND status_category <> 'closed'"
            " ORDER BY random() LIMIT 20000",
            tenant["id"],
        )
    finally:
        await conn.close()
    engine = create_engine(f"postgresql+asyncpg://{PG}/{database}")
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            _, token = await create_token(
                session, user_id=agent, name="profile", tenant_id=tenant["id"], expires_at=None
            )
    finally:
        await engine.dispose()
    rng = random.Random(11)
    pool = texts.conversation_pool(rng, 500)
    return operations.Fixture(
        tenant_slug=tenant["slug"],
        tenant_id=tenant["id"],
        token=token,
        groups=[r["id"] for r in groups],
        new_status_id=new,
        contacts=[r["id"] for r in contacts],
        threads=[r["id"] for r in threads],
        working=[r["id"] for r in working],
        conversations=pool,
        phrases=texts.search_phrases(pool, rng, 200),
    )


def summarize(raw: Path, top: int) -> list[tuple[float, str]]:
    """Inclusive share per function of the samples taken while a request was being handled
    (start-up imports and the idle loop left out), counted once per stack."""
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if REQUEST_FRAME not in stack:
            continue
        count = int(count_text)
        total += count
        frames = {frame.split(" (")[0] + " (" + _module(frame) + ")" for frame in stack.split(";")}
        for frame in frames:
            if any(name in frame for name in OURS):
                inclusive[frame] += count
    return [(100 * n / total, frame) for frame, n in inclusive.most_common(top)] if total else []


def _module(frame: str) -> str:
    inside = frame.partition(" (")[2].rstrip(")")
    path = inside.split(":")[0]
    return "/".join(path.split("/")[-3:])


async def _drive(op: str, fixture: operations.Fixture, calls: int) -> float:
    ops = operations.frontdesk_operations(fixture)
    headers = operations.frontdesk_headers(fixture)
    cell = await run_cell(
        f"http://127.0.0.1:{PORT}",
        headers,
        ops[op],
        concurrency=1,
        max_requests=calls,
        max_seconds=600,
        request_timeout=60,
        counter=itertools.count(random.randrange(10_000)),
    )
    p50 = cell.summary()["p50_ms"]
    return p50 if isinstance(p50, int | float) else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", required=True, help="a database kept by bench/run --keep")
    parser.add_argument("--op", default="create_ticket", choices=operations.OPERATIONS)
    parser.add_argument("-n", type=int, default=300, help="calls to profile")
    parser.add_argument("--top", type=int, default=40, help="functions to print")
    parser.add_argument("--push-path", default="", help="push_ingest: the channel's URL path")
    args = parser.parse_args()
    fixture = asyncio.run(_fixture(args.database))
    fixture.push_path = args.push_path
    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    raw = out / f"profile-{args.op}.txt"
    env = {
        **os.environ,
        "FRONTDESK_DATABASE_URL": f"postgresql+asyncpg://{PG}/{args.database}",
        "FRONTDESK_ENVIRONMENT": "production",
        "FRONTDESK_SECRET_KEY": "profile-" + "x" * 40,
        "FRONTDESK_DATA_DIR": str(out / "var"),
        "FRONTDESK_LOG_LEVEL": "WARNING",
    }
    venv = ROOT / ".venv" / "bin"
    server = processes.start(
        "frontdesk-api-profiled",
        [str(venv / "py-spy"), "record", "-r", "250", "-f", "raw", "-o", str(raw), "--",
         str(venv / "frontdesk"), "serve", "--port", str(PORT)],
        env, out,
    )  # fmt: skip
    try:
        processes.wait_until_up(server, f"http://127.0.0.1:{PORT}/readyz")
        started = time.monotonic()
        p50 = asyncio.run(_drive(args.op, fixture, args.n))
        print(f"{args.op}: {args.n} calls in {time.monotonic() - started:.1f} s, p50 {p50} ms")
    finally:
        # py-spy writes its file when interrupted; it stops the server it started.
        server.process.send_signal(signal.SIGINT)
        server.process.wait(timeout=120)
    for share, frame in summarize(raw, args.top):
        print(f"{share:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
