"""SLA in the console: badges and clocks from the SLA state, filters, sort; never for customers."""

from __future__ import annotations

import re
from datetime import timedelta
from uuid import UUID

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.clock import utcnow
from frontdesk.core.db import transaction
from frontdesk.tickets.models import Ticket
from frontdesk.web.console.sla import duration
from tests.factories import World
from tests.web.pages import sign_in

ACME = "/api/v1/tenants/acme"
POLICY = {
    "name": "Standard",
    "is_default": True,
    "business_hours_only": False,
    "targets": [
        {"priority": "normal", "metric": "first_response", "minutes": 60},
        {"priority": "normal", "metric": "resolution", "minutes": 480},
    ],
}


async def _desk(client: httpx.AsyncClient, world: World, *subjects: str) -> list[str]:
    """A default SLA policy and a ticket of Carla's per subject; their ids."""
    owner = world.a["owner"].auth
    response = await client.post(f"{ACME}/sla/policies", json=POLICY, headers=owner)
    assert response.status_code == 201, response.text
    ids = []
    for subject in subjects:
        body = {"subject": subject, "requester_id": str(world.a.contact_id)}
        created = await client.post(f"{ACME}/tickets", json=body, headers=owner)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    return ids


async def _set_clock(
    sessionmaker: async_sessionmaker[AsyncSession],
    ticket_id: str,
    *,
    due_in: timedelta,
    risk_in: timedelta | None = None,
    breached: bool = False,
) -> None:
    """What the SLA sweep leaves on the ticket once time has passed."""
    now = utcnow()
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(Ticket)
            .where(Ticket.id == UUID(ticket_id))
            .values(
                sla_next_due_at=now + due_in,
                sla_at_risk_at=now + risk_in if risk_in is not None else None,
                sla_breached=breached,
            )
        )


def _row_of(html: str, subject: str) -> str:
    row = rf"<tr class=\"ticket-row[^\"]*\"(?:(?!</tr>).)*{subject}(?:(?!</tr>).)*</tr>"
    found = re.search(row, html, re.S)
    assert found, f"no row for {subject}"
    return found.group(0)


def _subjects(html: str) -> set[str]:
    return set(re.findall(r"(Calm one|Risky one|Late one)</a>", html))


def test_durations_read_in_two_units_at_most() -> None:
    assert duration(30) == "under 1 min"
    assert duration(12 * 60 + 5) == "12 min"
    assert duration(3 * 3600 + 20 * 60) == "3 h 20 min"
    assert duration(2 * 86400 + 3 * 3600 + 59) == "2 d 3 h"
    assert duration(-3600) == "1 h"


async def test_rows_show_time_left_at_risk_and_overdue(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, risky, late = await _desk(client, world, "Calm one", "Risky one", "Late one")
    await _set_clock(
        sessionmaker, risky, due_in=timedelta(minutes=30), risk_in=-timedelta(minutes=1)
    )
    await _set_clock(sessionmaker, late, due_in=-timedelta(hours=2, minutes=5), breached=True)
    await sign_in(client, world.a["owner"].email)
    page = (await client.get("/app/acme/tickets?view=open")).text
    assert re.search(r'badge-due"[^>]*>SLA: (59|60) min left', _row_of(page, "Calm one")) or (
        "SLA: 1 h left" in _row_of(page, "Calm one")
    )
    assert "SLA at risk: 29 min left" in _row_of(page, "Risky one")
    assert "badge-soon" in _row_of(page, "Risky one")
    assert "SLA overdue by 2 h 5 min" in _row_of(page, "Late one")
    assert "badge-breach" in _row_of(page, "Late one")


async def test_filters_and_sort_by_next_sla_due(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, risky, late = await _desk(client, world, "Calm one", "Risky one", "Late one")
    await _set_clock(
        sessionmaker, risky, due_in=timedelta(minutes=30), risk_in=-timedelta(minutes=1)
    )
    await _set_clock(sessionmaker, late, due_in=-timedelta(hours=2), breached=True)
    await sign_in(client, world.a["owner"].email)
    breached = (await client.get("/app/acme/tickets?view=open&sla=breached")).text
    assert _subjects(breached) == {"Late one"}
    assert 'value="breached" selected' in breached
    at_risk = (await client.get("/app/acme/tickets?view=open&sla=at_risk")).text
    assert _subjects(at_risk) == {"Risky one"}
    ordered = (await client.get("/app/acme/tickets?view=open&sort=sla_due")).text
    positions = [ordered.index(subject) for subject in ("Late one", "Risky one", "Calm one")]
    assert positions == sorted(positions)
    assert "sla=breached" in (await client.get("/app/acme/tickets?view=open&sla=breached")).text
    bad = await client.get("/app/acme/tickets?view=open&sla=soon")
    assert bad.status_code == 422


async def test_the_ticket_page_lists_each_clock(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    (ticket,) = await _desk(client, world, "Printer on fire")
    await client.post(
        f"{ACME}/tickets/{ticket}/messages", json={"body": "On it."}, headers=world.a["agent"].auth
    )
    await client.patch(
        f"{ACME}/tickets/{ticket}",
        json={"status": "pending_customer"},
        headers=world.a["owner"].auth,
    )
    await sign_in(client, world.a["owner"].email)
    page = (await client.get(f"/app/acme/tickets/{ticket}")).text
    clocks = page.split('id="sla-title"', 1)[1].split("</table>", 1)[0]
    assert re.search(r"First response.*?<span class=\"badge\">met</span>", clocks, re.S)
    assert re.search(r"Resolution.*?<span class=\"badge\">paused</span>", clocks, re.S)


async def test_customers_never_see_sla(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    (ticket,) = await _desk(client, world, "Printer on fire")
    await _set_clock(sessionmaker, ticket, due_in=-timedelta(hours=1), breached=True)
    await sign_in(client, world.a["contact"].email, login_path="/portal/acme/login")
    for path in ("/portal/acme", f"/portal/acme/tickets/{ticket}"):
        page = await client.get(path)
        assert page.status_code == 200
        assert "Printer on fire" in page.text
        assert "SLA" not in page.text
        assert "overdue" not in page.text.lower()
