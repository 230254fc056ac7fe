"""The `frontdesk` command."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.config import Settings, get_settings
from frontdesk.core.db import create_engine, create_sessionmaker, transaction
from frontdesk.core.errors import FrontdeskError, NotFound
from frontdesk.core.logs import configure_logging

app = typer.Typer(help="Frontdesk: a multi-tenant helpdesk service.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
member_app = typer.Typer(help="Tenant memberships.", no_args_is_help=True)
contact_app = typer.Typer(help="Contacts (customers).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
for name, sub in [
    ("db", db_app),
    ("tenant", tenant_app),
    ("user", user_app),
    ("member", member_app),
    ("contact", contact_app),
    ("token", token_app),
]:
    app.add_typer(sub, name=name)

T = TypeVar("T")
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _prepare(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)


def _upgrade(settings: Settings) -> None:
    from frontdesk.core.migrations import upgrade

    _prepare(settings)
    upgrade(settings.db_url)


async def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    engine = create_engine(settings.db_url)
    try:
        async with transaction(create_sessionmaker(engine), actor="system:cli") as session:
            return await work(session)
    finally:
        await engine.dispose()


def _run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from frontdesk.worker import load_subscribers

    load_subscribers()
    settings = get_settings()
    configure_logging("WARNING", settings.log_format)
    if settings.is_sqlite:
        _upgrade(settings)
    try:
        return asyncio.run(_in_transaction(settings, work))
    except FrontdeskError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(code=1) from exc


def _print(as_json: bool, payload: dict[str, Any], human: str) -> None:
    typer.echo(json.dumps(payload) if as_json else human)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="API processes.")] = 1,
) -> None:
    """Serve the API and pages (applies migrations first on the embedded SQLite default)."""
    import uvicorn

    settings = get_settings()
    settings.check_safe_to_start()
    if settings.is_sqlite:
        _upgrade(settings)
    typer.echo(f"Frontdesk on http://{host}:{port}  (API docs: http://{host}:{port}/api/docs)")
    uvicorn.run(
        "frontdesk.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        proxy_headers=False,
        access_log=False,
    )


@app.command()
def worker() -> None:
    """Run the background worker (event relay and jobs) until interrupted."""
    import anyio

    from frontdesk.worker import run_worker

    settings = get_settings()
    settings.check_safe_to_start()
    configure_logging(settings.log_level, settings.log_format)
    if settings.is_sqlite:
        _upgrade(settings)

    async def main() -> None:
        engine = create_engine(settings.db_url)
        stop = anyio.Event()
        try:
            await run_worker(settings, create_sessionmaker(engine), stop=stop)
        finally:
            await engine.dispose()

    try:
        anyio.run(main)
    except KeyboardInterrupt:
        sys.exit(0)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    settings = get_settings()
    _upgrade(settings)
    typer.echo("database is at the newest migration")


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Option("-m", "--message")]) -> None:
    """Generate a migration from the difference between the models and the database."""
    from alembic import command

    from frontdesk.core.migrations import alembic_config

    settings = get_settings()
    _upgrade(settings)
    command.revision(alembic_config(settings.db_url), message=message, autogenerate=True)


@tenant_app.command("create")
def tenant_create(
    slug: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    prefix: Annotated[str | None, typer.Option(help="Ticket number prefix, e.g. ACME.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a tenant."""
    from frontdesk.tenancy.schemas import TenantCreate
    from frontdesk.tenancy.service import create_tenant

    data = _validated(TenantCreate, slug=slug, name=name, ticket_prefix=prefix)

    async def work(session: AsyncSession) -> dict[str, Any]:
        tenant = await create_tenant(session, data)
        return {"id": str(tenant.id), "slug": tenant.slug, "ticket_prefix": tenant.ticket_prefix}

    result = _run(work)
    _print(as_json, result, f"tenant {result['slug']} created ({result['id']})")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option()],
    password: Annotated[str | None, typer.Option()] = None,
    name: Annotated[str | None, typer.Option()] = None,
    platform_admin: Annotated[bool, typer.Option("--platform-admin")] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a user (a platform admin with --platform-admin)."""
    from frontdesk.identity.schemas import MemberCreate
    from frontdesk.identity.service.users import create_user

    _validated(MemberCreate, email=email, role="agent", password=password, display_name=name)

    async def work(session: AsyncSession) -> dict[str, Any]:
        user = await create_user(
            session,
            email=email,
            display_name=name,
            password=password,
            is_platform_admin=platform_admin,
        )
        return {"id": str(user.id), "email": user.email}

    result = _run(work)
    _print(as_json, result, f"user {result['email']} created ({result['id']})")


async def _tenant_id(session: AsyncSession, ref: str) -> Any:
    from frontdesk.tenancy.repository import tenant_by_ref

    tenant = await tenant_by_ref(session, ref)
    if tenant is None:
        raise NotFound(f"no tenant {ref!r}")
    return tenant.id


@member_app.command("add")
def member_add(
    tenant: Annotated[str, typer.Option(help="Tenant slug or id.")],
    email: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help="owner, admin, agent or light_agent")],
    as_json: JsonOption = False,
) -> None:
    """Give an existing user a role in a tenant."""
    from frontdesk.identity.policy import Role
    from frontdesk.identity.repository import user_by_email
    from frontdesk.identity.schemas import MemberCreate
    from frontdesk.identity.service.members import add_member_as

    _validated(MemberCreate, email=email, role=role)

    async def work(session: AsyncSession) -> dict[str, Any]:
        tenant_id = await _tenant_id(session, tenant)
        user = await user_by_email(session, email)
        if user is None:
            raise NotFound(f"no user {email}; create it with `frontdesk user create`")
        membership = await add_member_as(session, tenant_id, user, Role(role))
        return {"id": str(membership.id), "user_id": str(user.id), "role": membership.role}

    result = _run(work)
    _print(as_json, result, f"{email} is now {role} ({result['id']})")


@contact_app.command("create")
def contact_create(
    tenant: Annotated[str, typer.Option(help="Tenant slug or id.")],
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    password: Annotated[str | None, typer.Option(help="Gives the contact a portal login.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a contact, with a portal login when a password is given."""
    from frontdesk.identity.schemas import ContactCreate
    from frontdesk.identity.service.contacts import create_contact

    data = _validated(ContactCreate, name=name, emails=[email], password=password)

    async def work(session: AsyncSession) -> dict[str, Any]:
        contact = await create_contact(session, await _tenant_id(session, tenant), data)
        return {"id": str(contact.id), "email": contact.emails[0]}

    result = _run(work)
    _print(as_json, result, f"contact {result['email']} created ({result['id']})")


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    tenant: Annotated[str | None, typer.Option(help="Limit the token to one tenant.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API token for a user; the secret is printed once."""
    from frontdesk.identity.repository import user_by_email
    from frontdesk.identity.service.tokens import create_token

    async def work(session: AsyncSession) -> dict[str, Any]:
        user = await user_by_email(session, email)
        if user is None:
            raise NotFound(f"no user {email}")
        tenant_id = await _tenant_id(session, tenant) if tenant else None
        token, secret = await create_token(
            session, user_id=user.id, name=name, tenant_id=tenant_id, expires_at=None
        )
        return {"token": secret, "id": str(token.id)}

    result = _run(work)
    _print(as_json, {"token": result["token"]}, result["token"])


@app.command()
def demo() -> None:
    """Load the demo tenants and people (once), and print the logins."""
    from frontdesk.core.storage import LocalBlobStore
    from frontdesk.demo import DEMO_LOGINS, DEMO_PASSWORD, DemoCounts, demo_counts, load_demo

    store = LocalBlobStore(get_settings().data_dir / "blobs")  # where the server reads them

    async def work(session: AsyncSession) -> tuple[bool, DemoCounts | None]:
        from frontdesk.web.portal.demo import brand_demo_portal

        loaded = await load_demo(session, store=store)
        await brand_demo_portal(session, store)
        return loaded, await demo_counts(session)

    loaded, counts = _run(work)
    base = get_settings().public_base_url
    typer.echo("demo data loaded" if loaded else "demo data already present")
    if counts is not None:
        typer.echo(counts.line())
    typer.echo(f"API docs: {base}/api/docs    health: {base}/readyz")
    typer.echo(f"agent console: {base}/app    customer portal: {base}/portal/acme")
    typer.echo(f"demo logins (password for all: {DEMO_PASSWORD}):")
    for login in DEMO_LOGINS:
        typer.echo(f"  {login.email:<26} {login.role:<32} {base}{login.where}")


def _validated(model: type[Any], **values: Any) -> Any:
    from pydantic import ValidationError

    try:
        return model(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = ".".join(str(part) for part in error["loc"])
            typer.echo(f"error: {field}: {error['msg']}", err=True)
        raise typer.Exit(code=2) from exc
