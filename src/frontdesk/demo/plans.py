"""Planning the demo's tickets: who asks what, when, and how each conversation goes (no I/O)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from frontdesk.demo import files, texts
from frontdesk.demo.people import Cast, Customer
from frontdesk.demo.texts import Case, Topic
from frontdesk.tickets.models import Channel, Priority, StatusCategory

S = StatusCategory

#: The status an agent's public reply of each kind sets.
AGENT_REPLIES = {
    "ack": "open",
    "ask": "pending_customer",
    "more": "pending_customer",
    "update": "open",
    "hold": "on_hold",
    "hold_update": "on_hold",
    "fix": "resolved",
    "fix_confirm": "pending_customer",
    "closing": "resolved",
}
CUSTOMER_REPLIES = frozenset({"details", "more_details", "nudge", "thanks", "extra"})

#: The public conversations that end in each status category (agent and customer turns).
SHAPES: dict[StatusCategory, tuple[tuple[str, ...], ...]] = {
    S.NEW: ((), (), ("extra",)),
    S.OPEN: (
        ("ack",),
        ("ask", "details"),
        ("ask", "details"),
        ("ask", "details", "update", "nudge"),
        ("ask", "details", "more", "more_details"),
        ("ask", "details", "more", "more_details", "update", "nudge"),
    ),
    S.PENDING: (
        ("ask",),
        ("ask",),
        ("ask", "details", "more"),
        ("ask", "details", "fix_confirm"),
        ("ack", "nudge", "ask"),
        ("ask", "details", "more", "more_details", "fix_confirm"),
    ),
    S.ON_HOLD: (
        ("hold",),
        ("ask", "details", "hold"),
        ("ask", "details", "hold", "nudge"),
        ("ask", "details", "hold", "nudge", "hold_update"),
        ("ask", "details", "more", "more_details", "hold", "nudge"),
    ),
    S.RESOLVED: (
        ("ask", "details", "fix"),
        ("ask", "details", "fix"),
        ("ask", "details", "fix_confirm", "thanks", "closing"),
        ("ask", "details", "more", "more_details", "fix"),
    ),
}
#: Most of the old, closed tickets were solved at the second answer.
SHAPES[S.CLOSED] = (("ask", "details", "fix"), *SHAPES[S.RESOLVED])

#: Status mix by ticket age: (younger than N days, weights in StatusCategory order).
AGE_MIX: tuple[tuple[float, tuple[int, ...]], ...] = (
    (3.0, (55, 25, 12, 4, 4, 0)),
    (8.0, (8, 32, 25, 10, 25, 0)),
    (21.0, (0, 15, 10, 10, 30, 35)),
    (1e9, (0, 4, 3, 4, 6, 83)),
)
PRIORITY_MIX = {
    "low": (45, 50, 5, 0),
    "normal": (10, 70, 17, 3),
    "high": (0, 45, 45, 10),
    "urgent": (0, 0, 30, 70),
}
MINUTE = timedelta(minutes=1)
#: The share of customers' answers that come with a file, where the case has one.
ATTACH_SHARE = 0.2


@dataclass(frozen=True)
class Step:
    kind: str
    gap: timedelta
    #: The message template (greeting and sign-off included), empty for non-messages.
    text: str = ""
    #: Who acts for notes: "assignee", "lead" or "light".
    who: str = "assignee"
    #: A contact to copy in, for "cc".
    contact_id: UUID | None = None
    #: (kind, filename, what the customer says about it) of a file sent with this message.
    attach: tuple[str, str, str] | None = None


@dataclass
class TicketPlan:
    topic: Topic
    case: Case
    #: The follow-up question and answer, if the conversation has one.
    more: tuple[str, str]
    requester: Customer
    created_at: datetime
    target: StatusCategory
    priority: Priority
    channel: Channel
    subject: str
    description: str
    tags: list[str]
    #: Left without group or category: nobody triaged it yet.
    untriaged: bool
    #: Arrives in Support and is moved to its group at the first answer.
    via_support: bool
    facts: dict[str, str]
    seed: int
    steps: list[Step] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)


def _pick(rng: random.Random, weights: tuple[int, ...], values: list[str]) -> str:
    return rng.choices(values, weights=weights)[0]


def _created_times(rng: random.Random, count: int, now: datetime) -> list[datetime]:
    times = []
    for _ in range(count):
        day = (now - timedelta(days=90 * rng.random() ** 1.7)).date()
        while day.weekday() >= 5 and rng.random() < 0.6:  # quieter weekends
            day = (now - timedelta(days=90 * rng.random() ** 1.7)).date()
        hour = rng.triangular(6, 21, 11)
        at = datetime(day.year, day.month, day.day, tzinfo=now.tzinfo) + timedelta(hours=hour)
        if at > now - 10 * MINUTE:
            at = now - timedelta(minutes=rng.uniform(10, 240))
        times.append(at)
    return sorted(times)


def _target(rng: random.Random, age: timedelta) -> StatusCategory:
    days = age.total_seconds() / 86400
    weights = next(mix for limit, mix in AGE_MIX if days < limit)
    return rng.choices(list(StatusCategory), weights=weights)[0]


def _ensure_every_status(rng: random.Random, plans: list[TicketPlan]) -> None:
    """Small loads still show every status: take one from the most common where one is missing."""
    for category in StatusCategory:
        if any(p.target is category for p in plans):
            continue
        counts = {c: sum(p.target is c for p in plans) for c in StatusCategory}
        spare = [p for p in plans if counts[p.target] > 1]
        if not spare:
            return
        chosen = spare[-1] if category in (S.NEW, S.OPEN, S.PENDING) else spare[0]
        chosen.target = category
        chosen.untriaged = category is S.NEW and rng.random() < 0.4


def facts_for(rng: random.Random, created: datetime) -> dict[str, str]:
    plans = ["Starter", "Team", "Business"]
    plan = rng.choice(plans[:2])
    before = created - timedelta(days=rng.randint(1, 6))
    return {
        "invoice": f"INV-{created.year}-{rng.randint(1000, 9999)}",
        "year": str(created.year),
        "amount": rng.choice(["$49.00", "$129.00", "$249.00", "$588.00", "$1,188.00"]),
        "month": f"{before:%B}",
        "card": f"{rng.randint(1000, 9999)}",
        "plan": plan,
        "other_plan": plans[plans.index(plan) + 1],
        "seats": str(rng.randint(2, 15)),
        "rows": str(rng.randint(12, 480)),
        "seconds": str(rng.randint(8, 40)),
        "locations": str(rng.randint(3, 12)),
        "people": str(rng.randint(3, 9)),
        "browser": rng.choice(
            ["Chrome on Windows", "Safari on a Mac", "Firefox on Linux", "Edge on Windows"]
        ),
        "device": rng.choice(["iPhone 13", "Pixel 7", "Galaxy Tab", "iPad Air", "iPhone 15"]),
        "app_version": f"4.{rng.randint(8, 14)}.{rng.randint(0, 3)}",
        "date": f"{before:%B} {before.day}",
        "weekday": rng.choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]),
        "time": f"{rng.randint(8, 17)}:{rng.choice(['05', '15', '20', '40', '50'])}",
        "tz": rng.choice(["Central European Time", "Eastern Time", "Pacific Time", "UK time"]),
        "ref": f"ENG-{rng.randint(1200, 4800)}",
        "days": str(rng.randint(2, 12)),
        "count": str(rng.randint(3, 11)),
    }


def plan_tickets(rng: random.Random, cast: Cast, count: int, now: datetime) -> list[TicketPlan]:
    """`count` tickets spread over the last ~90 days, oldest first, each with its conversation."""
    weights = [14 if c.user is not None else rng.randint(1, 6) for c in cast.customers]
    topics = list(texts.TOPICS)
    plans = []
    for created in _created_times(rng, count, now):
        target = _target(rng, now - created)
        pool = (
            [t for t in topics if any(c.hold for c in t.cases)] if target is S.ON_HOLD else topics
        )
        topic = rng.choices(pool, weights=[t.weight for t in pool])[0]
        requester = rng.choices(cast.customers, weights=weights)[0]
        plans.append(_plan(rng, cast, topic, requester, created, target))
    _ensure_every_status(rng, plans)
    for plan in plans:
        _converse(rng, cast, plan, now)
    return plans


def _plan(
    rng: random.Random,
    cast: Cast,
    topic: Topic,
    requester: Customer,
    created: datetime,
    target: StatusCategory,
) -> TicketPlan:
    priority = Priority(
        _pick(rng, PRIORITY_MIX[topic.heat], [p.value for p in Priority])  # low..urgent
    )
    if requester.user is not None and rng.random() < 0.7:
        channel = Channel.PORTAL
    else:
        channel = Channel(_pick(rng, (72, 14, 14), ["email", "phone", "chat"]))
    tags = list(topic.tags)
    if requester.vip:
        tags.append("vip")
    if priority is Priority.URGENT and "escalated" not in tags:
        tags.append("escalated")
    facts = facts_for(rng, created)
    cases = topic.cases
    if target is S.ON_HOLD:  # what waits on someone else
        cases = tuple(c for c in cases if c.hold) or cases
    case = rng.choice(cases)
    greeting = rng.choice(texts.CUSTOMER_GREETINGS)
    signoff = rng.choice(texts.CUSTOMER_SIGNOFFS)
    if requester.organization is None:
        signoff = signoff.replace("\n{org}", "")
    group = cast.group_for(topic.group)
    more = texts.MORE_ON_PROBLEMS if topic.is_problem else texts.MORE_ON_REQUESTS
    return TicketPlan(
        topic=topic,
        case=case,
        more=rng.choice(more),
        requester=requester,
        created_at=created,
        target=target,
        priority=priority,
        channel=channel,
        subject=rng.choice(case.subjects),
        description=f"{greeting}\n\n{case.opening}\n\n{signoff}",
        tags=tags,
        untriaged=target is S.NEW and rng.random() < 0.4,
        via_support=channel is Channel.EMAIL
        and group != "Support"
        and "Support" in cast.groups
        and rng.random() < 0.15,
        facts=facts,
        seed=rng.randrange(2**32),
    )


def _agent_text(rng: random.Random, plan: TicketPlan, kind: str) -> str:
    topic, case, problem = plan.topic, plan.case, plan.topic.is_problem
    pools = {
        "ack": texts.ACKS,
        "ask": (case.ask,),
        "more": (plan.more[0],),
        "update": texts.UPDATES_ON_PROBLEMS if problem else texts.UPDATES,
        "hold": (case.hold,) if case.hold else texts.HOLDS_ON_PROBLEMS if problem else texts.HOLDS,
        "hold_update": texts.HOLD_UPDATES,
        "fix": (case.fix,),
        "fix_confirm": (case.fix,),
        "closing": texts.CLOSINGS,
    }
    body = rng.choice(pools[kind])
    if kind == "fix_confirm":
        confirm = texts.CONFIRM_ON_PROBLEMS if topic.is_problem else texts.CONFIRM_ON_REQUESTS
        body = f"{body} {rng.choice(confirm)}"
    greeting = rng.choice(texts.AGENT_GREETINGS)
    return f"{greeting}\n\n{body}\n\n{rng.choice(texts.AGENT_SIGNOFFS)}"


def _customer_text(rng: random.Random, plan: TicketPlan, kind: str) -> str:
    problem = plan.topic.is_problem
    pools = {
        "details": (plan.case.details,),
        "more_details": (plan.more[1],),
        "nudge": texts.NUDGES_ON_PROBLEMS if problem else texts.NUDGES,
        "thanks": texts.THANKS_ON_PROBLEMS if problem else texts.THANKS_ON_REQUESTS,
        "extra": texts.EXTRAS,
    }
    body = rng.choice(pools[kind])
    greetings: tuple[str, ...] = (
        texts.CUSTOMER_GREETINGS if kind == "extra" else texts.CUSTOMER_REPLY_GREETINGS
    )
    signoffs: tuple[str, ...] = texts.CUSTOMER_SIGNOFFS
    if kind == "thanks":  # thanked once is enough
        greetings = tuple(g for g in greetings if not g.startswith("Thanks"))
        signoffs = tuple(s for s in signoffs if not s.startswith("Thank"))
    greeting = rng.choice(greetings)
    signoff = rng.choice(signoffs)
    if plan.requester.organization is None:
        signoff = signoff.replace("\n{org}", "")
    return f"{greeting}\n\n{body}\n\n{signoff}"


def _first_gap(rng: random.Random, priority: Priority) -> timedelta:
    low, high = {
        Priority.URGENT: (4, 35),
        Priority.HIGH: (15, 180),
        Priority.NORMAL: (30, 600),
        Priority.LOW: (60, 1440),
    }[priority]
    return timedelta(minutes=low + (high - low) * rng.random() ** 1.5)


def _gap(rng: random.Random, kind: str, priority: Priority) -> timedelta:
    if kind in ("nudge", "hold_update"):
        return timedelta(hours=rng.uniform(20, 80))
    if kind == "close":
        return timedelta(days=rng.uniform(2, 5))
    if kind in CUSTOMER_REPLIES:
        return timedelta(minutes=25 + 2100 * rng.random() ** 2)
    return _first_gap(rng, priority) * 0.6


def _converse(rng: random.Random, cast: Cast, plan: TicketPlan, now: datetime) -> None:
    """The ticket's steps after creation, then their times, squeezed to end before `now`."""
    group = cast.group_for(plan.topic.group)
    if plan.target is S.NEW and plan.channel in (Channel.PHONE, Channel.CHAT):
        plan.channel = Channel.EMAIL  # a call or chat is answered while it happens
    shape = rng.choice(SHAPES[plan.target])
    steps: list[Step] = []
    if plan.channel is Channel.PORTAL and not plan.untriaged:
        steps.append(Step("triage", timedelta(minutes=rng.uniform(4, 70))))
    first_agent = True
    for kind in shape:
        if kind in CUSTOMER_REPLIES:
            text = _customer_text(rng, plan, kind)
            attach = None
            if kind == "details" and plan.case.attach and rng.random() < ATTACH_SHARE:
                file_kind, mention = plan.case.attach
                name = files.filename_for(file_kind, plan.topic.key, plan.created_at)
                attach = (file_kind, name, mention)
            steps.append(Step(kind, _gap(rng, kind, plan.priority), text, attach=attach))
            continue
        gap = _first_gap(rng, plan.priority) if first_agent else _gap(rng, kind, plan.priority)
        if first_agent and plan.via_support:
            steps.append(Step("transfer", gap * 0.5))
            gap *= 0.5
        if kind == "hold":
            notes = [n for n in plan.case.notes if "{ref}" in n] or list(texts.HOLD_NOTES)
            steps.append(Step("note", gap, rng.choice(notes)))
            gap = timedelta(minutes=rng.uniform(2, 20))
        steps.append(Step(kind, gap, _agent_text(rng, plan, kind)))
        if first_agent:
            first_agent = False
            if plan.requester.colleagues and rng.random() < 0.1:
                colleague = rng.choice(
                    [c for c in cast.customers if c.first in plan.requester.colleagues]
                )
                steps.append(Step("cc", MINUTE, contact_id=colleague.id))
            if plan.priority in (Priority.HIGH, Priority.URGENT) and rng.random() < 0.3:
                steps.append(Step("follow", MINUTE))
    _add_notes(rng, cast, plan, group, steps)
    if plan.target is S.CLOSED:
        steps.append(Step("close", _gap(rng, "close", plan.priority)))
    plan.steps = steps
    _schedule(rng, plan, now)


