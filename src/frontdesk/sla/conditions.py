"""Policy match conditions: validation and evaluation over a ticket's plain facts (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from frontdesk.tickets.models import Channel, Priority, TicketType


class ConditionError(ValueError):
    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class Op(StrEnum):
    IS = "is"
    IS_NOT = "is_not"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    ENDS_WITH = "ends_with"


@dataclass(frozen=True)
class FieldSpec:
    ops: frozenset[Op]
    #: Checks and normalises one value of the field; raises ValueError when it is not one.
    value: Callable[[Any], Any]
    many: bool = False  # the fact is a list (tags): `contains` tests membership


def _choice(enum: type[StrEnum]) -> Callable[[Any], Any]:
    def check(value: Any) -> str:
        return enum(value).value

    return check


def _uuid(value: Any) -> str | None:
    return None if value is None else str(UUID(str(value)))


def _text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 320:
        raise ValueError("a text value of at most 320 characters")
    return value.strip().lower()


EQUALITY = frozenset({Op.IS, Op.IS_NOT, Op.IN, Op.NOT_IN})
TEXT = EQUALITY | {Op.CONTAINS, Op.NOT_CONTAINS, Op.ENDS_WITH}

FIELDS: dict[str, FieldSpec] = {
    "priority": FieldSpec(EQUALITY, _choice(Priority)),
    "type": FieldSpec(EQUALITY, _choice(TicketType)),
    "channel": FieldSpec(EQUALITY, _choice(Channel)),
    "group_id": FieldSpec(EQUALITY, _uuid),
    "organization_id": FieldSpec(EQUALITY, _uuid),
    "tags": FieldSpec(frozenset({Op.CONTAINS, Op.NOT_CONTAINS}), _text, many=True),
    "requester.email": FieldSpec(TEXT, _text, many=True),
    "requester.name": FieldSpec(TEXT, _text),
    "requester.phone": FieldSpec(TEXT, _text),
}


def normalize(conditions: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Check `{"all": [...], "any": [...]}` and return it with normalised values.

    Raises ConditionError naming the bad part (`conditions.all.0.field`).
    """
    unknown = sorted(set(conditions) - {"all", "any"})
    if unknown:
        raise ConditionError("conditions have `all` and `any`", field=f"conditions.{unknown[0]}")
    result: dict[str, list[dict[str, Any]]] = {}
    for group in ("all", "any"):
        items = conditions.get(group, [])
        if not isinstance(items, list):
            raise ConditionError("a list of conditions", field=f"conditions.{group}")
        result[group] = [
            _normalize_one(item, f"conditions.{group}.{index}") for index, item in enumerate(items)
        ]
    return result


def _normalize_one(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict) or set(item) != {"field", "op", "value"}:
        raise ConditionError("a condition is {field, op, value}", field=where)
    spec = FIELDS.get(item["field"]) if isinstance(item["field"], str) else None
    if spec is None:
        raise ConditionError(f"unknown field {item['field']!r}", field=f"{where}.field")
    try:
        op = Op(item["op"])
    except ValueError as exc:
        raise ConditionError(f"unknown op {item['op']!r}", field=f"{where}.op") from exc
    if op not in spec.ops:
        raise ConditionError(f"{op.value} does not apply to {item['field']}", field=f"{where}.op")
    raw = item["value"]
    try:
        if op in (Op.IN, Op.NOT_IN):
            if not isinstance(raw, list) or not raw:
                raise ValueError("a non-empty list")
            value: Any = [spec.value(one) for one in raw]
        else:
            value = spec.value(raw)
    except (ValueError, TypeError) as exc:
        raise ConditionError(
            f"bad value for {item['field']}: {exc}", field=f"{where}.value"
        ) from exc
    return {"field": item["field"], "op": op.value, "value": value}


def matches(conditions: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """All of `all` and (when given) at least one of `any` hold for the facts."""
    every = all(_holds(item, facts) for item in conditions.get("all", []))
    some = conditions.get("any", [])
    return every and (not some or any(_holds(item, facts) for item in some))


def _holds(item: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    spec = FIELDS[item["field"]]
    fact = facts.get(item["field"])
    raw: list[Any] = list(fact or []) if spec.many else [fact]
    values = [v.lower() if isinstance(v, str) else v for v in raw]
    op, wanted = Op(item["op"]), item["value"]
    if op is Op.IS:
        return wanted in values
    if op is Op.IS_NOT:
        return wanted not in values
    if op is Op.IN:
        return any(v in wanted for v in values)
    if op is Op.NOT_IN:
        return not any(v in wanted for v in values)
    if op is Op.ENDS_WITH:
        return any(isinstance(v, str) and v.endswith(wanted) for v in values)
    present = any(
        (v == wanted) if spec.many and item["field"] == "tags" else (wanted in (v or ""))
        for v in values
    )
    return present if op is Op.CONTAINS else not present
