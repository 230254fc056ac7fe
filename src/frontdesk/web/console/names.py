"""Display names for the ids on a page, each kind fetched in one query."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.repository import scoped
from frontdesk.identity.models import Contact, ContactEmail, Group, Membership, User


def _ids(values: Iterable[UUID | None]) -> list[UUID]:
    return sorted({value for value in values if value is not None})


async def contact_names(
    session: AsyncSession, tenant_id: UUID, ids: Iterable[UUID | None]
) -> dict[UUID, str]:
    wanted = _ids(ids)
    if not wanted:
        return {}
    rows = await session.execute(
        scoped(Contact, tenant_id)
        .where(Contact.id.in_(wanted))
        .with_only_columns(Contact.id, Contact.name)
    )
    return dict(rows.all())


async def contact_primary_emails(
    session: AsyncSession, tenant_id: UUID, ids: Iterable[UUID | None]
) -> dict[UUID, str]:
    wanted = _ids(ids)
    if not wanted:
        return {}
    rows = await session.execute(
        scoped(ContactEmail, tenant_id)
        .where(ContactEmail.contact_id.in_(wanted))
        .order_by(ContactEmail.is_primary.desc(), ContactEmail.email)
        .with_only_columns(ContactEmail.contact_id, ContactEmail.email)
    )
    emails: dict[UUID, str] = {}
    for contact_id, email in rows.all():
        emails.setdefault(contact_id, email)
    return emails


async def user_names(session: AsyncSession, ids: Iterable[UUID | None]) -> dict[UUID, str]:
    wanted = _ids(ids)
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return dict(rows.all())


async def staff_of_tenant(session: AsyncSession, tenant_id: UUID) -> list[tuple[UUID, str, str]]:
    """(user id, name, role) of every active member, by name: who a ticket can go to."""
    rows = await session.execute(
        scoped(Membership, tenant_id)
        .join(User, User.id == Membership.user_id)
        .where(User.is_active.is_(True))
        .order_by(User.display_name)
        .with_only_columns(User.id, User.display_name, Membership.role)
    )
    return [(user_id, name, role) for user_id, name, role in rows.all()]


def group_names(groups: Iterable[Group]) -> dict[UUID, str]:
    return {group.id: group.name for group in groups}
