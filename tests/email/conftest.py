"""Real mail servers on loopback: an aiosmtpd SMTP server that receives what Frontdesk sends,
and helpers that drive the worker's email jobs one pass at a time."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import Settings
from frontdesk.core.db import transaction
from frontdesk.core.events import relay_batch, subscribers
from frontdesk.core.storage import LocalBlobStore
from frontdesk.email.service.planner import plan_batch
from frontdesk.email.service.sending import send_batch
from tests.factories import World

CORPUS = Path(__file__).parent / "corpus"
DESK = "help@acme.example.com"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> Message:
        return message_from_bytes(self.data, policy=default_policy)


@dataclass
class Inbox:
    """What the test SMTP server accepted, in order; `refuse` makes it answer 451 for now."""

    mails: list[Received] = field(default_factory=list)
    refuse: bool = False

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("refused-"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "451 4.3.0 try again later"
        content = envelope.original_content or b""
        self.mails.append(
            Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content))
        )
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        return [mail for mail in self.mails if address in mail.recipients]


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def inbox(smtp_server: tuple[Inbox, int]) -> Iterator[Inbox]:
    mailbox, _ = smtp_server
    mailbox.mails.clear()
    mailbox.refuse = False
    yield mailbox
    mailbox.mails.clear()
    mailbox.refuse = False


@pytest.fixture
def settings(database_url: str, data_dir: Path, smtp_server: tuple[Inbox, int]) -> Settings:
    _, port = smtp_server
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        embedded_worker=False,
        log_level="WARNING",
        log_format="console",
        smtp_url=f"smtp://127.0.0.1:{port}",
        mail_from="desk@frontdesk.example.com",
        mail_retry_base_seconds=0,
        mail_max_attempts=3,
    )


@pytest.fixture
def store(data_dir: Path) -> LocalBlobStore:
    return LocalBlobStore(data_dir / "blobs")


async def pump(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """What the worker does, until nothing is left: relay events, plan mail, send it."""
    for _ in range(50):
        relayed = await relay_batch(sessionmaker, [subscribers])
        async with transaction(sessionmaker, actor="system:email") as session:
            planned = await plan_batch(session, settings)
        sent = await send_batch(settings, sessionmaker)
        if not (relayed or planned or sent):
            return
    raise AssertionError("the mail pipeline did not settle")


async def push_channel(client: httpx.AsyncClient, world: World, **fields: Any) -> tuple[str, str]:
    """A push channel of acme at DESK; returns its id and the path of its push URL."""
    body = {"kind": "email", "name": "Support", "address": DESK, "mode": "push"} | fields
    response = await client.post(
        f"/api/v1/tenants/{world.a.slug}/channels", json=body, headers=world.a["owner"].auth
    )
    assert response.status_code == 201, response.text
    created = response.json()
    path = httpx.URL(created["push_url"]).path
    return created["id"], path


async def push(client: httpx.AsyncClient, path: str, raw: bytes) -> dict[str, Any]:
    response = await client.post(path, content=raw, headers={"Content-Type": "message/rfc822"})
    assert response.status_code == 202, response.text
    receipt: dict[str, Any] = response.json()
    return receipt
