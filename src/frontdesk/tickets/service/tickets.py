"""Creating, reading, changing and deleting tickets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import insert, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from frontdesk.core.audit import delta_between
from frontdesk.core.clock import utcnow
from frontdesk.core.errors import Forbidden, FrontdeskError, NotFound, ValidationFailed
from frontdesk.core.ids import new_id
from frontdesk.core.repository import get_scoped, scoped
from frontdesk.identity.context import TenantContext
from frontdesk.identity.models import Contact, Group
from frontdesk.identity.policy import Role
from frontdesk.identity.service.contacts import contact_for_email
from frontdesk.tickets.models import (
    PRIORITY_RANK,
    Channel,
    ParticipantRole,
    StatusCategory,
    Ticket,
    TicketCategory,
    TicketNumberSequence,
    TicketParticipant,
    TicketStatus,
)
from frontdesk.tickets.repository import (
    agent_sees_everything,
    default_status,
    remember_tags,
    status_by_key,
    visibility,
    visible_tickets,
)
from frontdesk.tickets.schemas import CustomerTicketUpdate, TicketCreate, TicketUpdate
from frontdesk.tickets.service import assignment, tags
from frontdesk.tickets.service.timeline import audit, audit_fields, before_write, ticket_event
from frontdesk.tickets.service.transitions import plan_transition
from frontdesk.tickets.service.views import staff_views

CUSTOMER_SETTABLE = {"subject", "description", "description_html", "priority", "type"}


class FieldNotAllowed(Forbidden):
    code = "field_not_allowed"
    title = "You may not set these fields"


async def next_number(session: AsyncSession, tenant_id: UUID) -> int:
    """The tenant's next ticket number; the sequence row's lock orders concurrent creations."""
    number = await session.scalar(
        update(TicketNumberSequence)
        .where(TicketNumberSequence.tenant_id == tenant_id)
        .values(last_number=TicketNumberSequence.last_number + 1)
        .returning(TicketNumberSequence.last_number)
    )
    if number is None:
        await session.execute(
            insert(TicketNumberSequence).values(tenant_id=tenant_id, last_number=1)
        )
        return 1
    return int(number)


async def snapshot(session: AsyncSession, ticket: Ticket, prefix: str) -> dict[str, Any]:
    (public,) = await staff_views(session, ticket.tenant_id, prefix, [ticket])
    return public.model_dump(mode="json")


async def resolve_status(session: AsyncSession, tenant_id: UUID, key: str) -> TicketStatus:
    status = await status_by_key(session, tenant_id, key)
    if status is None or not status.is_active:
        raise ValidationFailed(f"unknown or inactive status {key!r}", field="status")
    return status


async def _requester(ctx: TenantContext, data: TicketCreate) -> Contact:
    if ctx.role is Role.CONTACT:
        assert ctx.contact_id is not None
        contact_id = ctx.contact_id
    elif data.requester_id is not None:
        contact_id = data.requester_id
    elif data.requester is not None:
        contact_id = await contact_for_email(
            ctx.session, ctx.tenant_id, data.requester.email, data.requester.name
        )
    else:
        raise ValidationFailed("give requester_id or requester {email, name}", field="requester")
    try:
        return await get_scoped(ctx.session, Contact, ctx.tenant_id, contact_id, what="contact")
    except NotFound as exc:
        raise NotFound("requester not found", field="requester_id") from exc


def _check_customer_fields(data: TicketCreate) -> None:
    defaults = TicketCreate(subject="x")
    set_fields = {
        name for name in data.model_fields_set if getattr(data, name) != getattr(defaults, name)
    }
    refused = sorted(set_fields - CUSTOMER_SETTABLE)
    if refused:
        raise FieldNotAllowed(f"customers cannot set: {', '.join(refused)}", fields=refused)


async def check_category(session: AsyncSession, tenant_id: UUID, category_id: UUID | None) -> None:
    if category_id is None:
        return
    try:
        await get_scoped(session, TicketCategory, tenant_id, category_id, what="category")
    except NotFound as exc:
        raise NotFound("category not found", field="category_id") from exc


async def create_ticket(
    ctx: TenantContext, data: TicketCreate, *, follow_up_of: Ticket | None = None
) -> Ticket:
    """Create a ticket for its requester (a contact creating one is the requester).

    Checks every reference, numbers the ticket, records participants, tags, assignment and
    the timeline, and emits `ticket.created`. A follow-up of a closed ticket is linked to it
    and lands in its group.
    """
    session = ctx.session
    if ctx.role is Role.CONTACT and follow_up_of is None:
        _check_customer_fields(data)
    requester = await _requester(ctx, data)
    if data.status is not None:
        status = await resolve_status(session, ctx.tenant_id, data.status)
    else:
        found = await default_status(session, ctx.tenant_id, StatusCategory.NEW.value)
        if found is None:
            raise ValidationFailed("the tenant has no active status in the `new` category")
        status = found
    await check_category(session, ctx.tenant_id, data.category_id)
    channel = data.channel or (Channel.PORTAL if ctx.role is Role.CONTACT else Channel.API)
    ticket = new_ticket(
        ctx.tenant_id,
        data,
        number=await next_number(session, ctx.tenant_id),
        status=status,
        channel=channel,
        requester_id=requester.id,
        organization_id=requester.organization_id,
        follow_up_of=follow_up_of,
    )
    session.add(ticket)
    # Nothing read below needs the new row: it is written once, with its group, assignee and
    # SLA summary, by the one flush at the end.
    with session.no_autoflush:
        await _fill_new_ticket(ctx, ticket, data, requester, status, follow_up_of)
    await before_write(session, ticket, "created")
    await session.flush()
    await ticket_event(
        session, ticket, "created", await snapshot(session, ticket, ctx.tenant.ticket_prefix)
    )
    return ticket


def new_ticket(
    tenant_id: UUID,
    data: TicketCreate,
    *,
    number: int,
    status: TicketStatus,
    channel: Channel,
    requester_id: UUID,
    organization_id: UUID | None,
    follow_up_of: Ticket | None = None,
) -> Ticket:
    """The row a new ticket starts as: the one place its columns are taken from the request
    (`create_ticket` and the bulk opening of mail both build it here)."""
    now = utcnow()
    return Ticket(
        id=new_id(),
        tenant_id=tenant_id,
        number=number,
        subject=data.subject,
        description=data.description,
        status_id=status.id,
        status_category=status.category,
        priority=data.priority.value,
        priority_rank=PRIORITY_RANK[data.priority],
        type=data.type.value,
        channel=channel.value,
        requester_id=requester_id,
        organization_id=organization_id,
        category_id=data.category_id,
        custom_fields=data.custom_fields,
        due_at=data.due_at,
        ai_mode=data.ai_mode,
        orchestration_ref=data.orchestration_ref,
        resolved_at=now if status.category in ("resolved", "closed") else None,
        closed_at=now if status.category == "closed" else None,
        follow_up_of_id=follow_up_of.id if follow_up_of else None,
    )


async def _fill_new_ticket(
    ctx: TenantContext,
    ticket: Ticket,
    data: TicketCreate,
    requester: Contact,
    status: TicketStatus,
    follow_up_of: Ticket | None,
) -> None:
    """The new ticket's requester participant, timeline entry, assignment and tags."""
    session = ctx.session
    session.add(
        TicketParticipant(
            tenant_id=ctx.tenant_id,
            ticket_id=ticket.id,
            role=ParticipantRole.REQUESTER.value,
            contact_id=requester.id,
            party_key=f"contact:{requester.id}",
        )
    )
    audit(session, ticket, "created", after={"subject": ticket.subject, "status": status.key})
    if follow_up_of is not None and follow_up_of.group_id is not None:
        group = await session.get(Group, (ctx.tenant_id, follow_up_of.group_id))
        if group is not None and group.is_active:
            data = data.model_copy(update={"group_id": group.id})
    if data.group_id is not None or data.assignee_id is not None:
        await assignment.assign(
            session, ticket, group_id=data.group_id, assignee_id=data.assignee_id
        )
    remember_tags(session, ticket.id, [])  # a new ticket has none yet: no need to ask
    await tags.set_tags(session, ticket, data.tags, audited=False)


