"""The suite's own figures, for docs/reliability.md.

A robustness test calls `record(name, figures)`; when FRONTDESK_ROBUSTNESS_COUNTERS names a
directory (set by `python -m tests.robustness.report`), the figures are written there as one JSON
file per test and backend. In a normal test run nothing is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

COUNTERS_DIR = "FRONTDESK_ROBUSTNESS_COUNTERS"


def record(name: str, backend: str, figures: dict[str, Any]) -> None:
    directory = os.environ.get(COUNTERS_DIR)
    if not directory:
        return
    path = Path(directory) / f"{name}.{backend}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": name, "backend": backend, **figures}, indent=1))


def backend_of(database_url: str) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"
