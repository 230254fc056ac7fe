"""Helpers for the SLA tests: calendars, policies and tickets made through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.factories import World

ACME = "/api/v1/tenants/acme"


@dataclass
class Desk:
    client: httpx.AsyncClient
    world: World

    @property
    def owner(self) -> dict[str, str]:
        return self.world.a["owner"].auth

    @property
    def agent(self) -> dict[str, str]:
        return self.world.a["agent"].auth

    @property
    def contact(self) -> dict[str, str]:
        return self.world.a["contact"].auth

    async def post(self, path: str, body: Any, auth: dict[str, str] | None = None) -> Any:
        response = await self.client.post(f"{ACME}{path}", json=body, headers=auth or self.owner)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def patch(self, path: str, body: Any, auth: dict[str, str] | None = None) -> Any:
        response = await self.client.patch(f"{ACME}{path}", json=body, headers=auth or self.owner)
        assert response.status_code == 200, response.text
        return response.json()

    async def get(self, path: str, auth: dict[str, str] | None = None) -> Any:
        response = await self.client.get(f"{ACME}{path}", headers=auth or self.owner)
        assert response.status_code == 200, response.text
        return response.json()

    async def policy(self, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": "Standard",
            "is_default": True,
            "business_hours_only": False,
            "targets": [
                {"priority": "normal", "metric": "first_response", "minutes": 60},
                {"priority": "normal", "metric": "next_response", "minutes": 120},
                {"priority": "normal", "metric": "resolution", "minutes": 480},
                {"priority": "high", "metric": "first_response", "minutes": 30},
                {"priority": "high", "metric": "resolution", "minutes": 240},
            ],
        }
        created: dict[str, Any] = await self.post("/sla/policies", body | fields)
        return created

    async def ticket(self, **fields: Any) -> dict[str, Any]:
        body = {"subject": "Printer on fire", "requester_id": str(self.world.a.contact_id)}
        created: dict[str, Any] = await self.post("/tickets", body | fields)
        return created

    async def sla(self, ticket_id: str) -> dict[str, dict[str, Any]]:
        found = await self.get(f"/tickets/{ticket_id}/sla")
        return {state["metric"]: state for state in found["states"]}


@pytest.fixture
def desk(client: httpx.AsyncClient, world: World) -> Desk:
    return Desk(client, world)