async def get_ticket(
    ctx: TenantContext, ticket_id: UUID, *, include_deleted: bool = False, for_write: bool = False
) -> Ticket:
    """A ticket the caller may see (and, with `for_write`, change), else NotFound/Forbidden."""
    statement = visible_tickets(ctx, include_deleted=include_deleted).where(Ticket.id == ticket_id)
    if not for_write or not write_needs_check(ctx):
        ticket = await ctx.session.scalar(statement)
        if ticket is None:
            raise NotFound("ticket not found")
        return ticket
    # Readable and writable in one round trip: the write check rides along as a column.
    row = (
        await ctx.session.execute(statement.add_columns(visibility(ctx, for_write=True)))
    ).first()
    if row is None:
        raise NotFound("ticket not found")
    if not row[1]:
        raise Forbidden("your groups have read-only access to this ticket")
    writable: Ticket = row[0]
    return writable


async def tickets_for_write(
    ctx: TenantContext, ticket_ids: Sequence[UUID]
) -> dict[UUID, Ticket | FrontdeskError]:
    """Many tickets the caller may change, in one query: each found ticket, or why not."""
    statement = visible_tickets(ctx).where(Ticket.id.in_(ticket_ids))
    writable = visibility(ctx, for_write=True) if write_needs_check(ctx) else true()
    rows = (await ctx.session.execute(statement.add_columns(writable))).all()
    found: dict[UUID, Ticket | FrontdeskError] = {
        ticket_id: NotFound("ticket not found") for ticket_id in ticket_ids
    }
    for ticket, may_write in rows:
        found[ticket.id] = (
            ticket if may_write else Forbidden("your groups have read-only access to this ticket")
        )
    return found


