"""Contacts: the customers of a tenant, reachable by one or more email addresses."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from frontdesk.core.audit import delta_between, record_change
from frontdesk.core.errors import AlreadyExists, NotFound
from frontdesk.core.repository import get_scoped, scoped
from frontdesk.identity.errors import EmailTaken
from frontdesk.identity.models import Contact, ContactEmail, Organization
from frontdesk.identity.repository import (
    contact_emails,
    contact_id_by_email,
    normalize_email,
    organization_for_domain,
    user_by_email,
)
from frontdesk.identity.schemas import ContactCreate, ContactPublic, ContactUpdate
from frontdesk.identity.service.users import create_user


def contact_public(contact: Contact, emails: list[str]) -> ContactPublic:
    return ContactPublic(
        id=contact.id,
        name=contact.name,
        emails=emails,
        phone=contact.phone,
        organization_id=contact.organization_id,
        notes=contact.notes,
        has_portal_login=contact.user_id is not None,
        version=contact.version,
        created_at=contact.created_at,
        updated_at=contact.updated_at,
    )


async def publics(
    session: AsyncSession, tenant_id: UUID, contacts: Sequence[Contact]
) -> list[ContactPublic]:
    emails = await contact_emails(session, tenant_id, [c.id for c in contacts])
    return [contact_public(c, emails[c.id]) for c in contacts]


def _unique_emails(emails: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(normalize_email(email) for email in emails))


async def _set_emails(
    session: AsyncSession, tenant_id: UUID, contact_id: UUID, emails: list[str]
) -> None:
    """Replace the contact's addresses; the first is primary. An address is one contact's only."""
    taken = await session.scalar(
        scoped(ContactEmail, tenant_id).where(
            ContactEmail.email.in_(emails), ContactEmail.contact_id != contact_id
        )
    )
    if taken is not None:
        raise EmailTaken(f"{taken.email} belongs to another contact", email=taken.email)
    await session.execute(
        delete(ContactEmail).where(
            ContactEmail.tenant_id == tenant_id, ContactEmail.contact_id == contact_id
        )
    )
    await session.flush()
    session.add_all(
        ContactEmail(tenant_id=tenant_id, contact_id=contact_id, email=email, is_primary=index == 0)
        for index, email in enumerate(emails)
    )
    await session.flush()


async def _check_organization(
    session: AsyncSession, tenant_id: UUID, organization_id: UUID | None
) -> None:
    if organization_id is None:
        return
    try:
        await get_scoped(session, Organization, tenant_id, organization_id, what="organization")
    except NotFound as exc:
        raise NotFound("organization not found", field="organization_id") from exc


async def create_contact(
    session: AsyncSession, tenant_id: UUID, data: ContactCreate
) -> ContactPublic:
    """Create a contact; its organization comes from its email domain unless given.

    With a password, the contact gets a portal login (a new user account for its first address).
    """
    emails = _unique_emails(data.emails)
    await _check_organization(session, tenant_id, data.organization_id)
    organization_id = data.organization_id or await organization_for_domain(
        session, tenant_id, emails[0].rsplit("@", 1)[1]
    )
    user_id = None
    if data.password is not None:
        if await user_by_email(session, emails[0]) is not None:
            raise AlreadyExists(f"a user with email {emails[0]} already exists", field="emails")
        user = await create_user(
            session, email=emails[0], display_name=data.name, password=data.password
        )
        user_id = user.id
    contact = Contact(
        tenant_id=tenant_id,
        name=data.name,
        phone=data.phone,
        organization_id=organization_id,
        notes=data.notes,
        user_id=user_id,
    )
    session.add(contact)
    await session.flush()
    await _set_emails(session, tenant_id, contact.id, emails)
    public = contact_public(contact, emails)
    record_change(
        session,
        subject_type="contact",
        action="created",
        tenant_id=tenant_id,
        subject_id=contact.id,
        snapshot=public.model_dump(mode="json"),
    )
    return public


async def contact_for_email(
    session: AsyncSession, tenant_id: UUID, email: str, name: str | None = None
) -> UUID:
    """The contact with this address, created (named `name`, else the address's local part)
    when there is none. Two requests naming the same new address at once (two tickets from one
    new customer) both get the one contact: the one that loses the race uses the winner's."""
    found = await contact_id_by_email(session, tenant_id, email)
    if found is not None:
        return found
    email = normalize_email(email)
    data = ContactCreate(name=name or email.split("@", 1)[0], emails=[email])
    try:
        async with session.begin_nested():
            return (await create_contact(session, tenant_id, data)).id
    except (IntegrityError, EmailTaken):
        found = await contact_id_by_email(session, tenant_id, email)
        if found is None:
            raise
        return found


async def get_contact(session: AsyncSession, tenant_id: UUID, contact_id: UUID) -> Contact:
    return await get_scoped(session, Contact, tenant_id, contact_id, what="contact")


async def update_contact(
    session: AsyncSession, tenant_id: UUID, contact: Contact, data: ContactUpdate
) -> ContactPublic:
    (before,) = await publics(session, tenant_id, [contact])
    await _check_organization(session, tenant_id, data.organization_id)
    emails = _unique_emails(data.emails)
    contact.name = data.name
    contact.phone = data.phone
    contact.organization_id = data.organization_id
    contact.notes = data.notes
    if emails != before.emails and not session.is_modified(contact):
        flag_modified(contact, "name")  # addresses live in their own table; bump the version
    await session.flush()
    if emails != before.emails:
        await _set_emails(session, tenant_id, contact.id, emails)
    (after,) = await publics(session, tenant_id, [contact])
    delta = delta_between(before.model_dump(mode="json"), after.model_dump(mode="json"))
    for bookkeeping in ("version", "updated_at"):
        delta.pop(bookkeeping, None)
    if delta:
        record_change(
            session,
            subject_type="contact",
            action="updated",
            tenant_id=tenant_id,
            subject_id=contact.id,
            snapshot=after.model_dump(mode="json"),
            delta=delta,
        )
    return after


async def delete_contact(session: AsyncSession, tenant_id: UUID, contact: Contact) -> None:
    """Delete a contact and its addresses; a portal user account stays (it is global)."""
    (snapshot,) = await publics(session, tenant_id, [contact])
    await session.delete(contact)
    await session.flush()
    record_change(
        session,
        subject_type="contact",
        action="deleted",
        tenant_id=tenant_id,
        subject_id=contact.id,
        snapshot=snapshot.model_dump(mode="json"),
    )
