"""The peer: django-helpdesk from PyPI in its own virtualenv, with the same data volume."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from uuid import uuid4

import asyncpg

from suite.texts import Conversation

BENCH = Path(__file__).resolve().parent.parent
VENV = BENCH / ".peer" / "venv"
SITE = BENCH / "peer"
#: The peer's pinned versions (django-helpdesk pulls Django and Django REST framework).
REQUIREMENTS = ["django-helpdesk==2.6.1", "gunicorn==27.0.1", "psycopg2-binary==2.9.13"]
USERNAME, PASSWORD = "bench", "bench-peer-password"
QUEUES = ("support", "billing", "technical", "sales")
OPEN, REOPENED, RESOLVED, CLOSED = 1, 2, 3, 4


def ensure_venv() -> Path:
    marker = VENV / ".installed"
    wanted = "\n".join(REQUIREMENTS)
    if not marker.exists() or marker.read_text() != wanted:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", *REQUIREMENTS], check=True)
        marker.write_text(wanted)
    return VENV


def env(db_name: str, secret: str) -> dict[str, str]:
    return {
        "PYTHONPATH": str(SITE),
        "DJANGO_SETTINGS_MODULE": "helpdesk_site.settings",
        "PEER_DB_NAME": db_name,
        "PEER_SECRET_KEY": secret,
        "PEER_MEDIA_ROOT": str(BENCH / ".peer" / "media"),
    }


SETUP = f"""
from django.contrib.auth.models import User
from helpdesk.models import Queue
User.objects.create_superuser({USERNAME!r}, "bench@example.org", {PASSWORD!r})
for slug in {QUEUES!r}:
    Queue.objects.create(title=slug.title(), slug=slug, allow_email_submission=False)
"""


def prepare(db_name: str, secret: str) -> None:
    """Migrate its database and make a staff superuser and four queues, through Django."""
    django_admin = str(VENV / "bin" / "django-admin")
    run_env = {**os.environ, **env(db_name, secret)}
    subprocess.run([django_admin, "migrate", "-v0"], env=run_env, check=True)
    subprocess.run([django_admin, "shell", "-c", SETUP], env=run_env, check=True)


TICKET_COLUMNS = [
    "id",
    "title",
    "created",
    "modified",
    "submitter_email",
    "status",
    "on_hold",
    "description",
    "priority",
    "queue_id",
    "assigned_to_id",
    "secret_key",
]
FOLLOWUP_COLUMNS = ["date", "title", "comment", "public", "new_status", "ticket_id", "user_id"]


async def load(
    conn: asyncpg.Connection,
    first_id: int,
    count: int,
    per_ticket: float,
    pool: list[Conversation],
    rng: random.Random,
    now: datetime,
) -> None:
    """`count` more tickets with their follow-ups, in the peer's own columns."""
    queue_ids = [r["id"] for r in await conn.fetch("SELECT id FROM helpdesk_queue ORDER BY id")]
    user_id = await conn.fetchval("SELECT id FROM auth_user WHERE username = $1", USERNAME)
    span = timedelta(days=730).total_seconds()
    tickets: list[tuple[object, ...]] = []
    followups: list[tuple[object, ...]] = []
    for ticket_id in range(first_id, first_id + count):
        talk = rng.choice(pool)
        created = now - timedelta(seconds=rng.random() * span)
        old = now - created > timedelta(days=21)
        status = rng.choice([CLOSED] * 5 + [RESOLVED]) if old else rng.choice([OPEN, REOPENED])
        n = max(1, int(rng.expovariate(1 / per_ticket)) % 19)
        when = created
        for i in range(n):
            when = min(now, when + timedelta(minutes=rng.randint(5, 600)))
            body = talk.opening if i == 0 else rng.choice(talk.replies)
            followups.append((when, "Comment", body, True, None, ticket_id, user_id))
        tickets.append(
            (ticket_id, talk.subject[:200], created, when, f"c{ticket_id % 997}@example.org",
             status, False, talk.opening, rng.randint(1, 5), rng.choice(queue_ids), None,
             str(uuid4()))
        )  # fmt: skip
        if len(tickets) >= 5000:
            await _copy(conn, tickets, followups)
            tickets, followups = [], []
    await _copy(conn, tickets, followups)
    await conn.execute(
        "SELECT setval(pg_get_serial_sequence('helpdesk_ticket', 'id'),"
        " (SELECT max(id) FROM helpdesk_ticket))"
    )


async def _copy(
    conn: asyncpg.Connection, tickets: list[tuple[object, ...]], followups: list[tuple[object, ...]]
) -> None:
    if tickets:
        await conn.copy_records_to_table("helpdesk_ticket", records=tickets, columns=TICKET_COLUMNS)
        await conn.copy_records_to_table(
            "helpdesk_followup", records=followups, columns=FOLLOWUP_COLUMNS
        )
