"""The demo's people and structure: staff, groups, organizations, contacts and categories."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cache
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.db import set_actor
from frontdesk.core.security import hash_password
from frontdesk.identity.context import Principal, TenantContext
from frontdesk.identity.models import AssignmentStrategy, Group, GroupMemberRole, User
from frontdesk.identity.policy import Role
from frontdesk.identity.repository import user_by_email
from frontdesk.identity.schemas import (
    ContactCreate,
    GroupCreate,
    GroupMemberCreate,
    OrganizationCreate,
)
from frontdesk.identity.service import contacts, groups, organizations, users
from frontdesk.identity.service.members import add_member_as
from frontdesk.tenancy.models import Tenant
from frontdesk.tenancy.schemas import TenantCreate
from frontdesk.tenancy.service import create_tenant
from frontdesk.tickets.schemas import CategoryCreate
from frontdesk.tickets.service.categories import create_category

DEMO_PASSWORD = "frontdesk-demo"

#: The actor recorded for what a customer without a portal login does (their email, in effect).
EMAIL_ACTOR = "system:email"


@dataclass(frozen=True)
class StaffSpec:
    login: str
    name: str
    role: Role
    #: group name -> "lead" or "agent"
    groups: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupSpec:
    name: str
    description: str
    strategy: AssignmentStrategy


@dataclass(frozen=True)
class OrgSpec:
    name: str
    domains: tuple[str, ...]
    #: How the addresses are made: "first.last", "first" or "flast".
    style: str
    people: tuple[str, ...]
    notes: str | None = None
    vip: bool = False


@dataclass(frozen=True)
class TenantSpec:
    slug: str
    name: str
    #: How customers and agents call the company in their messages.
    company: str
    prefix: str | None
    owner: tuple[str, str]
    staff: tuple[StaffSpec, ...]
    groups: tuple[GroupSpec, ...]
    organizations: tuple[OrgSpec, ...]
    #: (name, email) of contacts outside any organization.
    loners: tuple[tuple[str, str], ...]
    #: (name, email) of contacts with a portal login (the demo password).
    portal: tuple[tuple[str, str], ...]
    categories: dict[str, tuple[str, ...]]
    #: Every topic's group is routed to one of this tenant's groups (None: keep its name).
    route_all_to: str | None = None


SUPPORT, BILLING, TECHNICAL, SALES = "Support", "Billing", "Technical", "Sales"
LEAD, AGENT = "lead", "agent"

ACME = TenantSpec(
    slug="acme",
    name="Acme Inc.",
    company="Acme",
    prefix="ACME",
    owner=("owner@acme.test", "Olivia Owner"),
    staff=(
        StaffSpec("alice@acme.test", "Alice Agent", Role.AGENT, {SUPPORT: LEAD}),
        StaffSpec("bob@acme.test", "Bob Billing", Role.AGENT, {BILLING: LEAD}),
        StaffSpec("lee@acme.test", "Lee Light", Role.LIGHT_AGENT, {SUPPORT: AGENT}),
        StaffSpec("priya@acme.test", "Priya Natarajan", Role.AGENT, {SUPPORT: AGENT}),
        StaffSpec(
            "marcus@acme.test", "Marcus Webb", Role.AGENT, {SUPPORT: AGENT, TECHNICAL: AGENT}
        ),
        StaffSpec("sofia@acme.test", "Sofia Alvarez", Role.AGENT, {BILLING: AGENT}),
        StaffSpec("tomas@acme.test", "Tomás Novak", Role.AGENT, {TECHNICAL: LEAD}),
        StaffSpec("hannah@acme.test", "Hannah Berg", Role.AGENT, {TECHNICAL: AGENT}),
        StaffSpec(
            "daniel@acme.test", "Daniel Osei", Role.AGENT, {TECHNICAL: AGENT, SUPPORT: AGENT}
        ),
        StaffSpec("grace@acme.test", "Grace Lindqvist", Role.AGENT, {SALES: LEAD, BILLING: AGENT}),
        StaffSpec("ravi@acme.test", "Ravi Shah", Role.AGENT, {SALES: AGENT, SUPPORT: AGENT}),
    ),
    groups=(
        GroupSpec(SUPPORT, "First line: sign-in, how-to, product", AssignmentStrategy.ROUND_ROBIN),
        GroupSpec(BILLING, "Invoices, payments, refunds and plans", AssignmentStrategy.QUEUE_ONLY),
        GroupSpec(
            TECHNICAL, "API, integrations, performance and bugs", AssignmentStrategy.LOAD_BALANCED
        ),
        GroupSpec(SALES, "Pricing, demos and contracts", AssignmentStrategy.QUEUE_ONLY),
    ),
    organizations=(
        OrgSpec(
            "Example Corp",
            ("example.com",),
            "first.last",
            (
                "Jordan Ellis",
                "Mei Tanaka",
                "Samuel Okoro",
                "Laura Fischer",
                "Ahmed Haddad",
                "Nina Petrova",
            ),
            notes="Team plan since 2021; three offices.",
        ),
        OrgSpec(
            "Northwind Clinics",
            ("northwind.example",),
            "first.last",
            (
                "Olga Ivanova",
                "Peter Lindgren",
                "Fatima Rahman",
                "George Whitaker",
                "Isabel Moreno",
                "Kwame Mensah",
                "Rachel Stein",
                "Tom Gallagher",
            ),
            notes="Enterprise account: 14 clinics on an annual contract.",
            vip=True,
        ),
        OrgSpec(
            "Bluebird Dental Group",
            ("bluebird-dental.example", "bluebirddental.example"),
            "first",
            (
                "Chloe Martin",
                "Diego Ramos",
                "Emma Hughes",
                "Farid Nazari",
                "Hana Sato",
                "Liam O'Connor",
                "Priscilla Adeyemi",
            ),
        ),
        OrgSpec(
            "Harbor & Pine Architects",
            ("harborpine.example",),
            "flast",
            ("Ben Carter", "Julia Brandt", "Oscar Lund", "Sara Conti", "Victor Huang"),
        ),
        OrgSpec(
            "Kestrel Fitness Studios",
            ("kestrelfit.example",),
            "first.last",
            (
                "Amelia Brooks",
                "Jonah Fletcher",
                "Keiko Mori",
                "Lucas Silva",
                "Marta Kowalska",
                "Noah Bennett",
                "Zoë Laurent",
            ),
            notes="Business plan, six studios. Renewal in the autumn.",
        ),
        OrgSpec(
            "Maple Street Tutoring",
            ("maplestreet.example",),
            "first",
            ("Ingrid Holm", "Patrick Doyle", "Rosa Jimenez", "Walter Price"),
        ),
        OrgSpec(
            "Orbit Legal LLP",
            ("orbitlegal.example",),
            "first.last",
            ("Alan Mercer", "Beatrice Vogel", "Carlos Mendes", "Diane Foster", "Elliot Park"),
        ),
    ),
    loners=(
        ("Dana Doe", "dana@example.org"),
        ("Marco Bellini", "marco.bellini@example.net"),
        ("Sunita Rao", "sunita.rao@example.org"),
        ("Hugo Lambert", "hugo@example.net"),
        ("Yara Khalil", "yara.k@example.net"),
    ),
    portal=(("Casey Customer", "customer@example.com"),),
    categories={
        "Billing": ("Payments", "Invoices", "Refunds", "Plans and seats"),
        "Account": ("Sign-in and security", "Users and permissions", "Data import"),
        "Product": ("Booking page", "Notifications", "Reports", "Mobile app", "Feedback"),
        "Technical": (
            "API and webhooks",
            "Performance",
            "Single sign-on",
            "Data and privacy",
            "Bugs",
        ),
        "Sales": ("Pricing", "Demos", "Contracts"),
    },
)

GLOBEX = TenantSpec(
    slug="globex",
    name="Globex Corporation",
    company="Globex",
    prefix=None,
    owner=("owner@globex.test", "Gina Globex"),
    staff=(),
    groups=(GroupSpec("Helpdesk", "Every request", AssignmentStrategy.ROUND_ROBIN),),
    organizations=(
        OrgSpec(
            "Pemberton Freight",
            ("pemberton.example",),
            "first.last",
            ("Harriet Cole", "Ivan Dimitrov", "Nora Quinn"),
        ),
    ),
    loners=(("Felix Wagner", "felix.wagner@example.net"),),
    portal=(),
    categories={},
    route_all_to="Helpdesk",
)


@dataclass
class Staffer:
    user: User
    role: Role

    @property
    def first(self) -> str:
        return self.user.display_name.split()[0]


@dataclass
class Customer:
    id: UUID
    name: str
    email: str
    organization: str | None
    org_slug: str
    vip: bool
    user: User | None
    colleagues: list[str] = field(default_factory=list)

    @property
    def first(self) -> str:
        return self.name.split()[0]


@dataclass
class Cast:
    """One demo tenant with everyone in it, ready to act."""

    spec: TenantSpec
    tenant: Tenant
    session: AsyncSession
    staff: list[Staffer]
    groups: dict[str, Group]
    #: group name -> the members who take tickets (in a stable order), its lead first
    takers: dict[str, list[Staffer]]
    leads: dict[str, Staffer]
    light: dict[str, list[Staffer]]
    customers: list[Customer]
    categories: dict[tuple[str, str], UUID]

    def group_for(self, topic_group: str) -> str:
        return self.spec.route_all_to or topic_group

    def as_staff(self, staffer: Staffer) -> TenantContext:
        set_actor(self.session, f"user:{staffer.user.id}")
        return TenantContext(
            self.tenant, Principal(staffer.user, "session"), staffer.role, self.session
        )

    def as_customer(self, customer: Customer) -> TenantContext:
        """The contact acting: through their portal login, else by email (a stand-in user)."""
        if customer.user is not None:
            user = customer.user
            set_actor(self.session, f"user:{user.id}")
        else:
            # Never added to the session: it only carries the contact's name into the context.
            user = User(id=customer.id, email=customer.email, display_name=customer.name)
            set_actor(self.session, EMAIL_ACTOR)
        return TenantContext(
            self.tenant, Principal(user, "session"), Role.CONTACT, self.session, customer.id
        )

    def as_intake(self) -> TenantContext:
        """The mail intake filing a ticket for a customer (staff rights, the email actor)."""
        owner = self.staff[0]
        set_actor(self.session, EMAIL_ACTOR)
        return TenantContext(
            self.tenant, Principal(owner.user, "session"), owner.role, self.session
        )

    def by_id(self, user_id: UUID | None) -> Staffer | None:
        return next((s for s in self.staff if s.user.id == user_id), None)


async def demo_user(session: AsyncSession, email: str, name: str, *, admin: bool = False) -> User:
    existing = await user_by_email(session, email)
    if existing is not None:
        return existing
    user = await users.create_user(session, email=email, display_name=name, is_platform_admin=admin)
    user.password_hash = _demo_password_hash()
    return user


@cache
def _demo_password_hash() -> str:
    """One argon2 hash (~0.3 s at production cost) for every demo login: the password is public."""
    return hash_password(DEMO_PASSWORD)


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum() or c == " ")


def address(name: str, style: str, domain: str) -> str:
    first, last = _ascii(name).split(" ", 1)
    last = last.replace(" ", "")
    local = {"first.last": f"{first}.{last}", "first": first, "flast": f"{first[0]}{last}"}
    return f"{local[style]}@{domain}"


async def build_cast(session: AsyncSession, spec: TenantSpec) -> Cast:
    """Create the tenant, its staff and groups, organizations, contacts and categories."""
    tenant = await create_tenant(
        session, TenantCreate(slug=spec.slug, name=spec.name, ticket_prefix=spec.prefix)
    )
    owner = Staffer(await demo_user(session, *spec.owner), Role.OWNER)
    await add_member_as(session, tenant.id, owner.user, Role.OWNER)
    staff = [owner]
    for person in spec.staff:
        staffer = Staffer(await demo_user(session, person.login, person.name), person.role)
        await add_member_as(session, tenant.id, staffer.user, person.role)
        staff.append(staffer)
    cast = Cast(spec, tenant, session, staff, {}, {}, {}, {}, [], {})
    ctx = cast.as_staff(owner)
    for group_spec in spec.groups:
        cast.groups[group_spec.name] = await groups.create_group(
            ctx,
            GroupCreate(
                name=group_spec.name,
                description=group_spec.description,
                assignment_strategy=group_spec.strategy,
            ),
        )
        cast.takers[group_spec.name], cast.light[group_spec.name] = [], []
    await _fill_groups(cast, ctx)
    await _add_customers(cast, ctx)
    for position, (root, children) in enumerate(spec.categories.items()):
        parent = await create_category(
            session, tenant.id, CategoryCreate(name=root, position=position * 10)
        )
        for index, child in enumerate(children):
            made = await create_category(
                session,
                tenant.id,
                CategoryCreate(name=child, parent_id=parent.id, position=index * 10),
            )
            cast.categories[(root, child)] = made.id
    return cast


async def _fill_groups(cast: Cast, ctx: TenantContext) -> None:
    members: list[tuple[str, Staffer, str]] = [
        (group, staffer, role)
        for person, staffer in zip(cast.spec.staff, cast.staff[1:], strict=True)
        for group, role in person.groups.items()
    ]
    if not cast.spec.staff:  # a tiny tenant: the owner works every group
        members = [(name, cast.staff[0], LEAD) for name in cast.groups]
    for group, staffer, role in sorted(members, key=lambda m: (m[0], m[2] != LEAD)):
        await groups.add_group_member(
            ctx,
            cast.groups[group],
            GroupMemberCreate(
                user_id=staffer.user.id,
                role=GroupMemberRole.LEAD if role == LEAD else GroupMemberRole.AGENT,
            ),
        )
        if role == LEAD:
            cast.leads[group] = staffer
        if staffer.role is Role.LIGHT_AGENT:
            cast.light[group].append(staffer)
        else:
            cast.takers[group].append(staffer)


async def _add_customers(cast: Cast, ctx: TenantContext) -> None:
    session, tenant_id = cast.session, cast.tenant.id
    spec = cast.spec
    for org in spec.organizations:
        await organizations.create_organization(
            ctx, OrganizationCreate(name=org.name, domains=list(org.domains), notes=org.notes)
        )
    org_of = {domain: org for org in spec.organizations for domain in org.domains}
    people: list[tuple[str, str, str | None]] = [
        (name, email, DEMO_PASSWORD) for name, email in spec.portal
    ]
    for org in spec.organizations:
        for index, name in enumerate(org.people):
            domain = org.domains[index % len(org.domains)] if index % 3 == 2 else org.domains[0]
            people.append((name, address(name, org.style, domain), None))
    people += [(name, email, None) for name, email in spec.loners]
    for index, (name, email, password) in enumerate(people):
        phone = f"+1 555 01{index % 100:02d}" if index % 3 != 1 else None
        made = await contacts.create_contact(
            session,
            tenant_id,
            ContactCreate(name=name, emails=[email], phone=phone, password=password),
        )
        home = org_of.get(email.rsplit("@", 1)[1])
        user = await user_by_email(session, email) if password else None
        cast.customers.append(
            Customer(
                id=made.id,
                name=name,
                email=email,
                organization=home.name if home else None,
                org_slug=home.domains[0].split(".")[0] if home else email.split("@")[0],
                vip=bool(home and home.vip),
                user=user,
            )
        )
    for customer in cast.customers:
        customer.colleagues = [
            other.first
            for other in cast.customers
            if other.organization == customer.organization
            and other.organization is not None
            and other.id != customer.id
        ]
