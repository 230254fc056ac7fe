"""Realistic ticket texts: the demo's conversations, filled with varied facts.

Rendering a template per row would dominate the load time, so a pool of filled texts is made
once per run and sampled from.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from frontdesk.demo import texts

FIRST = ["Jordan", "Mei", "Samuel", "Laura", "Ahmed", "Nina", "Olga", "Peter", "Fatima", "Diego"]
LAST = ["Ellis", "Tanaka", "Okoro", "Fischer", "Haddad", "Petrova", "Lindgren", "Ramos", "Silva"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "September"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def _facts(rng: random.Random) -> dict[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    org = rng.choice(["Northwind Clinics", "Bluebird Dental", "Kestrel Fitness", "Orbit Legal"])
    month = rng.choice(MONTHS)
    return {
        "first": first,
        "name": f"{first} {last}",
        "org": org,
        "org_slug": org.split()[0].lower(),
        "colleague": rng.choice(FIRST),
        "company": "Acme",
        "company_upper": "ACME",
        "agent": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        "agent_first": rng.choice(FIRST),
        "lead_first": rng.choice(FIRST),
        "group": rng.choice(["Support", "Billing", "Technical", "Sales"]),
        "invoice": f"INV-{rng.randint(10000, 99999)}",
        "amount": f"${rng.randint(19, 900)}.{rng.randint(0, 99):02d}",
        "month": month,
        "year": str(rng.choice([2025, 2026])),
        "card": f"{rng.randint(1000, 9999)}",
        "plan": rng.choice(["Starter", "Team", "Business"]),
        "other_plan": rng.choice(["Team", "Business", "Enterprise"]),
        "seats": str(rng.randint(3, 80)),
        "rows": str(rng.randint(200, 20000)),
        "seconds": str(rng.randint(4, 40)),
        "locations": str(rng.randint(2, 14)),
        "people": str(rng.randint(2, 40)),
        "browser": rng.choice(["Chrome 131", "Firefox 133", "Safari 18", "Edge 131"]),
        "device": rng.choice(["iPhone 15", "Pixel 8", "Galaxy S23", "iPad Air"]),
        "app_version": f"4.{rng.randint(0, 9)}.{rng.randint(0, 20)}",
        "date": f"{month} {rng.randint(1, 28)}",
        "weekday": rng.choice(WEEKDAYS),
        "time": f"{rng.randint(8, 18)}:{rng.choice(['00', '15', '30', '45'])}",
        "tz": rng.choice(["CET", "EST", "PST", "GMT"]),
        "ref": f"REF-{rng.randint(100000, 999999)}",
        "days": str(rng.randint(2, 30)),
        "count": str(rng.randint(2, 12)),
    }


@dataclass(frozen=True)
class Conversation:
    """One filled case: what a ticket and its thread say."""

    topic: texts.Topic
    subject: str
    opening: str
    replies: tuple[str, ...]
    notes: tuple[str, ...]


def conversation_pool(rng: random.Random, size: int) -> list[Conversation]:
    pool = []
    weighted = [topic for topic in texts.TOPICS for _ in range(topic.weight)]
    for _ in range(size):
        topic = rng.choice(weighted)
        case = rng.choice(topic.cases)
        facts = _facts(rng)

        def fill(template: str, facts: dict[str, str] = facts) -> str:
            return template.format_map(facts)

        replies = [fill(case.ask), fill(case.details), fill(case.fix)]
        replies += [fill(t) for t in rng.sample(texts.UPDATES, 1)]
        replies += [fill(t) for t in rng.sample(texts.THANKS_ON_REQUESTS, 1)]
        notes = [fill(t) for t in (*case.notes, *topic.notes, *texts.GENERIC_NOTES[:2])]
        pool.append(
            Conversation(
                topic=topic,
                subject=fill(rng.choice(case.subjects)),
                opening=fill(case.opening),
                replies=tuple(replies),
                notes=tuple(notes),
            )
        )
    return pool


def search_phrases(pool: list[Conversation], rng: random.Random, count: int) -> list[str]:
    """Two adjacent words from real subjects: what an agent types to find a ticket again."""
    phrases: list[str] = []
    while len(phrases) < count:
        words = [w for w in rng.choice(pool).subject.split() if w.isalpha() and len(w) > 3]
        if len(words) >= 2:
            start = rng.randrange(len(words) - 1)
            phrases.append(f"{words[start]} {words[start + 1]}".lower())
    return phrases
