"""The tenant's mail settings: which status changes are mailed, read and changed by admins,
audited and announced as an event."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.events import OutboxEvent
from tests.factories import World


async def test_status_mail_categories_are_a_tenant_setting(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    url, owner = f"/api/v1/tenants/{world.a.slug}/email-settings", world.a["owner"].auth
    first = await client.get(url, headers=owner)
    assert first.json() == {"status_mail_categories": [], "version": 0}

    changed = await client.patch(
        url, json={"status_mail_categories": ["resolved", "pending", "resolved"]}, headers=owner
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"status_mail_categories": ["pending", "resolved"], "version": 1}
    other = await client.get(
        f"/api/v1/tenants/{world.b.slug}/email-settings", headers=world.b["owner"].auth
    )
    assert other.json()["status_mail_categories"] == []

    audit = await client.get(
        f"/api/v1/tenants/{world.a.slug}/audit",
        params={"subject_type": "email_settings"},
        headers=owner,
    )
    (entry,) = audit.json()["items"]
    assert entry["changes"]["status_mail_categories"] == [[], ["pending", "resolved"]]
    async with sessionmaker() as session:
        types = await session.scalars(
            select(OutboxEvent.type).where(OutboxEvent.tenant_id == world.a.id)
        )
        assert "frontdesk.email_settings.updated" in set(types)

    refused = await client.patch(url, json={"status_mail_categories": ["gone"]}, headers=owner)
    assert refused.status_code == 422
