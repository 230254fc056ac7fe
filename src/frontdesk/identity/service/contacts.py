"""Contacts: the customers of a tenant, reachable by one or more email addresses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from frontdesk.core.audit import Change, delta_between, record_change, record_many
from frontdesk.core.clock import utcnow
from frontdesk.core.db import new_row_stamps
from frontdesk.core.errors import AlreadyExists, NotFound
from frontdesk.core.ids import new_id
from frontdesk.core.repository import get_scoped, scoped
from frontdesk.identity.errors import EmailTaken
from frontdesk.identity.models import Contact, ContactEmail, Organization, OrganizationDomain
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


@dataclass(frozen=True)
class KnownContact:
    id: UUID
    organization_id: UUID | None


async def contacts_for_senders(
    session: AsyncSession, tenant_id: UUID, wanted: Sequence[ContactCreate]
) -> dict[str, KnownContact]:
    """The contact of each address (`emails[0]` of each entry), creating the unknown ones like
    `create_contact` does (organization by domain, audited, `contact.created`), in a few
    statements for the whole set: one read of the known addresses, one of the domains, one
    INSERT per table. Portal logins are not made here: an entry with a password is refused."""
    if any(data.password is not None or data.organization_id is not None for data in wanted):
        raise ValueError("contacts_for_senders creates plain contacts only")
    by_email: dict[str, ContactCreate] = {}
    for data in wanted:
        by_email.setdefault(normalize_email(data.emails[0]), data)
    known = await _known_contacts(session, tenant_id, list(by_email))
    missing = [email for email in by_email if email not in known]
    if not missing:
        return known
    organizations = await _organizations_by_domain(
        session, tenant_id, {email.rsplit("@", 1)[1] for email in missing}
    )
    stamps = new_row_stamps(session, utcnow())
    created = [
        _new_contact(tenant_id, by_email[email], organizations, email, stamps) for email in missing
    ]
    # Plain rows, not ORM objects: nothing reads these contacts back in this session, and
    # building and flushing objects cost more than the statements.
    await session.execute(insert(_table(Contact)), created)
    await session.execute(
        insert(_table(ContactEmail)),
        [
            _row(tenant_id, stamps, contact_id=row["id"], email=email, is_primary=True)
            for email, row in zip(missing, created, strict=True)
        ],
    )
    await record_many(
        session,
        [
            Change(
                subject_type="contact",
                action="created",
                tenant_id=tenant_id,
                subject_id=row["id"],
                snapshot=_created_public(row, email).model_dump(mode="json"),
            )
            for email, row in zip(missing, created, strict=True)
        ],
    )
    for email, row in zip(missing, created, strict=True):
        known[email] = KnownContact(row["id"], row["organization_id"])
    return known


def _table(model: type[Contact] | type[ContactEmail]) -> Table:
    return cast(Table, model.__table__)


def _row(tenant_id: UUID, stamps: dict[str, Any], **values: Any) -> dict[str, Any]:
    """A new row of a tenant table with what `Base` and the flush would set on it."""
    return {"tenant_id": tenant_id, "id": new_id(), **stamps, **values}


def _new_contact(
    tenant_id: UUID,
    data: ContactCreate,
    organizations: dict[str, UUID],
    email: str,
    stamps: dict[str, Any],
) -> dict[str, Any]:
    return _row(
        tenant_id,
        stamps,
        name=data.name,
        phone=data.phone,
        organization_id=organizations.get(email.rsplit("@", 1)[1].lower()),
        user_id=None,
        notes=data.notes,
        version=1,
    )


def _created_public(row: dict[str, Any], email: str) -> ContactPublic:
    return ContactPublic(
        id=row["id"],
        name=row["name"],
        emails=[email],
        phone=row["phone"],
        organization_id=row["organization_id"],
        notes=row["notes"],
        has_portal_login=False,
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _known_contacts(
    session: AsyncSession, tenant_id: UUID, emails: list[str]
) -> dict[str, KnownContact]:
    rows = await session.execute(
        select(ContactEmail.email, Contact.id, Contact.organization_id)
        .join(
            Contact,
            (Contact.tenant_id == ContactEmail.tenant_id) & (Contact.id == ContactEmail.contact_id),
        )
        .where(ContactEmail.tenant_id == tenant_id, ContactEmail.email.in_(emails))
    )
    return {email: KnownContact(contact_id, org_id) for email, contact_id, org_id in rows.all()}


async def _organizations_by_domain(
    session: AsyncSession, tenant_id: UUID, domains: set[str]
) -> dict[str, UUID]:
    rows = await session.execute(
        select(OrganizationDomain.domain, OrganizationDomain.organization_id).where(
            OrganizationDomain.tenant_id == tenant_id,
            OrganizationDomain.domain.in_({domain.lower() for domain in domains}),
        )
    )
    return {row.domain: row.organization_id for row in rows}
