"""A tenant's SLA rules as the engine needs them: policies in order, targets, calendars."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.sla import repository
from frontdesk.sla.business_time import BusinessHours, always_open, build_week
from frontdesk.sla.conditions import matches
from frontdesk.sla.models import SlaCalendar, SlaPolicy
from frontdesk.sla.states import Threshold
from frontdesk.tickets.models import StatusCategory, Ticket

ALWAYS_OPEN = always_open()
DEFAULT_PAUSE = frozenset({StatusCategory.PENDING.value, StatusCategory.ON_HOLD.value})
_RULES_KEY = "sla_rules"
_HOURS_CACHE: dict[tuple[UUID, int], BusinessHours] = {}
_PROCESS_RULES: dict[UUID, tuple[tuple[object, ...], Rules]] = {}


@dataclass(frozen=True)
class PolicyRule:
    id: UUID
    active: bool
    conditions: dict[str, Any]
    calendar_id: UUID | None
    hours: BusinessHours
    pause_categories: frozenset[str]
    threshold: Threshold
    targets: dict[tuple[str, str], int]
    notify_at_risk: tuple[str, ...]
    notify_breach: tuple[str, ...]
    escalation: tuple[dict[str, Any], ...]

    def target(self, priority: str, metric: str) -> int | None:
        return self.targets.get((priority, metric))


@dataclass(frozen=True)
class Rules:
    ordered: list[PolicyRule]
    by_id: dict[UUID, PolicyRule]
    default: PolicyRule | None
    hours_by_calendar: dict[UUID, BusinessHours]
    fields_used: frozenset[str] = field(default_factory=frozenset)
    #: group id -> its default policy (group profile)
    group_policies: dict[UUID, UUID] = field(default_factory=dict)

    def hours(self, calendar_id: UUID | None) -> BusinessHours:
        if calendar_id is None:
            return ALWAYS_OPEN
        return self.hours_by_calendar.get(calendar_id, ALWAYS_OPEN)


def holiday_dates(entries: list[dict[str, Any]]) -> frozenset[date]:
    days: set[date] = set()
    for entry in entries:
        first = date.fromisoformat(entry["date"])
        last = date.fromisoformat(entry["end_date"]) if entry.get("end_date") else first
        days.update(first + timedelta(days=n) for n in range((last - first).days + 1))
    return frozenset(days)


def hours_of(calendar: SlaCalendar) -> BusinessHours:
    """The calendar's math form, cached per (id, version)."""
    key = (calendar.id, calendar.version)
    found = _HOURS_CACHE.get(key)
    if found is None:
        if len(_HOURS_CACHE) > 2000:
            _HOURS_CACHE.clear()
        found = BusinessHours(
            zone=calendar.timezone,
            week=build_week(calendar.schedule),
            holidays=holiday_dates(calendar.holidays),
            holiday_country=calendar.holiday_country,
            holiday_subdivision=calendar.holiday_subdivision,
        )
        _HOURS_CACHE[key] = found
    return found


def known_rules(session: AsyncSession, tenant_id: UUID) -> Rules | None:
    """The tenant's rules if this unit of work has them already."""
    cache: dict[UUID, Rules] = session.info.get(_RULES_KEY, {})
    return cache.get(tenant_id)


async def rules_for(
    session: AsyncSession, tenant_id: UUID, *, fingerprint: tuple[object, ...] | None = None
) -> Rules:
    """The tenant's rules, once per unit of work.

    Kept per process between units of work too, behind a fingerprint of the tenant's policies,
    calendars and groups (counts, latest `updated_at`, sum of versions; a target change moves
    its policy's): one small query instead of four (or none when the caller read the
    `fingerprint` with something else), and another process's edit is seen at once.
    """
    cache: dict[UUID, Rules] = session.info.setdefault(_RULES_KEY, {})
    if tenant_id in cache:
        return cache[tenant_id]
    if fingerprint is None:
        fingerprint = await repository.rules_fingerprint(session, tenant_id)
    kept = _PROCESS_RULES.get(tenant_id)
    if kept is not None and kept[0] == fingerprint:
        rules = kept[1]
    else:
        rules = await _load(session, tenant_id)
        if len(_PROCESS_RULES) > 10_000:
            _PROCESS_RULES.clear()
        _PROCESS_RULES[tenant_id] = (fingerprint, rules)
    cache[tenant_id] = rules
    return rules