def write_needs_check(ctx: TenantContext) -> bool:
    """Whether what the caller may change is narrower than what they may read."""
    return ctx.role is not Role.CONTACT and not agent_sees_everything(ctx)


def editable_fields(public: dict[str, Any]) -> dict[str, Any]:
    return {name: public[name] for name in TicketUpdate.model_fields}


async def change_status(ctx: TenantContext, ticket: Ticket, key: str) -> None:
    """Move the ticket to status `key` under the transition policy (audited)."""
    session = ctx.session
    status = await resolve_status(session, ctx.tenant_id, key)
    if status.id == ticket.status_id:
        return
    now = utcnow()
    window = timedelta(days=int(ctx.tenant.settings.get("reopen_window_days", 14)))
    plan = plan_transition(
        StatusCategory(ticket.status_category),
        StatusCategory(status.category),
        by_customer=ctx.role is Role.CONTACT,
        closed_at=ticket.closed_at,
        now=now,
        reopen_window=window,
    )
    previous = await session.get(TicketStatus, (ctx.tenant_id, ticket.status_id))
    audit(
        session,
        ticket,
        "reopened" if plan.is_reopen else "status_changed",
        field="status",
        before=previous.key if previous else None,
        after=status.key,
    )
    ticket.status_id, ticket.status_category = status.id, status.category
    if plan.is_reopen:
        ticket.reopen_count += 1
    if plan.clear_done_at:
        ticket.resolved_at = ticket.closed_at = None
    if plan.set_resolved_at and ticket.resolved_at is None:
        ticket.resolved_at = now
    if plan.set_closed_at and ticket.closed_at is None:
        ticket.closed_at = now


async def update_ticket(ctx: TenantContext, ticket: Ticket, data: TicketUpdate) -> Ticket:
    """Apply a staff member's changes: fields, status (by policy), assignment, tags."""
    before = await snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix)
    # The checks below read nothing this change touches: the ticket is written once, by the
    # flush in `_finish_update`.
    with ctx.session.no_autoflush:
        await _apply_update(ctx, ticket, data, before)
    return await _finish_update(ctx, ticket, before)


async def _apply_update(
    ctx: TenantContext, ticket: Ticket, data: TicketUpdate, before: dict[str, Any]
) -> None:
    session = ctx.session
    if data.status != before["status"]:
        await change_status(ctx, ticket, data.status)
    if (data.group_id, data.assignee_id) != (ticket.group_id, ticket.assignee_id):
        await assignment.assign(
            session, ticket, group_id=data.group_id, assignee_id=data.assignee_id
        )
    if data.requester_id != ticket.requester_id:
        await _change_requester(ctx, ticket, data.requester_id)
    if data.category_id != ticket.category_id:
        await check_category(session, ctx.tenant_id, data.category_id)
    await tags.set_tags(session, ticket, data.tags, audited=True)
    plain = data.model_dump(
        include={
            "subject",
            "description",
            "type",
            "category_id",
            "due_at",
            "custom_fields",
            "ai_mode",
            "ai_summary",
            "ai_confidence",
            "ai_auto_resolved",
            "orchestration_ref",
        }
    )
    plain["type"] = data.type.value
    for field, value in plain.items():
        setattr(ticket, field, value)
    ticket.priority, ticket.priority_rank = data.priority.value, PRIORITY_RANK[data.priority]


async def update_ticket_as_customer(
    ctx: TenantContext, ticket: Ticket, data: CustomerTicketUpdate
) -> Ticket:
    before = await snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix)
    if data.status != before["status"]:
        await change_status(ctx, ticket, data.status)
    ticket.subject = data.subject
    return await _finish_update(ctx, ticket, before)


