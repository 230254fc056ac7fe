"""SLA calendar and policy forms: reading the posted fields into the service's shapes and back.

Only the form's own syntax is checked here (`09:00-17:00`, one holiday a line); what the
values mean (a real time zone, an interval that ends after it starts, a positive target) is
the service's to decide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from starlette.datastructures import FormData

from frontdesk.core.errors import ValidationFailed
from frontdesk.sla.conditions import FIELDS, Op
from frontdesk.sla.models import Metric, NotifyRole
from frontdesk.tickets.models import Priority, StatusCategory
from frontdesk.web import forms

DAYS = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
]
CONDITION_ROWS = 3  # blank condition rows offered below the policy's own
ESCALATION_ROWS = 2
LIST_OPS = (Op.IN.value, Op.NOT_IN.value)
ESCALATIONS = [
    ("raise_priority", "Raise priority"),
    ("move_to_group", "Move to group"),
    ("assign", "Assign to"),
    ("add_tag", "Add tag"),
    ("add_internal_note", "Add internal note"),
]
PAUSE_CATEGORIES = [StatusCategory.PENDING.value, StatusCategory.ON_HOLD.value]
INTERVAL = re.compile(r"^\s*(\S+)\s*-\s*(\S+)\s*$")
HOLIDAY = re.compile(r"^(\S+?)(?:\s*\.\.\s*(\S+))?(?:\s+(.*))?$")


@cache
def time_zones() -> list[str]:
    return sorted(available_timezones())


# --- calendars --------------------------------------------------------------------------------


def schedule_of(form: FormData) -> dict[str, list[list[str]]]:
    """`09:00-12:00, 13:00-17:00` per day; an empty day is closed."""
    schedule: dict[str, list[list[str]]] = {}
    for day, _ in DAYS:
        raw = forms.text(form, f"schedule_{day}", max_length=400)
        pairs = []
        for part in filter(None, (p.strip() for p in raw.split(","))):
            found = INTERVAL.match(part)
            if found is None:
                raise ValidationFailed(
                    f"{part!r} is not an interval like 09:00-17:00", field=f"schedule.{day}"
                )
            pairs.append([found.group(1), found.group(2)])
        schedule[day] = pairs
    return schedule


def holidays_of(form: FormData) -> list[dict[str, Any]]:
    """One a line: `2026-12-25 Christmas` or `2026-12-24..2026-12-31 Closed`."""
    found = []
    for line in forms.text(form, "holidays", max_length=40_000).splitlines():
        line = line.strip()
        if not line:
            continue
        parts = HOLIDAY.match(line)
        first, last, name = parts.groups() if parts else (line, None, None)
        found.append({"date": first, "end_date": last, "name": name or None})
    return found


def calendar_values(form: FormData) -> dict[str, Any]:
    return {
        "name": forms.text(form, "name", required=True, max_length=200),
        "timezone": forms.text(form, "timezone", required=True, max_length=64),
        "schedule": schedule_of(form),
        "holidays": holidays_of(form),
        "holiday_country": forms.text(form, "holiday_country", max_length=8) or None,
        "holiday_subdivision": forms.text(form, "holiday_subdivision", max_length=16) or None,
    }


def calendar_form(calendar: dict[str, Any]) -> dict[str, str]:
    """A stored (or submitted) calendar as the form's text fields."""
    values = {
        "name": calendar.get("name") or "",
        "timezone": calendar.get("timezone") or "UTC",
        "holiday_country": calendar.get("holiday_country") or "",
        "holiday_subdivision": calendar.get("holiday_subdivision") or "",
    }
    schedule = calendar.get("schedule") or {}
    for day, _ in DAYS:
        values[f"schedule_{day}"] = ", ".join(f"{a}-{b}" for a, b in schedule.get(day, []))
    lines = []
    for holiday in calendar.get("holidays") or []:
        span = holiday["date"] + (f"..{holiday['end_date']}" if holiday.get("end_date") else "")
        lines.append(f"{span} {holiday.get('name') or ''}".strip())
    values["holidays"] = "\n".join(lines)
    return values


def submitted(form: FormData) -> dict[str, str]:
    """The posted text fields as they were typed, to show a refused form again."""
    return {name: value for name, value in form.multi_items() if isinstance(value, str)}


# --- policies ---------------------------------------------------------------------------------


def _checked(form: FormData, name: str) -> bool:
    return form.get(name) == "on"


def _targets(form: FormData) -> list[dict[str, Any]]:
    targets = []
    for priority in Priority:
        for metric in Metric:
            minutes = forms.integer(form, f"target_{priority.value}_{metric.value}")
            if minutes is not None:
                targets.append(
                    {"priority": priority.value, "metric": metric.value, "minutes": minutes}
                )
    return targets


def _conditions(form: FormData) -> dict[str, list[dict[str, Any]]]:
    conditions: dict[str, list[dict[str, Any]]] = {"all": [], "any": []}
    for index in range(_rows(form, "cond_field_")):
        field = forms.text(form, f"cond_field_{index}", max_length=40)
        if not field:
            continue
        op = forms.text(form, f"cond_op_{index}", max_length=20)
        raw = forms.text(form, f"cond_value_{index}", max_length=4000)
        value: Any = [v.strip() for v in raw.split(",") if v.strip()] if op in LIST_OPS else raw
        group = "any" if form.get(f"cond_group_{index}") == "any" else "all"
        conditions[group].append({"field": field, "op": op, "value": value})
    return conditions


