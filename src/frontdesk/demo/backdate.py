"""Moving the demo's rows back in time: the services stamp "now", the demo spans ~90 days.

While the demo loads, every new row of the ticket tables is noted; after each step the noted
rows get that step's time. At the end they are rewritten with plain UPDATEs in the same
transaction, so a conversation's messages, timeline and tags keep their order and spacing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table, bindparam, event, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from frontdesk.identity.models import (
    Contact,
    ContactEmail,
    Group,
    GroupMember,
    Membership,
    Organization,
    OrganizationDomain,
    User,
)
from frontdesk.tenancy.models import Tenant
from frontdesk.tickets.models import (
    Ticket,
    TicketAssignment,
    TicketAttachment,
    TicketAudit,
    TicketCategory,
    TicketMessage,
    TicketParticipant,
    TicketStatus,
    TicketTag,
)

FOLLOWED = (
    TicketMessage,
    TicketAudit,
    TicketTag,
    TicketParticipant,
    TicketAssignment,
    TicketAttachment,
)
#: A tenant's set-up rows: made before its first ticket.
SETUP = (
    Organization,
    OrganizationDomain,
    Contact,
    ContactEmail,
    Group,
    GroupMember,
    Membership,
    TicketCategory,
    TicketStatus,
)


@dataclass
class TicketTimes:
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    unread_by_agent: int = 0
    unread_by_customer: int = 0


class Backdater:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._fresh: list[Any] = []
        self._rows: dict[Table, list[dict[str, Any]]] = defaultdict(list)
        self.tickets: dict[tuple[UUID, UUID], TicketTimes] = {}
        event.listen(session.sync_session, "pending_to_persistent", self._seen)

    def _seen(self, _session: Session, instance: object) -> None:
        if isinstance(instance, FOLLOWED):
            self._fresh.append(instance)

    def close(self) -> None:
        event.remove(self.session.sync_session, "pending_to_persistent", self._seen)

    async def stamp(self, when: datetime) -> None:
        """Date every row made since the last stamp at `when`."""
        await self.session.flush()
        for row in self._fresh:
            table = type(row).__table__
            self._rows[table].append({"b_tenant": row.tenant_id, "b_id": row.id, "b_at": when})
        self._fresh.clear()

    async def apply(self) -> None:
        """Write the noted times (ticket rows last: nothing may touch them after this)."""
        await self.session.flush()
        for table, rows in self._rows.items():
            statement = (
                update(table)
                .where(
                    table.c.tenant_id == bindparam("b_tenant", type_=table.c.tenant_id.type),
                    table.c.id == bindparam("b_id", type_=table.c.id.type),
                )
                .values(
                    created_at=bindparam("b_at", type_=table.c.created_at.type),
                    updated_at=bindparam("b_at", type_=table.c.created_at.type),
                )
            )
            await self.session.execute(statement, rows)
        self._rows.clear()
        if not self.tickets:
            return
        tickets: Table = Ticket.__table__  # type: ignore[assignment]
        fields = list(TicketTimes.__dataclass_fields__)
        statement = (
            update(tickets)
            .where(
                tickets.c.tenant_id == bindparam("b_tenant", type_=tickets.c.tenant_id.type),
                tickets.c.id == bindparam("b_id", type_=tickets.c.id.type),
            )
            .values({name: bindparam(f"b_{name}", type_=tickets.c[name].type) for name in fields})
        )
        rows = [
            {"b_tenant": tenant_id, "b_id": ticket_id}
            | {f"b_{name}": getattr(times, name) for name in fields}
            for (tenant_id, ticket_id), times in self.tickets.items()
        ]
        await self.session.execute(statement, rows)
        self.tickets.clear()


async def backdate_setup(session: AsyncSession, tenant_id: UUID, when: datetime) -> None:
    """Date a tenant and its set-up rows at `when`."""
    await session.flush()
    for model in SETUP:
        table: Table = model.__table__  # type: ignore[assignment]
        await session.execute(
            update(table)
            .where(table.c.tenant_id == tenant_id)
            .values(created_at=when, updated_at=when)
        )
    tenants: Table = Tenant.__table__  # type: ignore[assignment]
    await session.execute(
        update(tenants).where(tenants.c.id == tenant_id).values(created_at=when, updated_at=when)
    )


async def backdate_users(session: AsyncSession, user_ids: list[UUID], when: datetime) -> None:
    users: Table = User.__table__  # type: ignore[assignment]
    await session.execute(
        update(users).where(users.c.id.in_(user_ids)).values(created_at=when, updated_at=when)
    )
