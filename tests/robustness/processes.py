"""Real `frontdesk serve` and `frontdesk worker` processes on loopback, for crash and
concurrency tests: started against the test database, killed with SIGKILL, restarted.

Each process gets its own log file (shown when a start fails) and inherits the test process's
environment (cheap password hashing, the test secret key). `Service` is the shape every
process kind shares, so a mail sender or a poller is one more subclass.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

FRONTDESK = Path(sys.executable).with_name("frontdesk")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Service:
    """One process of the product, with its environment and log."""

    database_url: str
    data_dir: Path
    name: str
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.name}.log"

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "FRONTDESK_DATABASE_URL": self.database_url,
            "FRONTDESK_DATA_DIR": str(self.data_dir),
            "FRONTDESK_EMBEDDED_WORKER": "false",
            "FRONTDESK_LOG_LEVEL": "WARNING",
            **self.extra_env,
        }

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(), env=self.environment(), stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a machine or the OOM killer takes it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def log_tail(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-3000:]


@dataclass
class Server(Service):
    """`frontdesk serve` on a free loopback port."""

    port: int = field(default_factory=free_port)
    workers: int = 1

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            str(FRONTDESK),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]

    def start_and_wait(self, timeout: float = 60) -> None:
        self.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not become ready:\n{self.log_tail()}")


@dataclass
class Worker(Service):
    """`frontdesk worker`: the outbox relay (and the jobs domains register)."""

    def command(self) -> list[str]:
        return [str(FRONTDESK), "worker"]
