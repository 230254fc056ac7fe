"""Time-ordered identifiers (UUIDv7): sortable by creation and friendly to B-tree indexes."""

from uuid import UUID

from uuid_utils.compat import uuid7


def new_id() -> UUID:
    return uuid7()
