"""Frontdesk's data set: people and structure through the services, bulk rows through COPY.

Tenants, users, memberships, groups, contacts and the API token are made by Frontdesk's own
services (so statuses, number sequences, token digests and audit rows are exactly what the
product writes). Tickets, their requester participants, tags, `created` timeline rows and
messages are generated in the shape those services give them and COPied in; the tenant's
number sequence is moved to the last number afterwards.

The measured tenant has a default SLA policy (24/7, targets for every priority), so the
measured writes do the SLA bookkeeping a real desk does. The COPied tickets have no clocks;
a ticket's clocks start the first time the load changes it, as they do for tickets that
predate a policy.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
from sqlalchemy import select

from frontdesk.core.db import create_engine, create_sessionmaker, set_actor, transaction
from frontdesk.identity.context import Principal, TenantContext
from frontdesk.identity.models import GroupMemberRole
from frontdesk.identity.policy import Role
from frontdesk.identity.schemas import ContactCreate, GroupCreate, GroupMemberCreate
from frontdesk.identity.service import contacts, groups, users
from frontdesk.identity.service.members import add_member_as
from frontdesk.identity.service.tokens import create_token
from frontdesk.sla.models import Metric
from frontdesk.sla.schemas import PolicyCreate, TargetIn
from frontdesk.sla.service.policies import create_policy
from frontdesk.tenancy.schemas import TenantCreate
from frontdesk.tenancy.service import create_tenant
from frontdesk.tickets.models import PRIORITY_RANK, Priority, TicketStatus
from suite.ids import uuid7_at
from suite.texts import Conversation

TENANTS = 50
#: The measured tenant's share of all tickets.
MEASURED_SHARE = 0.40
GROUPS = ("Support", "Billing", "Technical", "Sales")
SPAN = timedelta(days=730)


@dataclass
class TenantCast:
    id: UUID
    slug: str
    prefix: str
    status_ids: dict[str, UUID]
    groups: list[UUID]
    #: group id -> member user ids (agents who take its tickets)
    members: dict[UUID, list[UUID]]
    contacts: list[UUID]
    next_number: int = 1


@dataclass
class Cast:
    tenants: list[TenantCast]
    #: The measured tenant's agent token (member of every group).
    token: str = ""
    agent_id: UUID | None = None
    #: The measured tenant's owner token: sets up what only admins may (the push channel).
    owner_token: str = ""
    contacts_by_tenant: dict[UUID, list[UUID]] = field(default_factory=dict)

    @property
    def measured(self) -> TenantCast:
        return self.tenants[0]


async def build_cast(db_url: str, rng: random.Random) -> Cast:
    """Create 50 tenants with staff, groups and contacts through Frontdesk's services."""
    engine = create_engine(db_url)
    try:
        async with transaction(create_sessionmaker(engine), actor="system:bench") as session:
            cast = Cast([])
            for index in range(TENANTS):
                cast.tenants.append(await _tenant(session, index, rng, cast))
            return cast
    finally:
        await engine.dispose()


async def _tenant(session, index: int, rng: random.Random, cast: Cast) -> TenantCast:  # type: ignore[no-untyped-def]
    measured = index == 0
    slug = f"bench-{index:02d}"
    tenant = await create_tenant(session, TenantCreate(slug=slug, name=f"Bench Company {index}"))
    owner = await users.create_user(
        session, email=f"owner@{slug}.example.com", display_name="Owner"
    )
    await add_member_as(session, tenant.id, owner, Role.OWNER)
    ctx = TenantContext(tenant, Principal(owner, "session"), Role.OWNER, session)
    set_actor(session, f"user:{owner.id}")
    agents = []
    for n in range(12 if measured else 3):
        agent = await users.create_user(
            session, email=f"agent{n}@{slug}.example.com", display_name=f"Agent {n}"
        )
        await add_member_as(session, tenant.id, agent, Role.AGENT)
        agents.append(agent)
    group_ids: list[UUID] = []
    members: dict[UUID, list[UUID]] = {}
    for g, name in enumerate(GROUPS):
        group = await groups.create_group(ctx, GroupCreate(name=name))
        group_ids.append(group.id)
        # The first agent works every group (the load runs as them); the rest one group each.
        chosen = [agents[0], *[a for i, a in enumerate(agents[1:]) if i % len(GROUPS) == g]]
        for agent in chosen:
            await groups.add_group_member(
                ctx, group, GroupMemberCreate(user_id=agent.id, role=GroupMemberRole.AGENT)
            )
        members[group.id] = [a.id for a in chosen]
    contact_ids = []
    for n in range(400 if measured else 12):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        made = await contacts.create_contact(
            session,
            tenant.id,
            ContactCreate(
                name=f"{first} {last}", emails=[f"{first}.{last}.{n}@{slug}.example.org".lower()]
            ),
        )
        contact_ids.append(made.id)
    statuses = await session.scalars(
        select(TicketStatus).where(TicketStatus.tenant_id == tenant.id)
    )
    # One status per category, the default one where a category has several.
    status_ids = {s.category: s.id for s in sorted(statuses, key=lambda s: s.is_default)}
    if measured:
        await create_policy(ctx, _bench_policy())
        _, secret = await create_token(
            session, user_id=agents[0].id, name="bench", tenant_id=tenant.id, expires_at=None
        )
        cast.token, cast.agent_id = secret, agents[0].id
        _, cast.owner_token = await create_token(
            session, user_id=owner.id, name="bench-admin", tenant_id=tenant.id, expires_at=None
        )
    await session.flush()
    return TenantCast(
        tenant.id, slug, tenant.ticket_prefix, status_ids, group_ids, members, contact_ids
    )


