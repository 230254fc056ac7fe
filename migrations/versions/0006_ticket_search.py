"""tickets: full-text search index on subject and description (PostgreSQL)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 07:55:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The expression of frontdesk.tickets.models.ticket_search_document(), which queries repeat.
DOCUMENT = "to_tsvector('english'::regconfig, subject || ' ' || description)"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite matches words with LIKE; it has no such index
    # IF NOT EXISTS: operators may build it beforehand CONCURRENTLY (docs/operations.md).
    op.execute(f"CREATE INDEX IF NOT EXISTS ix_ticket_search ON ticket USING gin ({DOCUMENT})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_ticket_search")