def _add_notes(
    rng: random.Random, cast: Cast, plan: TicketPlan, group: str, steps: list[Step]
) -> None:
    agent_turns = [i for i, s in enumerate(steps) if s.kind in AGENT_REPLIES]
    light = bool(cast.light.get(group))
    if not agent_turns:
        if light and rng.random() < 0.15:
            text = rng.choice(texts.LIGHT_AGENT_NOTES)
            steps.append(Step("note", timedelta(minutes=rng.uniform(20, 200)), text, "light"))
        return
    wanted = 1 if rng.random() < 0.25 else 0
    wanted += 1 if wanted and rng.random() < 0.25 else 0
    for _ in range(wanted):
        after = rng.choice(agent_turns)
        who = _pick(rng, (60, 25, 15 if light else 0), ["assignee", "lead", "light"])
        pool = plan.case.notes + plan.topic.notes
        if who == "light":
            pool = texts.LIGHT_AGENT_NOTES
        elif not pool or rng.random() < 0.35:
            pool = texts.GENERIC_NOTES
        note = Step("note", timedelta(minutes=rng.uniform(3, 120)), rng.choice(pool), who)
        steps.insert(after + 1, note)
        agent_turns = [i for i, s in enumerate(steps) if s.kind in AGENT_REPLIES]


def _schedule(rng: random.Random, plan: TicketPlan, now: datetime) -> None:
    """Place the steps; a conversation that would run past `now` is squeezed to end before it."""
    total = sum((s.gap for s in plan.steps), timedelta())
    age = now - plan.created_at
    end = now - min(timedelta(minutes=rng.uniform(4, 600)), age / 3)
    factor = min(1.0, (end - plan.created_at) / total) if total else 1.0
    at = plan.created_at
    plan.times = []
    for step in plan.steps:
        at += max(step.gap * factor, timedelta(seconds=1))
        plan.times.append(at)
