"""The platform admin's page: every tenant, with its people and tickets counted."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from frontdesk.core.db import DbSession
from frontdesk.core.errors import Forbidden
from frontdesk.web.admin.queries import tenants_with_counts
from frontdesk.web.auth import ConsoleUser
from frontdesk.web.templating import render

router = APIRouter(prefix="/app/platform", include_in_schema=False)


@router.get("")
async def platform_page(request: Request, viewer: ConsoleUser, session: DbSession) -> HTMLResponse:
    if not viewer.user.is_platform_admin:
        raise Forbidden("platform administrators only")
    return render(
        request,
        "admin/platform.html",
        viewer=viewer,
        csrf_token=viewer.csrf_token,
        tenants=await tenants_with_counts(session),
        title="Platform",
    )
