"""Small generated files for the demo's attachments: a screenshot-like PNG and text logs."""

from __future__ import annotations

import random
import struct
import zlib
from datetime import datetime, timedelta

#: The name of the log a customer sends on each topic.
LOG_NAMES = {
    "api": "api-errors.txt",
    "webhooks": "webhook-deliveries.txt",
    "performance": "browser-console.txt",
    "data_import": "import-report.txt",
}


def filename_for(kind: str, topic_key: str, when: datetime) -> str:
    if kind == "txt":
        return LOG_NAMES[topic_key]
    return f"screenshot-{when:%Y-%m-%d}.png"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png(rng: random.Random, width: int = 48, height: int = 32) -> bytes:
    """A valid RGB PNG: a light page with a title bar and a few grey 'text' lines."""
    accent = (rng.randint(20, 90), rng.randint(90, 160), rng.randint(150, 230))
    lines = [(rng.randint(4, 10), rng.randint(20, width - 6)) for _ in range(4)]
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            pixel = (246, 247, 249)
            if y < 6:
                pixel = accent
            else:
                for index, (start, end) in enumerate(lines):
                    if y == 10 + index * 5 and start <= x < end:
                        pixel = (150, 154, 160)
            rows += bytes(pixel)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


def text_log(rng: random.Random, topic_key: str, when: datetime) -> bytes:
    """A few plausible lines of the kind of log each topic's customer would send."""
    at = when - timedelta(hours=rng.randint(2, 30))
    lines: list[str] = []
    for _ in range(rng.randint(6, 14)):
        at += timedelta(seconds=rng.randint(3, 400))
        stamp = f"{at:%Y-%m-%dT%H:%M:%S}Z"
        request = f"req_{rng.getrandbits(40):010x}"
        lines.append(
            {
                "api": f"{stamp} POST /api/appointments -> 401 Unauthorized ({request})",
                "webhooks": f"{stamp} booking.created delivered after"
                f" {rng.randint(40, 380)} min, attempt {rng.randint(2, 7)} ({request})",
                "performance": f"{stamp} [perf] week view rendered in"
                f" {rng.uniform(6, 40):.1f}s ({rng.randint(8, 30)} calendars)",
                "data_import": f"row {rng.randint(2, 480)}: Invalid value in column"
                f" '{rng.choice(['date_of_birth', 'phone', 'email'])}'",
            }[topic_key]
        )
    return ("\n".join(lines) + "\n").encode()


def content(rng: random.Random, kind: str, topic_key: str, when: datetime) -> bytes:
    return png(rng) if kind == "png" else text_log(rng, topic_key, when)
