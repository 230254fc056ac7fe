"""Fuzzing against the OpenAPI schema: every operation, as every principal, checked by schemathesis.

The schema is the app's own (`/api/v1/openapi.json`); schemathesis generates requests for every
operation (valid ones and, in negative mode, ones that break the schema) from a fixed seed. The
path parameters are real ids of a tenant full of objects, so the requests get past the lookups;
one more batch per operation has made-up ids. Each request is sent in-process (ASGI) as each
principal — platform admin, tenant admin, agent, light agent, contact — and each answer must:
not be a server error, have a documented status code, content type and headers, match the
documented schema, and (negative data) be refused with a 4xx. The same request without
credentials, and with a made-up token, must answer 401 unless the route is public.

`FRONTDESK_FUZZ_EXAMPLES` (default 2) sets the examples per operation and mode; `make fuzz` runs
a longer pass. A new route is fuzzed without editing this file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi import checks as openapi_checks

from frontdesk.core.config import Settings
from frontdesk.web.app import create_app
from tests.factories import World
from tests.robustness.counters import backend_of, record
from tests.test_tenant_isolation import TenantObjects, make_objects

EXAMPLES = int(os.environ.get("FRONTDESK_FUZZ_EXAMPLES", "2"))
SEED = int(os.environ.get("FRONTDESK_FUZZ_SEED", "20261122"))
BASE_URL = "http://testserver"

#: Operations that answer without credentials, and why.
PUBLIC = {
    "POST /api/v1/auth/login": "signing in is how credentials are obtained",
    "POST /api/v1/auth/logout": "ends a browser session if there is one; harmless without",
    "POST /api/v1/email/inbound/{secret}": "an MTA's push: the secret in the URL is the credential",
    "GET /healthz": "load balancer probe",
    "GET /readyz": "load balancer probe",
}


@schemathesis.serializer("message/rfc822")
def _raw_mail(_ctx: Any, value: Any) -> bytes:
    """Pushed mail is raw bytes: whatever was generated goes out as they are (or UTF-8)."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogateescape")


CHECKS: list[Callable[..., Any]] = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
]


@dataclass
class Tally:
    cases: int = 0
    requests: int = 0
    operations: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def count(self, response: httpx.Response) -> None:
        self.requests += 1
        self.by_status[response.status_code] = self.by_status.get(response.status_code, 0) + 1


def generate(operation: Any, mode: GenerationMode, path: dict[str, str] | None) -> list[Case]:
    """Up to EXAMPLES cases for one operation, the same ones on every run (a fixed seed)."""
    cases: list[Case] = []

    @seed(SEED)
    @hypothesis_settings(
        max_examples=EXAMPLES,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode, path_parameters=path))
    def collect(case: Case) -> None:
        cases.append(case)

    # Negative mode has nothing to break in an operation without inputs.
    with contextlib.suppress(Unsatisfiable):
        collect()
    return cases


