"""The real `frontdesk` command in subprocesses, on an embedded SQLite data directory.

Ends by serving the API from that directory and using a token the CLI made, over real HTTP.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

FRONTDESK = Path(sys.executable).parent / "frontdesk"
PASSWORD = "cli-password-123"
AGENT = ("--email", "agent@cli.example")
TIMEOUT = 60
# The demo loads 300 tickets: ~25 s on a quiet machine, several times that under load. The
# limit only guards against a hang.
DEMO_TIMEOUT = 600


def cli_env(data_dir: Path) -> dict[str, str]:
    """The parent's environment without any FRONTDESK_* setting, plus the data dir."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FRONTDESK_")}
    env.update(
        FRONTDESK_DATA_DIR=str(data_dir),
        FRONTDESK_PASSWORD_HASH_TIME_COST="1",
        FRONTDESK_PASSWORD_HASH_MEMORY_KIB="8",
        FRONTDESK_LOG_LEVEL="WARNING",
    )
    return env


@dataclass(frozen=True)
class Cli:
    data_dir: Path

    @property
    def env(self) -> dict[str, str]:
        return cli_env(self.data_dir)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(FRONTDESK), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=DEMO_TIMEOUT if args[:1] == ("demo",) else TIMEOUT,
            check=False,
        )

    def many(self, *commands: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
        """Commands that write nothing, at the same time (each is a second of imports)."""
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            return list(pool.map(lambda args: self.run(*args), commands))

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    def json(self, *args: str) -> dict[str, Any]:
        """Run with --json: stdout is exactly one JSON object."""
        out = self.ok(*args, "--json")
        lines = out.strip().splitlines()
        assert len(lines) == 1, out
        value = json.loads(lines[0])
        assert isinstance(value, dict)
        return value


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return Cli(tmp_path_factory.mktemp("cli-data"))


@pytest.fixture(scope="module")
def provisioned(cli: Cli) -> dict[str, dict[str, Any]]:
    """A tenant with an agent and a contact, a platform admin, and a token for the agent."""
    out = cli.ok("db", "upgrade")
    assert "newest migration" in out
    assert (cli.data_dir / "frontdesk.sqlite3").is_file()
    # One at a time: each depends on the one before.
    made: dict[str, dict[str, Any]] = {}
    made["tenant"] = cli.json("tenant", "create", "--slug", "cli-co", "--name", "CLI Co")
    admin = ["--email", "root@cli.example", "--password", PASSWORD, "--platform-admin"]
    made["admin"] = cli.json("user", "create", *admin)
    made["agent"] = cli.json("user", "create", *AGENT, "--password", PASSWORD)
    made["member"] = cli.json("member", "add", "--tenant", "cli-co", *AGENT, "--role", "agent")
    customer = ["--email", "Customer@Client.example", "--name", "Cathy Client"]
    made["contact"] = cli.json(
        "contact", "create", "--tenant", "cli-co", *customer, "--password", PASSWORD
    )
    made["token"] = cli.json("token", "create", *AGENT, "--name", "cli", "--tenant", "cli-co")
    made["admin_token"] = cli.json("token", "create", "--email", "root@cli.example", "--name", "a")
    return made


def test_db_upgrade_is_repeatable(cli: Cli, provisioned: dict[str, Any]) -> None:
    assert "newest migration" in cli.ok("db", "upgrade")


def test_provisioning_commands_print_one_json_object(provisioned: dict[str, Any]) -> None:
    tenant = provisioned["tenant"]
    assert set(tenant) == {"id", "slug", "ticket_prefix"}
    assert tenant["slug"] == "cli-co"
    assert tenant["ticket_prefix"] == "CLICO"
    assert provisioned["admin"]["email"] == "root@cli.example"
    assert provisioned["agent"]["email"] == "agent@cli.example"
    assert provisioned["member"]["role"] == "agent"
    assert provisioned["member"]["user_id"] == provisioned["agent"]["id"]
    assert provisioned["contact"]["email"] == "customer@client.example"
    assert set(provisioned["token"]) == {"token"}
    assert provisioned["token"]["token"].startswith("fdk_")
    ids = [provisioned[name]["id"] for name in ("tenant", "admin", "agent", "member", "contact")]
    assert len(set(ids)) == len(ids)


def test_human_output_without_json(cli: Cli, provisioned: dict[str, Any]) -> None:
    out = cli.ok("tenant", "create", "--slug", "plain-co", "--name", "Plain", "--prefix", "PLN")
    assert out.startswith("tenant plain-co created (")
    secret = cli.ok("token", "create", *AGENT, "--name", "raw").strip()
    assert secret.startswith("fdk_")
    assert "\n" not in secret


#: (arguments, exit code, text on stderr): 2 for input refused before any work, 1 for errors.
#: Each fails before writing anything, so they run side by side.
BAD_COMMANDS: list[tuple[tuple[str, ...], int, str]] = [
    (("tenant", "create", "--slug", "Bad Slug!", "--name", "X"), 2, "error: slug:"),
    (("tenant", "create", "--slug", "cli-co", "--name", "Again"), 1, "is taken"),
    (("member", "add", "--tenant", "no", *AGENT, "--role", "agent"), 1, "error: no tenant 'no'"),
    (("member", "add", "--tenant", "cli-co", *AGENT, "--role", "king"), 2, "error: role:"),
    (("member", "add", "--tenant", "cli-co", *AGENT, "--role", "agent"), 1, "already a member"),
    (("user", "create", "--email", "AGENT@cli.example"), 1, "already exists"),
    (("user", "create", "--email", "not-an-email"), 2, "error: email:"),
    (
        ("contact", "create", "--tenant", "cli-co", *AGENT, "--name", "A", "--password", PASSWORD),
        1,
        "a user with email agent@cli.example already exists",
    ),
    (
        (
            "contact",
            "create",
            "--tenant",
            "cli-co",
            "--email",
            "customer@client.example",
            "--name",
            "Twice",
        ),
        1,
        "belongs to another contact",
    ),
    (("token", "create", *AGENT, "--name", "t", "--tenant", "nope"), 1, "error: no tenant 'nope'"),
]


def row_counts(data_dir: Path) -> dict[str, int]:
    tables = ["tenant", "user_account", "membership", "contact", "contact_email", "api_token"]
    with closing(sqlite3.connect(data_dir / "frontdesk.sqlite3")) as db:
        return {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables
        }


def test_bad_input_exits_non_zero_with_a_message_and_writes_nothing(
    cli: Cli, provisioned: dict[str, Any]
) -> None:
    before = row_counts(cli.data_dir)
    results = cli.many(*[(*args, "--json") for args, _, _ in BAD_COMMANDS])
    for (args, code, message), done in zip(BAD_COMMANDS, results, strict=True):
        assert done.returncode == code, (args, done.stdout, done.stderr)
        assert done.stderr.startswith("error: "), (args, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert done.stdout == "", args
        assert "Traceback" not in done.stderr, (args, done.stderr)
    assert row_counts(cli.data_dir) == before


def test_demo_is_idempotent(tmp_path: Path) -> None:
    demo = Cli(tmp_path)
    first = demo.ok("demo")
    assert "demo data loaded" in first
    assert "owner@acme.test" in first
    second = demo.ok("demo")
    assert "already present" in second
    assert "demo data loaded" not in second


def test_no_arguments_shows_help() -> None:
    done = subprocess.run(
        [str(FRONTDESK)], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert "Usage" in done.stdout + done.stderr
    assert "tenant" in done.stdout + done.stderr


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_ready(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the server was not ready within 15 s: {log.read_text()}")


def test_serve_accepts_the_cli_token(cli: Cli, provisioned: dict[str, Any], tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(FRONTDESK), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=cli.env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_ready(base, server, log)
            with httpx.Client(base_url=base, timeout=10) as http:
                assert http.get("/healthz").json() == {"status": "ok"}
                ready = http.get("/readyz").json()
                assert ready == {"status": "ok", "database": "ok", "migrations": "current"}

                token = provisioned["token"]["token"]
                me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
                assert me.status_code == 200, me.text
                body = me.json()
                assert body["user"]["email"] == "agent@cli.example"
                assert body["auth_method"] == "token"
                assert [(t["slug"], t["role"]) for t in body["tenants"]] == [("cli-co", "agent")]

                anonymous = http.get("/api/v1/me")
                assert anonymous.status_code == 401
                assert anonymous.headers["content-type"] == "application/problem+json"
                # The tenant-limited token reaches its tenant, where the CLI's contact is.
                contacts = http.get(
                    "/api/v1/tenants/cli-co/contacts",
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert contacts.status_code == 200
                assert [c["name"] for c in contacts.json()["items"]] == ["Cathy Client"]
                # The platform admin's token sees the tenants made by the CLI.
                admin = {"Authorization": f"Bearer {provisioned['admin_token']['token']}"}
                tenants = http.get("/api/v1/admin/tenants", headers=admin).json()["items"]
                assert "cli-co" in [t["slug"] for t in tenants]
                # Passwords set by the CLI work for signing in.
                login = http.post(
                    "/api/v1/auth/login",
                    json={"email": "customer@client.example", "password": PASSWORD},
                )
                assert login.status_code == 200, login.text
                assert login.json()["user"]["email"] == "customer@client.example"
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)
    assert server.returncode is not None
