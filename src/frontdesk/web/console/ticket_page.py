"""Everything the console's ticket page shows, loaded in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from frontdesk.core.clock import utcnow
from frontdesk.core.repository import scoped
from frontdesk.identity.context import TenantContext
from frontdesk.identity.models import Group
from frontdesk.tickets.models import Ticket, TicketAudit, TicketCategory, TicketStatus
from frontdesk.tickets.repository import visible_tickets
from frontdesk.tickets.schemas import ParticipantPublic, TicketPublic
from frontdesk.tickets.service import participants
from frontdesk.tickets.service.categories import list_categories
from frontdesk.tickets.service.statuses import list_statuses
from frontdesk.tickets.service.views import staff_views
from frontdesk.web.console.listing import Due, due_badge
from frontdesk.web.console.names import (
    contact_names,
    contact_primary_emails,
    staff_of_tenant,
    user_names,
)
from frontdesk.web.console.sla import SlaBadge, SlaClock, sla_badge, sla_clocks
from frontdesk.web.console.views import groups_of_tenant
from frontdesk.web.thread import Thread, load_thread

TIMELINE_LIMIT = 200
OTHER_TICKETS = 10


@dataclass(frozen=True)
class Options:
    statuses: list[TicketStatus]
    groups: list[Group]
    staff: list[tuple[UUID, str, str]]
    categories: list[TicketCategory]


@dataclass(frozen=True)
class TicketPage:
    ticket: TicketPublic
    requester: str
    requester_email: str
    assignee: str
    due: Due | None
    sla: SlaBadge | None
    clocks: list[SlaClock]
    thread: Thread
    participants: list[ParticipantPublic]
    timeline: list[TicketAudit]
    actors: dict[str, str]
    #: Display names for ids that timeline values hold (assignees, groups).
    values: dict[str, str]
    others: list[TicketPublic]
    options: Options


async def load_options(ctx: TenantContext, groups: list[Group] | None = None) -> Options:
    """The choices of the ticket forms; `groups` when the page frame has read them already."""
    return Options(
        statuses=[s for s in await list_statuses(ctx.session, ctx.tenant_id) if s.is_active],
        groups=groups if groups is not None else await groups_of_tenant(ctx.session, ctx.tenant_id),
        staff=await staff_of_tenant(ctx.session, ctx.tenant_id),
        categories=[c for c in await list_categories(ctx.session, ctx.tenant_id) if c.is_active],
    )


async def load_ticket_page(ctx: TenantContext, ticket: Ticket, groups: list[Group]) -> TicketPage:
    session, now = ctx.session, utcnow()
    (public,) = await staff_views(session, ctx.tenant_id, ctx.tenant.ticket_prefix, [ticket])
    requester = await contact_names(session, ctx.tenant_id, [ticket.requester_id])
    emails = await contact_primary_emails(session, ctx.tenant_id, [ticket.requester_id])
    timeline = list(
        await session.scalars(
            scoped(TicketAudit, ctx.tenant_id)
            .where(TicketAudit.ticket_id == ticket.id)
            .order_by(TicketAudit.id.desc())
            .limit(TIMELINE_LIMIT)
        )
    )
    actor_ids = {_user_of(entry.created_by) for entry in timeline}
    mentioned = {_id_in(value) for e in timeline for value in (e.before, e.after)}
    names = await user_names(session, [ticket.assignee_id, *actor_ids, *mentioned])
    options = await load_options(ctx, groups)
    other_rows = list(
        await session.scalars(
            visible_tickets(ctx)
            .where(Ticket.requester_id == ticket.requester_id, Ticket.id != ticket.id)
            .order_by(Ticket.created_at.desc())
            .limit(OTHER_TICKETS)
        )
    )
    others = await staff_views(session, ctx.tenant_id, ctx.tenant.ticket_prefix, other_rows)
    return TicketPage(
        ticket=public,
        requester=requester.get(ticket.requester_id, ""),
        requester_email=emails.get(ticket.requester_id, ""),
        assignee=names.get(ticket.assignee_id, "") if ticket.assignee_id else "",
        due=due_badge(ticket.due_at, now),
        sla=sla_badge(public, now),
        clocks=await sla_clocks(session, ctx.tenant_id, ticket.id, now),
        thread=await load_thread(ctx, ticket),
        participants=await participants.list_participants(session, ticket),
        timeline=timeline,
        actors={f"user:{user_id}": name for user_id, name in names.items()},
        values={
            **{str(user_id): name for user_id, name in names.items()},
            **{str(group.id): group.name for group in options.groups},
        },
        others=others,
        options=options,
    )


def _id_in(value: object) -> UUID | None:
    if not isinstance(value, str) or len(value) != 36:
        return None
    try:
        return UUID(value)
    except ValueError:
        return None


def _user_of(actor: str) -> UUID | None:
    kind, _, raw = actor.partition(":")
    if kind != "user":
        return None
    try:
        return UUID(raw)
    except ValueError:
        return None
