"""What every admin page shares: its sections, the page frame, redirects, inline form errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from frontdesk.core.errors import FrontdeskError
from frontdesk.core.patch import validation_problem
from frontdesk.identity.context import TenantContext
from frontdesk.identity.policy import Action
from frontdesk.web.auth import PageUser, page_permits
from frontdesk.web.console.frame import console_frame
from frontdesk.web.templating import render

T = TypeVar("T")

Admins = Annotated[TenantContext, page_permits(Action.MEMBER_MANAGE)]
SlaAdmins = Annotated[TenantContext, page_permits(Action.SLA_MANAGE)]
SlaReaders = Annotated[TenantContext, page_permits(Action.SLA_REPORT)]
ChannelAdmins = Annotated[TenantContext, page_permits(Action.CHANNEL_MANAGE)]
MailLogReaders = Annotated[TenantContext, page_permits(Action.MAIL_LOG_READ)]
MailRetriers = Annotated[TenantContext, page_permits(Action.MAIL_RETRY)]

#: (path under /admin, label) of each section in the admin navigation.
SECTIONS = [
    ("members", "Members"),
    ("groups", "Groups"),
    ("customers", "Contacts & organizations"),
    ("statuses", "Statuses & categories"),
    ("tokens", "API tokens"),
    ("portal", "Portal"),
    ("sla/calendars", "SLA calendars"),
    ("sla/policies", "SLA policies"),
    ("channels", "Email channels"),
    ("mail/outbound", "Outbound mail"),
]
LABELS = dict(SECTIONS)
NOTICES = {
    "saved": "Saved.",
    "revoked": "Token revoked.",
    "removed": "Removed.",
    "retried": "The mail is queued to be sent again.",
}


@dataclass(frozen=True)
class FormError:
    """A refused form: the service's detail and the fields it names, shown above the form."""

    status: int
    detail: str
    fields: list[str]

    @classmethod
    def of(cls, error: FrontdeskError) -> FormError:
        return cls(status=error.status, detail=error.detail, fields=_fields(error))

    def marks(self, name: str) -> bool:
        """Whether the error is about the form field `name` (or a part of it)."""
        return any(
            field == name or field.startswith((f"{name}.", f"{name}:")) for field in self.fields
        )


def _fields(error: FrontdeskError) -> list[str]:
    names: list[str] = []
    if isinstance(error.data.get("field"), str):
        names.append(error.data["field"])
    for item in error.data.get("errors", []) or []:
        location = [str(part) for part in item.get("loc", []) if part not in ("body", "query")]
        message = item.get("msg", "")
        names.append(".".join(location) + (f": {message}" if message else ""))
    return names


def back(ctx: TenantContext, section: str, notice: str = "saved") -> RedirectResponse:
    query = f"?notice={notice}" if notice else ""
    return RedirectResponse(f"/app/{ctx.tenant.slug}/admin/{section}{query}", status_code=303)


async def page(
    request: Request,
    ctx: TenantContext,
    viewer: PageUser,
    template: str,
    section: str,
    *,
    title: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    frame = await console_frame(ctx, viewer)
    frame["notice"] = NOTICES.get(request.query_params.get("notice", ""))
    return render(
        request,
        template,
        status_code=status_code,
        **frame,
        sections=SECTIONS,
        section_key=section,
        title=title or LABELS[section],
        **context,
    )


def validated(model: type[T], **values: Any) -> T:
    try:
        return model(**values)
    except ValidationError as exc:
        raise validation_problem(exc) from exc


async def attempt(ctx: TenantContext, change: Callable[[], Awaitable[T]]) -> T | FormError:
    """Run one change in a savepoint: on a refusal nothing of it is written, and the form
    is shown again with the error instead of an error page."""
    try:
        async with ctx.session.begin_nested():
            return await change()
    except FrontdeskError as error:
        return FormError.of(error)
