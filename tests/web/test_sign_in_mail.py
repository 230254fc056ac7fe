"""The portal's emailed sign-in link, end to end: the form queues a mail, the worker's jobs send
it to a real SMTP server on loopback, and the link read from that mail signs the customer in."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.audit import AuditEntry
from frontdesk.core.clock import utcnow
from frontdesk.core.config import Settings
from frontdesk.core.db import transaction
from frontdesk.core.events import OutboxEvent
from frontdesk.email.models import OutboundMail
from frontdesk.email.service.sign_in_links import LIMIT_PER_HOUR
from frontdesk.identity.models import User
from frontdesk.web.portal.models import PortalSignInLink
from tests.email.conftest import Inbox, inbox, pump, push_channel, smtp_server  # noqa: F401
from tests.factories import World

CARLA = "carla@acme.example"
URL = re.compile(r"https?://\S+/portal/acme/link/use\?token=[\w-]+")


@pytest.fixture
def settings(database_url: str, data_dir: Path, smtp_server: tuple[Inbox, int]) -> Settings:  # noqa: F811
    _, port = smtp_server
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        embedded_worker=False,
        log_level="WARNING",
        log_format="console",
        smtp_url=f"smtp://127.0.0.1:{port}",
        mail_from="desk@frontdesk.example.com",
    )


async def ask_for_link(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post("/portal/acme/link", data={"email": email})
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/acme?notice=link_sent"


def link_in(inbox: Inbox, address: str) -> str:  # noqa: F811
    (mail,) = inbox.to(address)
    body = mail.message.get_body(preferencelist=("plain",))
    assert body is not None
    found = URL.search(body.get_content())
    assert found, "the mail carries no sign-in link"
    return httpx.URL(found.group(0)).raw_path.decode()


async def test_the_mailed_link_signs_in_once(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,  # noqa: F811
) -> None:
    assert "Email me a sign-in link" in (await client.get("/portal/acme")).text
    await ask_for_link(client, CARLA)
    await pump(settings, sessionmaker)
    (mail,) = inbox.to(CARLA)
    assert mail.message["From"] == "desk@frontdesk.example.com"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert mail.message["Subject"] == "Your sign-in link for Acme Ltd"
    assert mail.message.get_body(preferencelist=("html",)) is not None
    path = link_in(inbox, CARLA)
    confirm = await client.get(path)
    assert confirm.status_code == 200
    token = path.split("token=", 1)[1]
    used = await client.post("/portal/acme/link/use", data={"token": token})
    assert used.status_code == 303
    assert "My requests" in (await client.get("/portal/acme")).text
    client.cookies.clear()
    assert (await client.get(path)).status_code == 410
    again = await client.post("/portal/acme/link/use", data={"token": token})
    assert again.status_code == 410
    assert "Ask for a new sign-in link" in again.text
    async with transaction(sessionmaker) as session:
        actions = set(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.subject_type == "portal_sign_in_link")
            )
        )
        events = set(
            await session.scalars(
                select(OutboxEvent.type).where(OutboxEvent.subject_type == "portal_sign_in_link")
            )
        )
    assert actions == {"issued", "used"}
    assert events == {"frontdesk.portal_sign_in_link.issued", "frontdesk.portal_sign_in_link.used"}


async def test_an_expired_link_is_gone(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,  # noqa: F811
) -> None:
    await ask_for_link(client, CARLA)
    await pump(settings, sessionmaker)
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(PortalSignInLink).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    path = link_in(inbox, CARLA)
    assert (await client.get(path)).status_code == 410
    token = path.split("token=", 1)[1]
    assert (await client.post("/portal/acme/link/use", data={"token": token})).status_code == 410


async def test_an_unknown_address_gets_the_same_page_and_no_mail(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,  # noqa: F811
) -> None:
    await ask_for_link(client, "stranger@example.org")
    page = await client.get("/portal/acme?notice=link_sent")
    assert "a sign-in link is on its way" in page.text
    await pump(settings, sessionmaker)
    assert inbox.mails == []
    async with transaction(sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(OutboundMail)) == 0


async def test_the_mail_comes_from_the_channel_in_its_readers_language(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,  # noqa: F811
) -> None:
    await push_channel(client, world)
    async with transaction(sessionmaker) as session:
        carla = update(User).where(User.id == world.a["contact"].user_id)
        await session.execute(carla.values(locale="de"))
    await ask_for_link(client, CARLA)
    await pump(settings, sessionmaker)
    (mail,) = inbox.to(CARLA)
    assert mail.message["From"] == "help@acme.example.com"
    assert mail.message["Subject"] == "Ihr Anmeldelink für Acme Ltd"


async def test_a_tenant_override_is_used(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,  # noqa: F811
) -> None:
    url = f"/api/v1/tenants/{world.a.slug}/email-templates/sign_in_link/en"
    owner = world.a["owner"].auth
    wrong = {"subject": "{{ ticket.subject }}", "body_text": "{{ sign_in_url }}"}
    refused = await client.put(url, json=wrong, headers=owner)
    assert refused.status_code == 422, "a sign-in mail has no ticket to show"
    override = {
        "subject": "{{ tenant_name }} portal",
        "body_text": "Hi {{ recipient_name }}: {{ sign_in_url }}",
        "body_html": None,
    }
    saved = await client.put(url, json=override, headers=owner)
    assert saved.status_code == 200, saved.text
    await ask_for_link(client, CARLA)
    await pump(settings, sessionmaker)
    (mail,) = inbox.to(CARLA)
    assert mail.message["Subject"] == "Acme Ltd portal"
    assert link_in(inbox, CARLA).startswith("/portal/acme/link/use?token=")


async def test_one_address_gets_a_few_mails_an_hour_at_most(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Inbox,  # noqa: F811
) -> None:
    for _ in range(LIMIT_PER_HOUR + 2):
        await ask_for_link(client, CARLA)
    await pump(settings, sessionmaker)
    assert len(inbox.to(CARLA)) == LIMIT_PER_HOUR
