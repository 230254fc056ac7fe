"""Playing the planned tickets through the services, as the people involved would."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from frontdesk.core.storage import BlobStore
from frontdesk.demo import files
from frontdesk.demo.backdate import Backdater, TicketTimes
from frontdesk.demo.people import Cast, Staffer
from frontdesk.demo.plans import AGENT_REPLIES, CUSTOMER_REPLIES, Step, TicketPlan
from frontdesk.identity.context import TenantContext
from frontdesk.identity.models import AssignmentStrategy
from frontdesk.tickets.models import Channel, StatusCategory, Ticket
from frontdesk.tickets.schemas import MessageCreate, ParticipantCreate, TicketCreate, TicketUpdate
from frontdesk.tickets.service import assignment, participants
from frontdesk.tickets.service.attachments import SkippingScanner, Upload, add_attachment
from frontdesk.tickets.service.messages import add_message
from frontdesk.tickets.service.tickets import (
    change_status,
    create_ticket,
    editable_fields,
    finish_nested_change,
    snapshot,
    update_ticket,
)

DONE = (StatusCategory.RESOLVED.value, StatusCategory.CLOSED.value)
#: Steps that leave an internal note.
MESSAGES = ("note", "transfer")


@dataclass
class Run:
    """One ticket being played: its plan, its row, and the times it should end up with."""

    cast: Cast
    plan: TicketPlan
    rng: random.Random
    facts: dict[str, str]
    #: Where attachments go; without one, customers attach nothing.
    store: BlobStore | None
    ticket: Ticket = field(init=False)
    times: TicketTimes = field(init=False)

    def fill(self, template: str, agent: Staffer | None = None, **extra: str) -> str:
        values = dict(self.facts)
        if agent is not None:
            values |= {"agent": agent.user.display_name, "agent_first": agent.first}
        return template.format_map(values | extra)

    @property
    def group(self) -> str:
        return self.cast.group_for(self.plan.topic.group)


#: The template fields about the people of a ticket (the plan's facts hold the others).
PEOPLE_FIELDS = frozenset(
    {"first", "name", "org", "org_slug", "colleague", "lead_first", "group", "company"}
    | {"company_upper", "agent", "agent_first"}
)


def _facts(cast: Cast, plan: TicketPlan) -> dict[str, str]:
    requester, company = plan.requester, cast.spec.company
    group = cast.group_for(plan.topic.group)
    lead = cast.leads.get(group)
    colleagues = requester.colleagues or ["my colleague"]
    return plan.facts | {
        "first": requester.first,
        "name": requester.name,
        "org": requester.organization or "",
        "org_slug": requester.org_slug,
        "colleague": colleagues[plan.seed % len(colleagues)],
        "lead_first": lead.first if lead else "the team lead",
        "group": group,
        "company": company,
        "company_upper": company.upper(),
        # Until someone answers:
        "agent": f"the {company} team",
        "agent_first": "there",
    }


async def play(
    cast: Cast, plans: list[TicketPlan], backdater: Backdater, store: BlobStore | None
) -> None:
    for plan in plans:
        run = Run(cast, plan, random.Random(plan.seed), _facts(cast, plan), store)
        await _create(run)
        await backdater.stamp(plan.created_at)
        for step, at in zip(plan.steps, plan.times, strict=True):
            await _STEPS[step.kind](run, step, at)
            await backdater.stamp(at)
            _track(run, step, at)
        _finish(run)
        backdater.tickets[(run.ticket.tenant_id, run.ticket.id)] = run.times


async def _create(run: Run) -> None:
    cast, plan = run.cast, run.plan
    subject, description = run.fill(plan.subject), run.fill(plan.description)
    if plan.channel is Channel.PORTAL:
        ctx = cast.as_customer(plan.requester)
        data = TicketCreate(
            subject=subject, description=description, priority=plan.priority, type=plan.topic.type
        )
    else:
        start = "Support" if plan.via_support else run.group
        taker = None
        if plan.channel is Channel.EMAIL:
            ctx = cast.as_intake()
        else:  # a phone call or chat, taken and written down by an agent of the group
            taker = run.rng.choice(cast.takers[start])
            ctx = cast.as_staff(taker)
        triaged = not plan.untriaged
        data = TicketCreate(
            subject=subject,
            description=description,
            requester_id=plan.requester.id,
            priority=plan.priority,
            type=plan.topic.type,
            channel=plan.channel,
            group_id=cast.groups[start].id if triaged else None,
            assignee_id=taker.user.id if taker and triaged else None,
            category_id=cast.categories.get(plan.topic.category) if triaged else None,
            tags=plan.tags if triaged else [],
        )
    run.ticket = await create_ticket(ctx, data)
    run.times = TicketTimes(created_at=plan.created_at, updated_at=plan.created_at)


async def _patch(ctx: TenantContext, ticket: Ticket, **changes: Any) -> None:
    """What a PATCH of these fields does."""
    current = editable_fields(await snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix))
    await update_ticket(ctx, ticket, TicketUpdate.model_validate(current | changes))


async def _assign(run: Run, by: Staffer, group: str, assignee: Staffer | None) -> None:
    """Move the ticket to a group (and agent), as the assign endpoint does."""
    ctx = run.cast.as_staff(by)
    before = await snapshot(ctx.session, run.ticket, ctx.tenant.ticket_prefix)
    await assignment.assign(
        ctx.session,
        run.ticket,
        group_id=run.cast.groups[group].id,
        assignee_id=assignee.user.id if assignee else None,
    )
    await finish_nested_change(ctx, run.ticket, before, "updated")


def _lead(run: Run, group: str | None = None) -> Staffer:
    name = group or run.group
    return run.cast.leads.get(name) or run.cast.takers[name][0]


async def _assignee(run: Run) -> Staffer:
    """Who answers: the assignee, else a member of the group, assigned by its lead first."""
    cast, ticket = run.cast, run.ticket
    found = cast.by_id(ticket.assignee_id)
    if found is not None:
        return found
    group = run.group
    if ticket.group_id is not None:
        group = next(name for name, g in cast.groups.items() if g.id == ticket.group_id)
    chosen = run.rng.choice(cast.takers[group])
    await _assign(run, _lead(run, group), group, chosen)
    return chosen


async def _triage(run: Run, _step: Step, _at: datetime) -> None:
    cast, plan = run.cast, run.plan
    ctx = cast.as_staff(_lead(run, "Support" if "Support" in cast.groups else None))
    await _patch(
        ctx,
        run.ticket,
        group_id=cast.groups[run.group].id,
        category_id=cast.categories.get(plan.topic.category),
        tags=plan.tags,
    )


async def _transfer(run: Run, _step: Step, _at: datetime) -> None:
    by = await _assignee(run)
    reason = f"Moving this to {run.group} ({run.plan.topic.category[1]})."
    await add_message(
        run.cast.as_staff(by), run.ticket, MessageCreate(body=reason, is_internal=True)
    )
    strategy = run.cast.groups[run.group].assignment_strategy
    await _assign(run, by, run.group, None)
    if strategy == AssignmentStrategy.QUEUE_ONLY:
        await _assignee(run)


async def _agent_reply(run: Run, step: Step, _at: datetime) -> None:
    agent = await _assignee(run)
    body = run.fill(step.text, agent)
    await add_message(
        run.cast.as_staff(agent),
        run.ticket,
        MessageCreate(body=body, status=AGENT_REPLIES[step.kind]),
    )


async def _customer_reply(run: Run, step: Step, at: datetime) -> None:
    agent = run.cast.by_id(run.ticket.assignee_id)
    body = run.fill(step.text, agent)
    attach = step.attach if run.store is not None else None
    if attach is not None:  # a paragraph before the sign-off
        parts = body.split("\n\n")
        body = "\n\n".join([*parts[:2], attach[2], *parts[2:]])
    ctx = run.cast.as_customer(run.plan.requester)
    message, _ = await add_message(ctx, run.ticket, MessageCreate(body=body))
    if attach is not None and run.store is not None:
        kind, filename, _ = attach
        data = files.content(run.rng, kind, run.plan.topic.key, at)
        await add_attachment(
            ctx,
            run.ticket,
            Upload(filename, _chunks(data)),
            message_id=message.id,
            store=run.store,
            scanner=SkippingScanner(),
        )


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _note(run: Run, step: Step, _at: datetime) -> None:
    cast = run.cast
    if step.who == "light" and cast.light.get(run.group):
        author = run.rng.choice(cast.light[run.group])
    elif step.who == "lead" and run.ticket.assignee_id is not None:
        author = _lead(run)
    else:
        author = await _assignee(run)
    body = run.fill(step.text, author)
    await add_message(cast.as_staff(author), run.ticket, MessageCreate(body=body, is_internal=True))


async def _cc(run: Run, step: Step, _at: datetime) -> None:
    ctx = run.cast.as_staff(await _assignee(run))
    before = await snapshot(ctx.session, run.ticket, ctx.tenant.ticket_prefix)
    await participants.add_participant(
        ctx.session, run.ticket, ParticipantCreate(role="cc", contact_id=step.contact_id)
    )
    await finish_nested_change(ctx, run.ticket, before, "participant_added")


async def _follow(run: Run, _step: Step, _at: datetime) -> None:
    lead = _lead(run)
    if lead.user.id == run.ticket.assignee_id:
        return
    ctx = run.cast.as_staff(lead)
    before = await snapshot(ctx.session, run.ticket, ctx.tenant.ticket_prefix)
    await participants.add_participant(
        ctx.session, run.ticket, ParticipantCreate(role="follower", user_id=lead.user.id)
    )
    await finish_nested_change(ctx, run.ticket, before, "participant_added")


async def _close(run: Run, _step: Step, _at: datetime) -> None:
    """The assignee closes the resolved ticket: the status change a PATCH of `status` makes."""
    ctx = run.cast.as_staff(await _assignee(run))
    before = await snapshot(ctx.session, run.ticket, ctx.tenant.ticket_prefix)
    await change_status(ctx, run.ticket, "closed")
    await finish_nested_change(ctx, run.ticket, before, "updated")


_STEPS = {
    "triage": _triage,
    "transfer": _transfer,
    "note": _note,
    "cc": _cc,
    "follow": _follow,
    "close": _close,
    **dict.fromkeys(AGENT_REPLIES, _agent_reply),
    **dict.fromkeys(CUSTOMER_REPLIES, _customer_reply),
}


def _track(run: Run, step: Step, at: datetime) -> None:
    """Keep the ticket's own times as they would have been set at `at`."""
    times, category = run.times, run.ticket.status_category
    times.updated_at = at
    if step.kind in AGENT_REPLIES or step.kind in CUSTOMER_REPLIES or step.kind in MESSAGES:
        times.last_message_at = at
    if step.kind in AGENT_REPLIES:
        times.first_response_at = times.first_response_at or at
        times.unread_by_agent = 0
        times.unread_by_customer += 1
    elif step.kind in CUSTOMER_REPLIES:
        times.unread_by_customer = 0
        times.unread_by_agent += 1
    if category in DONE:
        times.resolved_at = times.resolved_at or at
        if category == StatusCategory.CLOSED.value:
            times.closed_at = times.closed_at or at
    else:
        times.resolved_at = times.closed_at = None


def _finish(run: Run) -> None:
    """Unread counters as people would have left them: done tickets were read on both sides."""
    times = run.times
    if run.ticket.status_category in DONE:
        times.unread_by_agent = times.unread_by_customer = 0
    elif run.rng.random() < 0.5:
        times.unread_by_customer = 0
