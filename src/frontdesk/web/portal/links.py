"""One-time sign-in links for the portal: issued to a contact's address, used once, short-lived.

Delivery goes through `SignInLinkSender`, which the outbound mail queue implements: `queue` is
called inside the request's transaction, so a link's mail is queued exactly when the link is
stored. Without a sender the portal does not offer links at all (nothing pretends to send).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.audit import record_change
from frontdesk.core.clock import utcnow
from frontdesk.core.errors import FrontdeskError
from frontdesk.core.security import digest_token, new_secret_token
from frontdesk.identity.models import Contact, User
from frontdesk.identity.repository import contact_id_by_email, normalize_email, user_by_email
from frontdesk.identity.service.users import create_user
from frontdesk.tenancy.models import Tenant
from frontdesk.web.portal.models import PortalSignInLink

LINK_LIFETIME = timedelta(minutes=20)


class LinkNotUsable(FrontdeskError):
    status = 410
    code = "sign_in_link_not_usable"
    title = "This sign-in link was used already or has expired; ask for a new one"


@dataclass(frozen=True)
class SignInLinkMail:
    tenant_id: UUID
    tenant_name: str
    to: str
    contact_id: UUID
    contact_name: str
    locale: str
    url: str
    expires_at: datetime


class SignInLinkSender(Protocol):
    async def queue(self, session: AsyncSession, mail: SignInLinkMail) -> None:
        """Queue the mail in the caller's transaction (sent after commit, never before)."""
        ...


async def issue_link(
    session: AsyncSession,
    tenant: Tenant,
    email: str,
    *,
    base_url: str,
    sender: SignInLinkSender,
) -> bool:
    """Store a link for the contact with this address and queue its mail.

    Returns whether a contact was found; the page says the same either way, so the form does
    not tell who is a customer.
    """
    contact_id = await contact_id_by_email(session, tenant.id, email)
    if contact_id is None:
        return False
    contact = await session.get(Contact, (tenant.id, contact_id))
    assert contact is not None
    token = new_secret_token()
    link = PortalSignInLink(
        tenant_id=tenant.id,
        contact_id=contact.id,
        email=normalize_email(email),
        token_digest=digest_token(token),
        expires_at=utcnow() + LINK_LIFETIME,
    )
    session.add(link)
    await session.flush()
    record_change(
        session,
        subject_type="portal_sign_in_link",
        action="issued",
        tenant_id=tenant.id,
        subject_id=link.id,
        snapshot={"contact_id": str(contact.id), "expires_at": link.expires_at.isoformat()},
    )
    url = f"{base_url.rstrip('/')}/portal/{tenant.slug}/link/use?token={token}"
    mail = SignInLinkMail(
        tenant_id=tenant.id,
        tenant_name=tenant.name,
        to=link.email,
        contact_id=contact.id,
        contact_name=contact.name,
        locale=await _locale_of(session, tenant, contact),
        url=url,
        expires_at=link.expires_at,
    )
    await sender.queue(session, mail)
    return True


async def _locale_of(session: AsyncSession, tenant: Tenant, contact: Contact) -> str:
    """The contact's portal login's language, else the tenant's."""
    if contact.user_id is not None:
        user = await session.get(User, contact.user_id)
        if user is not None:
            return user.locale
    return str(tenant.settings.get("locale") or "en")


async def usable_link(session: AsyncSession, tenant: Tenant, token: str) -> PortalSignInLink:
    link = await session.scalar(
        select(PortalSignInLink).where(
            PortalSignInLink.tenant_id == tenant.id,
            PortalSignInLink.token_digest == digest_token(token),
        )
    )
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        raise LinkNotUsable()
    return link


async def consume_link(session: AsyncSession, tenant: Tenant, token: str) -> User:
    """Use the link once: the contact's portal user (made on first use) is signed in."""
    link = await usable_link(session, tenant, token)
    link.used_at = utcnow()
    contact = await session.get(Contact, (tenant.id, link.contact_id))
    if contact is None:
        raise LinkNotUsable()
    user = await _portal_user(session, contact, link.email)
    await session.flush()
    record_change(
        session,
        subject_type="portal_sign_in_link",
        action="used",
        tenant_id=tenant.id,
        subject_id=link.id,
        snapshot={"contact_id": str(contact.id), "user_id": str(user.id)},
    )
    return user


async def _portal_user(session: AsyncSession, contact: Contact, email: str) -> User:
    """The contact's login; proving the address by the link makes one when there is none."""
    if contact.user_id is not None:
        user = await session.get(User, contact.user_id)
        if user is None or not user.is_active:
            raise LinkNotUsable("this customer account is deactivated")
        return user
    user = await user_by_email(session, email) or await create_user(
        session, email=email, display_name=contact.name
    )
    if not user.is_active:
        raise LinkNotUsable("this customer account is deactivated")
    contact.user_id = user.id
    return user
