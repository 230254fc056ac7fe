"""Filing a batch (`receive_batch`) gives what filing its messages one at a time (`receive`)
gives: the same records, tickets and numbers, messages, files, timeline, events, SLA clocks
and planned mail. Two tenants get the same mail, one each way, and are compared."""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from frontdesk.core.audit import AuditEntry
from frontdesk.core.config import Settings
from frontdesk.core.db import set_actor, transaction
from frontdesk.core.events import OutboxEvent, relay_batch, subscribers
from frontdesk.core.storage import LocalBlobStore, StoredBlob
from frontdesk.email.models import InboundChannel, InboundMail, OutboundMail
from frontdesk.email.service.batch_intake import receive_batch
from frontdesk.email.service.intake import EMAIL_ACTOR, Received, receive
from frontdesk.email.service.planner import plan_batch
from frontdesk.identity.models import Contact, ContactEmail
from frontdesk.sla.models import TicketSlaState
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.models import (
    Ticket,
    TicketAttachment,
    TicketAudit,
    TicketMessage,
    TicketStatus,
)
from tests.factories import World

DESK = "help@desk.example.com"
TOKEN = re.compile(r"\[[A-Z]+-\d+\]")


def mail(sender: str, subject: str, message_id: str, *extra: str, body: str = "Hello.") -> bytes:
    head = [f"From: {sender}", f"To: {DESK}", f"Subject: {subject}", f"Message-ID: {message_id}"]
    return ("\r\n".join([*head, *extra]) + "\r\n\r\n" + body + "\r\n").encode()


def with_file(sender: str, subject: str, message_id: str, payload: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: {DESK}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe log is attached.\r\n"
        "--b\r\nContent-Type: text/plain; name=log.txt\r\nContent-Disposition: attachment; "
        f'filename="log.txt"\r\n\r\n{payload}\r\n--b--\r\n'
    ).encode()


def the_mail(prefix: str) -> tuple[list[bytes], list[bytes]]:
    """What came before (filed one at a time in both tenants) and the batch."""
    old = "<old-1@customer.example.org>"
    before = [mail("Dana <dana@customer.example.org>", "Printer jams", old)]
    first = "<new-1@customer.example.org>"
    alice, dana = "Alice <alice@newco.example.net>", "dana@customer.example.org"
    log = "row 4096 " * 50
    batch = [
        with_file(alice, "Export cut off", first, log),
        mail("bob@customer.example.org", "Password reset", "<new-2@customer.example.org>"),
        before[0],  # filed already: a duplicate
        mail(dana, "Re: Printer jams", "<re-1@x.example>", f"In-Reply-To: {old}"),
        mail(alice, "Second question", "<new-3@newco.example.net>"),
        with_file("Eve <eve@customer.example.org>", "Empty file", "<new-4@x.example>", ""),
        mail(
            "MAILER-DAEMON@mx.example.com", "Undeliverable", "<b-1@mx.example>", "Return-Path: <>"
        ),
        mail(DESK, "Loop", "<own-1@desk.example.com>"),
        b"\x00\x01 not a mail at all",
        mail(alice, "Re: Export cut off", "<re-2@x.example>", f"In-Reply-To: {first}"),
        mail(dana, f"Still jams [{prefix}-1]", "<re-3@x.example>"),
        mail(
            "auto@vendor.example.com", "Away", "<ooo-1@x.example>", "Auto-Submitted: auto-replied"
        ),
        with_file(alice, "Export cut off", first, log),  # twice in the batch
        mail("carol@newco.example.net", "A" * 600, "<new-5@newco.example.net>"),
        mail("frank@other.example.com", "Invoice", "<new-6@other.example.com>", body=""),
    ]
    return before, batch


async def _channel(
    client: httpx.AsyncClient, world: World, slug: str, owner: dict[str, str]
) -> UUID:
    base = f"/api/v1/tenants/{slug}"
    group = await client.post(f"{base}/groups", json={"name": "Support"}, headers=owner)
    assert group.status_code == 201, group.text
    policy = {
        "name": "Standard",
        "is_default": True,
        "business_hours_only": False,
        "targets": [
            {"priority": "normal", "metric": "first_response", "minutes": 60},
            {"priority": "normal", "metric": "resolution", "minutes": 480},
        ],
    }
    created = await client.post(f"{base}/sla/policies", json=policy, headers=owner)
    assert created.status_code == 201, created.text
    body = {
        "kind": "email",
        "name": "Support",
        "address": DESK,
        "mode": "push",
        "default_group_id": group.json()["id"],
    }
    channel = await client.post(f"{base}/channels", json=body, headers=owner)
    assert channel.status_code == 201, channel.text
    return UUID(channel.json()["id"])


