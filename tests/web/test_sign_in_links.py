"""One-time portal sign-in links: issued to a known address, used once, expiring."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.clock import utcnow
from frontdesk.core.db import transaction
from frontdesk.web.portal.links import SignInLinkMail
from frontdesk.web.portal.models import PortalSignInLink
from tests.factories import World


class RecordingQueue:
    """Keeps what would go to the outbound mail queue, for the test to read."""

    def __init__(self) -> None:
        self.mails: list[SignInLinkMail] = []

    async def queue(self, session: AsyncSession, mail: SignInLinkMail) -> None:
        self.mails.append(mail)


async def test_without_outbound_mail_no_link_is_offered(
    client: httpx.AsyncClient, world: World
) -> None:
    page = await client.get("/portal/acme")
    assert "Email me a sign-in link" not in page.text
    response = await client.post("/portal/acme/link", data={"email": "carla@acme.example"})
    assert response.status_code == 422


async def test_link_signs_in_once(client: httpx.AsyncClient, world: World, app: FastAPI) -> None:
    outbox = RecordingQueue()
    app.state.sign_in_link_sender = outbox
    page = await client.get("/portal/acme")
    assert "Email me a sign-in link" in page.text
    unknown = await client.post("/portal/acme/link", data={"email": "who@example.org"})
    known = await client.post("/portal/acme/link", data={"email": "carla@acme.example"})
    assert unknown.status_code == known.status_code == 303
    (mail,) = outbox.mails
    assert mail.to == "carla@acme.example"
    path = mail.url.split("127.0.0.1:8000", 1)[1]
    token = path.split("token=", 1)[1]
    confirm = await client.get(path)
    assert confirm.status_code == 200
    used = await client.post("/portal/acme/link/use", data={"token": token})
    assert used.status_code == 303
    mine = await client.get("/portal/acme")
    assert "My requests" in mine.text
    client.cookies.clear()
    again = await client.post("/portal/acme/link/use", data={"token": token})
    assert again.status_code == 410


async def test_expired_link_is_refused(
    client: httpx.AsyncClient,
    world: World,
    app: FastAPI,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    outbox = RecordingQueue()
    app.state.sign_in_link_sender = outbox
    await client.post("/portal/acme/link", data={"email": "carla@acme.example"})
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(PortalSignInLink).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    path = outbox.mails[0].url.split("127.0.0.1:8000", 1)[1]
    token = path.split("token=", 1)[1]
    assert (await client.get(path)).status_code == 410
    used = await client.post("/portal/acme/link/use", data={"token": token})
    assert used.status_code == 410
