"""Writes docs/reliability.md from the robustness suite's own counters.

    python -m tests.robustness.report            # or: make reliability

Runs the robustness tests (schema fuzzing, isolation and visibility sweeps, hostile input,
SSRF, scoped queries, concurrency, crash tests) with FRONTDESK_ROBUSTNESS_COUNTERS set, runs
bandit and the dependency audit, and renders what they counted. With FRONTDESK_TEST_DATABASE_URL
set, every figure is there for SQLite and PostgreSQL (crash and multi-process concurrency tests
run on PostgreSQL only). FRONTDESK_FUZZ_EXAMPLES raises the fuzzing examples as in `make fuzz`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.robustness.counters import COUNTERS_DIR

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OUTPUT = ROOT / "docs" / "reliability.md"
SUITE = [
    "tests/robustness",
    "tests/test_tenant_isolation.py",
    "tests/tickets/test_visibility.py",
    "tests/tickets/test_concurrency.py",
    "tests/core/test_outbound.py",
]


def run_suite(counters: Path) -> tuple[int, str]:
    env = {**os.environ, COUNTERS_DIR: str(counters)}
    command = [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", *SUITE]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    lines = run.stdout.strip().splitlines()
    summary = lines[-1] if lines else run.stderr[-500:]
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    if failed:
        summary += "; " + "; ".join(failed)
        print(run.stdout[-20000:], file=sys.stderr)
    return run.returncode, summary


def bandit_figures() -> dict[str, int]:
    command = [str(BIN / "bandit"), "-r", "src", "-q", "-f", "json"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    results = json.loads(run.stdout)["results"]
    figures = {"high": 0, "medium": 0, "low": 0}
    for result in results:
        figures[result["issue_severity"].lower()] += 1
    return figures


def audit_summary() -> str:
    command = [str(BIN / "python"), ".ci/audit_dependencies.py"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    lines = (run.stdout + run.stderr).strip().splitlines()
    return " ".join(lines) if lines else "no output"


def load(counters: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """name -> backend -> figures."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted(counters.glob("*.json")):
        figures = json.loads(path.read_text())
        found.setdefault(figures.pop("name"), {})[figures.pop("backend")] = figures
    return found


def table(rows: dict[str, dict[str, Any]], labels: dict[str, str]) -> list[str]:
    backends = sorted(rows)
    if not backends:
        return ["(not run)", ""]
    lines = ["| figure | " + " | ".join(backends) + " |", "| --- |" + " ---: |" * len(backends)]
    for key, label in labels.items():
        values = [_cell(rows[b].get(key, "")) for b in backends]
        lines.append(f"| {label} | " + " | ".join(values) + " |")
    return [*lines, ""]


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


