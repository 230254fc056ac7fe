"""Admin settings at /app/{tenant}/admin: people, groups, customers, statuses, tokens, portal."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from frontdesk.core.patch import validation_problem
from frontdesk.core.storage import BlobStore
from frontdesk.identity.models import AssignmentStrategy, GroupMemberRole, MemberRole
from frontdesk.identity.schemas import (
    ContactCreate,
    GroupCreate,
    GroupMemberCreate,
    GroupUpdate,
    MemberCreate,
    MemberUpdate,
    OrganizationCreate,
)
from frontdesk.identity.service import contacts, groups, members, organizations, tokens
from frontdesk.tenancy import service as tenancy
from frontdesk.tenancy.schemas import TenantUpdate
from frontdesk.tickets.models import StatusCategory
from frontdesk.tickets.schemas import CategoryCreate, StatusCreate
from frontdesk.tickets.service import categories, statuses
from frontdesk.web import forms
from frontdesk.web.admin import mail_pages, queries, sla_pages
from frontdesk.web.admin.frame import Admins, back, page, validated
from frontdesk.web.auth import ConsoleUser
from frontdesk.web.portal.branding import brand_of, update_branding

router = APIRouter(prefix="/app/{tenant}/admin", include_in_schema=False)


@router.get("")
async def admin_home(ctx: Admins) -> Response:
    return back(ctx, "members", "")


@router.get("/members")
async def members_page(request: Request, ctx: Admins, viewer: ConsoleUser) -> HTMLResponse:
    return await page(
        request,
        ctx,
        viewer,
        "admin/members.html",
        "members",
        members=await queries.tenant_members(ctx),
        roles=list(MemberRole),
    )


@router.post("/members")
async def add_member(form: forms.PageForm, ctx: Admins) -> Response:
    data = validated(
        MemberCreate,
        email=forms.text(form, "email", required=True, max_length=320),
        role=forms.text(form, "role", required=True, max_length=20),
        display_name=forms.text(form, "display_name", max_length=200) or None,
        password=forms.text(form, "password", max_length=200) or None,
    )
    await members.add_member(ctx, data)
    return back(ctx, "members")


@router.post("/members/{member_id}/role")
async def change_role(form: forms.PageForm, member_id: UUID, ctx: Admins) -> Response:
    data = validated(MemberUpdate, role=forms.text(form, "role", required=True, max_length=20))
    await members.change_role(ctx, member_id, data)
    return back(ctx, "members")


@router.post("/members/{member_id}/remove")
async def remove_member(member_id: UUID, ctx: Admins) -> Response:
    await members.remove_member(ctx, member_id)
    return back(ctx, "members", "removed")


@router.get("/groups")
async def groups_page(request: Request, ctx: Admins, viewer: ConsoleUser) -> HTMLResponse:
    return await page(
        request,
        ctx,
        viewer,
        "admin/groups.html",
        "groups",
        all_groups=await queries.all_groups(ctx),
        group_members=await queries.members_by_group(ctx),
        members=await queries.tenant_members(ctx),
        strategies=list(AssignmentStrategy),
        member_roles=list(GroupMemberRole),
    )


@router.post("/groups")
async def create_group(form: forms.PageForm, ctx: Admins) -> Response:
    data = validated(
        GroupCreate,
        name=forms.text(form, "name", required=True, max_length=200),
        assignment_strategy=forms.text(form, "assignment_strategy", max_length=20)
        or AssignmentStrategy.QUEUE_ONLY.value,
    )
    await groups.create_group(ctx, data)
    return back(ctx, "groups")


@router.post("/groups/{group_id}/strategy")
async def set_strategy(form: forms.PageForm, group_id: UUID, ctx: Admins) -> Response:
    group = await groups.get_group(ctx, group_id)
    fields = groups.editable_fields(group)
    fields["assignment_strategy"] = forms.text(
        form, "assignment_strategy", required=True, max_length=20
    )
    try:
        data = GroupUpdate.model_validate(fields)
    except ValidationError as exc:
        raise validation_problem(exc) from exc
    await groups.update_group(ctx, group, data)
    return back(ctx, "groups")


@router.post("/groups/{group_id}/members")
async def add_group_member(form: forms.PageForm, group_id: UUID, ctx: Admins) -> Response:
    group = await groups.get_group(ctx, group_id)
    data = validated(
        GroupMemberCreate,
        user_id=forms.text(form, "user_id", required=True, max_length=40),
        role=forms.text(form, "role", max_length=10) or GroupMemberRole.AGENT.value,
    )
    await groups.add_group_member(ctx, group, data)
    return back(ctx, "groups")


@router.post("/groups/{group_id}/members/{member_id}/remove")
async def remove_group_member(group_id: UUID, member_id: UUID, ctx: Admins) -> Response:
    group = await groups.get_group(ctx, group_id)
    await groups.remove_group_member(ctx, group, member_id)
    return back(ctx, "groups", "removed")


@router.get("/customers")
async def customers_page(
    request: Request,
    ctx: Admins,
    viewer: ConsoleUser,
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    orgs = await queries.all_organizations(ctx)
    return await page(
        request,
        ctx,
        viewer,
        "admin/customers.html",
        "customers",
        contacts=await queries.some_contacts(ctx, q),
        organizations=orgs,
        org_names={o.id: o.name for o in orgs},
        q=q,
    )


@router.post("/contacts")
async def create_contact(form: forms.PageForm, ctx: Admins) -> Response:
    data = validated(
        ContactCreate,
        name=forms.text(form, "name", required=True, max_length=200),
        emails=[forms.text(form, "email", required=True, max_length=320)],
        organization_id=forms.optional_uuid(form, "organization_id"),
        password=forms.text(form, "password", max_length=200) or None,
    )
    await contacts.create_contact(ctx.session, ctx.tenant_id, data)
    return back(ctx, "customers")


@router.post("/organizations")
async def create_organization(form: forms.PageForm, ctx: Admins) -> Response:
    domains = [
        d.strip() for d in forms.text(form, "domains", max_length=2000).split(",") if d.strip()
    ]
    data = validated(
        OrganizationCreate,
        name=forms.text(form, "name", required=True, max_length=200),
        domains=domains,
    )
    await organizations.create_organization(ctx, data)
    return back(ctx, "customers")


@router.get("/statuses")
async def statuses_page(request: Request, ctx: Admins, viewer: ConsoleUser) -> HTMLResponse:
    return await page(
        request,
        ctx,
        viewer,
        "admin/statuses.html",
        "statuses",
        statuses=await statuses.list_statuses(ctx.session, ctx.tenant_id),
        categories=await categories.list_categories(ctx.session, ctx.tenant_id),
        status_categories=list(StatusCategory),
    )


@router.post("/statuses")
async def create_status(form: forms.PageForm, ctx: Admins) -> Response:
    data = validated(
        StatusCreate,
        key=forms.text(form, "key", required=True, max_length=60),
        label=forms.text(form, "label", required=True, max_length=120),
        category=forms.text(form, "category", required=True, max_length=20),
    )
    await statuses.create_status(ctx.session, ctx.tenant_id, data)
    return back(ctx, "statuses")


@router.post("/categories")
async def create_category(form: forms.PageForm, ctx: Admins) -> Response:
    data = validated(
        CategoryCreate,
        name=forms.text(form, "name", required=True, max_length=120),
        parent_id=forms.optional_uuid(form, "parent_id"),
    )
    await categories.create_category(ctx.session, ctx.tenant_id, data)
    return back(ctx, "statuses")


@router.get("/tokens")
async def tokens_page(request: Request, ctx: Admins, viewer: ConsoleUser) -> HTMLResponse:
    found = await tokens.list_tokens(ctx.session, tenant_id=ctx.tenant_id, user_id=None)
    people = {m.user_id: m.display_name for m in await queries.tenant_members(ctx)}
    return await page(
        request,
        ctx,
        viewer,
        "admin/tokens.html",
        "tokens",
        tokens=found,
        people=people,
        secret=None,
    )


@router.post("/tokens")
async def create_token(
    request: Request, form: forms.PageForm, ctx: Admins, viewer: ConsoleUser
) -> HTMLResponse:
    """The secret is shown on this response only, never again (and never in a URL)."""
    _, secret = await tokens.create_token(
        ctx.session,
        user_id=ctx.user_id,
        name=forms.text(form, "name", required=True, max_length=200),
        tenant_id=ctx.tenant_id,
        expires_at=None,
    )
    found = await tokens.list_tokens(ctx.session, tenant_id=ctx.tenant_id, user_id=None)
    people = {m.user_id: m.display_name for m in await queries.tenant_members(ctx)}
    return await page(
        request,
        ctx,
        viewer,
        "admin/tokens.html",
        "tokens",
        tokens=found,
        people=people,
        secret=secret,
    )


@router.post("/tokens/{token_id}/revoke")
async def revoke_token(token_id: UUID, ctx: Admins) -> Response:
    await tokens.revoke_token(ctx.session, token_id=token_id, tenant_id=ctx.tenant_id, user_id=None)
    return back(ctx, "tokens", "revoked")


@router.get("/portal")
async def portal_page(request: Request, ctx: Admins, viewer: ConsoleUser) -> HTMLResponse:
    return await page(
        request,
        ctx,
        viewer,
        "admin/portal.html",
        "portal",
        brand=await brand_of(ctx.session, ctx.tenant),
        settings=ctx.tenant.settings,
    )


@router.post("/portal")
async def save_portal(request: Request, form: forms.PageForm, ctx: Admins) -> Response:
    """Branding (name, colours, logo) and the portal's switches, each audited by its owner."""
    logo_files = forms.files(form, "logo")
    logo = None
    if logo_files:
        content = await logo_files[0].read(512 * 1024 + 1)
        logo = (content, logo_files[0].content_type or "")
    store: BlobStore = request.app.state.blob_store
    await update_branding(
        ctx,
        display_name=forms.text(form, "display_name", max_length=200) or None,
        primary_color=forms.text(form, "primary_color", required=True, max_length=7),
        accent_color=forms.text(form, "accent_color", required=True, max_length=7),
        logo=logo,
        store=store,
    )
    fields = tenancy.editable_fields(ctx.tenant)
    fields["settings"] = {
        **fields["settings"],  # type: ignore[dict-item]
        "portal_allows_anonymous_submission": form.get("allow_anonymous") == "on",
        "contacts_see_organization_tickets": form.get("organization_tickets") == "on",
    }
    update = validated(TenantUpdate, **fields)
    await tenancy.update_tenant(ctx.session, ctx.tenant, update)
    return back(ctx, "portal")


# The SLA and mail sections live in their own modules, under the same prefix.
router.include_router(sla_pages.router)
router.include_router(mail_pages.router)
