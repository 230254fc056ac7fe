"""Admin pages for SLA calendars, policies and the report, through their forms."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import World
from tests.web.pages import csrf_for, sign_in

CALENDARS = "/app/acme/admin/sla/calendars"
POLICIES = "/app/acme/admin/sla/policies"
PAGES = [
    CALENDARS,
    f"{CALENDARS}/new",
    POLICIES,
    f"{POLICIES}/new",
    "/app/acme/admin/sla/report",
]
API = "/api/v1/tenants/acme/sla"


def calendar_form(csrf: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "name": "Office hours",
        "timezone": "Europe/Paris",
        "schedule_mon": "09:00-12:00, 13:00-17:00",
        "schedule_tue": "09:00-17:00",
        "holidays": "2026-12-25 Christmas\n2026-12-28..2026-12-31 Winter break",
        "holiday_country": "FR",
    }
    return form | changes


def policy_form(csrf: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "name": "VIP",
        "position": "1",
        "active": "on",
        "business_hours_only": "on",
        "pause_pending": "on",
        "cond_group_0": "all",
        "cond_field_0": "priority",
        "cond_op_0": "in",
        "cond_value_0": "high, urgent",
        "cond_group_1": "any",
        "cond_field_1": "tags",
        "cond_op_1": "contains",
        "cond_value_1": "vip",
        "target_urgent_first_response": "30",
        "target_high_resolution": "480",
        "at_risk_percent": "80",
        "notify_breach_admins": "on",
        "esc_action_0": "add_tag",
        "esc_text_0": "late",
    }
    return form | changes


async def _items(client: httpx.AsyncClient, world: World, what: str) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/{what}", headers=world.a["owner"].auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_every_page_renders_for_an_admin(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["admin"].email)
    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        assert "/static/admin.css" in response.text
    listing = await client.get(CALENDARS)
    assert "24/7" in listing.text
    assert "built in" in listing.text


@pytest.mark.parametrize("who", ["agent", "light_agent", "contact"])
async def test_others_are_refused(client: httpx.AsyncClient, world: World, who: str) -> None:
    await sign_in(client, world.a[who].email)
    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 403, (who, path)


async def test_another_tenants_admin_is_refused(client: httpx.AsyncClient, world: World) -> None:
    created = await client.post(
        f"{API}/calendars",
        json={"name": "Acme hours", "timezone": "UTC", "schedule": {"mon": [["09:00", "17:00"]]}},
        headers=world.a["owner"].auth,
    )
    calendar_id = created.json()["id"]
    await sign_in(client, world.b["admin"].email)
    for path in [*PAGES, f"{CALENDARS}/{calendar_id}"]:
        response = await client.get(path)
        assert response.status_code in (403, 404), path
    # In their own tenant, A's calendar is not there.
    own = await client.get(f"/app/acmeco/admin/sla/calendars/{calendar_id}")
    assert own.status_code == 404


async def test_calendar_create_edit_delete(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, f"{CALENDARS}/new")
    created = await client.post(CALENDARS, data=calendar_form(csrf))
    assert created.status_code == 303, created.text
    (calendar,) = await _items(client, world, "calendars")
    assert calendar["timezone"] == "Europe/Paris"
    assert calendar["schedule"]["mon"] == [["09:00", "12:00"], ["13:00", "17:00"]]
    assert calendar["schedule"]["wed"] == []
    assert calendar["holidays"][1] == {
        "date": "2026-12-28",
        "end_date": "2026-12-31",
        "name": "Winter break",
    }
    assert calendar["holiday_country"] == "FR"

    edit = await client.get(f"{CALENDARS}/{calendar['id']}")
    assert "09:00-12:00, 13:00-17:00" in edit.text
    assert "2026-12-28..2026-12-31 Winter break" in edit.text
    saved = await client.post(
        f"{CALENDARS}/{calendar['id']}",
        data=calendar_form(csrf, name="Paris office", schedule_sat="10:00-14:00"),
    )
    assert saved.status_code == 303, saved.text
    (calendar,) = await _items(client, world, "calendars")
    assert (calendar["name"], calendar["schedule"]["sat"]) == ("Paris office", [["10:00", "14:00"]])

    deleted = await client.post(f"{CALENDARS}/{calendar['id']}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 303
    assert await _items(client, world, "calendars") == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        # An interval ending before it starts runs past midnight: this one overlaps Tuesday's.
        ({"schedule_mon": "09:00-12:00, 13:00-10:00"}, "schedule.tue.0"),
        ({"schedule_wed": "10:00-10:00"}, "schedule.wed"),
        ({"schedule_tue": "nine to five"}, "schedule.tue"),
        ({"holidays": "2026-13-45 Never"}, "holidays.0.date"),
        ({"holiday_country": "", "holiday_subdivision": "BY"}, "holiday_country"),
    ],
)
async def test_a_bad_calendar_is_shown_again_with_its_error(
    client: httpx.AsyncClient, world: World, changes: dict[str, str], field: str
) -> None:
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, f"{CALENDARS}/new")
    response = await client.post(CALENDARS, data=calendar_form(csrf, **changes))
    assert response.status_code == 422, response.text
    assert 'role="alert"' in response.text
    assert f"<code>{field}" in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'value="Office hours"' in response.text  # what was typed is kept
    assert await _items(client, world, "calendars") == []


async def test_a_calendar_in_use_is_not_deleted(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, f"{CALENDARS}/new")
    await client.post(CALENDARS, data=calendar_form(csrf))
    (calendar,) = await _items(client, world, "calendars")
    created = await client.post(POLICIES, data=policy_form(csrf, calendar_id=calendar["id"]))
    assert created.status_code == 303, created.text

    refused = await client.post(f"{CALENDARS}/{calendar['id']}/delete", data={"csrf_token": csrf})
    assert refused.status_code == 409
    assert "uses this calendar" in refused.text
    assert 'role="alert"' in refused.text
    assert len(await _items(client, world, "calendars")) == 1


async def test_policy_create_toggle_edit_delete(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, f"{POLICIES}/new")
    created = await client.post(POLICIES, data=policy_form(csrf))
    assert created.status_code == 303, created.text
    (policy,) = await _items(client, world, "policies")
    assert policy["conditions"] == {
        "all": [{"field": "priority", "op": "in", "value": ["high", "urgent"]}],
        "any": [{"field": "tags", "op": "contains", "value": "vip"}],
    }
    assert sorted((t["priority"], t["metric"], t["minutes"]) for t in policy["targets"]) == [
        ("high", "resolution", 480),
        ("urgent", "first_response", 30),
    ]
    assert policy["pause_categories"] == ["pending"]
    assert policy["notify_breach"] == ["admins"]
    assert policy["notify_at_risk"] == []
    assert policy["escalation"] == [{"action": "add_tag", "tag": "late"}]
    assert (policy["at_risk_percent"], policy["calendar_id"]) == (80, None)

    toggled = await client.post(f"{POLICIES}/{policy['id']}/active", data={"csrf_token": csrf})
    assert toggled.status_code == 303
    (policy,) = await _items(client, world, "policies")
    assert policy["active"] is False
    assert len(policy["targets"]) == 2

    edit = await client.get(f"{POLICIES}/{policy['id']}")
    assert 'value="high, urgent"' in edit.text
    assert 'value="480"' in edit.text
    saved = await client.post(
        f"{POLICIES}/{policy['id']}",
        data=policy_form(csrf, name="VIP customers", target_high_resolution=""),
    )
    assert saved.status_code == 303, saved.text
    (policy,) = await _items(client, world, "policies")
    assert policy["name"] == "VIP customers"
    assert len(policy["targets"]) == 1

    deleted = await client.post(f"{POLICIES}/{policy['id']}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 303
    assert await _items(client, world, "policies") == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"target_urgent_first_response": "0"}, "targets"),
        ({"target_urgent_first_response": "-5"}, "targets"),
        ({"cond_op_1": "ends_with"}, "conditions.any.0.op"),
        ({"cond_value_0": "someday"}, "conditions.all.0.value"),
        ({"at_risk_minutes": "10"}, "at_risk_minutes"),
        ({"esc_action_0": "assign", "esc_user_0": ""}, "escalation.0"),
    ],
)
async def test_a_bad_policy_is_shown_again_with_its_error(
    client: httpx.AsyncClient, world: World, changes: dict[str, str], field: str
) -> None:
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, f"{POLICIES}/new")
    response = await client.post(POLICIES, data=policy_form(csrf, **changes))
    assert response.status_code == 422, response.text
    assert f"<code>{field}" in response.text
    assert 'value="VIP"' in response.text
    assert await _items(client, world, "policies") == []


async def test_a_bad_edit_leaves_the_policy_as_it_was(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, f"{POLICIES}/new")
    await client.post(POLICIES, data=policy_form(csrf))
    (before,) = await _items(client, world, "policies")
    refused = await client.post(
        f"{POLICIES}/{before['id']}",
        data=policy_form(csrf, name="Renamed", target_high_resolution="0"),
    )
    assert refused.status_code == 422
    (after,) = await _items(client, world, "policies")
    assert after == before


async def test_forms_need_the_csrf_token(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["owner"].email)
    response = await client.post(CALENDARS, data=calendar_form("forged"))
    assert response.status_code == 403
    assert await _items(client, world, "calendars") == []


async def test_the_report_is_a_table(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, f"{POLICIES}/new")
    await client.post(POLICIES, data=policy_form(csrf, is_default="on"))
    created = await client.post(
        "/api/v1/tenants/acme/tickets",
        json={"subject": "Down", "requester_id": str(world.a.contact_id), "priority": "urgent"},
        headers=world.a["agent"].auth,
    )
    assert created.status_code == 201, created.text
    response = await client.get("/app/acme/admin/sla/report?by=policy")
    assert response.status_code == 200
    assert '<th scope="row">VIP</th>' in response.text
    by_priority = await client.get("/app/acme/admin/sla/report?by=priority")
    assert '<th scope="row">urgent</th>' in by_priority.text
    bad = await client.get("/app/acme/admin/sla/report?start=yesterday")
    assert bad.status_code == 422
    assert "<code>start" in bad.text
    inverted = await client.get("/app/acme/admin/sla/report?start=2026-05-01&end=2026-04-01")
    assert inverted.status_code == 422
    assert "<code>end" in inverted.text
