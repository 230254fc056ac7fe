"""email: staff mail trust per channel, status mail as a tenant setting

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-03 11:20:00.000000

The status categories mailed to requesters move from each channel to one tenant setting; a
tenant whose channels named some keeps their union.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import frontdesk.core.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "email_settings",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("status_mail_categories", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", frontdesk.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", frontdesk.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_email_settings_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_email_settings")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_email_settings_tenant_id")),
    )
    _move_status_categories_to_tenants()
    # Plain ALTERs, no batch copy: on SQLite re-creating inbound_channel would cascade-delete
    # its inbound_mail rows (foreign keys are on). SQLite keeps the server default it needs.
    op.drop_column("inbound_channel", "notify_status_categories")
    op.add_column(
        "inbound_channel",
        sa.Column("trust_staff_mail", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "inbound_channel", sa.Column("trusted_authserv_id", sa.String(length=253), nullable=True)
    )
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("inbound_channel", "trust_staff_mail", server_default=None)


def _move_status_categories_to_tenants() -> None:
    from frontdesk.core.clock import utcnow
    from frontdesk.core.ids import new_id

    bind = op.get_bind()
    channels = sa.table(
        "inbound_channel",
        sa.column("tenant_id", sa.Uuid()),
        sa.column("notify_status_categories", JSON),
    )
    wanted: dict[object, set[str]] = {}
    for tenant_id, categories in bind.execute(sa.select(channels)):
        if categories:
            wanted.setdefault(tenant_id, set()).update(categories)
    settings = sa.table(
        "email_settings",
        sa.column("tenant_id", sa.Uuid()),
        sa.column("id", sa.Uuid()),
        sa.column("status_mail_categories", JSON),
        sa.column("version", sa.Integer()),
        sa.column("created_at", frontdesk.core.db.UTCDateTime(timezone=True)),
        sa.column("updated_at", frontdesk.core.db.UTCDateTime(timezone=True)),
        sa.column("created_by", sa.String()),
        sa.column("updated_by", sa.String()),
    )
    now = utcnow()
    rows = [
        {"tenant_id": tenant_id, "id": new_id(), "status_mail_categories": sorted(categories),
         "version": 1, "created_at": now, "updated_at": now,
         "created_by": "system:migration", "updated_by": "system:migration"}
        for tenant_id, categories in wanted.items()
    ]  # fmt: skip
    if rows:
        op.bulk_insert(settings, rows)


def downgrade() -> None:
    op.drop_column("inbound_channel", "trusted_authserv_id")
    op.drop_column("inbound_channel", "trust_staff_mail")
    op.add_column(
        "inbound_channel",
        sa.Column("notify_status_categories", JSON, nullable=False, server_default="[]"),
    )
    op.drop_table("email_settings")
