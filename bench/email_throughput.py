"""Email throughput: messages filed per second by one process, mails sent per second.

    .venv/bin/python bench/email_throughput.py --database-url postgresql+asyncpg://… [-n 1000]

Files `n` typical messages (5 KB of text and one small attachment, each from its own sender)
through the intake twice: one transaction per message (what the push URL does per request),
then in batches of `--batch` messages through `receive_batch`, one transaction each (what the
IMAP poll does per fetched batch). Then it plans and sends the acknowledgements they cause to
a local aiosmtpd sink. Targets (issue
5): 200 messages/s in, 200 mails/s out. The database is migrated and must be a scratch one:
the bench adds a tenant.

Each intake line gives this process's CPU per message and, when PostgreSQL runs on this host,
its backends' CPU per message (read from /proc): on a machine of two cores the two together
bound the rate, and the load average moves neither much.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from frontdesk.core.db import create_engine, create_sessionmaker, transaction
from frontdesk.core.events import relay_batch, subscribers
from frontdesk.core.migrations import upgrade
from frontdesk.core.storage import LocalBlobStore
from frontdesk.email.models import ChannelMode, InboundChannel
from frontdesk.email.service.batch_intake import receive_batch
from frontdesk.email.service.intake import receive
from frontdesk.email.service.planner import plan_batch
from frontdesk.email.service.sending import send_batch
from frontdesk.tenancy.schemas import TenantCreate
from frontdesk.tenancy.service import create_tenant
from frontdesk.worker import load_subscribers

TEXT = ("The export stops at row 4,096 and the file is cut off. " * 90)[:5000]
ATTACHMENT = os.urandom(2048).hex().encode()


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.count += 1
        return "250 OK"


async def database_cpu(sessionmaker: async_sessionmaker[AsyncSession]) -> float | None:
    """CPU seconds used so far by the PostgreSQL backends serving this database, if local."""
    if not str(sessionmaker.kw["bind"].url).startswith("postgresql"):
        return None
    async with sessionmaker() as session:
        pids = list(
            await session.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            )
        )
    return cpu_of(pids)


def cpu_of(pids: list[int]) -> float | None:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def message(number: int) -> bytes:
    return (
        f"From: Customer {number} <c{number}@customers.example.com>\r\n"
        "To: help@bench.example.com\r\nSubject: Export cut off\r\n"
        f"Message-ID: <bench-{number}-{time.time_ns()}@customers.example.com>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        f"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{TEXT}\r\n"
        "--b\r\nContent-Type: text/plain; name=log.txt\r\n"
        'Content-Disposition: attachment; filename="log.txt"\r\n\r\n'
        f"{ATTACHMENT.decode()}\r\n--b--\r\n"
    ).encode()


async def run(database_url: str, count: int, batch: int, batched_only: bool) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    data_dir = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    settings = Settings(
        database_url=database_url, data_dir=data_dir, smtp_url=f"smtp://127.0.0.1:{port}"
    )
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    store = LocalBlobStore(data_dir / "blobs")
    slug = f"bench-{time.time_ns() % 10**9}"
    async with transaction(sessionmaker) as session:
        tenant = await create_tenant(session, TenantCreate(slug=slug, name="Bench"))
        channel = InboundChannel(
            tenant_id=tenant.id,
            kind="email",
            name="Bench",
            address="help@bench.example.com",
            mode=ChannelMode.PUSH.value,
            auto_reply_limit_per_hour=10,
            trust_staff_mail=False,
        )
        session.add(channel)
    modes = (("one per transaction", 1, 0), (f"batches of {batch}", batch, count))
    for label, size, first in modes[1:] if batched_only else modes:
        raws = [message(number) for number in range(first, first + count)]
        database = await database_cpu(sessionmaker)
        started, cpu = time.perf_counter(), time.process_time()
        for start in range(0, count, size):
            async with transaction(sessionmaker) as session:
                live = await session.get(InboundChannel, (channel.tenant_id, channel.id))
                assert live is not None
                if size == 1:
                    await receive(session, store, live, raws[start])
                else:
                    await receive_batch(session, store, live, raws[start : start + size])
        filed, cpu = time.perf_counter() - started, time.process_time() - cpu
        database_now = await database_cpu(sessionmaker)
        on_database = ""
        if database is not None and database_now is not None:
            on_database = f", {(database_now - database) / count * 1000:.1f} ms of PostgreSQL's"
        print(
            f"inbound ({label}): {count} messages in {filed:.1f}s = {count / filed:.0f}/s"
            f" ({cpu / count * 1000:.1f} ms of this process's CPU per message{on_database})"
        )

    while await relay_batch(sessionmaker, [subscribers], batch_size=1000):
        pass
    while True:
        async with transaction(sessionmaker) as session:
            if not await plan_batch(session, settings, batch_size=1000):
                break
    started, cpu = time.perf_counter(), time.process_time()
    while await send_batch(settings, sessionmaker, batch_size=200):
        pass
    sent, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"outbound: {sink.count} mails in {sent:.1f}s = {sink.count / sent:.0f} mails/s"
        f" ({cpu / max(sink.count, 1) * 1000:.2f} ms of CPU per mail, the sink's included)"
    )
    controller.stop()
    await engine.dispose()
    shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50, help="messages per transaction")
    parser.add_argument(
        "--batched-only", action="store_true", help="skip the one-per-transaction round"
    )
    arguments = parser.parse_args()
    upgrade(arguments.database_url)
    load_subscribers()  # the SLA engine follows new tickets, as in the worker
    asyncio.run(run(arguments.database_url, arguments.n, arguments.batch, arguments.batched_only))


if __name__ == "__main__":
    main()
