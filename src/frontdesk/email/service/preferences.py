"""Whether a recipient wants a kind of mail: the notifications domain's per-kind opt-outs."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.email.service.recipients import Recipient
from frontdesk.notifications.kinds import NotificationChannel, NotificationKind
from frontdesk.notifications.service import wants as notification_wanted


async def wants(
    session: AsyncSession, tenant_id: UUID, kind: NotificationKind, recipient: Recipient
) -> bool:
    """Yes unless the user or contact turned `kind` off for email (a contact also through
    their portal login); an address that is neither (it cannot have said no) gets it."""
    parties = [{"user_id": recipient.user_id}] if recipient.user_id else []
    if recipient.user_id is None and recipient.contact_id is not None:
        parties.append({"contact_id": recipient.contact_id})
        if recipient.portal_user_id is not None:
            parties.append({"user_id": recipient.portal_user_id})
    for party in parties:
        wanted = await notification_wanted(
            session, tenant_id=tenant_id, kind=kind, channel=NotificationChannel.EMAIL, **party
        )
        if not wanted:
            return False
    return True