SEPARATELY_AUDITED = frozenset({"status", "group_id", "assignee_id", "tags"})


async def _finish_update(ctx: TenantContext, ticket: Ticket, before: dict[str, Any]) -> Ticket:
    """Audit each changed field and emit `ticket.updated` with its delta; no change, no event."""
    session = ctx.session
    prefix = ctx.tenant.ticket_prefix
    changed = _content_delta(before, await snapshot(session, ticket, prefix))
    if not changed:
        return ticket
    if ticket.version == before["version"] and not session.is_modified(ticket):
        flag_modified(ticket, "subject")  # only nested rows changed: the ticket's version moves too
    audit_fields(
        session,
        ticket,
        {
            field: values
            for field, values in changed.items()
            if field in TicketUpdate.model_fields and field not in SEPARATELY_AUDITED
        },
    )
    await before_write(session, ticket, "updated", changed)
    await session.flush()
    after = await snapshot(session, ticket, prefix)
    await ticket_event(session, ticket, "updated", after, delta_between(before, after))
    return ticket


async def finish_nested_change(
    ctx: TenantContext, ticket: Ticket, before: dict[str, Any], action: str
) -> None:
    """After a change under the ticket (tags, participants, access): bump its version, emit."""
    session = ctx.session
    prefix = ctx.tenant.ticket_prefix
    pending = delta_between(before, await snapshot(session, ticket, prefix))
    if ticket.version == before["version"] and not session.is_modified(ticket):
        flag_modified(ticket, "subject")
    await before_write(session, ticket, action, pending)
    await session.flush()
    after = await snapshot(session, ticket, prefix)
    await ticket_event(session, ticket, action, after, delta_between(before, after))


def _content_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    delta = delta_between(before, after)
    for bookkeeping in ("version", "updated_at", "updated_by"):
        delta.pop(bookkeeping, None)
    return delta


async def _change_requester(ctx: TenantContext, ticket: Ticket, contact_id: UUID) -> None:
    try:
        contact = await get_scoped(ctx.session, Contact, ctx.tenant_id, contact_id, what="contact")
    except NotFound as exc:
        raise NotFound("requester not found", field="requester_id") from exc
    participant = await ctx.session.scalar(
        scoped(TicketParticipant, ctx.tenant_id).where(
            TicketParticipant.ticket_id == ticket.id,
            TicketParticipant.role == ParticipantRole.REQUESTER.value,
        )
    )
    if participant is not None:
        participant.contact_id = contact.id
        participant.party_key = f"contact:{contact.id}"
    ticket.requester_id = contact.id
    ticket.organization_id = contact.organization_id


async def soft_delete(ctx: TenantContext, ticket: Ticket) -> None:
    if ticket.deleted_at is not None:
        return
    ticket.deleted_at = utcnow()
    ticket.deleted_by = ctx.principal.actor
    audit(ctx.session, ticket, "deleted")
    await before_write(ctx.session, ticket, "deleted")
    await ctx.session.flush()
    await ticket_event(
        ctx.session,
        ticket,
        "deleted",
        await snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix),
    )


async def restore(ctx: TenantContext, ticket: Ticket) -> None:
    if ticket.deleted_at is None:
        return
    ticket.deleted_at = None
    ticket.deleted_by = None
    audit(ctx.session, ticket, "restored")
    await before_write(ctx.session, ticket, "restored")
    await ctx.session.flush()
    await ticket_event(
        ctx.session,
        ticket,
        "restored",
        await snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix),
    )


async def purge(ctx: TenantContext, ticket: Ticket) -> None:
    """Erase a ticket and everything nested under it; only its event remains."""
    last = await snapshot(ctx.session, ticket, ctx.tenant.ticket_prefix)
    await ticket_event(ctx.session, ticket, "purged", {"id": last["id"], "number": last["number"]})
    await ctx.session.delete(ticket)
    await ctx.session.flush()


async def mark_read(ctx: TenantContext, ticket: Ticket) -> None:
    """Zero the caller's side of the unread counters."""
    field = "unread_by_customer" if ctx.role is Role.CONTACT else "unread_by_agent"
    if getattr(ticket, field) == 0:
        return
    setattr(ticket, field, 0)
    audit(ctx.session, ticket, "marked_read", field=field, internal=ctx.role is not Role.CONTACT)
    await ctx.session.flush()
    await ticket_event(ctx.session, ticket, "marked_read", {"id": str(ticket.id), "side": field})
