"""Test data made through the services (never raw inserts), with bearer tokens per principal."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.core.db import transaction
from frontdesk.identity.policy import Role
from frontdesk.identity.schemas import ContactCreate
from frontdesk.identity.service.contacts import create_contact
from frontdesk.identity.service.members import add_member_as
from frontdesk.identity.service.tokens import create_token
from frontdesk.identity.service.users import create_user
from frontdesk.tenancy.schemas import TenantCreate
from frontdesk.tenancy.service import create_tenant

PASSWORD = "correct-horse-battery"
STAFF_ROLES = [Role.OWNER, Role.ADMIN, Role.AGENT, Role.LIGHT_AGENT]


@dataclass
class Person:
    email: str
    user_id: UUID
    token: str
    role: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class TenantFixture:
    id: UUID
    slug: str
    people: dict[str, Person] = field(default_factory=dict)
    contact_id: UUID | None = None

    def __getitem__(self, role: str) -> Person:
        return self.people[role]


@dataclass
class World:
    a: TenantFixture
    b: TenantFixture
    platform_admin: Person
    outsider: Person


async def _person(session: AsyncSession, email: str, role: str, *, admin: bool = False) -> Person:
    user = await create_user(session, email=email, password=PASSWORD, is_platform_admin=admin)
    _, secret = await create_token(
        session, user_id=user.id, name="tests", tenant_id=None, expires_at=None
    )
    return Person(email=email, user_id=user.id, token=secret, role=role)


async def make_tenant(session: AsyncSession, slug: str) -> TenantFixture:
    tenant = await create_tenant(session, TenantCreate(slug=slug, name=f"{slug.title()} Ltd"))
    fixture = TenantFixture(id=tenant.id, slug=slug)
    for role in STAFF_ROLES:
        person = await _person(session, f"{role.value}@{slug}.test", role.value)
        await add_member_as(session, tenant.id, await _user(session, person.user_id), role)
        fixture.people[role.value] = person
    contact_user = await _person(session, f"customer@{slug}.test", "contact")
    contact = await create_contact(
        session, tenant.id, ContactCreate(name="Carla Customer", emails=[f"carla@{slug}.example"])
    )
    await _link_contact(session, tenant.id, contact.id, contact_user.user_id)
    fixture.people["contact"] = contact_user
    fixture.contact_id = contact.id
    return fixture


async def _user(session: AsyncSession, user_id: UUID):  # type: ignore[no-untyped-def]
    from frontdesk.identity.models import User

    return await session.get(User, user_id)


async def _link_contact(
    session: AsyncSession, tenant_id: UUID, contact_id: UUID, user_id: UUID
) -> None:
    from frontdesk.identity.models import Contact

    contact = await session.get(Contact, (tenant_id, contact_id))
    assert contact is not None
    contact.user_id = user_id
    await session.flush()


async def build_world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    async with transaction(sessionmaker) as session:
        a = await make_tenant(session, "acme")
        # A slug that starts with A's, to catch prefix matching of tenant references.
        b = await make_tenant(session, "acmeco")
        platform_admin = await _person(session, "root@platform.test", "platform_admin", admin=True)
        outsider = await _person(session, "nobody@nowhere.test", "outsider")
    return World(a=a, b=b, platform_admin=platform_admin, outsider=outsider)