SECTIONS: list[tuple[str, str, dict[str, str]]] = [
    (
        "fuzz",
        "Schema fuzzing (schemathesis, every operation as 5 principals, plus 2 credential checks)",
        {
            "operations": "operations in the OpenAPI schema",
            "cases": "generated cases",
            "requests": "requests sent",
            "principals": "principals per case",
            "examples_per_batch": "examples per operation and mode",
            "seed": "seed",
            "statuses": "answers by status",
            "failures": "check failures",
        },
    ),
    (
        "isolation",
        "Tenant isolation sweep",
        {
            "routes": "API routes",
            "tenant_routes": "tenant routes",
            "callers": "principals of other tenants",
            "requests": "requests probed",
            "tables_hashed": "tenant tables hashed before/after",
            "rows_of_a": "rows of tenant A hashed",
            "leaks_or_wrong_answers": "leaks or wrong answers",
        },
    ),
    (
        "visibility",
        "Customer visibility sweep",
        {
            "routes": "GET routes a customer could call",
            "routes_reached": "routes the customer reached (200)",
            "requests": "requests",
            "canaries": "canary strings",
            "hidden_ids": "hidden object ids",
            "leaks": "leaks",
        },
    ),
    (
        "crash_worker",
        "Crash: worker killed -9 during outbox relay",
        {
            "kills": "kills",
            "kills_mid_relay": "kills with events still pending",
            "events_committed": "events committed",
            "events_delivered": "distinct events delivered",
            "redeliveries": "re-deliveries (at least once)",
            "torn_lines": "event log lines cut by a kill",
            "events_lost": "events lost",
        },
    ),
    (
        "crash_mail",
        "Crash: worker killed -9 while relaying and sending mail (aiosmtpd on loopback)",
        {
            "kills": "kills",
            "kills_after_relay_began": "kills after relaying began",
            "kills_after_sending_began": "kills after sending began",
            "kills_mid_relay": "kills with events still pending",
            "kills_mid_send": "kills with claimed mail unrecorded",
            "events_committed": "events committed",
            "events_lost": "events lost",
            "mails_queued": "mails queued",
            "mails_received": "mails received by the SMTP server",
            "duplicate_mails": "duplicates (same Message-ID, at least once)",
            "replies_not_planned": "agent replies without their mail",
            "mails_lost": "mails lost",
        },
    ),
    (
        "crash_intake",
        "Crash: worker killed -9 while polling IMAP (Dovecot on loopback, flag and move channels)",
        {
            "kills": "kills",
            "kills_right_after_a_commit": "kills right after an import committed",
            "kills_mid_import": "kills with mail still waiting",
            "kills_between_commit_and_mark": "kills between a commit and its flag or move",
            "messages_appended": "messages appended to the mailboxes",
            "replies_appended": "of which replies to earlier ones",
            "messages_with_a_file": "of which with an attachment",
            "imported": "messages imported",
            "duplicates_avoided": "committed, fetched again and recognised",
            "imported_twice": "messages filed twice",
            "lost": "messages lost",
            "replies_misthreaded": "replies on the wrong ticket",
            "files_wrong": "messages with wrong attachments",
            "marked_not_imported": "flagged or moved before their import committed",
            "left_unmarked": "left unflagged or unmoved",
            "two_copies_in_mailbox": "left twice in the mailbox",
        },
    ),
    (
        "crash_api",
        "Crash: API process killed -9 during concurrent writes",
        {
            "writes_sent": "creates and replies sent",
            "acknowledged": "acknowledged (2xx)",
            "failed_or_cut": "cut short by the kill",
            "restarts": "restarts",
            "acknowledged_missing": "acknowledged writes missing",
            "half_written": "half-written tickets or messages",
        },
    ),
    (
        "concurrency_if_match",
        "Concurrency: conditional updates (two API processes)",
        {
            "clients": "clients",
            "tickets": "tickets",
            "accepted": "accepted updates",
            "refused_412_409": "refused (412/409), re-read and retried",
            "lost_updates": "lost updates",
        },
    ),
    (
        "concurrency_round_robin",
        "Concurrency: round robin under concurrent creation",
        {"tickets": "tickets", "agents": "agents", "per_agent": "tickets per agent"},
    ),
    (
        "xss",
        "XSS corpus through every user-writable text field",
        {
            "payloads": "payloads",
            "writes": "writes",
            "reads": "reads (staff and customer)",
            "html_fields_checked": "HTML fields checked",
            "executable_found": "executable content found",
        },
    ),
    (
        "mail_xss",
        "XSS corpus through outgoing mail (every mail kind, read from the SMTP server)",
        {
            "payloads": "payloads",
            "writes": "writes",
            "refused": "refused (4xx)",
            "mail_kinds": "kinds of mail received",
            "mails": "mails received",
            "html_parts_checked": "HTML parts parsed",
            "executable_or_unescaped": "executable or unescaped content found",
        },
    ),
    (
        "mail_visibility",
        "Customer visibility of outgoing mail and in-app notices",
        {
            "mails_to_contacts": "mails to contacts",
            "customer_kinds": "kinds of customer mail",
            "mails_to_staff": "mails to staff (the control: these may show the note)",
            "canaries": "canary strings",
            "leaks": "leaks",
        },
    ),
    (
        "uploads",
        "Hostile uploads",
        {
            "hostile_filenames": "hostile filenames (as staff and customer)",
            "hostile_files": "hostile files",
            "stored_inert": "stored and served inert",
            "refused": "refused (4xx)",
            "files_outside_blob_store": "files outside the blob store",
            "failures": "failures",
        },
    ),
    (
        "ssrf",
        "SSRF policy (core/outbound.py)",
        {"blocked_urls": "blocked URLs tried", "connections_to_blocked": "connections made"},
    ),
    (
        "scoped_queries",
        "Static check: queries on tenant tables",
        {
            "files": "source files",
            "tenant_models": "tenant tables",
            "statements_on_tenant_tables": "statements on tenant tables",
            "allowed_exceptions": "listed exceptions",
            "unscoped": "unscoped queries",
        },
    ),
]


def render(
    figures: dict[str, dict[str, dict[str, Any]]],
    outcome: tuple[int, str],
    bandit: dict[str, int],
    audit: str,
) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    lines = [
        "# Reliability report",
        "",
        "Generated by `python -m tests.robustness.report` (`make reliability`) from the",
        "robustness suite's own counters; do not edit by hand.",
        "",
        f"- generated: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, commit `{commit}`",
        f"- suite: {outcome[1]} (exit status {outcome[0]})",
        f"- backends: {', '.join(sorted({b for f in figures.values() for b in f}))}",
        "",
    ]
    for name, title, labels in SECTIONS:
        lines += [f"## {title}", "", *table(figures.get(name, {}), labels)]
    lines += [
        "## Static and dependency checks",
        "",
        f"- bandit over src: {bandit['high']} high, {bandit['medium']} medium, "
        f"{bandit['low']} low severity findings (high fails CI)",
        f"- dependency audit: {audit}",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    with tempfile.TemporaryDirectory() as directory:
        counters = Path(directory)
        outcome = run_suite(counters)
        figures = load(counters)
    OUTPUT.write_text(render(figures, outcome, bandit_figures(), audit_summary()))
    print(f"{OUTPUT.relative_to(ROOT)}: {outcome[1]}")
    return outcome[0]


if __name__ == "__main__":
    sys.exit(main())
