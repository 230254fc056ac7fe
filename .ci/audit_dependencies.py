"""Audit the locked runtime dependencies for known vulnerabilities (pip-audit).

Fails on any known vulnerability that `.ci/pip-audit-ignore.txt` does not list with a reason.
When the vulnerability service cannot be reached, nothing was audited: that is said loudly,
and it fails only with FRONTDESK_REQUIRE_AUDIT=1 (set it where the service is reachable, so an
outage cannot pass silently there). On the project's own machines neither service answers
(PyPI's per-release JSON API gives 404, OSV does not resolve), so CI does not set it; see the
README's "Robustness suite".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORE_FILE = ROOT / ".ci" / "pip-audit-ignore.txt"


def ignored() -> dict[str, str]:
    entries = {}
    for raw in IGNORE_FILE.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            vuln_id, _, reason = line.partition(" ")
            if not reason.strip():
                sys.exit(f"{IGNORE_FILE.name}: {vuln_id} needs a reason")
            entries[vuln_id] = reason.strip()
    return entries


def main() -> int:
    skips = ignored()
    command = [
        str(ROOT / ".venv" / "bin" / "pip-audit"),
        "--requirement", str(ROOT / "requirements.lock"),
        "--no-deps", "--disable-pip",  # the lock pins every package: nothing to resolve
        "--format", "json", "--progress-spinner", "off",
    ]
    for vuln_id in skips:
        command += ["--ignore-vuln", vuln_id]
    run = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        print(run.stderr, file=sys.stderr)
        print("pip-audit failed before auditing anything", file=sys.stderr)
        return 1
    dependencies = report["dependencies"]
    audited = [d for d in dependencies if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            print(f"VULNERABLE {dependency['name']} {dependency['version']}: {vuln['id']} ({fixes})")
    print(f"pip-audit: {len(audited)} of {len(dependencies)} locked packages audited, "
          f"{len(vulnerable)} vulnerable, {len(skips)} advisories ignored with a reason")
    if vulnerable:
        return 1
    if len(audited) < len(dependencies):
        print(
            "NOT AUDITED: the vulnerability service did not answer for "
            f"{len(dependencies) - len(audited)} packages "
            f"(e.g. {next(d for d in dependencies if 'skip_reason' in d)['skip_reason']})",
            file=sys.stderr,
        )
        return 1 if os.environ.get("FRONTDESK_REQUIRE_AUDIT") == "1" else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
