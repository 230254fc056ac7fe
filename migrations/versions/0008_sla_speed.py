"""sla: tickets marked for re-targeting after a policy or calendar edit

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 11:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import frontdesk.core.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sla_retarget",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("marked_at", frontdesk.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", frontdesk.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", frontdesk.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "id"],
            ["ticket.tenant_id", "ticket.id"],
            name=op.f("fk_sla_retarget_tenant_id_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_sla_retarget_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sla_retarget")),
    )
    with op.batch_alter_table("sla_retarget", schema=None) as batch_op:
        batch_op.create_index("ix_sla_retarget_marked", ["marked_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sla_retarget", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_retarget_marked")
    op.drop_table("sla_retarget")
