"""UUIDv7 ids for rows made at a given moment (Frontdesk's ids are time-ordered UUIDv7)."""

from __future__ import annotations

import random
from datetime import datetime
from uuid import UUID


def uuid7_at(moment: datetime, rng: random.Random) -> UUID:
    millis = int(moment.timestamp() * 1000)
    value = (millis & (2**48 - 1)) << 80
    value |= 0x7 << 76 | rng.getrandbits(12) << 64 | 0b10 << 62 | rng.getrandbits(62)
    return UUID(int=value)
