"""results.json (per operation: frontdesk, limit, peer; scaling; memory) and its table."""

from __future__ import annotations

from typing import Any

HEADLINE_KEYS = ("rps", "p50_ms", "p95_ms", "p99_ms", "errors", "timeouts")


def _headline(levels: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The figures at the highest concurrency, every level kept under `levels`."""
    top = levels[max(levels, key=int)]
    figures = {key: top[key] for key in HEADLINE_KEYS}
    figures["concurrency"] = top["concurrency"]
    figures["timed_out"] = bool(top["timeouts"]) and not top["requests"]
    return figures | {"levels": levels}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def _ratios_by_level(systems: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Frontdesk's throughput over the limit's and the peer's, at each concurrency level."""
    ratios: dict[str, dict[str, Any]] = {}
    for level, fd in systems.get("frontdesk", {}).items():
        for other in ("limit", "peer"):
            theirs = systems.get(other, {}).get(level)
            if theirs is not None:
                value = _ratio(fd["rps"], theirs["rps"]) if theirs["requests"] else "timed out"
                ratios.setdefault(level, {})[other] = value
    return ratios


def assemble(
    results: dict[str, dict[str, Any]],
    scaling: dict[str, dict[str, Any]],
    memory: dict[str, dict[str, float]],
    meta: dict[str, Any],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for op, systems in results.items():
        entry: dict[str, Any] = {system: _headline(levels) for system, levels in systems.items()}
        fd = entry.get("frontdesk", {})
        for other in ("limit", "peer"):
            if other in entry:
                theirs = entry[other]
                # A peer that timed out has no throughput: the ratio is unbounded, said as such.
                entry[f"frontdesk_vs_{other}"] = (
                    "peer timed out"
                    if theirs["timed_out"]
                    else _ratio(fd.get("rps"), theirs["rps"])
                )
        entry["ratios_by_concurrency"] = _ratios_by_level(systems)
        out[op] = entry
    out["scaling"] = {}
    for op, points in scaling.items():
        sizes = sorted(points, key=int)
        first, last = points[sizes[0]], points[sizes[-1]]
        out["scaling"][op] = {
            "p50_ms": {size: points[size]["p50_ms"] for size in sizes},
            "p99_ms": {size: points[size]["p99_ms"] for size in sizes},
            "tickets_total": {size: points[size]["tickets_total"] for size in sizes},
            "growth_p50": _ratio(last["p50_ms"], first["p50_ms"]),
        }
    out["memory_peak_rss_mb"] = memory
    out["meta"] = meta
    return out


def _cell(figures: dict[str, Any] | None) -> str:
    if figures is None:
        return "–"
    if figures["timed_out"]:
        return f"time-out ({figures['errors']} of {figures['errors']} calls)"
    text = f"{figures['rps']:.3g} rps, p50 {figures['p50_ms']} / p99 {figures['p99_ms']} ms"
    if figures["errors"]:
        text += f", {figures['errors']} errors"
    return text


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"# Benchmark {meta['date']}",
        "",
        f"`{meta.get('command', 'bench/run')}` — {meta['tickets_total']:,} tickets,"
        f" {meta['messages_total']:,} messages, {meta['tenants']} tenants"
        f" ({meta['tickets_in_measured_tenant']:,} in the measured one); figures at"
        f" concurrency {max(meta['levels'])}, {meta['seconds_per_measurement']} s or"
        f" {meta['max_requests_per_measurement']} requests per measurement.",
        "",
        "| operation | Frontdesk | limit | ×limit | django-helpdesk | ×peer |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for op, entry in results.items():
        if op in ("scaling", "memory_peak_rss_mb", "meta"):
            continue
        lines.append(
            f"| {op} | {_cell(entry.get('frontdesk'))} | {_cell(entry.get('limit'))}"
            f" | {entry.get('frontdesk_vs_limit', '–')} | {_cell(entry.get('peer'))}"
            f" | {entry.get('frontdesk_vs_peer', '–')} |"
        )
    lines += ["", "Every level (rps, p50/p95/p99 ms, errors):", ""]
    lines += ["| operation | system | " + " | ".join(f"c={c}" for c in meta["levels"]) + " |"]
    lines += ["| --- | --- | " + " | ".join("---" for _ in meta["levels"]) + " |"]
    for op, entry in results.items():
        if op in ("scaling", "memory_peak_rss_mb", "meta"):
            continue
        for system in ("frontdesk", "limit", "peer"):
            if system not in entry:
                continue
            cells = []
            for level in meta["levels"]:
                c = entry[system]["levels"].get(str(level))
                if c is None:
                    cells.append("–")
                elif not c["requests"]:
                    cells.append(f"no answer ({c['errors']} errors)")
                else:
                    cells.append(f"{c['rps']:.3g} · {c['p50_ms']}/{c['p95_ms']}/{c['p99_ms']}"
                                 + (f" · {c['errors']} err" if c["errors"] else ""))  # fmt: skip
            lines.append(f"| {op} | {system} | " + " | ".join(cells) + " |")
    lines += ["", "Scaling (Frontdesk, concurrency 1; tickets in the measured tenant):", ""]
    scaling = results["scaling"]
    sizes = sorted({s for op in scaling.values() for s in op["p50_ms"]}, key=int)
    lines += ["| operation | " + " | ".join(f"{int(s):,}" for s in sizes) + " | growth p50 |"]
    lines += ["| --- | " + " | ".join("---" for _ in sizes) + " | --- |"]
    for op, points in scaling.items():
        cells = [f"p50 {points['p50_ms'].get(s)} / p99 {points['p99_ms'].get(s)} ms" for s in sizes]
        lines.append(f"| {op} | " + " | ".join(cells) + f" | {points['growth_p50']}× |")
    lines += ["", "Peak RSS (MB) per process:", ""]
    for name, peaks in results["memory_peak_rss_mb"].items():
        lines.append(f"- {name}: " + ", ".join(f"{mb}" for mb in peaks.values()))
    return "\n".join(lines) + "\n"
