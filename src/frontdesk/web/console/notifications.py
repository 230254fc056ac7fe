"""The console's notification inbox: the viewer's in-app notifications, marked read one or all."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from frontdesk.core.pagination import paginate, parse_sort
from frontdesk.identity.context import TenantContext
from frontdesk.identity.policy import Action
from frontdesk.notifications import repository, service
from frontdesk.notifications.models import Notification
from frontdesk.web.auth import ConsoleUser, page_permits
from frontdesk.web.console.frame import console_frame
from frontdesk.web.templating import render

router = APIRouter(prefix="/app/{tenant}/notifications", include_in_schema=False)

Recipient = Annotated[TenantContext, page_permits(Action.NOTIFICATION_OWN)]
PAGE_SIZE = 50
SORTS = {"created_at": Notification.created_at}
NOTICES = {"read": "Marked as read.", "read_all": "All notifications marked as read."}


@router.get("")
async def inbox(
    request: Request,
    ctx: Recipient,
    viewer: ConsoleUser,
    show: Literal["all", "unread"] = "all",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    notice: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """Newest first; each links to its ticket and can be marked read."""
    statement = repository.inbox(ctx.tenant_id, ctx.user_id)
    if show == "unread":
        statement = statement.where(Notification.read_at.is_(None))
    page = await paginate(
        ctx.session,
        statement,
        order=parse_sort(None, SORTS, "-created_at"),
        id_column=Notification.id,
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    frame = await console_frame(ctx, viewer)
    frame["notice"] = NOTICES.get(notice or "")
    frame["section"] = "notifications"
    return render(
        request,
        "console/notifications.html",
        **frame,
        items=page.items,
        show=show,
        next_cursor=page.next_cursor,
        title="Notifications",
    )


@router.post("/read-all")
async def mark_all_read(ctx: Recipient) -> Response:
    await service.mark_all_read(ctx)
    return RedirectResponse(_back(ctx, "read_all"), status_code=303)


@router.post("/{notification_id}/read")
async def mark_read(notification_id: UUID, ctx: Recipient) -> Response:
    await service.mark_read(ctx, notification_id)
    return RedirectResponse(_back(ctx, "read"), status_code=303)


def _back(ctx: TenantContext, notice: str) -> str:
    return f"/app/{ctx.tenant.slug}/notifications?notice={notice}"
