"""A static check: every query on a tenant table is scoped to a tenant.

The tenant tables are read from the models (primary key starting with `tenant_id`). Every
function in `src/` that builds a statement on one — `select(...)`, `update(...)`, `delete(...)`,
`insert(...)` naming the model or one of its columns, or `session.get(Model, id)` — must, in the
same function, either start from `scoped(Model, ...)` (core/repository.py) or compare
`Model.tenant_id` with something. `session.get` must be given the `(tenant_id, id)` key.
Exceptions are listed, each with its reason, in `unscoped_queries.txt` beside this file; an
exception that no longer matches anything fails too, so the list cannot rot.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Mapper

import frontdesk.metadata  # noqa: F401  (registers every model)
from frontdesk.core.db import Base
from tests.robustness.counters import record

SRC = Path(__file__).resolve().parents[2] / "src"
ALLOW_LIST = Path(__file__).with_name("unscoped_queries.txt")
STATEMENTS = {"select", "update", "delete", "insert"}


def tenant_models() -> set[str]:
    names = set()
    for mapper in Base.registry.mappers:
        assert isinstance(mapper, Mapper)
        keys = [column.name for column in mapper.local_table.primary_key.columns]
        if keys[:1] == ["tenant_id"]:
            names.add(mapper.class_.__name__)
    return names


@dataclass(frozen=True)
class Finding:
    where: str  # path::function
    line: int
    model: str
    why: str

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: {self.why} on {self.model}"


def _models_in(node: ast.AST, models: set[str]) -> set[str]:
    """Tenant models named in an expression: `Ticket`, `Ticket.id`, `func.count(Ticket.id)`."""
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id in models:
            found.add(child.id)
    return found


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _scoped_models(function: ast.AST, models: set[str]) -> set[str]:
    """Models the function scopes: `scoped(Model, ...)`, or a comparison on `Model.tenant_id`."""
    scoped = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and _call_name(node) == "scoped" and node.args:
            scoped |= _models_in(node.args[0], models)
        if isinstance(node, ast.Compare | ast.Call):
            for side in ast.walk(node):
                if (
                    isinstance(side, ast.Attribute)
                    and side.attr == "tenant_id"
                    and isinstance(side.value, ast.Name)
                    and side.value.id in models
                ):
                    scoped.add(side.value.id)
    return scoped


def _functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def findings_in(source: str, relative: str, models: set[str]) -> tuple[list[Finding], int]:
    tree = ast.parse(source, filename=relative)
    findings: list[Finding] = []
    statements = 0
    for function in _functions(tree):
        where = f"{relative}::{function.name}"
        scoped = _scoped_models(function, models)
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node)
            if name == "scoped":
                statements += 1
            elif name in STATEMENTS and isinstance(node.func, ast.Name):
                named = set().union(*(_models_in(arg, models) for arg in node.args))
                statements += bool(named)
                findings += [
                    Finding(where, node.lineno, model, f"{name}() not scoped to a tenant")
                    for model in sorted(named - scoped)
                ]
            elif name == "get" and len(node.args) == 2:
                model_arg, key = node.args
                named = _models_in(model_arg, models)
                statements += bool(named)
                if named and not isinstance(key, ast.Tuple):
                    findings += [
                        Finding(where, node.lineno, model, "session.get() without tenant_id key")
                        for model in sorted(named)
                    ]
    return findings, statements


def allowed() -> dict[str, str]:
    """`path::function Model  reason` per line; `#` starts a comment."""
    entries = {}
    for raw in ALLOW_LIST.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            where, model, reason = line.split(None, 2)
            entries[f"{where} {model}"] = reason
    return entries


def test_every_query_on_a_tenant_table_is_scoped() -> None:
    models = tenant_models()
    assert {"Ticket", "Contact", "Membership", "TicketMessage"} <= models
    exceptions = allowed()
    found: list[Finding] = []
    statements = 0
    files = sorted(SRC.rglob("*.py"))
    for path in files:
        more, counted = findings_in(path.read_text(), path.relative_to(SRC).as_posix(), models)
        found += more
        statements += counted
    unexcused = [f for f in found if f"{f.where} {f.model}" not in exceptions]
    used = {f"{f.where} {f.model}" for f in found}
    stale = sorted(set(exceptions) - used)
    record(
        "scoped_queries",
        "any",
        {
            "files": len(files),
            "tenant_models": len(models),
            "statements_on_tenant_tables": statements,
            "allowed_exceptions": len(exceptions),
            "unscoped": len(unexcused),
        },
    )
    assert statements > 60, "the check found too few statements to be looking at the code"
    assert not unexcused, "queries on tenant tables without a tenant scope:\n" + "\n".join(
        map(str, unexcused)
    )
    assert not stale, f"allow-list entries that match nothing any more: {stale}"


def test_the_check_catches_an_unscoped_query() -> None:
    """The check itself: an unscoped select and a bare session.get are found, scoped ones not."""
    code = """
async def leaky(session, ticket_id):
    return await session.scalar(select(Ticket).where(Ticket.id == ticket_id))

async def bare_get(session, ticket_id):
    return await session.get(Ticket, ticket_id)

async def fine(session, tenant_id, ticket_id):
    await session.get(Ticket, (tenant_id, ticket_id))
    return await session.scalar(scoped(Ticket, tenant_id).where(Ticket.id == ticket_id))

async def also_fine(session, tenant_id):
    return await session.scalar(select(Ticket.id).where(Ticket.tenant_id == tenant_id))
"""
    found, _ = findings_in(code, "probe.py", {"Ticket"})
    assert sorted((f.where.rsplit("::", 1)[1], f.why) for f in found) == [
        ("bare_get", "session.get() without tenant_id key"),
        ("leaky", "select() not scoped to a tenant"),
    ]
