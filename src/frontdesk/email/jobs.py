"""The email domain's periodic work: poll IMAP mailboxes, plan mail from events, send it."""

from __future__ import annotations

from frontdesk.core.db import transaction
from frontdesk.core.jobs import JobContext, periodic
from frontdesk.email.service.imap import poll_all
from frontdesk.email.service.planner import plan_batch
from frontdesk.email.service.sending import send_batch

PLANNER_ACTOR = "system:email"


@periodic("email.imap_poll", every_seconds=5)
async def imap_poll(context: JobContext) -> int:
    """Each mailbox at most every FRONTDESK_IMAP_POLL_SECONDS."""
    return await poll_all(
        context.sessionmaker, context.blob_store, context.settings.imap_poll_seconds
    )


@periodic("email.plan", every_seconds=1)
async def plan_mail(context: JobContext) -> int:
    async with transaction(context.sessionmaker, actor=PLANNER_ACTOR) as session:
        return await plan_batch(session, context.settings)


@periodic("email.send", every_seconds=2)
async def send_mail(context: JobContext) -> int:
    return await send_batch(context.settings, context.sessionmaker)
