"""Text search over tickets (`q`): words anywhere in the subject or description, or a number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from frontdesk.tickets.listing import RECENT_WINDOW
from frontdesk.tickets.models import Ticket, ticket_search_document
from tests.factories import World

BASE = "/api/v1/tenants/acme/tickets"


async def _ticket(client: httpx.AsyncClient, world: World, subject: str, description: str) -> str:
    body = {
        "subject": subject,
        "description": description,
        "requester": {"email": "pat@example.org", "name": "Pat"},
    }
    response = await client.post(BASE, json=body, headers=world.a["agent"].auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _search(client: httpx.AsyncClient, world: World, q: str) -> set[str]:
    response = await client.get(BASE, params={"q": q}, headers=world.a["agent"].auth)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def test_two_words_find_tickets_holding_both_anywhere(
    client: httpx.AsyncClient, world: World
) -> None:
    both = await _ticket(client, world, "Invoice for March is wrong", "The refund never arrived")
    subject_only = await _ticket(client, world, "Refund and invoice", "")
    one_word = await _ticket(client, world, "Invoice question", "Where do I download it?")
    await _ticket(client, world, "Printer on fire", "Smoke everywhere")

    assert await _search(client, world, "invoice refund") == {both, subject_only}
    assert await _search(client, world, "REFUND Invoice") == {both, subject_only}
    assert await _search(client, world, "invoice") == {both, subject_only, one_word}
    assert await _search(client, world, "invoice smoke") == set()


async def test_a_ticket_number_still_finds_its_ticket(
    client: httpx.AsyncClient, world: World
) -> None:
    await _ticket(client, world, "First", "")
    second = await _ticket(client, world, "Second", "")
    assert await _search(client, world, "ACME-2") == {second}
    assert await _search(client, world, "#2") == {second}


async def test_search_stays_within_the_tenant(client: httpx.AsyncClient, world: World) -> None:
    await _ticket(client, world, "Calendar sync stopped", "")
    other = await client.post(
        "/api/v1/tenants/acmeco/tickets",
        json={"subject": "Calendar sync stopped", "requester": {"email": "x@example.org"}},
        headers=world.b["agent"].auth,
    )
    assert other.status_code == 201
    response = await client.get(
        "/api/v1/tenants/acmeco/tickets",
        params={"q": "calendar sync"},
        headers=world.b["agent"].auth,
    )
    assert [item["id"] for item in response.json()["items"]] == [other.json()["id"]]


async def test_postgresql_matches_word_forms_and_uses_the_search_index(
    client: httpx.AsyncClient, world: World, engine: AsyncEngine
) -> None:
    """On PostgreSQL the words are stemmed ("charged" finds "charges") and the GIN index of
    the very same expression answers the query; on SQLite both checks do not apply."""
    if engine.dialect.name != "postgresql":
        return
    charged = await _ticket(client, world, "Two charges on one card", "Both charges are posted")
    assert await _search(client, world, "charged card") == {charged}
    assert await _search(client, world, '"charges on" -posted') == set()

    # The query's expression is the index's (else PostgreSQL could not use the index at all).
    document = ticket_search_document().op("@@")(func.websearch_to_tsquery("charged card"))
    statement = select(Ticket.id).where(document)
    compiled = statement.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
    async with AsyncSession(engine) as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = (await session.execute(text(f"EXPLAIN {compiled}"))).scalars().all()
    assert any("ix_ticket_search" in line for line in plan), plan


async def test_a_search_pages_through_recent_and_older_matches_newest_change_first(
    client: httpx.AsyncClient, world: World, engine: AsyncEngine
) -> None:
    """PostgreSQL takes a page from recently changed tickets first and reads older matches only
    when those fall short (`search_page`); the pages are those of the plain ordering."""
    ids = [await _ticket(client, world, f"Invoice number {n}", "") for n in range(7)]
    await _ticket(client, world, "Printer on fire", "")
    now = datetime.now(UTC)
    # Three changed within the recent window, four before it (two of them at the same instant).
    ages = [timedelta(hours=1), timedelta(days=1), timedelta(days=400), timedelta(hours=3)]
    ages += [timedelta(days=60), RECENT_WINDOW + timedelta(days=1), timedelta(days=60)]
    async with engine.begin() as connection:
        for ticket_id, age in zip(ids, ages, strict=True):
            await connection.execute(
                update(Ticket).where(Ticket.id == UUID(ticket_id)).values(updated_at=now - age)
            )
    expected = [
        ticket_id
        for ticket_id, _ in sorted(zip(ids, ages, strict=True), key=lambda p: (p[1], _desc(p[0])))
    ]

    for limit in (1, 2, 3, 4, 5, 50):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"q": "invoice", "limit": str(limit)} | ({"cursor": cursor} if cursor else {})
            response = await client.get(BASE, params=params, headers=world.a["agent"].auth)
            assert response.status_code == 200, response.text
            page = response.json()
            assert len(page["items"]) <= limit
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected, limit


def _desc(ticket_id: str) -> int:
    """Sorts ids descending, as the list breaks ties of the last change."""
    return -UUID(ticket_id).int
