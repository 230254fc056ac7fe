"""Calendars and policies over the API: shapes, validation naming the field, nothing half-saved."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.sla.models import SlaCalendar, SlaPolicy, SlaTarget
from tests.sla.conftest import ACME, Desk

OFFICE = {
    "name": "Berlin office",
    "timezone": "Europe/Berlin",
    "schedule": {
        "mon": [["09:00", "12:00"], ["13:00", "17:00"]],
        "fri": [["22:00", "06:00"]],
        "sun": [],
    },
    "holidays": [
        {"date": "2026-12-24", "end_date": "2026-12-26", "name": "Christmas"},
        {"date": "2026-12-31"},
    ],
    "holiday_country": "de",
    "holiday_subdivision": "by",
}


async def rows(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, int, int]:
    async with sessionmaker() as session:
        counts = [
            await session.scalar(select(func.count()).select_from(model))
            for model in (SlaCalendar, SlaPolicy, SlaTarget)
        ]
    return (int(counts[0] or 0), int(counts[1] or 0), int(counts[2] or 0))


async def test_calendar_crud(desk: Desk) -> None:
    created = await desk.post("/sla/calendars", OFFICE)
    assert created["schedule"]["fri"] == [["22:00", "06:00"]]
    assert created["holiday_country"] == "DE"
    assert created["holidays"][0] == {
        "date": "2026-12-24",
        "end_date": "2026-12-26",
        "name": "Christmas",
    }
    path = f"/sla/calendars/{created['id']}"
    patched = await desk.patch(path, {"schedule": {"sat": [["10:00", "14:00"]]}})
    assert patched["schedule"]["sat"] == [["10:00", "14:00"]]
    assert patched["schedule"]["mon"] == OFFICE["schedule"]["mon"]
    listed = await desk.get("/sla/calendars")
    assert [c["name"] for c in listed["items"]] == ["Berlin office"]
    deleted = await desk.client.delete(f"{ACME}{path}", headers=desk.owner)
    assert deleted.status_code == 204


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"schedule": {"mon": [["09:00", "12:00"], ["11:00", "14:00"]]}}, "schedule.mon.1"),
        ({"schedule": {"mon": [["12:00", "12:00"]]}}, "schedule.mon.0"),
        ({"schedule": {"mon": [["9am", "5pm"]]}}, "schedule.mon.0"),
        ({"schedule": {}}, "schedule"),
        ({"schedule": {"mon": []}}, "schedule"),
        ({"holiday_country": "XX"}, "holiday_country"),
        ({"holiday_country": "DE", "holiday_subdivision": "ZZ"}, "holiday_subdivision"),
    ],
)
async def test_bad_calendars_are_422_naming_the_field(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession], change: dict[str, Any], field: str
) -> None:
    before = await rows(sessionmaker)
    response = await desk.client.post(
        f"{ACME}/sla/calendars", json=OFFICE | change, headers=desk.owner
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert await rows(sessionmaker) == before


async def test_inverted_holiday_ranges_are_422(desk: Desk) -> None:
    body = OFFICE | {"holidays": [{"date": "2026-12-26", "end_date": "2026-12-24"}]}
    response = await desk.client.post(f"{ACME}/sla/calendars", json=body, headers=desk.owner)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][-1] == 0 or "holidays" in str(response.json())


async def test_policy_crud_with_targets(desk: Desk) -> None:
    calendar = await desk.post("/sla/calendars", OFFICE)
    policy = await desk.post(
        "/sla/policies",
        {
            "name": "Gold",
            "position": 1,
            "conditions": {
                "all": [{"field": "priority", "op": "in", "value": ["high", "urgent"]}],
                "any": [
                    {"field": "requester.email", "op": "ends_with", "value": "@bigcorp.example"},
                    {"field": "tags", "op": "contains", "value": "Gold"},
                ],
            },
            "calendar_id": calendar["id"],
            "targets": [
                {"priority": "high", "metric": "first_response", "minutes": 30},
                {"priority": "urgent", "metric": "periodic_update", "minutes": 60},
            ],
            "at_risk_minutes": 10,
            "at_risk_percent": None,
        },
    )
    assert policy["conditions"]["any"][1]["value"] == "gold"
    assert policy["pause_categories"] == ["on_hold", "pending"]
    assert len(policy["targets"]) == 2
    path = f"/sla/policies/{policy['id']}"
    patched = await desk.patch(
        path, {"targets": [{"priority": "high", "metric": "resolution", "minutes": 600}]}
    )
    assert patched["targets"] == [{"priority": "high", "metric": "resolution", "minutes": 600}]
    assert patched["version"] > policy["version"]
    in_use = await desk.client.delete(f"{ACME}/sla/calendars/{calendar['id']}", headers=desk.owner)
    assert in_use.status_code == 409
    assert (await desk.client.delete(f"{ACME}{path}", headers=desk.owner)).status_code == 204


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"conditions": {"all": [{"field": "mood", "op": "is", "value": "x"}]}},
            "conditions.all.0.field",
        ),
        (
            {"conditions": {"any": [{"field": "priority", "op": "is", "value": "meh"}]}},
            "conditions.any.0.value",
        ),
        (
            {"conditions": {"all": [{"field": "tags", "op": "ends_with", "value": "x"}]}},
            "conditions.all.0.op",
        ),
        ({"conditions": {"some": []}}, "conditions.some"),
        (
            {
                "targets": [
                    {"priority": "low", "metric": "resolution", "minutes": 5},
                    {"priority": "low", "metric": "resolution", "minutes": 6},
                ]
            },
            "targets.1.metric",
        ),
        ({"calendar_id": "01a2019b-66a2-719a-893a-ff7ea4c8cd55"}, "calendar_id"),
        ({"at_risk_minutes": 5}, "at_risk_minutes"),
    ],
)
async def test_bad_policies_are_422_naming_the_field(
    desk: Desk, sessionmaker: async_sessionmaker[AsyncSession], change: dict[str, Any], field: str
) -> None:
    before = await rows(sessionmaker)
    body = {"name": "Bad", "targets": [{"priority": "low", "metric": "resolution", "minutes": 5}]}
    response = await desk.client.post(
        f"{ACME}/sla/policies", json=body | change, headers=desk.owner
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert await rows(sessionmaker) == before


@pytest.mark.parametrize("minutes", [0, -5])
async def test_non_positive_targets_are_422(desk: Desk, minutes: int) -> None:
    body = {
        "name": "Bad",
        "targets": [{"priority": "low", "metric": "resolution", "minutes": minutes}],
    }
    response = await desk.client.post(f"{ACME}/sla/policies", json=body, headers=desk.owner)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][-3:] == ["targets", 0, "minutes"]


async def test_a_group_default_policy_must_exist(desk: Desk) -> None:
    body = {"name": "Ghosts", "default_sla_policy_id": "01a2019b-66a2-719a-893a-ff7ea4c8cd55"}
    response = await desk.client.post(f"{ACME}/groups", json=body, headers=desk.owner)
    assert response.status_code == 404
    assert response.json()["field"] == "default_sla_policy_id"


async def test_the_report_groups_met_and_breached_clocks(desk: Desk) -> None:
    policy = await desk.policy()
    ticket = await desk.ticket()
    await desk.post(f"/tickets/{ticket['id']}/messages", {"body": "Hi!"})
    await desk.patch(f"/tickets/{ticket['id']}", {"status": "resolved"})
    await desk.ticket(priority="high")
    day = ticket["created_at"][:10]
    until = (datetime.fromisoformat(ticket["created_at"]) + timedelta(days=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    report = await desk.get(f"/sla/report?by=policy&start={day}T00:00:00Z&end={until}")
    (row,) = report["rows"]
    assert row["key"] == policy["id"]
    assert row["tickets"] == 2
    assert row["first_response_met_percent"] == 100.0
    assert row["resolution_met_percent"] == 100.0
    assert row["breaches"] == 0
    assert row["first_response_business_minutes"]["median"] is not None
    by_priority = await desk.get(f"/sla/report?by=priority&start={day}T00:00:00Z&end={until}")
    assert [r["key"] for r in by_priority["rows"]] == ["high", "normal"]
    bad = await desk.client.get(
        f"{ACME}/sla/report?start=2026-02-01T00:00:00Z&end=2026-01-01T00:00:00Z",
        headers=desk.owner,
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "end"
