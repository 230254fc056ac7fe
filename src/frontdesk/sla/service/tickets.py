"""A ticket's SLA as staff see it, and an admin's recompute."""

from __future__ import annotations

from frontdesk.core.clock import utcnow
from frontdesk.identity.context import TenantContext
from frontdesk.sla import repository, states
from frontdesk.sla.schemas import SlaStatePublic, TicketSlaPublic
from frontdesk.sla.service.engine import maintain
from frontdesk.sla.service.rules import forget_rules
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.service.views import sla_breached


async def ticket_sla(ctx: TenantContext, ticket: Ticket) -> TicketSlaPublic:
    found = await repository.states_of(ctx.session, ctx.tenant_id, ticket.id)
    current = [s for s in found if states.is_open(s)]
    return TicketSlaPublic(
        ticket_id=ticket.id,
        policy_id=next((s.policy_id for s in current or found), None),
        next_due_at=ticket.sla_next_due_at,
        breached=sla_breached(ticket, utcnow()),
        states=[SlaStatePublic.model_validate(state) for state in found],
    )


async def recompute(ctx: TenantContext, ticket: Ticket) -> TicketSlaPublic:
    """Match the policy again and re-target the clocks (elapsed time kept), as after a change
    of the ticket; for tickets older than a policy or calendar change. Timeline-audited."""
    forget_rules(ctx.session, ctx.tenant_id)
    await maintain(ctx.session, ticket, replan=True, force=True)
    await ctx.session.flush()
    return await ticket_sla(ctx, ticket)
