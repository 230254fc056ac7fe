"""`contacts_for_senders` (the mail intake's batches) leaves what `create_contact` leaves for a
plain new contact: the same rows, audit entry and `contact.created` event."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.audit import AuditEntry
from frontdesk.core.db import transaction
from frontdesk.core.events import OutboxEvent
from frontdesk.identity.models import Contact, ContactEmail
from frontdesk.identity.schemas import ContactCreate
from frontdesk.identity.service.contacts import contacts_for_senders, create_contact
from tests.factories import World

ACTOR = "email:intake"
#: What differs between two contacts by nature.
OWN = {"id", "contact_id", "subject_id", "created_at", "updated_at", "at", "occurred_at"}


async def test_a_batch_contact_is_written_as_create_contact_writes_it(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post(
        "/api/v1/tenants/acme/organizations",
        json={"name": "Customers", "domains": ["customers.example.com"]},
        headers=world.a["owner"].auth,
    )
    assert response.status_code == 201, response.text
    tenant_id = world.a.id
    async with transaction(sessionmaker, actor=ACTOR) as session:
        single = (
            await create_contact(
                session,
                tenant_id,
                ContactCreate(name="Dana", emails=["dana@customers.example.com"]),
            )
        ).id
        batch = await contacts_for_senders(
            session,
            tenant_id,
            [
                ContactCreate(name="Dana", emails=["Dana@Customers.example.com"]),  # known
                ContactCreate(name="Dana", emails=["dana2@customers.example.com"]),
                ContactCreate(name="Dana", emails=["dana2@customers.example.com"]),
                ContactCreate(name="Dana", emails=["dana@elsewhere.example"]),
            ],
        )
    assert batch["dana@customers.example.com"].id == single
    made = batch["dana2@customers.example.com"]
    assert made.organization_id is not None
    assert batch["dana@elsewhere.example"].organization_id is None
    async with sessionmaker() as session:
        assert await _written(session, made.id) == await _written(session, single)
        event = await session.scalar(select(OutboxEvent).where(OutboxEvent.subject_id == made.id))
        assert event is not None
        assert event.snapshot["emails"] == ["dana2@customers.example.com"]


async def _written(session: AsyncSession, contact_id: UUID) -> dict[str, Any]:
    """The contact's rows, audit entry and event as plain values, without ids and times
    (and its address's local part, which is the one thing the two are meant to differ in)."""
    contact = await session.scalar(select(Contact).where(Contact.id == contact_id))
    email = await session.scalar(select(ContactEmail).where(ContactEmail.contact_id == contact_id))
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.subject_id == contact_id))
    event = await session.scalar(select(OutboxEvent).where(OutboxEvent.subject_id == contact_id))
    assert contact is not None
    assert email is not None
    assert entry is not None
    assert event is not None
    return {
        "contact": _plain(contact),
        "email": {**_plain(email), "email": email.email.split("@")[1]},
        "entry": {**_plain(entry), "changes": _without_emails(entry.changes)},
        "event": {**_plain(event), "snapshot": _without_emails(event.snapshot)},
    }


def _plain(row: Any) -> dict[str, Any]:
    return {
        column.key: getattr(row, column.key)
        for column in row.__table__.columns
        if column.key not in OWN
    }


def _without_emails(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in snapshot.items() if key not in OWN | {"emails"}}
