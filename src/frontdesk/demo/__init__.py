"""Demo data for the embedded default: a believable helpdesk (acme) and a small second tenant.

`acme` has four groups, ten agents and a light agent, 48 contacts (most of them in seven
organizations), a category tree and 300 tickets from the last ~90 days in every status, with
conversations, internal notes, tags, CCs, followers and a few attached screenshots and logs.
Everything goes through the services, generated from `random.Random(2026)`; only the
timestamps are moved back afterwards (see `backdate`). `globex` stays small.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.clock import utcnow
from frontdesk.core.db import actor_of, set_actor
from frontdesk.core.storage import BlobStore
from frontdesk.demo.backdate import Backdater, backdate_setup, backdate_users
from frontdesk.demo.people import ACME, DEMO_PASSWORD, GLOBEX, build_cast, demo_user
from frontdesk.demo.plans import plan_tickets
from frontdesk.demo.sla import add_demo_sla
from frontdesk.demo.tickets import play
from frontdesk.identity.models import Contact, Group, Membership, Organization
from frontdesk.identity.policy import Role
from frontdesk.tenancy.repository import tenant_by_ref
from frontdesk.tickets.models import Ticket, TicketAttachment, TicketMessage

__all__ = [
    "DEMO_LOGINS",
    "DEMO_PASSWORD",
    "DEMO_SEED",
    "DEMO_TICKETS",
    "DemoCounts",
    "DemoLogin",
    "demo_counts",
    "load_demo",
]

DEMO_SEED = 2026
#: acme's tickets by default; globex gets a handful.
DEMO_TICKETS = 300
GLOBEX_TICKETS = 8


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    where: str


DEMO_LOGINS = [
    DemoLogin("platform@frontdesk.test", "platform admin", "/app/platform"),
    DemoLogin("owner@acme.test", "owner of acme", "/app/acme/admin"),
    DemoLogin("alice@acme.test", "agent in acme (Support lead)", "/app/acme/tickets"),
    DemoLogin("bob@acme.test", "agent in acme (Billing lead)", "/app/acme/tickets"),
    DemoLogin("tomas@acme.test", "agent in acme (Technical lead)", "/app/acme/tickets"),
    DemoLogin("grace@acme.test", "agent in acme (Sales lead)", "/app/acme/tickets"),
    DemoLogin("lee@acme.test", "light agent in acme", "/app/acme/tickets"),
    DemoLogin("customer@example.com", "customer (contact) of acme", "/portal/acme"),
    DemoLogin("owner@globex.test", "owner of globex", "/app/globex/tickets"),
]


async def load_demo(
    session: AsyncSession,
    *,
    store: BlobStore | None = None,
    tickets: int = DEMO_TICKETS,
    now: datetime | None = None,
) -> bool:
    """Load the demo once, in the caller's transaction; returns False when it is already there.

    Customers attach a few generated files (screenshots, logs) when a blob `store` is given.
    """
    if await tenant_by_ref(session, "acme") is not None:
        return False
    actor = actor_of(session)
    now = now or utcnow()
    rng = random.Random(DEMO_SEED)
    backdater = Backdater(session)
    try:
        platform = await demo_user(session, "platform@frontdesk.test", "Platform Admin", admin=True)
        casts = [await build_cast(session, ACME), await build_cast(session, GLOBEX)]
        for cast, count in zip(casts, (tickets, GLOBEX_TICKETS), strict=True):
            await play(cast, plan_tickets(rng, cast, count, now), backdater, store)
        await backdater.apply()
        opened = now - timedelta(days=120)
        people = [platform.id]
        for cast in casts:
            await backdate_setup(session, cast.tenant.id, opened)
            people += [s.user.id for s in cast.staff]
            people += [c.user.id for c in cast.customers if c.user is not None]
        await backdate_users(session, people, opened)
        await add_demo_sla(casts[0].as_staff(casts[0].staff[0]), now=now)
    finally:
        backdater.close()
        set_actor(session, actor)
    return True


@dataclass(frozen=True)
class DemoCounts:
    tickets: int
    by_status: dict[str, int]
    messages: int
    attachments: int
    contacts: int
    organizations: int
    groups: int
    agents: int

    def line(self) -> str:
        statuses = ", ".join(f"{n} {category}" for category, n in self.by_status.items())
        return (
            f"acme: {self.tickets} tickets ({statuses}), {self.messages} messages,"
            f" {self.attachments} attachments,"
            f" {self.contacts} contacts in {self.organizations} organizations,"
            f" {self.groups} groups, {self.agents} agents"
        )


async def demo_counts(session: AsyncSession) -> DemoCounts | None:
    """What acme holds now (None without the demo)."""
    acme = await tenant_by_ref(session, "acme")
    if acme is None:
        return None

    async def count(model: type[object], *where: object) -> int:
        statement = (
            select(func.count())
            .select_from(model)
            .where(
                model.tenant_id == acme.id,  # type: ignore[attr-defined]
                *where,  # type: ignore[arg-type]
            )
        )
        return int(await session.scalar(statement) or 0)

    rows = await session.execute(
        select(Ticket.status_category, func.count())
        .where(Ticket.tenant_id == acme.id)
        .group_by(Ticket.status_category)
    )
    found: dict[str, int] = {category: int(n) for category, n in rows}
    order = ["new", "open", "pending", "on_hold", "resolved", "closed"]
    return DemoCounts(
        tickets=sum(found.values()),
        by_status={category: found.get(category, 0) for category in order},
        messages=await count(TicketMessage),
        attachments=await count(TicketAttachment),
        contacts=await count(Contact),
        organizations=await count(Organization),
        groups=await count(Group),
        agents=await count(Membership, Membership.role == Role.AGENT.value),
    )
