"""What every console page shows around its content: the tenant, the viewer, the views."""

from __future__ import annotations

from typing import Any

from frontdesk.identity.context import TenantContext
from frontdesk.identity.policy import Action, can
from frontdesk.notifications.repository import unread_count
from frontdesk.web.auth import PageUser
from frontdesk.web.console.live import tenant_mark
from frontdesk.web.console.views import groups_of_tenant, views_with_counts

NOTICES = {
    "saved": "Changes saved.",
    "replied": "Reply sent.",
    "noted": "Internal note added.",
    "created": "Ticket created.",
    "bulk": "Bulk change applied.",
    "assigned": "Assigned to you.",
    "participant_added": "Participant added.",
    "participant_removed": "Participant removed.",
}


async def console_frame(
    ctx: TenantContext, viewer: PageUser, *, view: str | None = None, notice: str | None = None
) -> dict[str, Any]:
    groups = await groups_of_tenant(ctx.session, ctx.tenant_id)
    views, queues = await views_with_counts(ctx, groups)
    return {
        "tenant": ctx.tenant,
        "viewer": viewer,
        "role": ctx.role,
        "csrf_token": viewer.csrf_token,
        "views": views,
        "queues": queues,
        "groups": groups,
        "current_view": view,
        "notice": NOTICES.get(notice or ""),
        "can": lambda action: can(ctx.role, Action(action)),
        "section": "console",
        "tenant_mark": await tenant_mark(ctx.session, ctx.tenant_id),
        # The bell: one COUNT on the (tenant, user, read_at) index.
        "unread_notifications": await unread_count(ctx.session, ctx.tenant_id, ctx.user_id),
    }