#: Minutes per metric for each priority, urgent first.
_TARGETS = {
    Metric.FIRST_RESPONSE: (30, 60, 240, 480),
    Metric.NEXT_RESPONSE: (60, 120, 480, 960),
    Metric.RESOLUTION: (240, 480, 1440, 2880),
}


def _bench_policy() -> PolicyCreate:
    urgent_first = sorted(Priority, key=lambda p: -PRIORITY_RANK[p])
    return PolicyCreate(
        name="Standard",
        is_default=True,
        business_hours_only=False,
        targets=[
            TargetIn(priority=priority, metric=metric, minutes=minutes[rank])
            for metric, minutes in _TARGETS.items()
            for rank, priority in enumerate(urgent_first)
        ],
    )


_FIRST = ["Jordan", "Mei", "Samuel", "Laura", "Ahmed", "Nina", "Olga", "Peter", "Fatima", "Hana"]
_LAST = ["Ellis", "Tanaka", "Okoro", "Fischer", "Haddad", "Petrova", "Moreno", "Mensah", "Stein"]


def share_of(total: int) -> list[int]:
    """Tickets per tenant: 40% in the measured one, the rest spread unevenly (heavier first)."""
    measured = round(total * MEASURED_SHARE)
    weights = [1.0 / (i + 2) ** 0.7 for i in range(TENANTS - 1)]
    rest = total - measured
    counts = [int(rest * w / sum(weights)) for w in weights]
    counts[0] += rest - sum(counts)
    return [measured, *counts]


# category -> share among tickets, by age: recent tickets are still being worked.
_RECENT = [("new", 0.2), ("open", 0.35), ("pending", 0.2), ("on_hold", 0.05), ("resolved", 0.2)]
_OLD = [("resolved", 0.15), ("closed", 0.85)]
_PRIORITIES = [Priority.LOW, Priority.NORMAL, Priority.NORMAL, Priority.NORMAL, Priority.HIGH]


def _pick(rng: random.Random, table: list[tuple[str, float]]) -> str:
    roll, acc = rng.random(), 0.0
    for value, share in table:
        acc += share
        if roll < acc:
            return value
    return table[-1][0]


@dataclass
class Rows:
    tickets: list[tuple[object, ...]] = field(default_factory=list)
    participants: list[tuple[object, ...]] = field(default_factory=list)
    tags: list[tuple[object, ...]] = field(default_factory=list)
    audits: list[tuple[object, ...]] = field(default_factory=list)
    messages: list[tuple[object, ...]] = field(default_factory=list)


TICKET_COLUMNS = [
    "tenant_id",
    "id",
    "number",
    "subject",
    "description",
    "status_id",
    "status_category",
    "priority",
    "priority_rank",
    "type",
    "channel",
    "requester_id",
    "group_id",
    "assignee_id",
    "custom_fields",
    "first_response_at",
    "last_message_at",
    "last_public_author_type",
    "resolved_at",
    "closed_at",
    "reopen_count",
    "message_count",
    "public_message_count",
    "unread_by_agent",
    "unread_by_customer",
    "ai_auto_resolved",
    "version",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
]
PARTICIPANT_COLUMNS = [
    "tenant_id",
    "id",
    "ticket_id",
    "role",
    "contact_id",
    "party_key",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
]
TAG_COLUMNS = [
    "tenant_id",
    "id",
    "ticket_id",
    "tag",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
]
AUDIT_COLUMNS = [
    "tenant_id",
    "id",
    "ticket_id",
    "action",
    "after",
    "is_internal",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
]
MESSAGE_COLUMNS = [
    "tenant_id",
    "id",
    "ticket_id",
    "author_type",
    "author_user_id",
    "author_contact_id",
    "body_text",
    "body_html",
    "is_internal",
    "direction",
    "channel",
    "email_headers",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
]


def generate(
    tenant: TenantCast,
    count: int,
    messages_per_ticket: float,
    pool: list[Conversation],
    rng: random.Random,
    now: datetime,
) -> Iterator[Rows]:
    """The tenant's next `count` tickets in batches; every 50th has a 20-message thread."""
    batch = Rows()
    start = now - SPAN
    for _ in range(count):
        created = start + timedelta(seconds=rng.random() * SPAN.total_seconds())
        _ticket(tenant, batch, created, now, messages_per_ticket, pool, rng)
        if len(batch.tickets) >= 5000:
            yield batch
            batch = Rows()
    if batch.tickets:
        yield batch


