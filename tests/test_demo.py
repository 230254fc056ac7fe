"""The demo data: a believable helpdesk, loaded through the services, once."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.db import transaction
from frontdesk.demo import DEMO_LOGINS, DEMO_TICKETS, demo_counts, load_demo, texts
from frontdesk.demo.plans import facts_for
from frontdesk.demo.tickets import PEOPLE_FIELDS
from frontdesk.identity.models import User
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.models import (
    StatusCategory,
    Ticket,
    TicketMessage,
    TicketParticipant,
)

#: Fewer than the default 300 (the same code, a fraction of the time, on every backend).
TICKETS = 60
NOW = datetime(2026, 3, 16, 15, 30, tzinfo=UTC)


def test_the_default_demo_has_300_tickets() -> None:
    assert DEMO_TICKETS == 300


async def _load(app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    async with transaction(sessionmaker, actor="system:test") as session:
        return await load_demo(session, store=app.state.blob_store, tickets=TICKETS, now=NOW)


async def _scalar(session: AsyncSession, statement: Any) -> Any:
    return (await session.execute(statement)).scalar_one()


async def test_the_demo_loads_once_with_every_status(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert await _load(app, sessionmaker) is True
    async with sessionmaker() as session:
        counts = await demo_counts(session)
        assert counts is not None
        acme = await _scalar(session, select(Tenant.id).where(Tenant.slug == "acme"))
        in_acme = Ticket.tenant_id == acme
        times = (
            await session.execute(
                select(func.min(Ticket.created_at), func.max(Ticket.updated_at)).where(in_acme)
            )
        ).one()
        by_number = (
            await session.scalars(select(Ticket.created_at).where(in_acme).order_by(Ticket.number))
        ).all()
        out_of_thread = await _scalar(
            session,
            select(func.count())
            .select_from(TicketMessage)
            .join(
                Ticket,
                (Ticket.tenant_id == TicketMessage.tenant_id)
                & (Ticket.id == TicketMessage.ticket_id),
            )
            .where(
                (TicketMessage.created_at < Ticket.created_at)
                | (TicketMessage.created_at > Ticket.updated_at)
            ),
        )
        notes = await _scalar(
            session,
            select(func.count(func.distinct(TicketMessage.ticket_id))).where(
                TicketMessage.tenant_id == acme, TicketMessage.is_internal.is_(True)
            ),
        )
        ccs = await _scalar(
            session,
            select(func.count()).where(
                TicketParticipant.tenant_id == acme, TicketParticipant.role == "cc"
            ),
        )
        logins = set(
            (await session.scalars(select(User.email).where(User.password_hash.is_not(None)))).all()
        )

    assert counts.tickets == TICKETS
    assert list(counts.by_status) == [c.value for c in StatusCategory]
    assert all(n > 0 for n in counts.by_status.values()), counts.by_status
    assert counts.contacts >= 40
    assert counts.organizations >= 5
    assert counts.groups >= 3
    assert counts.agents >= 8
    assert counts.messages > TICKETS
    assert notes > 0
    assert ccs > 0
    assert counts.attachments > 0
    assert {login.email for login in DEMO_LOGINS} <= logins
    # Spread over the last ~90 days, numbered in order of creation, threads inside their ticket.
    first, last = times
    assert NOW - timedelta(days=91) <= first
    assert last <= NOW
    assert by_number == sorted(by_number)
    assert out_of_thread == 0

    assert await _load(app, sessionmaker) is False
    async with sessionmaker() as session:
        assert await demo_counts(session) == counts


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple | list):
        return [text for item in value for text in _strings(item)]
    if isinstance(value, texts.Topic | texts.Case):
        return [text for item in vars(value).values() for text in _strings(item)]
    return []


def test_every_template_field_is_filled() -> None:
    templates = [text for value in vars(texts).values() for text in _strings(value)]
    used = {
        field
        for template in templates
        for _, field, _, _ in string.Formatter().parse(template)
        if field is not None
    }
    filled = set(facts_for(random.Random(1), NOW)) | PEOPLE_FIELDS
    assert used <= texts.FIELDS
    assert filled == texts.FIELDS
