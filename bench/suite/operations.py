"""What each operation sends, for Frontdesk, the limit and the peer."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from uuid import UUID, uuid4

import httpx

from suite.loadgen import Operation, check
from suite.texts import Conversation

OPERATIONS = ("create_ticket", "public_reply", "queue_list", "get_thread", "patch_status",
              "bulk_update_50", "search", "push_ingest")  # fmt: skip
#: The operations whose latency is followed as the data grows.
SCALED = ("queue_list", "get_thread", "search")


@dataclass
class Fixture:
    """Ids and texts the operations draw from (the i-th call takes the i-th of each)."""

    tenant_slug: str
    tenant_id: UUID
    token: str
    groups: list[UUID]
    new_status_id: UUID
    contacts: list[UUID]
    threads: list[UUID]  # tickets with a 20-message thread
    working: list[UUID]  # open tickets to reply to and to change
    conversations: list[Conversation]
    phrases: list[str]
    #: The push channel's secret URL (path), made through the API in the load phase.
    push_path: str = ""


def frontdesk_operations(f: Fixture) -> dict[str, Operation]:
    base = f"/api/v1/tenants/{f.tenant_slug}/tickets"
    statuses = ("pending_customer", "open")

    async def create_ticket(client: httpx.AsyncClient, i: int) -> None:
        talk = f.conversations[i % len(f.conversations)]
        body = {
            "subject": talk.subject,
            "description": talk.opening,
            "requester_id": str(f.contacts[i % len(f.contacts)]),
            "group_id": str(f.groups[i % len(f.groups)]),
            "tags": list(talk.topic.tags[:2]),
        }
        check(await client.post(base, json=body))

    async def public_reply(client: httpx.AsyncClient, i: int) -> None:
        talk = f.conversations[i % len(f.conversations)]
        ticket = f.working[i % len(f.working)]
        check(await client.post(f"{base}/{ticket}/messages", json={"body": talk.replies[0]}))

    async def queue_list(client: httpx.AsyncClient, i: int) -> None:
        params = {
            "group_id": str(f.groups[i % len(f.groups)]),
            "status_category": "open",
            "sort": "-updated",
            "limit": "50",
        }
        check(await client.get(base, params=params))

    async def get_thread(client: httpx.AsyncClient, i: int) -> None:
        ticket = f.threads[i % len(f.threads)]
        check(await client.get(f"{base}/{ticket}"))
        check(await client.get(f"{base}/{ticket}/messages", params={"limit": "20"}))

    async def patch_status(client: httpx.AsyncClient, i: int) -> None:
        # From the far end of the pool, so that it does not race the replies for row locks.
        ticket = f.working[-1 - i % len(f.working)]
        status = statuses[(i // len(f.working)) % 2]
        check(await client.patch(f"{base}/{ticket}", json={"status": status}))

    async def bulk_update_50(client: httpx.AsyncClient, i: int) -> None:
        chunks = max(1, len(f.working) // 50)
        start = (i % chunks) * 50
        ids = [str(t) for t in f.working[start : start + 50]]
        priority = ("high", "normal")[(i // chunks) % 2]
        body = {"ticket_ids": ids, "changes": {"priority": priority}}
        response = check(await client.post(f"{base}/bulk", json=body))
        failed = [r for r in response.json()["results"] if not r["ok"]]
        if failed:
            check(httpx.Response(failed[0]["status"], text=str(failed[0])))

    async def search(client: httpx.AsyncClient, i: int) -> None:
        params = {"q": f.phrases[i % len(f.phrases)], "limit": "50"}
        check(await client.get(base, params=params))

    async def push_ingest(client: httpx.AsyncClient, i: int) -> None:
        talk = f.conversations[i % len(f.conversations)]
        raw = inbound_mail(i, talk.subject, talk.opening)
        headers = {"content-type": "message/rfc822"}
        check(await client.post(f.push_path, content=raw, headers=headers))

    return {
        "create_ticket": create_ticket,
        "public_reply": public_reply,
        "queue_list": queue_list,
        "get_thread": get_thread,
        "patch_status": patch_status,
        "bulk_update_50": bulk_update_50,
        "search": search,
        "push_ingest": push_ingest,
    }


def inbound_mail(i: int, subject: str, body: str) -> bytes:
    """A plain customer mail to the push channel: a new ticket per message (own Message-ID)."""
    return (
        f"From: Customer {i} <customer{i % 997}@customers.example.org>\r\n"
        f"To: {PUSH_ADDRESS}\r\nSubject: {subject}\r\n"
        f"Message-ID: <bench-{i}-{uuid4().hex}@customers.example.org>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


PUSH_ADDRESS = "help@bench-00.example.com"


async def create_push_channel(base_url: str, f: Fixture, owner_token: str) -> str:
    """Create the measured tenant's push channel through the API; returns its URL's path."""
    body = {
        "name": "Bench inbox",
        "address": PUSH_ADDRESS,
        "mode": "push",
        "default_group_id": str(f.groups[0]),
        # Acknowledgements would be mail for the worker to send; the intake is what is measured.
        "auto_acknowledge": False,
    }
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        response = check(
            await client.post(
                f"/api/v1/tenants/{f.tenant_slug}/channels",
                json=body,
                headers={"authorization": f"Bearer {owner_token}"},
            )
        )
    return str(httpx.URL(response.json()["push_url"]).path)


def frontdesk_headers(f: Fixture) -> dict[str, str]:
    return {"authorization": f"Bearer {f.token}"}


def limit_operations(f: Fixture) -> dict[str, Operation]:
    async def create_ticket(client: httpx.AsyncClient, i: int) -> None:
        talk = f.conversations[i % len(f.conversations)]
        body = {
            "subject": talk.subject,
            "description": talk.opening,
            "status_id": str(f.new_status_id),
            "requester_id": str(f.contacts[i % len(f.contacts)]),
            "group_id": str(f.groups[i % len(f.groups)]),
        }
        check(await client.post("/tickets", json=body))

    async def queue_list(client: httpx.AsyncClient, i: int) -> None:
        params = {"group_id": str(f.groups[i % len(f.groups)]), "status_category": "open"}
        check(await client.get("/tickets", params=params))

    async def search(client: httpx.AsyncClient, i: int) -> None:
        check(await client.get("/search", params={"q": f.phrases[i % len(f.phrases)]}))

    return {"create_ticket": create_ticket, "queue_list": queue_list, "search": search}


@dataclass
class PeerFixture:
    username: str
    password: str
    queues: list[int]
    tickets: list[int]


def peer_operations(f: Fixture, p: PeerFixture) -> dict[str, Operation]:
    async def create_ticket(client: httpx.AsyncClient, i: int) -> None:
        talk = f.conversations[i % len(f.conversations)]
        body = {
            "queue": p.queues[i % len(p.queues)],
            "title": talk.subject[:200],
            "description": talk.opening,
            "submitter_email": f"customer{i % 997}@example.org",
            "priority": 3,
        }
        check(await client.post("/api/tickets/", json=body))

    async def public_reply(client: httpx.AsyncClient, i: int) -> None:
        talk = f.conversations[i % len(f.conversations)]
        body = {
            "ticket": p.tickets[i % len(p.tickets)],
            "title": "Comment",
            "comment": talk.replies[0],
            "public": True,
        }
        check(await client.post("/api/followups/", json=body))

    async def queue_list(client: httpx.AsyncClient, i: int) -> None:
        check(await client.get("/api/tickets/", params={"page_size": "50"}))

    return {"create_ticket": create_ticket, "public_reply": public_reply, "queue_list": queue_list}


def peer_headers(p: PeerFixture) -> dict[str, str]:
    secret = base64.b64encode(f"{p.username}:{p.password}".encode()).decode()
    return {"authorization": f"Basic {secret}"}
