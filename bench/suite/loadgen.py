"""A bounded closed-loop load generator: N workers, each sends its next request when the last
one answered, until a request count or a time limit is reached (whichever comes first)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

#: One operation: sends its request(s) for the i-th call; raises on a failed answer.
Operation = Callable[[httpx.AsyncClient, int], Awaitable[None]]


class Failed(Exception):
    pass


def check(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        raise Failed(f"{response.status_code} {response.text[:200]}")
    return response


@dataclass
class Cell:
    concurrency: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    timeouts: int = 0
    elapsed_s: float = 0.0
    first_error: str | None = None

    def summary(self) -> dict[str, object]:
        done = sorted(self.latencies_ms)
        return {
            "concurrency": self.concurrency,
            "requests": len(done),
            "rps": round(len(done) / self.elapsed_s, 2) if self.elapsed_s else 0.0,
            "p50_ms": _quantile(done, 0.50),
            "p95_ms": _quantile(done, 0.95),
            "p99_ms": _quantile(done, 0.99),
            "errors": self.errors,
            "timeouts": self.timeouts,
            "first_error": self.first_error,
        }


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(q * len(values)))], 2)


async def run_cell(
    base_url: str,
    headers: dict[str, str],
    operation: Operation,
    *,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    request_timeout: float,
    counter: itertools.count[int],
) -> Cell:
    cell = Cell(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=request_timeout
    ) as client:
        sent = 0
        started = time.perf_counter()
        deadline = started + max_seconds

        async def worker() -> None:
            nonlocal sent
            while sent < max_requests and time.perf_counter() < deadline:
                sent += 1
                t0 = time.perf_counter()
                try:
                    await operation(client, next(counter))
                except httpx.TimeoutException:
                    cell.timeouts += 1
                    cell.errors += 1
                    cell.first_error = cell.first_error or f"time-out after {request_timeout} s"
                except (Failed, httpx.HTTPError) as exc:
                    cell.errors += 1
                    cell.first_error = cell.first_error or str(exc)[:300]
                else:
                    cell.latencies_ms.append((time.perf_counter() - t0) * 1000)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        cell.elapsed_s = time.perf_counter() - started
    return cell