async def _file(
    sessionmaker: async_sessionmaker[AsyncSession],
    store: LocalBlobStore,
    tenant_id: UUID,
    channel_id: UUID,
    raws: list[bytes],
    *,
    batched: bool,
) -> list[Received]:
    async with transaction(sessionmaker, actor=EMAIL_ACTOR) as session:
        channel = await session.get(InboundChannel, (tenant_id, channel_id))
        assert channel is not None
        if batched:
            return await receive_batch(session, store, channel, raws)
        return [await receive(session, store, channel, raw) for raw in raws]


async def _outcome(session: AsyncSession, tenant_id: UUID, results: list[Received]) -> list[Any]:
    rows = await session.execute(
        select(Ticket.id, Ticket.number).where(Ticket.tenant_id == tenant_id)
    )
    numbers = {row.id: row.number for row in rows}
    return [
        (
            result.duplicate,
            result.record.outcome,
            result.record.needs_review,
            numbers.get(result.record.ticket_id) if result.record.ticket_id else None,
            result.record.detail,
            result.record.message_id,
            result.record.is_auto_reply,
            result.notes,
        )
        for result in results
    ]


async def _rows(session: AsyncSession, model: Any, tenant_id: UUID) -> list[Any]:
    return list(
        await session.scalars(select(model).where(model.tenant_id == tenant_id).order_by(model.id))
    )


#: Ids, times and the tenant's own prefix differ between the two tenants by nature.
#: Per-row ids and times, and the version: how often it moves inside one transaction
#: depends on how many writes each path needs (see `_ticket`).
UNCOMPARED = {
    "id", "requester_id", "created_at", "updated_at", "status_id", "group_id",
    "organization_id", "last_message_at", "sla_next_due_at", "display_id", "version",
}  # fmt: skip


async def _state(session: AsyncSession, tenant_id: UUID) -> dict[str, Any]:
    """Everything the intake leaves in a tenant, without ids, times and ticket tokens."""
    statuses = {status.id: status.key for status in await session.scalars(select(TicketStatus))}
    emails = {e.contact_id: e.email for e in await _rows(session, ContactEmail, tenant_id)}
    tickets = sorted(await _rows(session, Ticket, tenant_id), key=lambda t: t.number)
    number = {ticket.id: ticket.number for ticket in tickets}
    events = await _rows(session, OutboxEvent, tenant_id)
    by_ticket: dict[int, list[str]] = defaultdict(list)
    for outboxed in events:
        about = outboxed.subject_id if outboxed.subject_type == "ticket" else None
        about = about or outboxed.snapshot.get("ticket_id")
        if about is not None:
            by_ticket[number[UUID(str(about))]].append(outboxed.type)
    return {
        "tickets": [_ticket(t, statuses, emails) for t in tickets],
        "messages": sorted(
            (
                number[m.ticket_id],
                m.author_type,
                m.body_text,
                m.body_html,
                m.is_internal,
                m.direction,
                m.external_message_id,
                TOKEN.sub("[token]", m.email_headers.get("subject", "")),
            )
            for m in await _rows(session, TicketMessage, tenant_id)
        ),
        "files": sorted(
            (number[f.ticket_id], f.filename, f.content_type, f.size, f.sha256, f.scan_status)
            for f in await _rows(session, TicketAttachment, tenant_id)
        ),
        "audit": sorted(
            (number[a.ticket_id], a.action, a.field, a.is_internal)
            for a in await _rows(session, TicketAudit, tenant_id)
        ),
        "clocks": sorted(
            (number[c.ticket_id], c.metric, c.status, c.target_minutes)
            for c in await _rows(session, TicketSlaState, tenant_id)
        ),
        "events": dict(by_ticket),
        "snapshots": [
            {key: value for key, value in outboxed.snapshot.items() if key not in UNCOMPARED}
            for outboxed in events
            if outboxed.subject_type == "ticket"
        ],
        "records": sorted(
            (r.outcome, r.message_id or "", r.needs_review, r.detail or "")
            for r in await _rows(session, InboundMail, tenant_id)
        ),
        "contacts": sorted(
            (c.name, emails.get(c.id), c.organization_id is not None)
            for c in await _rows(session, Contact, tenant_id)
            if c.name != "Carla Customer"  # the factory's
        ),
        "audit_entries": sorted(
            (e.action, e.subject_type)
            for e in await _rows(session, AuditEntry, tenant_id)
            if e.actor == EMAIL_ACTOR
        ),
        "outbound": sorted(
            (o.kind, o.recipient, TOKEN.sub("[token]", o.subject), number.get(o.ticket_id, 0))
            for o in await _rows(session, OutboundMail, tenant_id)
        ),
    }