def transport_kwargs(case: Case, headers: dict[str, str]) -> dict[str, Any]:
    """A schemathesis case as httpx request arguments."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
    kwargs.pop("cookies", None)
    data = kwargs.pop("data", None)
    if isinstance(data, bytes | str):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    return kwargs


def real_path(template: str, world: World, objects: TenantObjects) -> dict[str, str]:
    """Real ids for the operation's path: tenant `acme` and its objects; the platform admin's
    tenant routes get `acmeco`, so a deactivated tenant does not end the run early."""
    values: dict[str, str] = {}
    for name in template.replace("}", "{").split("{")[1::2]:
        if name == "tenant":
            values[name] = world.a.slug
        elif name == "tenant_id":
            values[name] = str(world.b.id)
        else:
            values[name] = objects.value(template, name) or objects.tenant_id
    return values


async def send(
    client: httpx.AsyncClient, tally: Tally, case: Case, name: str, headers: dict[str, str]
) -> httpx.Response:
    kwargs = transport_kwargs(case, headers)
    response = await client.request(**kwargs)
    await response.request.aread()  # a multipart body streams; the checks read it
    tally.count(response)
    try:
        case.validate_response(response, checks=CHECKS, headers=kwargs["headers"])
    except FailureGroup as failures:
        tally.failures.append(f"as {name}: {failures}")
    except AssertionError as failure:
        tally.failures.append(f"as {name}: {failure}")
    return response


async def not_without_credentials(client: httpx.AsyncClient, tally: Tally, case: Case) -> None:
    label = f"{case.method.upper()} {case.operation.path}"
    if label in PUBLIC:
        return
    for why, headers in (("no credentials", {}), ("a made-up token", {"Authorization": BAD})):
        kwargs = transport_kwargs(case, headers)
        response = await client.request(**kwargs)
        tally.count(response)
        if response.status_code != 401 and not _unparsed(response):
            tally.failures.append(
                f"{label} with {why}: {response.status_code}, expected 401: "
                f"{case.as_curl_command(headers=headers)}"
            )


BAD = "Bearer fdk_madeup0000000000000000000000000000000000"


def _unparsed(response: httpx.Response) -> bool:
    """FastAPI reads a JSON body before it runs any dependency, so a body that is not JSON at
    all is refused (400 `malformed_json`) before credentials are looked at: nothing has run."""
    if response.status_code != 400 or "json" not in response.headers.get("content-type", ""):
        return False
    code: object = response.json().get("code")
    return code == "malformed_json"


async def test_every_operation_survives_fuzzing(
    app: FastAPI, client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    # A server error is a finding to report with the others, not an exception that ends the run.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as fuzzer:
        await fuzz(app, client, fuzzer, world, settings)


async def fuzz(
    app: FastAPI,
    client: httpx.AsyncClient,
    fuzzer: httpx.AsyncClient,
    world: World,
    settings: Settings,
) -> None:
    objects, _ = await make_objects(client, world, world.a.slug, "fuzz", files=True)
    # The contact is a cc on the scene's ticket, so their requests get past the ticket lookup.
    cc = {"role": "cc", "contact_id": str(world.a.contact_id)}
    ticket_url = f"/api/v1/tenants/{world.a.slug}/tickets/{objects.by_name['ticket_id']}"
    added = await client.post(f"{ticket_url}/participants", json=cc, headers=world.a["owner"].auth)
    assert added.status_code == 201, added.text

    schema = schemathesis.openapi.from_dict(app.openapi())
    principals = {
        "platform admin": world.platform_admin.auth,
        "admin": world.a["admin"].auth,
        "agent": world.a["agent"].auth,
        "light agent": world.a["light_agent"].auth,
        "contact": world.a["contact"].auth,
    }
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deletions last, so the other operations still find the objects they are given.
    operations.sort(key=lambda operation: operation.method.upper() == "DELETE")
    tally = Tally(operations=len(operations))
    for operation in operations:
        path = real_path(operation.path, world, objects)
        batches = [
            (GenerationMode.POSITIVE, path),
            (GenerationMode.NEGATIVE, path),
            (GenerationMode.POSITIVE, None),
        ]
        for mode, fixed in batches:
            for case in generate(operation, mode, fixed or None):
                tally.cases += 1
                for name, auth in principals.items():
                    await send(fuzzer, tally, case, name, auth)
                await not_without_credentials(fuzzer, tally, case)

    record(
        "fuzz",
        backend_of(settings.db_url),
        {
            "operations": tally.operations,
            "cases": tally.cases,
            "requests": tally.requests,
            "principals": len(principals),
            "examples_per_batch": EXAMPLES,
            "seed": SEED,
            "statuses": {str(k): v for k, v in sorted(tally.by_status.items())},
            "failures": len(tally.failures),
        },
    )
    assert tally.cases >= tally.operations
    assert not tally.failures, f"{len(tally.failures)} fuzzing failures:\n" + "\n\n".join(
        tally.failures[:30]
    )


def test_every_api_operation_documents_its_problems() -> None:
    """The schema the fuzzer checks against must say which errors an operation can answer:
    every /api/v1 operation documents the problem+json answers a client can cause."""
    app = create_app(Settings(data_dir=Path("unused"), embedded_worker=False))
    schema = app.openapi()
    missing = []
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            for status in ("400", "401", "403", "404", "422", "429"):
                content = operation["responses"].get(status, {}).get("content", {})
                if "application/problem+json" not in content:
                    missing.append(f"{method.upper()} {path} {status}")
    assert not missing, missing