def _ticket(
    tenant: TenantCast,
    rows: Rows,
    created: datetime,
    now: datetime,
    per_ticket: float,
    pool: list[Conversation],
    rng: random.Random,
) -> None:
    talk = rng.choice(pool)
    ticket_id = uuid7_at(created, rng)
    number = tenant.next_number
    tenant.next_number += 1
    age = now - created
    category = _pick(rng, _RECENT if age < timedelta(days=21) else _OLD)
    group = rng.choice(tenant.groups)
    assignee = rng.choice(tenant.members[group]) if category != "new" else None
    requester = rng.choice(tenant.contacts)
    contact_actor = "system:email"
    agent_actor = f"user:{assignee}" if assignee else "system"
    # ~5 messages on average; every 50th ticket has the full 20-message thread.
    n_messages = 20 if number % 50 == 0 else max(1, int(rng.expovariate(1 / per_ticket)) % 19)
    when = created
    first_response = last_public = None
    last_author = None
    public = 0
    for i in range(n_messages):
        when = min(now, when + timedelta(minutes=rng.randint(5, 60 * 24 if age.days > 3 else 90)))
        from_customer = i % 2 == 0
        internal = not from_customer and rng.random() < 0.15
        body = talk.opening if i == 0 else rng.choice(talk.notes if internal else talk.replies)
        author_user = None if from_customer else (assignee or rng.choice(tenant.members[group]))
        rows.messages.append(
            (
                tenant.id,
                uuid7_at(when, rng),
                ticket_id,
                "contact" if from_customer else "agent",
                author_user,
                requester if from_customer else None,
                body,
                None,
                internal,
                "inbound" if from_customer else "outbound",
                "email" if from_customer else "api",
                "{}",
                when,
                when,
                contact_actor if from_customer else f"user:{author_user}",
                contact_actor if from_customer else f"user:{author_user}",
            )
        )
        if not internal:
            public += 1
            last_public, last_author = when, ("contact" if from_customer else "agent")
            if not from_customer and first_response is None:
                first_response = when
    updated = max(when, created)
    priority = rng.choice(_PRIORITIES)
    resolved = updated if category in ("resolved", "closed") else None
    rows.tickets.append(
        (
            tenant.id,
            ticket_id,
            number,
            talk.subject,
            talk.opening,
            tenant.status_ids[category],
            category,
            priority.value,
            PRIORITY_RANK[priority],
            talk.topic.type.value,
            "email",
            requester,
            group,
            assignee,
            "{}",
            first_response,
            last_public,
            last_author,
            resolved,
            resolved if category == "closed" else None,
            0,
            n_messages,
            public,
            1 if last_author == "contact" and category in ("new", "open") else 0,
            0,
            False,
            1 + n_messages // 2,
            created,
            updated,
            contact_actor,
            agent_actor,
        )
    )
    rows.participants.append(
        (tenant.id, uuid7_at(created, rng), ticket_id, "requester", requester,
         f"contact:{requester}", created, created, contact_actor, contact_actor)
    )  # fmt: skip
    after = json.dumps({"subject": talk.subject, "status": "new"})
    rows.audits.append(
        (tenant.id, uuid7_at(created, rng), ticket_id, "created", after, False,
         created, created, contact_actor, contact_actor)
    )  # fmt: skip
    for tag in rng.sample(talk.topic.tags, k=rng.randint(0, len(talk.topic.tags))):
        rows.tags.append(
            (tenant.id, uuid7_at(created, rng), ticket_id, tag, created, created,
             agent_actor, agent_actor)
        )  # fmt: skip


async def copy_rows(conn: asyncpg.Connection, rows: Rows) -> None:
    await conn.copy_records_to_table("ticket", records=rows.tickets, columns=TICKET_COLUMNS)
    await conn.copy_records_to_table(
        "ticket_participant", records=rows.participants, columns=PARTICIPANT_COLUMNS
    )
    await conn.copy_records_to_table("ticket_tag", records=rows.tags, columns=TAG_COLUMNS)
    await conn.copy_records_to_table("ticket_audit", records=rows.audits, columns=AUDIT_COLUMNS)
    await conn.copy_records_to_table(
        "ticket_message", records=rows.messages, columns=MESSAGE_COLUMNS
    )


async def finish_numbers(conn: asyncpg.Connection, cast: Cast) -> None:
    """Move every tenant's number sequence to its last ticket, as numbering would have."""
    await conn.executemany(
        "UPDATE ticket_number_sequence SET last_number = $2 WHERE tenant_id = $1",
        [(t.id, t.next_number - 1) for t in cast.tenants],
    )


def utc_now() -> datetime:
    return datetime.now(UTC)
