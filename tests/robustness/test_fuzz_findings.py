"""Regressions for what the schema fuzzing found, one test each."""

from __future__ import annotations

import httpx

from tests.factories import World

ACME = "/api/v1/tenants/acme"


async def test_a_dedup_key_does_not_hand_over_someone_elses_message(
    client: httpx.AsyncClient, world: World
) -> None:
    """Found by the fuzzer: the same case sent by an agent and then by a contact answered the
    contact with the agent's message. A key is tenant-wide, so an internal note's key (or
    another customer's mail Message-ID) must not replay that message to someone else."""
    ticket = await client.post(
        f"{ACME}/tickets",
        json={"subject": "Printer", "requester_id": str(world.a.contact_id)},
        headers=world.a["agent"].auth,
    )
    url = f"{ACME}/tickets/{ticket.json()['id']}/messages"
    secret = {"body": "SECRET internal", "is_internal": True, "dedup_key": "k-1"}
    note = await client.post(url, json=secret, headers=world.a["agent"].auth)
    assert note.status_code == 201, note.text

    for who in ("contact", "admin"):
        replay = await client.post(
            url, json={"body": "hello", "dedup_key": "k-1"}, headers=world.a[who].auth
        )
        assert replay.status_code == 409, replay.text
        assert replay.json()["code"] == "dedup_key_taken"
        assert "SECRET" not in replay.text
        assert note.json()["id"] not in replay.text

    again = await client.post(url, json=secret, headers=world.a["agent"].auth)
    assert again.status_code == 200
    assert again.json()["id"] == note.json()["id"]
    listed = await client.get(url, headers=world.a["agent"].auth)
    assert len(listed.json()["items"]) == 1


async def test_groups_store_a_default_sla_policy_id(
    client: httpx.AsyncClient, world: World
) -> None:
    """Found by the fuzzer: a group with `default_sla_policy_id` answered 500 (the id was
    handed to the database as a string). A policy that does not exist is a 404 naming it."""
    owner = world.a["owner"].auth
    missing = {"name": "Nowhere", "default_sla_policy_id": "0190d6a1-0000-7000-8000-000000000001"}
    refused = await client.post(f"{ACME}/groups", json=missing, headers=owner)
    assert refused.status_code == 404, refused.text
    assert "default_sla_policy_id" in refused.text
    made_policy = await client.post(
        f"{ACME}/sla/policies",
        json={
            "name": "Standard",
            "targets": [{"priority": "normal", "metric": "first_response", "minutes": 60}],
        },
        headers=owner,
    )
    assert made_policy.status_code == 201, made_policy.text
    policy = made_policy.json()["id"]
    body = {"name": "Escalations", "default_sla_policy_id": policy}
    made = await client.post(f"{ACME}/groups", json=body, headers=owner)
    assert made.status_code == 201, made.text
    assert made.json()["default_sla_policy_id"] == policy
    url = f"{ACME}/groups/{made.json()['id']}"
    changed = await client.patch(url, json={"default_sla_policy_id": None}, headers=owner)
    assert changed.status_code == 200, changed.text
    assert changed.json()["default_sla_policy_id"] is None
