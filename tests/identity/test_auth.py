"""Signing in and out, sessions with CSRF, passwords, API tokens, the throttle, gateway headers."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.config import DEFAULT_SECRET_KEY, InsecureConfiguration, Settings
from frontdesk.core.db import transaction
from frontdesk.identity.dependencies import CSRF_HEADER, SESSION_COOKIE
from frontdesk.identity.models import ApiToken, User
from frontdesk.identity.policy import Role
from frontdesk.identity.service.members import add_member_as
from frontdesk.web.app import create_app
from tests.factories import PASSWORD, Person, World

PROBLEM_JSON = "application/problem+json"
LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/me"
NEW_PASSWORD = "a-brand-new-passphrase"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert {"type", "title", "detail"} <= set(body)
    return body


def session_headers(token: str, csrf: str | None = None) -> dict[str, str]:
    """The session cookie sent by hand (the client's cookie jar is kept empty)."""
    headers = {"Cookie": f"{SESSION_COOKIE}={token}"}
    if csrf is not None:
        headers[CSRF_HEADER] = csrf
    return headers


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> tuple[str, str]:
    """Sign in; returns (session cookie value, CSRF token) and leaves the cookie jar empty."""
    response = await client.post(LOGIN, json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token = response.cookies[SESSION_COOKIE]
    client.cookies.clear()
    return token, response.json()["csrf_token"]


def set_cookie_attributes(response: httpx.Response) -> dict[str, str]:
    (header,) = [
        value
        for value in response.headers.get_list("set-cookie")
        if value.startswith(f"{SESSION_COOKIE}=")
    ]
    attributes: dict[str, str] = {}
    for part in header.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attributes[name.lower()] = value
    return attributes


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second app over the same database, with its own settings, seen from 127.0.0.1."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


# --- signing in ------------------------------------------------------------------------------


async def test_login_sets_a_lax_httponly_session_cookie_and_returns_a_csrf_token(
    client: httpx.AsyncClient, world: World
) -> None:
    agent = world.a["agent"]
    response = await client.post(LOGIN, json={"email": agent.email, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == agent.email
    assert body["user"]["id"] == str(agent.user_id)
    assert isinstance(body["csrf_token"], str)
    assert len(body["csrf_token"]) >= 20
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC)
    assert "password_hash" not in body["user"]

    attributes = set_cookie_attributes(response)
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "lax"
    assert attributes["path"] == "/"
    assert "secure" not in attributes  # served over plain http
    assert len(response.cookies[SESSION_COOKIE]) >= 32


async def test_login_is_case_insensitive_on_the_email(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.post(
        LOGIN, json={"email": world.a["agent"].email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json()["user"]["email"] == world.a["agent"].email


async def test_session_cookie_is_secure_when_served_over_https(
    settings: Settings, world: World
) -> None:
    https = settings.model_copy(update={"public_base_url": "https://help.example.com"})
    async with app_client(https) as http:
        response = await http.post(
            LOGIN, json={"email": world.a["owner"].email, "password": PASSWORD}
        )
    assert response.status_code == 200
    attributes = set_cookie_attributes(response)
    assert "secure" in attributes
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "lax"


async def test_wrong_password_and_unknown_email_get_the_same_401(
    client: httpx.AsyncClient, world: World
) -> None:
    wrong = await client.post(LOGIN, json={"email": world.a["agent"].email, "password": "nope"})
    unknown = await client.post(LOGIN, json={"email": "ghost@nowhere.test", "password": PASSWORD})
    wrong_body = assert_problem(wrong, 401, "invalid_credentials")
    unknown_body = assert_problem(unknown, 401, "invalid_credentials")
    assert wrong_body == unknown_body
    assert SESSION_COOKIE not in wrong.cookies
    assert SESSION_COOKIE not in unknown.cookies


async def test_a_user_without_a_password_cannot_sign_in(
    client: httpx.AsyncClient, world: World
) -> None:
    owner = world.a["owner"]
    added = await client.post(
        "/api/v1/tenants/acme/members",
        json={"email": "nopassword@acme.example", "role": "agent"},
        headers=owner.auth,
    )
    assert added.status_code == 201
    response = await client.post(
        LOGIN, json={"email": "nopassword@acme.example", "password": "anything-at-all"}
    )
    assert_problem(response, 401, "invalid_credentials")


async def test_me_works_with_the_session_cookie(client: httpx.AsyncClient, world: World) -> None:
    agent = world.a["agent"]
    token, csrf = await login(client, agent.email)
    me = await client.get(ME, headers=session_headers(token))
    assert me.status_code == 200
    body = me.json()
    assert body["user"]["email"] == agent.email
    assert body["auth_method"] == "session"
    assert body["csrf_token"] == csrf
    assert [(t["slug"], t["role"]) for t in body["tenants"]] == [("acme", "agent")]
    # The cookie jar of the client works the same way.
    response = await client.post(LOGIN, json={"email": agent.email, "password": PASSWORD})
    assert response.status_code == 200
    assert (await client.get(ME)).json()["user"]["email"] == agent.email
    client.cookies.clear()


async def test_anonymous_me_is_401(client: httpx.AsyncClient, world: World) -> None:
    assert_problem(await client.get(ME), 401, "unauthorized")
    garbage = await client.get(ME, headers=session_headers("not-a-session"))
    assert_problem(garbage, 401, "unauthorized")
    bad_bearer = await client.get(ME, headers={"Authorization": "Bearer fdk_not-a-token"})
    assert_problem(bad_bearer, 401, "unauthorized")
    basic = await client.get(ME, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_problem(basic, 401, "unauthorized")


async def test_unsafe_cookie_request_needs_the_csrf_token(
    client: httpx.AsyncClient, world: World
) -> None:
    agent = world.a["agent"]
    token, csrf = await login(client, agent.email)
    tokens_url = "/api/v1/me/tokens"

    missing = await client.post(tokens_url, json={"name": "cli"}, headers=session_headers(token))
    assert_problem(missing, 403, "csrf_failed")
    wrong = await client.post(
        tokens_url, json={"name": "cli"}, headers=session_headers(token, csrf + "x")
    )
    assert_problem(wrong, 403, "csrf_failed")
    # The token of another session does not fit this one.
    _, other_csrf = await login(client, agent.email)
    assert other_csrf != csrf
    crossed = await client.post(
        tokens_url, json={"name": "cli"}, headers=session_headers(token, other_csrf)
    )
    assert_problem(crossed, 403, "csrf_failed")
    # Nothing was created by the refused requests.
    listed = await client.get(tokens_url, headers=session_headers(token))
    assert [t["name"] for t in listed.json()] == ["tests"]

    created = await client.post(
        tokens_url, json={"name": "cli"}, headers=session_headers(token, csrf)
    )
    assert created.status_code == 201
    patched = await client.patch(
        ME, json={"display_name": "Agent Smith"}, headers=session_headers(token, csrf)
    )
    assert patched.status_code == 200
    assert patched.json()["user"]["display_name"] == "Agent Smith"
    unpatched = await client.patch(
        ME, json={"display_name": "Nobody"}, headers=session_headers(token)
    )
    assert_problem(unpatched, 403, "csrf_failed")


async def test_bearer_requests_need_no_csrf_token(client: httpx.AsyncClient, world: World) -> None:
    agent = world.a["agent"]
    created = await client.post("/api/v1/me/tokens", json={"name": "ci"}, headers=agent.auth)
    assert created.status_code == 201


async def test_logout_revokes_the_session_even_when_the_cookie_is_replayed(
    client: httpx.AsyncClient, world: World
) -> None:
    agent = world.a["agent"]
    token, csrf = await login(client, agent.email)
    other_token, _ = await login(client, agent.email)
    assert (await client.get(ME, headers=session_headers(token))).status_code == 200

    refused = await client.post(LOGOUT, headers=session_headers(token))
    assert_problem(refused, 403, "csrf_failed")
    assert (await client.get(ME, headers=session_headers(token))).status_code == 200

    response = await client.post(LOGOUT, headers=session_headers(token, csrf))
    assert response.status_code == 204
    cleared = response.headers["set-cookie"]
    assert cleared.startswith(f"{SESSION_COOKIE}=")
    assert "max-age=0" in cleared.lower()

    replayed = await client.get(ME, headers=session_headers(token))
    assert_problem(replayed, 401, "unauthorized")
    # A replayed cookie cannot be used to write either (it is not a session any more).
    write = await client.post(
        "/api/v1/me/tokens", json={"name": "x"}, headers=session_headers(token, csrf)
    )
    assert_problem(write, 401, "unauthorized")
    # Only that session ended.
    assert (await client.get(ME, headers=session_headers(other_token))).status_code == 200
    # Logging out again, or anonymously, is harmless.
    assert (await client.post(LOGOUT)).status_code == 204


# --- passwords -------------------------------------------------------------------------------


async def test_password_change(client: httpx.AsyncClient, world: World) -> None:
    agent = world.a["agent"]
    current, csrf = await login(client, agent.email)
    other, _ = await login(client, agent.email)
    url = "/api/v1/me/password"

    wrong = await client.post(
        url,
        json={"current_password": "not-my-password", "new_password": NEW_PASSWORD},
        headers=session_headers(current, csrf),
    )
    assert_problem(wrong, 401, "invalid_credentials")
    # A failed change changes nothing: both sessions live, the old password works.
    assert (await client.get(ME, headers=session_headers(other))).status_code == 200
    assert (await client.get(ME, headers=session_headers(current))).status_code == 200

    too_short = await client.post(
        url,
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=session_headers(current, csrf),
    )
    assert_problem(too_short, 422, "validation_failed")

    changed = await client.post(
        url,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=session_headers(current, csrf),
    )
    assert changed.status_code == 204

    assert (await client.get(ME, headers=session_headers(current))).status_code == 200
    assert_problem(await client.get(ME, headers=session_headers(other)), 401, "unauthorized")
    # API tokens are not sessions: they keep working.
    assert (await client.get(ME, headers=agent.auth)).status_code == 200

    old = await client.post(LOGIN, json={"email": agent.email, "password": PASSWORD})
    assert_problem(old, 401, "invalid_credentials")
    new = await client.post(LOGIN, json={"email": agent.email, "password": NEW_PASSWORD})
    assert new.status_code == 200
    client.cookies.clear()


async def test_password_change_with_a_token_keeps_no_session(
    client: httpx.AsyncClient, world: World
) -> None:
    agent = world.a["agent"]
    session_token, _ = await login(client, agent.email)
    changed = await client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=agent.auth,
    )
    assert changed.status_code == 204
    gone = await client.get(ME, headers=session_headers(session_token))
    assert_problem(gone, 401, "unauthorized")


# --- API tokens ------------------------------------------------------------------------------


def assert_no_secret(listing: list[dict[str, Any]], *secrets_: str) -> None:
    for entry in listing:
        assert "token" not in entry
        assert "token_digest" not in entry
        for secret in secrets_:
            assert secret not in str(entry)


async def test_tenant_token_secret_is_shown_once(client: httpx.AsyncClient, world: World) -> None:
    agent = world.a["agent"]
    url = "/api/v1/tenants/acme/tokens"
    created = await client.post(url, json={"name": "zapier"}, headers=agent.auth)
    assert created.status_code == 201
    body = created.json()
    secret = body["token"]
    assert secret.startswith("fdk_")
    assert secret.startswith(body["token_hint"])
    assert body["token_hint"] != secret
    assert body["tenant_id"] == str(world.a.id)
    assert body["user_id"] == str(agent.user_id)
    assert body["revoked_at"] is None

    listing = (await client.get(url, headers=agent.auth)).json()
    assert [entry["id"] for entry in listing] == [body["id"]]
    assert_no_secret(listing, secret)
    mine = (await client.get("/api/v1/me/tokens", headers=agent.auth)).json()
    assert {entry["name"] for entry in mine} == {"tests", "zapier"}
    assert_no_secret(mine, secret, agent.token)

    fetched = await client.get(ME, headers={"Authorization": f"Bearer {secret}"})
    assert fetched.status_code == 200
    assert fetched.json()["auth_method"] == "token"


async def test_personal_token_secret_is_shown_once(client: httpx.AsyncClient, world: World) -> None:
    agent = world.a["agent"]
    created = await client.post("/api/v1/me/tokens", json={"name": "laptop"}, headers=agent.auth)
    assert created.status_code == 201
    body = created.json()
    secret = body["token"]
    assert body["tenant_id"] is None
    listing = (await client.get("/api/v1/me/tokens", headers=agent.auth)).json()
    assert body["id"] in [entry["id"] for entry in listing]
    assert_no_secret(listing, secret, agent.token)
    as_new = await client.get(ME, headers={"Authorization": f"Bearer {secret}"})
    assert as_new.json()["user"]["id"] == str(agent.user_id)


async def test_token_limited_to_a_tenant_cannot_reach_another_tenant(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    agent = world.a["agent"]
    # Make the agent of acme an agent of acmeco too.
    async with transaction(sessionmaker) as session:
        user = await session.get(User, agent.user_id)
        assert user is not None
        await add_member_as(session, world.b.id, user, Role.AGENT)
    assert (
        await client.get("/api/v1/tenants/acmeco/groups", headers=agent.auth)
    ).status_code == 200

    created = await client.post(
        "/api/v1/tenants/acme/tokens", json={"name": "acme only"}, headers=agent.auth
    )
    limited = {"Authorization": f"Bearer {created.json()['token']}"}

    assert (await client.get("/api/v1/tenants/acme/groups", headers=limited)).status_code == 200
    other = await client.get("/api/v1/tenants/acmeco/groups", headers=limited)
    assert_problem(other, 404, "not_found")
    by_id = await client.get(f"/api/v1/tenants/{world.b.id}/groups", headers=limited)
    assert_problem(by_id, 404, "not_found")
    write = await client.post(
        "/api/v1/tenants/acmeco/contacts",
        json={"name": "X", "emails": ["x@example.com"]},
        headers=limited,
    )
    assert_problem(write, 404, "not_found")
    # /me shows only the token's tenant, and tokens made with it stay limited.
    me = (await client.get(ME, headers=limited)).json()
    assert [t["slug"] for t in me["tenants"]] == ["acme"]
    unlimited_me = (await client.get(ME, headers=agent.auth)).json()
    assert [t["slug"] for t in unlimited_me["tenants"]] == ["acme", "acmeco"]
    child = await client.post("/api/v1/me/tokens", json={"name": "child"}, headers=limited)
    assert child.status_code == 201
    assert child.json()["tenant_id"] == str(world.a.id)
    child_auth = {"Authorization": f"Bearer {child.json()['token']}"}
    assert (
        await client.get("/api/v1/tenants/acmeco/groups", headers=child_auth)
    ).status_code == 404


async def test_revoked_token_is_401(client: httpx.AsyncClient, world: World) -> None:
    agent = world.a["agent"]
    created = (
        await client.post(
            "/api/v1/tenants/acme/tokens", json={"name": "short-lived"}, headers=agent.auth
        )
    ).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    assert (await client.get(ME, headers=auth)).status_code == 200

    revoked = await client.delete(f"/api/v1/tenants/acme/tokens/{created['id']}", headers=auth)
    assert revoked.status_code == 204
    assert_problem(await client.get(ME, headers=auth), 401, "unauthorized")
    assert_problem(
        await client.get("/api/v1/tenants/acme/groups", headers=auth), 401, "unauthorized"
    )
    listing = (await client.get("/api/v1/tenants/acme/tokens", headers=agent.auth)).json()
    assert listing[0]["revoked_at"] is not None
    # Revoking again is a no-op; the personal token route revokes too.
    again = await client.delete(f"/api/v1/tenants/acme/tokens/{created['id']}", headers=agent.auth)
    assert again.status_code == 204
    personal = (
        await client.post("/api/v1/me/tokens", json={"name": "p"}, headers=agent.auth)
    ).json()
    gone = await client.delete(f"/api/v1/me/tokens/{personal['id']}", headers=agent.auth)
    assert gone.status_code == 204
    assert_problem(
        await client.get(ME, headers={"Authorization": f"Bearer {personal['token']}"}),
        401,
        "unauthorized",
    )


async def test_expired_token_is_401(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    agent = world.a["agent"]
    url = "/api/v1/tenants/acme/tokens"
    past = await client.post(
        url,
        json={"name": "old", "expires_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()},
        headers=agent.auth,
    )
    assert_problem(past, 422, "validation_failed")
    naive = await client.post(
        url, json={"name": "naive", "expires_at": "2999-01-01T00:00:00"}, headers=agent.auth
    )
    assert_problem(naive, 422, "validation_failed")

    expires_at = datetime.now(UTC) + timedelta(hours=1)
    created = await client.post(
        url, json={"name": "soon", "expires_at": expires_at.isoformat()}, headers=agent.auth
    )
    assert created.status_code == 201
    body = created.json()
    assert datetime.fromisoformat(body["expires_at"]) == expires_at
    auth = {"Authorization": f"Bearer {body['token']}"}
    assert (await client.get(ME, headers=auth)).status_code == 200

    async with sessionmaker() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.token_hint == body["token_hint"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    expired = await client.get(ME, headers=auth)
    assert assert_problem(expired, 401, "unauthorized")["detail"] == "the API token has expired"


async def test_admins_see_every_token_of_the_tenant_agents_only_their_own(
    client: httpx.AsyncClient, world: World
) -> None:
    url = "/api/v1/tenants/acme/tokens"
    made: dict[str, str] = {}
    for role in ("admin", "agent", "light_agent"):
        response = await client.post(url, json={"name": role}, headers=world.a[role].auth)
        assert response.status_code == 201
        made[role] = response.json()["id"]
    # A token of the other tenant is not listed anywhere in acme.
    other = await client.post(
        "/api/v1/tenants/acmeco/tokens", json={"name": "b"}, headers=world.b["owner"].auth
    )
    assert other.status_code == 201

    for role in ("owner", "admin"):
        listing = (await client.get(url, headers=world.a[role].auth)).json()
        assert sorted(entry["id"] for entry in listing) == sorted(made.values())
    for role in ("agent", "light_agent"):
        listing = (await client.get(url, headers=world.a[role].auth)).json()
        assert [entry["id"] for entry in listing] == [made[role]]
        assert listing[0]["user_id"] == str(world.a[role].user_id)

    # An agent cannot revoke the admin's token; the admin can revoke the agent's.
    refused = await client.delete(f"{url}/{made['admin']}", headers=world.a["agent"].auth)
    assert_problem(refused, 404, "not_found")
    revoked = await client.delete(f"{url}/{made['agent']}", headers=world.a["admin"].auth)
    assert revoked.status_code == 204
    listing = (await client.get(url, headers=world.a["admin"].auth)).json()
    states = {entry["id"]: entry["revoked_at"] for entry in listing}
    assert states[made["agent"]] is not None
    assert states[made["admin"]] is None
    # Contacts have no tenant tokens at all.
    contact = await client.get(url, headers=world.a["contact"].auth)
    assert_problem(contact, 403, "forbidden")


# --- the sign-in throttle --------------------------------------------------------------------


async def test_account_throttle(settings: Settings, world: World) -> None:
    strict = settings.model_copy(
        update={"login_max_failures_per_account": 3, "login_window_seconds": 2}
    )
    agent = world.a["agent"]
    async with app_client(strict) as http:
        for _ in range(3):
            wrong = await http.post(LOGIN, json={"email": agent.email, "password": "wrong!"})
            assert_problem(wrong, 401, "invalid_credentials")
        blocked = await http.post(LOGIN, json={"email": agent.email, "password": PASSWORD})
        body = assert_problem(blocked, 429, "too_many_requests")
        retry_after = int(blocked.headers["Retry-After"])
        assert 1 <= retry_after <= 3
        assert body["retry_after"] == retry_after
        assert SESSION_COOKIE not in blocked.cookies
        # The account is throttled, whatever the spelling of its address.
        shouted = await http.post(LOGIN, json={"email": agent.email.upper(), "password": PASSWORD})
        assert_problem(shouted, 429, "too_many_requests")
        # Other accounts from the same address are not.
        other = await http.post(LOGIN, json={"email": world.a["admin"].email, "password": PASSWORD})
        assert other.status_code == 200
        http.cookies.clear()

        await asyncio.sleep(2.1)
        allowed = await http.post(LOGIN, json={"email": agent.email, "password": PASSWORD})
        assert allowed.status_code == 200
        http.cookies.clear()


async def test_a_good_sign_in_clears_the_account_failures(settings: Settings, world: World) -> None:
    strict = settings.model_copy(
        update={"login_max_failures_per_account": 3, "login_window_seconds": 60}
    )
    agent = world.a["agent"]
    async with app_client(strict) as http:
        for _ in range(2):
            wrong = await http.post(LOGIN, json={"email": agent.email, "password": "wrong!"})
            assert wrong.status_code == 401
        assert (
            await http.post(LOGIN, json={"email": agent.email, "password": PASSWORD})
        ).status_code == 200
        for _ in range(2):
            wrong = await http.post(LOGIN, json={"email": agent.email, "password": "wrong!"})
            assert wrong.status_code == 401
        ok = await http.post(LOGIN, json={"email": agent.email, "password": PASSWORD})
        assert ok.status_code == 200
        http.cookies.clear()


async def test_password_change_guesses_count_toward_the_throttle(
    settings: Settings, world: World
) -> None:
    strict = settings.model_copy(
        update={"login_max_failures_per_account": 3, "login_window_seconds": 60}
    )
    agent = world.a["agent"]
    async with app_client(strict) as http:
        for _ in range(3):
            wrong = await http.post(
                "/api/v1/me/password",
                json={"current_password": "guess-guess", "new_password": NEW_PASSWORD},
                headers=agent.auth,
            )
            assert_problem(wrong, 401, "invalid_credentials")
        blocked = await http.post(
            "/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=agent.auth,
        )
        assert_problem(blocked, 429, "too_many_requests")
        assert "Retry-After" in blocked.headers
        still_old = await http.post(LOGIN, json={"email": agent.email, "password": PASSWORD})
        assert_problem(still_old, 429, "too_many_requests")


async def test_address_throttle(settings: Settings, world: World) -> None:
    strict = settings.model_copy(
        update={
            "login_max_failures_per_account": 100,
            "login_max_failures_per_address": 3,
            "login_window_seconds": 2,
        }
    )
    async with app_client(strict) as http:
        for email in ("one@nowhere.test", world.a["admin"].email, "three@nowhere.test"):
            wrong = await http.post(LOGIN, json={"email": email, "password": "wrong!"})
            assert_problem(wrong, 401, "invalid_credentials")
        agent = world.a["agent"]
        blocked = await http.post(LOGIN, json={"email": agent.email, "password": PASSWORD})
        assert_problem(blocked, 429, "too_many_requests")
        assert int(blocked.headers["Retry-After"]) >= 1

        await asyncio.sleep(2.1)
        allowed = await http.post(LOGIN, json={"email": agent.email, "password": PASSWORD})
        assert allowed.status_code == 200
        http.cookies.clear()


# --- the trusted gateway header --------------------------------------------------------------


async def test_trusted_header_is_ignored_by_default(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.get(ME, headers={"X-User": world.a["agent"].email})
    assert_problem(response, 401, "unauthorized")


async def test_trusted_header_from_a_trusted_proxy_authenticates(
    settings: Settings, world: World
) -> None:
    trusting = settings.model_copy(
        update={"trusted_header_enabled": True, "trusted_proxies": ["127.0.0.1/32"]}
    )
    agent: Person = world.a["agent"]
    async with app_client(trusting) as http:
        response = await http.get(ME, headers={"X-User": agent.email})
        assert response.status_code == 200
        assert response.json()["user"]["id"] == str(agent.user_id)
        assert response.json()["auth_method"] == "header"
        groups = await http.get("/api/v1/tenants/acme/groups", headers={"X-User": agent.email})
        assert groups.status_code == 200
        unknown = await http.get(ME, headers={"X-User": "ghost@nowhere.test"})
        assert_problem(unknown, 401, "unauthorized")
        # A bearer token still wins over the header.
        both = await http.get(ME, headers={"X-User": agent.email, **world.a["owner"].auth})
        assert both.json()["user"]["id"] == str(world.a["owner"].user_id)


async def test_trusted_header_from_an_untrusted_address_is_ignored(
    settings: Settings, world: World
) -> None:
    elsewhere = settings.model_copy(
        update={"trusted_header_enabled": True, "trusted_proxies": ["10.9.9.9/32"]}
    )
    async with app_client(elsewhere) as http:
        response = await http.get(ME, headers={"X-User": world.a["agent"].email})
        assert_problem(response, 401, "unauthorized")


# --- production safety -----------------------------------------------------------------------


def production(tmp_path: Path, **values: Any) -> Settings:
    return Settings(
        environment="production",
        data_dir=tmp_path,
        log_level="WARNING",
        log_format="console",
        **values,
    )


@pytest.mark.parametrize(
    "secret_key", [DEFAULT_SECRET_KEY, "short", "x" * 31], ids=["default", "short", "31-chars"]
)
def test_production_refuses_a_default_or_weak_secret(tmp_path: Path, secret_key: str) -> None:
    settings = production(tmp_path, secret_key=secret_key)
    with pytest.raises(InsecureConfiguration):
        settings.check_safe_to_start()
    with pytest.raises(InsecureConfiguration):
        create_app(settings)


def test_production_accepts_a_long_random_secret(tmp_path: Path) -> None:
    settings = production(tmp_path, secret_key=secrets.token_urlsafe(48))
    settings.check_safe_to_start()
    app = create_app(settings)
    assert app.state.settings is settings


def test_development_tolerates_the_default_secret(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, secret_key=DEFAULT_SECRET_KEY, log_level="WARNING", log_format="console"
    )
    settings.check_safe_to_start()
