"""Keyset pagination: `limit` + opaque `cursor` in, `next_cursor` out; stable under inserts."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from frontdesk.core.errors import BadRequest, InvalidCursor, InvalidSort

T = TypeVar("T")
ItemT = TypeVar("ItemT")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PagePublic(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class SortOrder:
    """A validated `sort` parameter: a column name and its direction, `-name` meaning descending."""

    name: str
    column: InstrumentedAttribute[Any]
    descending: bool


def parse_sort(
    sort: str | None, allowed: dict[str, InstrumentedAttribute[Any]], default: str
) -> SortOrder:
    raw = sort or default
    descending = raw.startswith("-")
    name = raw[1:] if descending else raw
    if name not in allowed:
        raise InvalidSort(f"cannot sort by {name!r}", allowed=sorted(allowed))
    return SortOrder(name=raw, column=allowed[name], descending=descending)


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def _decode_value(raw: Any, python_type: type) -> Any:
    if python_type is datetime:
        parsed = datetime.fromisoformat(str(raw))
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed
    if python_type is UUID:
        return UUID(str(raw))
    if python_type is int:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise ValueError("not an int")
        return raw
    if python_type is str:
        if not isinstance(raw, str):
            raise ValueError("not a string")
        return raw
    raise ValueError(f"unsupported cursor type {python_type}")


def encode_cursor(order: SortOrder, sort_value: Any, row_id: UUID) -> str:
    payload = json.dumps([order.name, _encode_value(sort_value), str(row_id)])
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, order: SortOrder) -> tuple[Any, UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, raw_value, raw_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if name != order.name:
            raise InvalidCursor("the cursor belongs to another sort order")
        if raw_value is None:
            if not _nullable(order.column):
                raise InvalidCursor("the cursor is malformed")
            return None, UUID(str(raw_id))
        python_type = order.column.type.python_type
        return _decode_value(raw_value, python_type), UUID(str(raw_id))
    except InvalidCursor:
        raise
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor("the cursor is malformed") from exc


def _nullable(column: InstrumentedAttribute[Any]) -> bool:
    return bool(getattr(column.expression, "nullable", False))


def _after(
    order: SortOrder, id_column: InstrumentedAttribute[UUID], value: Any, row_id: UUID
) -> ColumnElement[bool]:
    """Rows strictly after (value, row_id) in the page order; NULL values sort last."""
    column = order.column
    id_after = id_column < row_id if order.descending else id_column > row_id
    if value is None:
        return and_(column.is_(None), id_after)
    value_after = column < value if order.descending else column > value
    condition = or_(value_after, and_(column == value, id_after))
    if _nullable(column):
        condition = or_(condition, column.is_(None))
    return condition


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def page_statement(
    statement: Select[T],
    *,
    order: SortOrder,
    id_column: InstrumentedAttribute[UUID],
    limit: int,
    cursor: str | None,
) -> Select[T]:
    """`statement` ordered by the sort column, then id, after the cursor, `limit + 1` rows."""
    check_limit(limit)
    column = order.column
    if cursor:
        after_value, after_id = decode_cursor(cursor, order)
        statement = statement.where(_after(order, id_column, after_value, after_id))
    if _nullable(column):
        # Rows without a value come last in either direction (e.g. tickets without a due date).
        statement = statement.order_by(column.is_(None).asc())
    if order.descending:
        statement = statement.order_by(column.desc(), id_column.desc())
    else:
        statement = statement.order_by(column.asc(), id_column.asc())
    return statement.limit(limit + 1)


def page_of(
    rows: list[T], *, order: SortOrder, id_column: InstrumentedAttribute[UUID], limit: int
) -> Page[T]:
    """The page of up to `limit + 1` rows fetched by `page_statement`."""
    if len(rows) <= limit:
        return Page(items=rows, next_cursor=None)
    rows = rows[:limit]
    last = rows[-1]
    cursor = encode_cursor(order, getattr(last, order.column.key), getattr(last, id_column.key))
    return Page(items=rows, next_cursor=cursor)


async def paginate(
    session: AsyncSession,
    statement: Select[T],
    *,
    order: SortOrder,
    id_column: InstrumentedAttribute[UUID],
    limit: int,
    cursor: str | None,
) -> Page[T]:
    """One keyset page of `statement` (one entity per row), ordered by the sort column, then id."""
    statement = page_statement(
        statement, order=order, id_column=id_column, limit=limit, cursor=cursor
    )
    rows = list((await session.scalars(statement)).all())
    return page_of(rows, order=order, id_column=id_column, limit=limit)
