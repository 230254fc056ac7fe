"""SLA policies and their targets: create, change, delete; conditions checked field by field."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import delete, update
from sqlalchemy.orm.attributes import flag_modified

from frontdesk.core.audit import record_change, record_update
from frontdesk.core.errors import AlreadyExists
from frontdesk.core.patch import editable_view
from frontdesk.core.repository import get_scoped, scoped
from frontdesk.identity.context import TenantContext
from frontdesk.identity.models import Group, Membership
from frontdesk.sla import repository
from frontdesk.sla.conditions import ConditionError, normalize
from frontdesk.sla.errors import InvalidPolicy
from frontdesk.sla.models import SlaCalendar, SlaPolicy, SlaTarget, TicketSlaState
from frontdesk.sla.schemas import PolicyCreate, PolicyPublic, PolicyUpdate, TargetPublic
from frontdesk.sla.service.retarget import mark_new_policy_tickets, mark_policy_tickets
from frontdesk.sla.service.rules import forget_rules


async def policy_public(ctx: TenantContext, policy: SlaPolicy) -> PolicyPublic:
    targets = await repository.targets_of(ctx.session, ctx.tenant_id, [policy.id])
    return _public(policy, targets)


def _public(policy: SlaPolicy, targets: list[SlaTarget]) -> PolicyPublic:
    return PolicyPublic(
        id=policy.id,
        name=policy.name,
        position=policy.position,
        active=policy.active,
        is_default=policy.is_default,
        conditions=policy.conditions,
        calendar_id=policy.calendar_id,
        business_hours_only=policy.business_hours_only,
        pause_categories=policy.pause_categories,
        targets=[
            TargetPublic(priority=t.priority, metric=t.metric, minutes=t.minutes) for t in targets
        ],
        at_risk_percent=policy.at_risk_percent,
        at_risk_minutes=policy.at_risk_minutes,
        notify_at_risk=policy.notify_at_risk,
        notify_breach=policy.notify_breach,
        escalation=policy.escalation,
        version=policy.version,
        created_at=policy.created_at,
        updated_at=policy.updated_at,
    )


async def policies_public(ctx: TenantContext, policies: list[SlaPolicy]) -> list[PolicyPublic]:
    targets = await repository.targets_of(ctx.session, ctx.tenant_id, [p.id for p in policies])
    by_policy: dict[UUID, list[SlaTarget]] = {p.id: [] for p in policies}
    for target in targets:
        by_policy[target.policy_id].append(target)
    return [_public(policy, by_policy[policy.id]) for policy in policies]


async def _check(ctx: TenantContext, data: PolicyCreate | PolicyUpdate) -> dict[str, Any]:
    """Every reference and rule of the policy; a 422 names the bad part."""
    try:
        conditions = normalize(data.conditions)
    except ConditionError as exc:
        raise InvalidPolicy(str(exc), field=exc.field) from exc
    seen: set[tuple[str, str]] = set()
    for index, target in enumerate(data.targets):
        key = (target.priority.value, target.metric.value)
        if key in seen:
            raise InvalidPolicy(
                f"two targets for {key[0]} {key[1]}", field=f"targets.{index}.metric"
            )
        seen.add(key)
    if data.calendar_id is not None:
        found = await ctx.session.get(SlaCalendar, (ctx.tenant_id, data.calendar_id))
        if found is None:
            raise InvalidPolicy("calendar not found", field="calendar_id")
    if data.at_risk_percent is not None and data.at_risk_minutes is not None:
        raise InvalidPolicy("give at_risk_percent or at_risk_minutes", field="at_risk_minutes")
    escalation = [action.model_dump(mode="json") for action in data.escalation]
    await _check_escalation(ctx, escalation)
    columns = data.model_dump(mode="json", exclude={"targets", "conditions", "escalation"})
    columns["pause_categories"] = sorted(set(columns["pause_categories"]))
    columns["calendar_id"] = data.calendar_id
    return columns | {"conditions": conditions, "escalation": escalation}


async def _check_escalation(ctx: TenantContext, actions: list[dict[str, Any]]) -> None:
    for index, action in enumerate(actions):
        if action["action"] == "move_to_group":
            group = await ctx.session.get(Group, (ctx.tenant_id, UUID(action["group_id"])))
            if group is None:
                raise InvalidPolicy("group not found", field=f"escalation.{index}.group_id")
        if action["action"] == "assign":
            member = await ctx.session.scalar(
                scoped(Membership, ctx.tenant_id).where(
                    Membership.user_id == UUID(action["user_id"])
                )
            )
            if member is None:
                raise InvalidPolicy("not a member", field=f"escalation.{index}.user_id")


async def _ensure_name_free(ctx: TenantContext, name: str, except_id: UUID | None = None) -> None:
    statement = scoped(SlaPolicy, ctx.tenant_id).where(SlaPolicy.name == name)
    if except_id is not None:
        statement = statement.where(SlaPolicy.id != except_id)
    if await ctx.session.scalar(statement) is not None:
        raise AlreadyExists(f"a policy named {name!r} already exists", field="name")


async def _single_default(ctx: TenantContext, policy: SlaPolicy) -> None:
    """At most one tenant default: making one the default unmakes the previous one."""
    if not policy.is_default:
        return
    others = await ctx.session.scalars(
        scoped(SlaPolicy, ctx.tenant_id).where(
            SlaPolicy.is_default.is_(True), SlaPolicy.id != policy.id
        )
    )
    for other in others:
        other.is_default = False


async def _replace_targets(ctx: TenantContext, policy: SlaPolicy, data: Any) -> None:
    await ctx.session.execute(
        delete(SlaTarget).where(
            SlaTarget.tenant_id == ctx.tenant_id, SlaTarget.policy_id == policy.id
        )
    )
    ctx.session.add_all(
        SlaTarget(
            tenant_id=ctx.tenant_id,
            policy_id=policy.id,
            priority=target.priority.value,
            metric=target.metric.value,
            minutes=target.minutes,
        )
        for target in data.targets
    )
    await ctx.session.flush()


async def create_policy(ctx: TenantContext, data: PolicyCreate) -> SlaPolicy:
    """Create a policy with its targets (audited, `sla_policy.created`); an active one marks
    the tenant's open tickets for the worker's `sla.retarget` job, which moves those it takes."""
    columns = await _check(ctx, data)
    await _ensure_name_free(ctx, data.name)
    policy = SlaPolicy(tenant_id=ctx.tenant_id, **columns)
    ctx.session.add(policy)
    await ctx.session.flush()
    await _single_default(ctx, policy)
    await _replace_targets(ctx, policy, data)
    forget_rules(ctx.session, ctx.tenant_id)
    record_change(
        ctx.session,
        subject_type="sla_policy",
        action="created",
        tenant_id=ctx.tenant_id,
        subject_id=policy.id,
        snapshot=(await policy_public(ctx, policy)).model_dump(mode="json"),
    )
    await mark_new_policy_tickets(ctx.session, ctx.tenant_id, policy.active)
    return policy


async def get_policy(ctx: TenantContext, policy_id: UUID) -> SlaPolicy:
    return await get_scoped(ctx.session, SlaPolicy, ctx.tenant_id, policy_id, what="policy")


async def editable_fields(ctx: TenantContext, policy: SlaPolicy) -> dict[str, Any]:
    return editable_view(PolicyUpdate, (await policy_public(ctx, policy)).model_dump(mode="json"))


async def update_policy(ctx: TenantContext, policy: SlaPolicy, data: PolicyUpdate) -> SlaPolicy:
    """Change a policy and its targets (audited, `sla_policy.updated`); the open tickets it
    may move are marked for the worker's `sla.retarget` job."""
    columns = await _check(ctx, data)
    await _ensure_name_free(ctx, data.name, except_id=policy.id)
    before = (await policy_public(ctx, policy)).model_dump(mode="json")
    for name, value in columns.items():
        setattr(policy, name, value)
    await ctx.session.flush()
    await _single_default(ctx, policy)
    await _replace_targets(ctx, policy, data)
    forget_rules(ctx.session, ctx.tenant_id)
    after = (await policy_public(ctx, policy)).model_dump(mode="json")
    if before["targets"] != after["targets"] and policy.version == before["version"]:
        flag_modified(policy, "name")  # targets are part of the policy: its version moves
        await ctx.session.flush()
        after = (await policy_public(ctx, policy)).model_dump(mode="json")
    record_update(
        ctx.session,
        subject_type="sla_policy",
        tenant_id=ctx.tenant_id,
        subject_id=policy.id,
        before=before,
        after=after,
    )
    changed = {name for name in after if before.get(name) != after.get(name)}
    await mark_policy_tickets(ctx.session, ctx.tenant_id, policy.id, changed)
    return policy


async def delete_policy(ctx: TenantContext, policy: SlaPolicy) -> None:
    """Delete a policy: its tickets' clocks keep running, no longer tied to it."""
    snapshot = (await policy_public(ctx, policy)).model_dump(mode="json")
    policy_id = policy.id
    await ctx.session.execute(
        update(TicketSlaState)
        .where(TicketSlaState.tenant_id == ctx.tenant_id, TicketSlaState.policy_id == policy_id)
        .values(policy_id=None)
        .execution_options(synchronize_session=False)
    )
    await ctx.session.delete(policy)
    await ctx.session.flush()
    forget_rules(ctx.session, ctx.tenant_id)
    record_change(
        ctx.session,
        subject_type="sla_policy",
        action="deleted",
        tenant_id=ctx.tenant_id,
        subject_id=policy_id,
        snapshot=snapshot,
    )