def _ticket(ticket: Ticket, statuses: dict[UUID, str], emails: dict[UUID, str]) -> tuple[Any, ...]:
    """The ticket as a client sees it. Its version is compared only as having been written:
    how often it moved inside the one transaction depends on how many writes each path
    needed, and only the committed value is a client's concern."""
    return (
        ticket.number, ticket.subject, ticket.description, statuses[ticket.status_id],
        ticket.group_id is not None, emails[ticket.requester_id],
        ticket.organization_id is not None, ticket.priority, ticket.type, ticket.channel,
        ticket.message_count, ticket.public_message_count, ticket.unread_by_agent,
        ticket.version >= 1, ticket.sla_next_due_at is not None, ticket.follow_up_of_id is not None,
        ticket.created_by,
    )  # fmt: skip


async def test_a_mixed_batch_gives_what_one_at_a_time_gives(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: LocalBlobStore,
) -> None:
    results: dict[str, list[Any]] = {}
    tenants = {"one_by_one": world.a, "batched": world.b}
    for way, fixture in tenants.items():
        channel_id = await _channel(client, world, fixture.slug, fixture["owner"].auth)
        async with sessionmaker() as session:
            tenant = await session.get(Tenant, fixture.id)
            assert tenant is not None
            before, batch = the_mail(tenant.ticket_prefix)
        await _file(sessionmaker, store, fixture.id, channel_id, before, batched=False)
        filed = await _file(
            sessionmaker, store, fixture.id, channel_id, batch, batched=way == "batched"
        )
        async with sessionmaker() as session:
            results[way] = await _outcome(session, fixture.id, filed)
    while await relay_batch(sessionmaker, [subscribers]):
        pass
    async with transaction(sessionmaker, actor=EMAIL_ACTOR) as session:
        while await plan_batch(session, settings):
            pass
    async with sessionmaker() as session:
        states = {way: await _state(session, fixture.id) for way, fixture in tenants.items()}
    assert results["batched"] == results["one_by_one"]
    outcomes = [(duplicate, outcome) for duplicate, outcome, *_ in results["batched"]]
    # fmt: off
    assert outcomes == [
        (False, "new_ticket"), (False, "new_ticket"), (True, "new_ticket"), (False, "appended"),
        (False, "new_ticket"), (False, "new_ticket"), (False, "bounce"),
        (False, "dropped_own_address"), (False, "unparseable"), (False, "appended"),
        (False, "appended"), (False, "new_ticket"), (True, "new_ticket"), (False, "new_ticket"),
        (False, "new_ticket"),
    ]
    # fmt: on
    for key in states["one_by_one"]:
        assert states["batched"][key] == states["one_by_one"][key], key
    assert states["batched"]["clocks"], "the SLA engine started clocks"
    assert states["batched"]["outbound"], "acknowledgements were planned"
    assert len(states["batched"]["files"]) == 1


