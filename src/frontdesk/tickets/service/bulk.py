"""Bulk changes: each ticket is changed in its own savepoint and reports its own result."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy.orm.exc import StaleDataError

from frontdesk.core.errors import FrontdeskError
from frontdesk.core.events import in_transaction
from frontdesk.core.patch import validation_problem
from frontdesk.identity.context import TenantContext
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.repository import tags_of
from frontdesk.tickets.schemas import BulkResult, BulkUpdate, TicketUpdate
from frontdesk.tickets.service import tickets
from frontdesk.tickets.service.timeline import TimelineBatch, held, write_held
from frontdesk.tickets.service.views import view_for


async def bulk_update(ctx: TenantContext, data: BulkUpdate) -> list[BulkResult]:
    """Apply the same changes to each ticket; a failing ticket is left exactly as it was.

    The tickets, the write check, their tags and their SLA clocks are read for all of them up
    front (three queries); each ticket then changes in its own savepoint (its row and clocks),
    and the timeline entries and events of the tickets that succeeded are written at the end,
    one INSERT each. A failed ticket's entries and events are dropped with its savepoint.
    """
    ticket_ids = list(dict.fromkeys(data.ticket_ids))
    loaded = await tickets.tickets_for_write(ctx, ticket_ids)
    found = [t.id for t in loaded.values() if isinstance(t, Ticket)]
    await tags_of(ctx.session, ctx.tenant_id, found)
    await in_transaction.prepare(ctx.session, "ticket", ctx.tenant_id, found)
    results: list[BulkResult] = []
    written = TimelineBatch()
    for ticket_id in ticket_ids:
        try:
            with held(ctx.session) as timeline:
                async with ctx.session.begin_nested():
                    version = await _update_one(ctx, loaded[ticket_id], data)
            written.extend(timeline)
            results.append(BulkResult(id=ticket_id, ok=True, status=200, version=version))
        except FrontdeskError as error:
            results.append(
                BulkResult(
                    id=ticket_id,
                    ok=False,
                    status=error.status,
                    code=error.code,
                    detail=error.detail,
                )
            )
        except StaleDataError:
            results.append(
                BulkResult(
                    id=ticket_id,
                    ok=False,
                    status=409,
                    code="concurrent_update",
                    detail="changed by someone else meanwhile",
                )
            )
    await write_held(ctx.session, written)
    return results


async def _update_one(ctx: TenantContext, found: Ticket | FrontdeskError, data: BulkUpdate) -> int:
    if isinstance(found, FrontdeskError):
        raise found
    ticket = found
    current = (await view_for(ctx, ticket)).model_dump(mode="json")
    fields = tickets.editable_fields(current)
    changes = data.changes
    if changes.status is not None:
        fields["status"] = changes.status
    if changes.priority is not None:
        fields["priority"] = changes.priority.value
    if changes.group_id is not None:
        fields["group_id"] = str(changes.group_id)
    if changes.assignee_id is not None:
        fields["assignee_id"] = str(changes.assignee_id)
    if changes.unassign:
        fields["assignee_id"] = None
    tags = (set(fields["tags"]) | set(changes.add_tags)) - set(changes.remove_tags)
    fields["tags"] = sorted(tags)
    try:
        update = TicketUpdate.model_validate(fields)
    except ValidationError as exc:
        raise validation_problem(exc) from exc
    await tickets.update_ticket(ctx, ticket, update)
    await ctx.session.flush()
    return ticket.version
