"""Every identity query; tenant-owned ones start from `scoped`."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Executable, Uuid, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.repository import scoped
from frontdesk.identity.models import (
    ApiToken,
    Contact,
    ContactEmail,
    GroupMember,
    Membership,
    OrganizationDomain,
    User,
    WebSession,
)
from frontdesk.tenancy.models import Tenant


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalize_email(email)))


async def membership_of(session: AsyncSession, tenant_id: UUID, user_id: UUID) -> Membership | None:
    return await session.scalar(scoped(Membership, tenant_id).where(Membership.user_id == user_id))


async def contact_of_user(session: AsyncSession, tenant_id: UUID, user_id: UUID) -> Contact | None:
    return await session.scalar(scoped(Contact, tenant_id).where(Contact.user_id == user_id))


async def count_owners(session: AsyncSession, tenant_id: UUID) -> int:
    statement = (
        select(func.count())
        .select_from(Membership)
        .where(Membership.tenant_id == tenant_id, Membership.role == "owner")
    )
    return int(await session.scalar(statement) or 0)


async def contact_emails(
    session: AsyncSession, tenant_id: UUID, contact_ids: Sequence[UUID]
) -> dict[UUID, list[str]]:
    """Email addresses per contact, primary first, in one query."""
    if not contact_ids:
        return {}
    rows = await session.execute(
        select(ContactEmail.contact_id, ContactEmail.email)
        .where(ContactEmail.tenant_id == tenant_id, ContactEmail.contact_id.in_(contact_ids))
        .order_by(ContactEmail.contact_id, ContactEmail.is_primary.desc(), ContactEmail.email)
    )
    emails: dict[UUID, list[str]] = {contact_id: [] for contact_id in contact_ids}
    for contact_id, email in rows:
        emails[contact_id].append(email)
    return emails


async def contact_id_by_email(session: AsyncSession, tenant_id: UUID, email: str) -> UUID | None:
    return await session.scalar(
        select(ContactEmail.contact_id).where(
            ContactEmail.tenant_id == tenant_id, ContactEmail.email == normalize_email(email)
        )
    )


async def organization_domains(
    session: AsyncSession, tenant_id: UUID, organization_ids: Sequence[UUID]
) -> dict[UUID, list[str]]:
    if not organization_ids:
        return {}
    rows = await session.execute(
        select(OrganizationDomain.organization_id, OrganizationDomain.domain)
        .where(
            OrganizationDomain.tenant_id == tenant_id,
            OrganizationDomain.organization_id.in_(organization_ids),
        )
        .order_by(OrganizationDomain.domain)
    )
    domains: dict[UUID, list[str]] = {organization_id: [] for organization_id in organization_ids}
    for organization_id, domain in rows:
        domains[organization_id].append(domain)
    return domains


async def organization_for_domain(
    session: AsyncSession, tenant_id: UUID, domain: str
) -> UUID | None:
    return await session.scalar(
        select(OrganizationDomain.organization_id).where(
            OrganizationDomain.tenant_id == tenant_id, OrganizationDomain.domain == domain.lower()
        )
    )


async def users_by_id(session: AsyncSession, user_ids: Sequence[UUID]) -> dict[UUID, User]:
    if not user_ids:
        return {}
    users = await session.scalars(select(User).where(User.id.in_(set(user_ids))))
    return {user.id: user for user in users}


async def group_members(
    session: AsyncSession, tenant_id: UUID, group_id: UUID
) -> list[GroupMember]:
    result = await session.scalars(
        scoped(GroupMember, tenant_id)
        .where(GroupMember.group_id == group_id)
        .order_by(GroupMember.id)
    )
    return list(result.all())


async def live_session(session: AsyncSession, token_digest: str) -> WebSession | None:
    return await session.scalar(select(WebSession).where(WebSession.token_digest == token_digest))


async def api_token_by_digest(session: AsyncSession, token_digest: str) -> ApiToken | None:
    return await session.scalar(select(ApiToken).where(ApiToken.token_digest == token_digest))


async def api_token_and_user(
    session: AsyncSession, token_digest: str
) -> tuple[ApiToken, User] | None:
    """The token and its user in one round trip (every token-authenticated request asks)."""
    statement = _token_statement(None)
    row = (await session.execute(statement, {"token_digest": token_digest})).first()
    return None if row is None else (row[0], row[1])


TenantAndMembership = tuple[Tenant, Membership | None]


async def api_token_user_and_tenant(
    session: AsyncSession, token_digest: str, tenant_ref: str
) -> tuple[ApiToken, User, TenantAndMembership | None] | None:
    """The token, its user, and the tenant `tenant_ref` names with the user's membership in it:
    the whole of a tenant route's authentication in one round trip."""
    try:
        named: dict[str, Any] = {"tenant_id": UUID(tenant_ref)}
    except ValueError:
        named = {"tenant_slug": tenant_ref.lower()}
    statement = _token_statement(next(iter(named)))
    row = (await session.execute(statement, {"token_digest": token_digest, **named})).first()
    if row is None:
        return None
    api_token, user, tenant, membership = row
    return api_token, user, None if tenant is None else (tenant, membership)


@cache
def _token_statement(tenant_by: str | None) -> Executable:
    """Built once (bound per request): every authenticated request runs one of these, and
    building an ORM select of four entities costs more CPU than running it."""
    statement = (
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_digest == bindparam("token_digest"))
    )
    if tenant_by is None:
        return statement
    tenant = (
        Tenant.id == bindparam("tenant_id", type_=Uuid())
        if tenant_by == "tenant_id"
        else Tenant.slug == bindparam("tenant_slug")
    )
    return (
        statement.add_columns(Tenant, Membership)
        .outerjoin(Tenant, tenant)
        .outerjoin(
            Membership, and_(Membership.tenant_id == Tenant.id, Membership.user_id == User.id)
        )
    )


def _tenant_named(ref: str) -> ColumnElement[bool]:
    try:
        return Tenant.id == UUID(ref)
    except ValueError:
        return Tenant.slug == ref.lower()


async def tenant_and_membership(
    session: AsyncSession, ref: str, user_id: UUID
) -> TenantAndMembership | None:
    """A tenant by id or slug with the user's membership in it, in one round trip."""
    row = (
        await session.execute(
            select(Tenant, Membership)
            .outerjoin(
                Membership, and_(Membership.tenant_id == Tenant.id, Membership.user_id == user_id)
            )
            .where(_tenant_named(ref))
        )
    ).first()
    return None if row is None else (row[0], row[1])
