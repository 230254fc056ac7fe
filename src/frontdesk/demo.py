"""Demo data for the embedded default: two tenants with staff, groups, organizations, contacts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.identity.models import GroupMemberRole, User
from frontdesk.identity.policy import Role
from frontdesk.identity.repository import user_by_email
from frontdesk.identity.schemas import (
    ContactCreate,
    GroupCreate,
    GroupMemberCreate,
    OrganizationCreate,
)
from frontdesk.identity.service import contacts, users
from frontdesk.identity.service.members import add_member_as
from frontdesk.tenancy.repository import tenant_by_ref
from frontdesk.tenancy.schemas import TenantCreate
from frontdesk.tenancy.service import create_tenant

DEMO_PASSWORD = "frontdesk-demo"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    where: str


DEMO_LOGINS = [
    DemoLogin("platform@frontdesk.test", "platform admin", "/api/v1/admin/tenants"),
    DemoLogin("owner@acme.test", "owner of acme", "/api/v1/tenants/acme"),
    DemoLogin("alice@acme.test", "agent in acme (Support lead)", "/api/v1/tenants/acme"),
    DemoLogin("bob@acme.test", "agent in acme (Billing)", "/api/v1/tenants/acme"),
    DemoLogin("lee@acme.test", "light agent in acme", "/api/v1/tenants/acme"),
    DemoLogin("customer@example.com", "customer (contact) of acme", "/api/v1/me"),
    DemoLogin("owner@globex.test", "owner of globex", "/api/v1/tenants/globex"),
]


async def _user(session: AsyncSession, email: str, name: str, *, admin: bool = False) -> User:
    existing = await user_by_email(session, email)
    if existing is not None:
        return existing
    return await users.create_user(
        session, email=email, display_name=name, password=DEMO_PASSWORD, is_platform_admin=admin
    )


async def load_demo(session: AsyncSession) -> bool:
    """Load the demo once; returns False when it is already there."""
    if await tenant_by_ref(session, "acme") is not None:
        return False
    await _user(session, "platform@frontdesk.test", "Platform Admin", admin=True)
    await _load_acme(session)
    globex = await create_tenant(session, TenantCreate(slug="globex", name="Globex Corporation"))
    await add_member_as(
        session, globex.id, await _user(session, "owner@globex.test", "Gina Globex"), Role.OWNER
    )
    return True


async def _load_acme(session: AsyncSession) -> None:
    from frontdesk.identity.context import Principal, TenantContext
    from frontdesk.identity.service import groups, organizations

    acme = await create_tenant(
        session, TenantCreate(slug="acme", name="Acme Inc.", ticket_prefix="ACME")
    )
    owner = await _user(session, "owner@acme.test", "Olivia Owner")
    people = {
        "alice": (await _user(session, "alice@acme.test", "Alice Agent"), Role.AGENT),
        "bob": (await _user(session, "bob@acme.test", "Bob Billing"), Role.AGENT),
        "lee": (await _user(session, "lee@acme.test", "Lee Light"), Role.LIGHT_AGENT),
    }
    await add_member_as(session, acme.id, owner, Role.OWNER)
    for user, role in people.values():
        await add_member_as(session, acme.id, user, role)
    ctx = TenantContext(acme, Principal(owner, "session"), Role.OWNER, session)
    support = await groups.create_group(
        ctx,
        GroupCreate(name="Support", description="First line", assignment_strategy="round_robin"),
    )
    billing = await groups.create_group(ctx, GroupCreate(name="Billing", description="Invoices"))
    alice, bob, lee = (people[name][0] for name in ("alice", "bob", "lee"))
    await groups.add_group_member(
        ctx, support, GroupMemberCreate(user_id=alice.id, role=GroupMemberRole.LEAD)
    )
    await groups.add_group_member(ctx, support, GroupMemberCreate(user_id=lee.id))
    await groups.add_group_member(ctx, billing, GroupMemberCreate(user_id=bob.id))
    await organizations.create_organization(
        ctx, OrganizationCreate(name="Example Corp", domains=["example.com"])
    )
    await contacts.create_contact(
        session,
        acme.id,
        ContactCreate(
            name="Casey Customer", emails=["customer@example.com"], password=DEMO_PASSWORD
        ),
    )
    await contacts.create_contact(
        session, acme.id, ContactCreate(name="Dana Doe", emails=["dana@example.org"])
    )