@contextmanager
def counted(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_a_batch_of_new_tickets_costs_the_same_statements_whatever_its_size(
    client: httpx.AsyncClient,
    world: World,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: LocalBlobStore,
) -> None:
    """Set-based reads and multi-row writes, and each ticket row written once: its group, its
    message's counters and the SLA summary of the clocks it started go out in its INSERT."""
    channel_id = await _channel(client, world, world.a.slug, world.a["owner"].auth)
    counts = []
    for size in (2, 5, 40):  # the first also loads the tenant's SLA rules
        raws = [
            with_file(f"c{size}-{n}@customer.example.org", "Export", f"<m{size}-{n}@x>", "log")
            for n in range(size)
        ]
        with counted(engine) as statements:
            filed = await _file(sessionmaker, store, world.a.id, channel_id, raws, batched=True)
        assert [r.record.outcome for r in filed] == ["new_ticket"] * size
        assert not [s for s in statements if s.startswith("UPDATE ticket SET")]
        counts.append(len(statements))
    assert counts[1] == counts[2] < 40, counts
    async with sessionmaker() as session:
        tickets = list(await session.scalars(select(Ticket).where(Ticket.tenant_id == world.a.id)))
    assert len(tickets) == 47
    assert all(t.message_count == 1 and t.group_id is not None for t in tickets)
    assert all(t.sla_next_due_at is not None and t.version == 1 for t in tickets)


async def test_a_message_filed_concurrently_sends_the_batch_one_at_a_time(
    client: httpx.AsyncClient,
    world: World,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: LocalBlobStore,
) -> None:
    """Another transaction files one of the batch's messages after the batch looked for it:
    the bulk write fails on the dedup key, and each message is then filed on its own (that
    one as a duplicate), none lost."""
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent writers need PostgreSQL (SQLite serializes them)")
    channel_id = await _channel(client, world, world.a.slug, world.a["owner"].auth)
    raced = mail("gina@customer.example.org", "Raced", "<raced-1@customer.example.org>")
    batch = [
        mail("hank@customer.example.org", "First", "<first-1@customer.example.org>"),
        raced,
        mail("ivan@customer.example.org", "Last", "<last-1@customer.example.org>"),
    ]
    async with sessionmaker() as other:
        set_actor(other, EMAIL_ACTOR)
        channel = await other.get(InboundChannel, (world.a.id, channel_id))
        assert channel is not None
        first = await receive(other, store, channel, raced)  # not committed yet
        batched = asyncio.create_task(
            _file(sessionmaker, store, world.a.id, channel_id, batch, batched=True)
        )
        await asyncio.sleep(0.5)  # the batch has read, and waits on this transaction's locks
        assert not batched.done()
        await other.commit()
    filed = await batched
    outcomes = [(r.duplicate, r.record.outcome) for r in filed]
    assert outcomes == [(False, "new_ticket"), (True, "new_ticket"), (False, "new_ticket")]
    assert filed[1].record.id == first.record.id
    async with sessionmaker() as session:
        numbers = sorted(
            await session.scalars(select(Ticket.number).where(Ticket.tenant_id == world.a.id))
        )
        records = await session.scalar(
            select(func.count()).select_from(InboundMail).where(InboundMail.tenant_id == world.a.id)
        )
    assert numbers == [1, 2, 3]
    assert records == 3


async def test_a_batch_for_a_round_robin_group_takes_turns_as_one_at_a_time(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: LocalBlobStore,
) -> None:
    """Each pick sees the tickets picked before it in the batch, as one at a time."""
    owner = world.a["owner"].auth
    base = f"/api/v1/tenants/{world.a.slug}"
    group = await client.post(
        f"{base}/groups",
        json={"name": "Round", "assignment_strategy": "round_robin"},
        headers=owner,
    )
    assert group.status_code == 201, group.text
    agents = []
    for n in range(3):
        member = await client.post(
            f"{base}/members",
            json={"email": f"rr{n}@acme.example.org", "role": "agent"},
            headers=owner,
        )
        agents.append(member.json()["user_id"])
        joined = await client.post(
            f"{base}/groups/{group.json()['id']}/members",
            json={"user_id": agents[-1]},
            headers=owner,
        )
        assert joined.status_code == 201, joined.text
    body = {"kind": "email", "name": "Round", "address": DESK, "mode": "push"}
    channel = await client.post(
        f"{base}/channels", json=body | {"default_group_id": group.json()["id"]}, headers=owner
    )
    assert channel.status_code == 201, channel.text
    raws = [mail(f"rr-{n}@customer.example.org", "Help", f"<rr-{n}@x>") for n in range(6)]
    filed = await _file(
        sessionmaker, store, world.a.id, UUID(channel.json()["id"]), raws, batched=True
    )
    assert [r.record.outcome for r in filed] == ["new_ticket"] * 6
    async with sessionmaker() as session:
        tickets = list(
            await session.scalars(
                select(Ticket).where(Ticket.tenant_id == world.a.id).order_by(Ticket.number)
            )
        )
    assignees = [str(t.assignee_id) for t in tickets]
    assert sorted(assignees[:3]) == sorted(agents)
    assert assignees[3:] == assignees[:3]
    assert all(t.message_count == 1 and t.unread_by_agent == 1 for t in tickets)


class FullDisk(LocalBlobStore):
    async def put_all(self, contents: Sequence[bytes]) -> list[StoredBlob]:
        raise OSError(28, "No space left on device")


async def test_a_batch_whose_files_cannot_be_stored_leaves_nothing(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: LocalBlobStore,
) -> None:
    """The blobs are stored before the batch commits: when they cannot be, the batch fails
    whole (the poll then leaves the mail unmarked on the server for the next try)."""
    channel_id = await _channel(client, world, world.a.slug, world.a["owner"].auth)
    raws = [
        with_file(f"d{n}@customer.example.org", "Log", f"<full-{n}@x>", "log") for n in range(3)
    ]
    with pytest.raises(OSError, match="No space left"):
        await _file(sessionmaker, FullDisk(store.root), world.a.id, channel_id, raws, batched=True)
    async with sessionmaker() as session:
        for model in (Ticket, TicketMessage, InboundMail, TicketAttachment):
            count = await session.scalar(
                select(func.count()).select_from(model).where(model.tenant_id == world.a.id)
            )
            assert count == 0, model
    filed = await _file(sessionmaker, store, world.a.id, channel_id, raws, batched=True)
    assert [r.record.outcome for r in filed] == ["new_ticket"] * 3