def _escalation(form: FormData) -> list[dict[str, Any]]:
    actions = []
    for index in range(_rows(form, "esc_action_")):
        action = forms.text(form, f"esc_action_{index}", max_length=40)
        if not action:
            continue
        item: dict[str, Any] = {"action": action}
        if action == "move_to_group":
            item["group_id"] = forms.text(form, f"esc_group_{index}", max_length=40)
        elif action == "assign":
            item["user_id"] = forms.text(form, f"esc_user_{index}", max_length=40)
        elif action == "add_tag":
            item["tag"] = forms.text(form, f"esc_text_{index}", max_length=64)
        elif action == "add_internal_note":
            item["body"] = forms.text(form, f"esc_text_{index}", max_length=10_000)
        actions.append(item)
    return actions


def _rows(form: FormData, prefix: str) -> int:
    """How many numbered rows the form has (at most 50: a form is not a bulk import)."""
    return min(max(_indexes(form.keys(), prefix), default=-1) + 1, 50)


def _indexes(names: Iterable[str], prefix: str) -> list[int]:
    suffixes = (name[len(prefix) :] for name in names if name.startswith(prefix))
    return [int(suffix) for suffix in suffixes if suffix.isdigit() and len(suffix) < 4]


def policy_values(form: FormData) -> dict[str, Any]:
    at_risk_percent = forms.integer(form, "at_risk_percent")
    at_risk_minutes = forms.integer(form, "at_risk_minutes")
    return {
        "name": forms.text(form, "name", required=True, max_length=200),
        "position": forms.integer(form, "position") or 0,
        "active": _checked(form, "active"),
        "is_default": _checked(form, "is_default"),
        "conditions": _conditions(form),
        "calendar_id": forms.optional_uuid(form, "calendar_id"),
        "business_hours_only": _checked(form, "business_hours_only"),
        "pause_categories": [c for c in PAUSE_CATEGORIES if _checked(form, f"pause_{c}")],
        "targets": _targets(form),
        "at_risk_percent": at_risk_percent,
        "at_risk_minutes": at_risk_minutes,
        "notify_at_risk": [r.value for r in NotifyRole if _checked(form, f"notify_at_risk_{r}")],
        "notify_breach": [r.value for r in NotifyRole if _checked(form, f"notify_breach_{r}")],
        "escalation": _escalation(form),
    }


def policy_form(policy: dict[str, Any]) -> dict[str, str]:
    """A stored policy (its public shape) as the form's fields."""
    values: dict[str, str] = {
        "name": policy.get("name") or "",
        "position": str(policy.get("position", 0)),
        "calendar_id": str(policy.get("calendar_id") or ""),
        "at_risk_percent": _number(policy.get("at_risk_percent")),
        "at_risk_minutes": _number(policy.get("at_risk_minutes")),
    }
    for flag in ("active", "is_default", "business_hours_only"):
        if policy.get(flag):
            values[flag] = "on"
    for category in policy.get("pause_categories", []):
        values[f"pause_{category}"] = "on"
    for kind in ("notify_at_risk", "notify_breach"):
        for role in policy.get(kind, []):
            values[f"{kind}_{role}"] = "on"
    for target in policy.get("targets", []):
        values[f"target_{target['priority']}_{target['metric']}"] = str(target["minutes"])
    rows = [("all", c) for c in policy.get("conditions", {}).get("all", [])]
    rows += [("any", c) for c in policy.get("conditions", {}).get("any", [])]
    for index, (group, condition) in enumerate(rows):
        value = condition["value"]
        values[f"cond_group_{index}"] = group
        values[f"cond_field_{index}"] = condition["field"]
        values[f"cond_op_{index}"] = condition["op"]
        values[f"cond_value_{index}"] = ", ".join(value) if isinstance(value, list) else str(value)
    for index, action in enumerate(policy.get("escalation", [])):
        values[f"esc_action_{index}"] = action["action"]
        values[f"esc_group_{index}"] = str(action.get("group_id", ""))
        values[f"esc_user_{index}"] = str(action.get("user_id", ""))
        values[f"esc_text_{index}"] = str(action.get("tag") or action.get("body") or "")
    return values


def new_policy_form() -> dict[str, str]:
    """The defaults of a new policy, as PolicyCreate has them."""
    values = {"position": "0", "at_risk_percent": "75"}
    for flag in ("active", "business_hours_only", "pause_pending", "pause_on_hold"):
        values[flag] = "on"
    values["notify_at_risk_assignee"] = "on"
    values["notify_breach_assignee"] = values["notify_breach_group_leads"] = "on"
    return values


def _number(value: Any) -> str:
    return "" if value is None else str(value)


def row_count(values: dict[str, str], prefix: str, spare: int) -> int:
    """The filled rows of a form plus `spare` blank ones."""
    return max(_indexes(values, prefix), default=-1) + 1 + spare


CONDITION_FIELDS = sorted(FIELDS)
CONDITION_OPS = [op.value for op in Op]
