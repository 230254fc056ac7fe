"""Signing a test browser in through the page forms, and reading what pages print."""

from __future__ import annotations

import re

import httpx

from tests.factories import PASSWORD

CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def sign_in(client: httpx.AsyncClient, email: str, *, login_path: str = "/app/login") -> None:
    response = await client.post(login_path, data={"email": email, "password": PASSWORD})
    assert response.status_code == 303, response.text
    assert "frontdesk_session" in client.cookies


def csrf_of(html: str) -> str:
    found = CSRF_PATTERN.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def csrf_for(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return csrf_of(response.text)
