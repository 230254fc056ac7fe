"""Admin settings and the platform page, for the roles that may use them."""

from __future__ import annotations

import httpx

from tests.factories import World
from tests.web.pages import csrf_for, sign_in

SECTIONS = ("members", "groups", "customers", "statuses", "tokens", "portal")


async def test_admins_see_every_section(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["admin"].email)
    for section in SECTIONS:
        response = await client.get(f"/app/acme/admin/{section}")
        assert response.status_code == 200, section


async def test_agents_are_refused(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["agent"].email)
    response = await client.get("/app/acme/admin/members")
    assert response.status_code == 403


async def test_group_with_member_and_strategy(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, "/app/acme/admin/groups")
    created = await client.post(
        "/app/acme/admin/groups",
        data={"csrf_token": csrf, "name": "Billing", "assignment_strategy": "round_robin"},
    )
    assert created.status_code == 303
    groups = (await client.get("/api/v1/tenants/acme/groups", headers=world.a["owner"].auth)).json()
    (group,) = groups["items"]
    assert group["assignment_strategy"] == "round_robin"
    added = await client.post(
        f"/app/acme/admin/groups/{group['id']}/members",
        data={"csrf_token": csrf, "user_id": str(world.a["agent"].user_id), "role": "lead"},
    )
    assert added.status_code == 303
    page = await client.get("/app/acme/admin/groups")
    assert "lead</span>" in page.text


async def test_bad_status_key_names_the_field(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, "/app/acme/admin/statuses")
    response = await client.post(
        "/app/acme/admin/statuses",
        data={"csrf_token": csrf, "key": "Bad Key", "label": "x", "category": "open"},
    )
    assert response.status_code == 422
    assert "<code>key</code>" in response.text


async def test_token_secret_is_shown_once(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, "/app/acme/admin/tokens")
    created = await client.post("/app/acme/admin/tokens", data={"csrf_token": csrf, "name": "ci"})
    assert created.status_code == 200
    assert "fdk_" in created.text
    again = await client.get("/app/acme/admin/tokens")
    assert "data-secret" not in again.text


async def test_portal_branding(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.a["owner"].email)
    csrf = await csrf_for(client, "/app/acme/admin/portal")
    saved = await client.post(
        "/app/acme/admin/portal",
        data={
            "csrf_token": csrf,
            "display_name": "Acme Care",
            "primary_color": "#FFD700",
            "accent_color": "#123456",
            "allow_anonymous": "on",
        },
    )
    assert saved.status_code == 303, saved.text
    css = await client.get("/portal/acme/brand.css")
    assert "--brand: #ffd700; --brand-ink: #1d2433;" in css.text
    tenant = (await client.get("/api/v1/tenants/acme", headers=world.a["owner"].auth)).json()
    assert tenant["settings"]["portal_allows_anonymous_submission"] is True
    bad = await client.post(
        "/app/acme/admin/portal",
        data={"csrf_token": csrf, "primary_color": "red", "accent_color": "#123456"},
    )
    assert bad.status_code == 422


async def test_platform_page_lists_tenants_with_counts(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, world.platform_admin.email)
    home = await client.get("/app")
    assert home.headers["location"] == "/app/platform"
    page = await client.get("/app/platform")
    assert page.status_code == 200
    assert "<code>acme</code>" in page.text
    assert "<code>acmeco</code>" in page.text
    await client.post("/app/logout", data={"csrf_token": await csrf_for(client, "/app/platform")})
    await sign_in(client, world.a["owner"].email)
    assert (await client.get("/app/platform")).status_code == 403
