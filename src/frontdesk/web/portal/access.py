"""Who is using a tenant's portal: a signed-in customer, or someone submitting anonymously."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.db import DbSession, set_actor
from frontdesk.core.errors import Forbidden, NotFound
from frontdesk.core.ids import new_id
from frontdesk.identity.context import Principal, TenantContext
from frontdesk.identity.dependencies import tenant_context
from frontdesk.identity.models import User
from frontdesk.identity.policy import Role
from frontdesk.identity.repository import contact_id_by_email
from frontdesk.identity.schemas import ContactCreate
from frontdesk.identity.service.contacts import create_contact
from frontdesk.tenancy.models import Tenant
from frontdesk.tenancy.repository import tenant_by_ref
from frontdesk.web.auth import OptionalPageUser, SignInRequired, next_url_of


class PortalIsForCustomers(Forbidden):
    code = "portal_for_customers"
    title = "You are on this team's staff: work its tickets in the agent console"


async def portal_tenant(session: DbSession, tenant: str) -> Tenant:
    found = await tenant_by_ref(session, tenant)
    if found is None or not found.is_active:
        raise NotFound("no such support portal")
    return found


PortalTenant = Annotated[Tenant, Depends(portal_tenant)]


async def optional_customer(
    viewer: OptionalPageUser, session: DbSession, tenant: PortalTenant
) -> TenantContext | None:
    """The signed-in customer of this tenant, or None (anonymous, or a customer elsewhere)."""
    if viewer is None:
        return None
    try:
        ctx = await tenant_context(viewer.principal, session, tenant.slug)
    except NotFound:
        return None
    if ctx.role is not Role.CONTACT:
        raise PortalIsForCustomers()
    return ctx


OptionalCustomer = Annotated[TenantContext | None, Depends(optional_customer)]


async def customer(request: Request, tenant: PortalTenant, ctx: OptionalCustomer) -> TenantContext:
    if ctx is None:
        raise SignInRequired(f"/portal/{tenant.slug}/login", next_url_of(request))
    return ctx


Customer = Annotated[TenantContext, Depends(customer)]


async def anonymous_submitter(
    session: AsyncSession, tenant: Tenant, *, name: str, email: str
) -> TenantContext:
    """A customer known only by the address they typed (the tenant allows this).

    Their contact is found or created by address; they act as that contact for this one
    request, without a login (the stand-in user is never stored).
    """
    contact_id = await contact_id_by_email(session, tenant.id, email)
    if contact_id is None:
        contact = await create_contact(
            session, tenant.id, ContactCreate(name=name or email.split("@", 1)[0], emails=[email])
        )
        contact_id = contact.id
    set_actor(session, f"contact:{contact_id}")
    stand_in = User(id=new_id(), email=email, display_name=name or email, is_active=True)
    principal = Principal(stand_in, "session")
    return TenantContext(tenant, principal, Role.CONTACT, session, contact_id=contact_id)