def forget_rules(session: AsyncSession, tenant_id: UUID) -> None:
    session.info.get(_RULES_KEY, {}).pop(tenant_id, None)
    _PROCESS_RULES.pop(tenant_id, None)


async def _load(session: AsyncSession, tenant_id: UUID) -> Rules:
    policies = await repository.policies_in_order(session, tenant_id)
    targets = await repository.targets_of(session, tenant_id, [p.id for p in policies])
    calendar_ids = sorted({p.calendar_id for p in policies if p.calendar_id}, key=str)
    calendars = await repository.calendars_by_id(session, tenant_id, calendar_ids)
    hours = {calendar_id: hours_of(calendar) for calendar_id, calendar in calendars.items()}
    by_policy: dict[UUID, dict[tuple[str, str], int]] = {p.id: {} for p in policies}
    for target in targets:
        by_policy[target.policy_id][(target.priority, target.metric)] = target.minutes
    rules = [_rule(policy, by_policy[policy.id], hours) for policy in policies]
    by_id = {rule.id: rule for rule in rules}
    default = next((p for p in policies if p.is_default and p.active), None)
    used = {
        item["field"]
        for rule in rules
        if rule.active
        for group in ("all", "any")
        for item in rule.conditions.get(group, [])
    }
    return Rules(
        # A policy without conditions is a fallback only (a group's or the tenant's default).
        ordered=[
            rule
            for rule, policy in zip(rules, policies, strict=True)
            if policy.active and not policy.is_default and _has_conditions(policy)
        ],
        by_id=by_id,
        default=by_id[default.id] if default else None,
        hours_by_calendar=hours,
        fields_used=frozenset(used),
        group_policies=await repository.group_policies(session, tenant_id),
    )


def _has_conditions(policy: SlaPolicy) -> bool:
    return bool(policy.conditions.get("all") or policy.conditions.get("any"))


def _rule(
    policy: SlaPolicy, targets: dict[tuple[str, str], int], hours: dict[UUID, BusinessHours]
) -> PolicyRule:
    use_calendar = policy.business_hours_only and policy.calendar_id is not None
    calendar_id = policy.calendar_id if use_calendar else None
    return PolicyRule(
        id=policy.id,
        active=policy.active,
        conditions=policy.conditions,
        calendar_id=calendar_id,
        hours=hours.get(calendar_id, ALWAYS_OPEN) if calendar_id else ALWAYS_OPEN,
        pause_categories=frozenset(policy.pause_categories),
        threshold=Threshold(percent=policy.at_risk_percent, minutes=policy.at_risk_minutes),
        targets=targets,
        notify_at_risk=tuple(policy.notify_at_risk),
        notify_breach=tuple(policy.notify_breach),
        escalation=tuple(policy.escalation),
    )


async def facts_of(session: AsyncSession, rules: Rules, ticket: Ticket) -> dict[str, Any]:
    """The ticket's values the conditions look at; tags and requester only when used."""
    facts: dict[str, Any] = {
        "priority": ticket.priority,
        "type": ticket.type,
        "channel": ticket.channel,
        "group_id": str(ticket.group_id) if ticket.group_id else None,
        "organization_id": str(ticket.organization_id) if ticket.organization_id else None,
    }
    if "tags" in rules.fields_used:
        facts["tags"] = await repository.tag_list(session, ticket.tenant_id, ticket.id)
    if any(name.startswith("requester.") for name in rules.fields_used):
        facts.update(
            await repository.requester_facts(session, ticket.tenant_id, ticket.requester_id)
        )
    return facts


async def choose_policy(session: AsyncSession, rules: Rules, ticket: Ticket) -> PolicyRule | None:
    """The first active policy whose conditions match, else the group's, else the tenant's."""
    if rules.ordered:
        facts = await facts_of(session, rules, ticket)
        for rule in rules.ordered:
            if matches(rule.conditions, facts):
                return rule
    if ticket.group_id is not None and ticket.group_id in rules.group_policies:
        chosen = rules.by_id.get(rules.group_policies[ticket.group_id])
        if chosen is not None and chosen.active:
            return chosen
    return rules.default
