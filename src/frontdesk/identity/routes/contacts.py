"""Contacts (customers)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import EmailStr

from frontdesk.core.idempotency import create_idempotently
from frontdesk.core.pagination import DEFAULT_LIMIT, PagePublic, paginate, parse_sort
from frontdesk.core.patch import patch_openapi, read_patch
from frontdesk.core.repository import scoped
from frontdesk.core.responses import with_etag
from frontdesk.identity.context import TenantContext
from frontdesk.identity.dependencies import permits
from frontdesk.identity.models import Contact, ContactEmail
from frontdesk.identity.policy import Action
from frontdesk.identity.repository import normalize_email
from frontdesk.identity.schemas import ContactCreate, ContactPublic, ContactUpdate
from frontdesk.identity.service import contacts

router = APIRouter(prefix="/api/v1/tenants/{tenant}/contacts", tags=["contacts"])

Readers = Annotated[TenantContext, permits(Action.CONTACT_READ)]
Writers = Annotated[TenantContext, permits(Action.CONTACT_WRITE)]
Deleters = Annotated[TenantContext, permits(Action.CONTACT_DELETE)]
SORTS = {"name": Contact.name, "created_at": Contact.created_at}


@router.get("", response_model=PagePublic[ContactPublic])
async def list_contacts(
    ctx: Readers,
    email: EmailStr | None = None,
    organization_id: UUID | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Name contains")] = None,
    sort: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PagePublic[ContactPublic]:
    statement = scoped(Contact, ctx.tenant_id)
    if email is not None:
        statement = statement.join(
            ContactEmail,
            (ContactEmail.tenant_id == Contact.tenant_id) & (ContactEmail.contact_id == Contact.id),
        ).where(ContactEmail.email == normalize_email(email))
    if organization_id is not None:
        statement = statement.where(Contact.organization_id == organization_id)
    if q:
        statement = statement.where(Contact.name.icontains(q, autoescape=True))
    page = await paginate(
        ctx.session,
        statement,
        order=parse_sort(sort, SORTS, "name"),
        id_column=Contact.id,
        limit=limit,
        cursor=cursor,
    )
    items = await contacts.publics(ctx.session, ctx.tenant_id, page.items)
    return PagePublic(items=items, next_cursor=page.next_cursor)


@router.post("", response_model=ContactPublic, status_code=201)
async def create_contact(body: ContactCreate, ctx: Writers, request: Request) -> JSONResponse:
    return await create_idempotently(
        request, ctx.session, lambda: contacts.create_contact(ctx.session, ctx.tenant_id, body)
    )


@router.get("/{contact_id}", response_model=ContactPublic)
async def get_contact(contact_id: UUID, ctx: Readers) -> JSONResponse:
    contact = await contacts.get_contact(ctx.session, ctx.tenant_id, contact_id)
    (public,) = await contacts.publics(ctx.session, ctx.tenant_id, [contact])
    return with_etag(public, public.version)


@router.patch(
    "/{contact_id}", response_model=ContactPublic, openapi_extra=patch_openapi(ContactUpdate)
)
async def update_contact(contact_id: UUID, ctx: Writers, request: Request) -> JSONResponse:
    contact = await contacts.get_contact(ctx.session, ctx.tenant_id, contact_id)
    (current,) = await contacts.publics(ctx.session, ctx.tenant_id, [contact])
    editable = current.model_dump(
        mode="json", include={"name", "emails", "phone", "organization_id", "notes"}
    )
    changes = await read_patch(request, ContactUpdate, editable, contact.version)
    public = await contacts.update_contact(ctx.session, ctx.tenant_id, contact, changes)
    return with_etag(public, public.version)


@router.delete("/{contact_id}", status_code=204)
async def delete_contact(contact_id: UUID, ctx: Deleters) -> Response:
    contact = await contacts.get_contact(ctx.session, ctx.tenant_id, contact_id)
    await contacts.delete_contact(ctx.session, ctx.tenant_id, contact)
    return Response(status_code=204)
