"""Server time of the admin pages for SLA and email, on the demo data plus a busy desk's settings.

    .venv/bin/python bench/admin_pages.py [--database-url postgresql+asyncpg://…] [-n 30]

Loads the demo (acme: its tickets, SLA policies and clocks), then adds to acme 40 calendars,
60 policies with targets, conditions and escalations, 30 channels and 5,000 outbound mails.
Each page is requested `n` times in-process (httpx over ASGI, no network) by the signed-in
owner; the median and the 95th percentile are printed in milliseconds. Without a URL a scratch
SQLite database is made; a PostgreSQL database must be a scratch one (it is migrated and filled).
Target (issue 6): every page under 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

from frontdesk.core.clock import utcnow
from frontdesk.core.config import Settings
from frontdesk.core.db import transaction
from frontdesk.core.migrations import upgrade
from frontdesk.core.storage import LocalBlobStore
from frontdesk.demo import load_demo
from frontdesk.demo.people import DEMO_PASSWORD
from frontdesk.email.models import InboundChannel, OutboundMail, OutboundStatus
from frontdesk.sla.models import SlaCalendar, SlaPolicy, SlaTarget
from frontdesk.tenancy.repository import tenant_by_ref
from frontdesk.web.app import create_app

PAGES = [
    "/app/acme/admin/members",  # an older admin page, for comparison: the frame costs the same
    "/app/acme/admin/sla/calendars",
    "/app/acme/admin/sla/calendars/new",
    "/app/acme/admin/sla/policies",
    "/app/acme/admin/sla/policies/new",
    "/app/acme/admin/sla/report",
    "/app/acme/admin/sla/report?by=agent",
    "/app/acme/admin/channels",
    "/app/acme/admin/mail/outbound",
    "/app/acme/admin/mail/outbound?status=failed",
]
WEEK = {day: [["08:00", "12:00"], ["13:00", "18:00"]] for day in ("mon", "tue", "wed", "thu")}
MONTHS = range(1, 13)
STATUSES = [s.value for s in OutboundStatus]


async def fill(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app), transaction(app.state.sessionmaker) as session:
        await load_demo(session, store=LocalBlobStore(settings.data_dir / "blobs"))
        tenant = await tenant_by_ref(session, "acme")
        assert tenant is not None
        holidays = [
            {"date": f"2026-{m:02d}-01", "end_date": None, "name": "Day"} for m in range(1, 13)
        ]
        for n in range(40):
            session.add(
                SlaCalendar(
                    tenant_id=tenant.id,
                    name=f"Bench calendar {n}",
                    timezone="Europe/Paris",
                    schedule=WEEK | {"fri": [["08:00", "16:00"]]},
                    holidays=holidays,
                )
            )
        for n in range(60):
            policy = SlaPolicy(
                tenant_id=tenant.id,
                name=f"Bench policy {n}",
                position=100 + n,
                active=n % 3 != 0,
                conditions={"all": [{"field": "tags", "op": "contains", "value": f"t{n}"}]},
                pause_categories=["pending"],
                notify_at_risk=["assignee"],
                notify_breach=["assignee", "admins"],
                escalation=[{"action": "add_tag", "tag": "late"}],
            )
            session.add(policy)
            await session.flush()
            for priority, minutes in (("low", 960), ("normal", 480), ("high", 120)):
                session.add(
                    SlaTarget(
                        tenant_id=tenant.id,
                        policy_id=policy.id,
                        priority=priority,
                        metric="resolution",
                        minutes=minutes,
                    )
                )
        for n in range(30):
            session.add(
                InboundChannel(
                    tenant_id=tenant.id,
                    kind="email",
                    mode="push",
                    name=f"Bench channel {n}",
                    address=f"desk{n}@acme.example.com",
                )
            )
        now = utcnow()
        for n in range(5000):
            status = STATUSES[n % len(STATUSES)]
            session.add(
                OutboundMail(
                    tenant_id=tenant.id,
                    dedup_key=f"bench:{n}",
                    kind="reply",
                    recipient=f"customer{n}@example.com",
                    from_address="help@acme.example.com",
                    subject=f"Re: your request {n}",
                    body_text="Hello",
                    message_id=f"<bench-{n}@acme.example.com>",
                    status=status,
                    attempts=8 if status == "failed" else 1,
                    last_error="550 no such user" if status == "failed" else None,
                    next_attempt_at=now,
                    created_at=now - timedelta(minutes=n),
                )
            )


async def measure(settings: Settings, rounds: int) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            signed_in = await client.post(
                "/app/login", data={"email": "owner@acme.test", "password": DEMO_PASSWORD}
            )
            assert signed_in.status_code == 303, signed_in.text
            for page in PAGES:
                timings = []
                for _ in range(rounds):
                    started = time.perf_counter()
                    response = await client.get(page)
                    timings.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, (page, response.status_code)
                timings.sort()
                p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
                print(f"{page:48} median {statistics.median(timings):6.1f} ms  p95 {p95:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("-n", type=int, default=30)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="frontdesk-bench-admin-"))
    url = args.database_url or f"sqlite+aiosqlite:///{data_dir / 'bench.sqlite3'}"
    settings = Settings(
        database_url=url, data_dir=data_dir, embedded_worker=False, log_level="WARNING"
    )
    try:
        upgrade(url)
        asyncio.run(fill(settings))
        asyncio.run(measure(settings, args.n))
        with open("/proc/loadavg") as load:
            print(f"load average: {load.read().strip()}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
