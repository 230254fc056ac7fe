import httpx

from tests.factories import World


async def test_health(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["migrations"] == "current"


async def test_agent_lists_groups_of_own_tenant_only(
    client: httpx.AsyncClient, world: World
) -> None:
    agent = world.a["agent"]
    assert (await client.get("/api/v1/tenants/acme/groups", headers=agent.auth)).status_code == 200
    other = await client.get("/api/v1/tenants/acmeco/groups", headers=agent.auth)
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"
