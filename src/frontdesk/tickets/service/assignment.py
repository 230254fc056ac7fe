"""Who works a ticket: its group and agent, the history of changes, and auto-assignment."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.errors import NotFound, ValidationFailed
from frontdesk.core.repository import get_scoped
from frontdesk.identity.models import AssignmentStrategy, Group, GroupMember, Membership, User
from frontdesk.tickets.models import Ticket, TicketAssignment
from frontdesk.tickets.schemas import AssignmentCreate
from frontdesk.tickets.service.timeline import audit
from frontdesk.tickets.service.transitions import OPEN_CATEGORIES

ASSIGNABLE_ROLES = ("owner", "admin", "agent")


class NotAssignable(ValidationFailed):
    code = "not_assignable"
    title = "This agent cannot be assigned here"


async def check_group(
    session: AsyncSession, tenant_id: UUID, group_id: UUID | None
) -> Group | None:
    if group_id is None:
        return None
    try:
        group = await get_scoped(session, Group, tenant_id, group_id, what="group")
    except NotFound as exc:
        raise NotFound("group not found", field="group_id") from exc
    if not group.is_active:
        raise ValidationFailed("the group is inactive", field="group_id")
    return group


async def check_assignee(
    session: AsyncSession, tenant_id: UUID, assignee_id: UUID | None, group_id: UUID | None
) -> None:
    """An assignee is an active agent (not a light agent) of the tenant and, with a group, in it."""
    if assignee_id is None:
        return
    row = (
        await session.execute(
            select(Membership.role, User.is_active)
            .join(User, User.id == Membership.user_id)
            .where(Membership.tenant_id == tenant_id, Membership.user_id == assignee_id)
        )
    ).first()
    if row is None:
        raise NotFound("assignee not found", field="assignee_id")
    role, is_active = row
    if role not in ASSIGNABLE_ROLES or not is_active:
        raise NotAssignable("only active agents and admins take tickets", field="assignee_id")
    if group_id is not None:
        in_group = await session.scalar(
            select(GroupMember.id).where(
                GroupMember.tenant_id == tenant_id,
                GroupMember.group_id == group_id,
                GroupMember.user_id == assignee_id,
            )
        )
        if in_group is None:
            raise NotAssignable("the assignee is not a member of the group", field="assignee_id")


def target_of(
    ticket: Ticket, requested: AssignmentCreate, given: set[str]
) -> tuple[UUID | None, UUID | None]:
    """Where a transfer request sends the ticket. A field left out of the request keeps the
    ticket's value, and an explicit null clears it; the assignee is kept only while the ticket
    stays in its group, since a new group picks (or leaves open) its own agent."""
    group_id = requested.group_id if "group_id" in given else ticket.group_id
    if "assignee_id" in given:
        return group_id, requested.assignee_id
    return group_id, ticket.assignee_id if group_id == ticket.group_id else None


async def assign(
    session: AsyncSession,
    ticket: Ticket,
    *,
    group_id: UUID | None,
    assignee_id: UUID | None,
    reason: str | None = None,
    ai_session_ref: str | None = None,
    auto: bool = True,
) -> bool:
    """Move the ticket to a group and/or agent, recording the change; returns whether it moved.

    When the ticket enters a round-robin or load-balanced group without an agent, one is chosen.
    """
    group = await check_group(session, ticket.tenant_id, group_id)
    if auto and group is not None and assignee_id is None and group_id != ticket.group_id:
        assignee_id = await pick_agent(session, group)
        reason = reason or (f"auto-assigned ({group.assignment_strategy})" if assignee_id else None)
    await check_assignee(session, ticket.tenant_id, assignee_id, group_id)
    if (group_id, assignee_id) == (ticket.group_id, ticket.assignee_id):
        return False
    session.add(
        TicketAssignment(
            tenant_id=ticket.tenant_id,
            ticket_id=ticket.id,
            from_group_id=ticket.group_id,
            to_group_id=group_id,
            from_user_id=ticket.assignee_id,
            to_user_id=assignee_id,
            reason=reason,
            ai_session_ref=ai_session_ref,
        )
    )
    for field, before, after in (
        ("group_id", ticket.group_id, group_id),
        ("assignee_id", ticket.assignee_id, assignee_id),
    ):
        if before != after:
            audit(session, ticket, "assigned", field=field, before=before, after=after)
    ticket.group_id, ticket.assignee_id = group_id, assignee_id
    return True


async def pick_agent(session: AsyncSession, group: Group) -> UUID | None:
    """The next agent of a round-robin or load-balanced group, or None for a plain queue.

    The group row is locked first, so concurrent picks in one group take turns (PostgreSQL).
    """
    if group.assignment_strategy == AssignmentStrategy.QUEUE_ONLY:
        return None
    await session.execute(
        select(Group.id)
        .where(Group.tenant_id == group.tenant_id, Group.id == group.id)
        .with_for_update()
    )
    candidates = await _candidates(session, group)
    if not candidates:
        return None
    if group.assignment_strategy == AssignmentStrategy.ROUND_ROBIN:
        return await _least_recently_assigned(session, group, candidates)
    return await _least_loaded(session, group, candidates)


async def _candidates(session: AsyncSession, group: Group) -> list[UUID]:
    rows = await session.scalars(
        select(GroupMember.user_id)
        .join(
            Membership,
            (Membership.tenant_id == GroupMember.tenant_id)
            & (Membership.user_id == GroupMember.user_id),
        )
        .join(User, User.id == GroupMember.user_id)
        .where(
            GroupMember.tenant_id == group.tenant_id,
            GroupMember.group_id == group.id,
            Membership.role.in_(ASSIGNABLE_ROLES),
            User.is_active.is_(True),
        )
        .order_by(GroupMember.user_id)
    )
    return list(rows.all())


async def _least_recently_assigned(
    session: AsyncSession, group: Group, candidates: list[UUID]
) -> UUID:
    last = dict(
        (
            await session.execute(
                select(TicketAssignment.to_user_id, func.max(TicketAssignment.created_at))
                .where(
                    TicketAssignment.tenant_id == group.tenant_id,
                    TicketAssignment.to_group_id == group.id,
                    TicketAssignment.to_user_id.in_(candidates),
                )
                .group_by(TicketAssignment.to_user_id)
            )
        ).all()
    )
    never = [user_id for user_id in candidates if user_id not in last]
    if never:
        return never[0]
    return min(candidates, key=lambda user_id: last[user_id])


async def _least_loaded(session: AsyncSession, group: Group, candidates: list[UUID]) -> UUID:
    load = dict(
        (
            await session.execute(
                select(Ticket.assignee_id, func.count())
                .where(
                    Ticket.tenant_id == group.tenant_id,
                    Ticket.assignee_id.in_(candidates),
                    Ticket.status_category.in_([c.value for c in OPEN_CATEGORIES]),
                    Ticket.deleted_at.is_(None),
                )
                .group_by(Ticket.assignee_id)
            )
        ).all()
    )
    return min(candidates, key=lambda user_id: (load.get(user_id, 0), str(user_id)))
