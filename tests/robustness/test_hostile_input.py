"""The XSS corpus through every user-writable text field, and hostile uploads.

Every payload of `corpus.XSS_PAYLOADS` goes into every text field a user can write (ticket
subject, description, tags, custom field values, reply text and HTML, internal note, contact,
organization, group, category and status names, a member's display name, attachment filenames).
Then every GET route of the tenant (from the route table) is read as staff and as the customer:
every answer is JSON or problem+json with `nosniff`, and no `*_html` field holds anything a
browser would run; a route that answers a page (console, portal, as they come) must not carry
any payload unescaped. Page and mail tests parse their output with `corpus.active_content`.

Uploads: hostile filenames as staff and customer, then empty, oversized, zip bomb and lying
files. Each is stored inert or refused with a 4xx; nothing lands outside the blob store.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from frontdesk.core.config import Settings
from tests.factories import PASSWORD, Person, World
from tests.robustness.corpus import (
    HOSTILE_FILENAMES,
    XSS_PAYLOADS,
    active_content,
    hostile_files,
)
from tests.robustness.counters import backend_of, record
from tests.tickets.test_visibility import tenant_get_routes

ACME = "/api/v1/tenants/acme"
JSON_TYPES = ("application/json", "application/problem+json")
MAX_BYTES = 1024 * 1024
THREAD = ("messages", "audit")


def test_the_detector_finds_what_runs_and_passes_what_does_not() -> None:
    runs_as_is = [p for p in XSS_PAYLOADS if active_content(p)]
    assert len(runs_as_is) >= 30, "the corpus should be mostly markup that runs unescaped"
    assert active_content('<a href=" jav&#x09;ascript:alert(1)">x</a>')
    assert active_content("<img src=x onerror=alert(1)>") == ["<img onerror>"]
    assert active_content("&lt;script&gt;alert(1)&lt;/script&gt;") == []
    assert active_content('<p>Hello <a href="https://example.com">there</a></p>') == []


async def _write(
    client: httpx.AsyncClient, method: str, url: str, body: Any, who: Person, tally: dict[str, int]
) -> dict[str, Any] | None:
    response = await client.request(method, url, json=body, headers=who.auth)
    assert response.status_code < 500, f"{method} {url}: {response.status_code} {response.text}"
    tally["writes"] += 1
    if response.status_code >= 400:
        tally["refused"] += 1
        return None
    found: dict[str, Any] = response.json()
    return found


async def plant_payloads(
    client: httpx.AsyncClient, world: World
) -> tuple[dict[str, str], list[str], int]:
    """Every payload in every text field; returns ids to read with (the last of each kind),
    every ticket, and how many writes were made."""
    owner, agent, contact = world.a["owner"], world.a["agent"], world.a["contact"]
    tally = {"writes": 0, "refused": 0}
    ids: dict[str, str] = {"tenant": "acme"}
    tickets: list[str] = []
    for n, payload in enumerate(XSS_PAYLOADS):
        text = f"{payload} #{n}"
        group = await _write(
            client, "POST", f"{ACME}/groups", {"name": text, "description": text}, owner, tally
        )
        org = await _write(
            client, "POST", f"{ACME}/organizations", {"name": text, "notes": text}, owner, tally
        )
        person = {"name": text, "emails": [f"xss{n}@example.com"], "notes": text}
        made_contact = await _write(client, "POST", f"{ACME}/contacts", person, owner, tally)
        category = await _write(
            client, "POST", f"{ACME}/categories", {"name": text, "description": text}, owner, tally
        )
        status = {"key": f"xss_{n}", "label": text, "category": "open"}
        await _write(client, "POST", f"{ACME}/statuses", status, owner, tally)
        await _write(client, "PATCH", "/api/v1/me", {"display_name": text[:200]}, agent, tally)
        ticket_body = {
            "subject": text,
            "description": text,
            "requester_id": str(world.a.contact_id),
            "tags": [payload[:60]],
            "custom_fields": {"note": text, "nested": {"list": [text]}},
        }
        ticket = await _write(client, "POST", f"{ACME}/tickets", ticket_body, owner, tally)
        if ticket is None:
            ticket = await _write(
                client, "POST", f"{ACME}/tickets", {"subject": text}, contact, tally
            )
        assert ticket is not None, f"no ticket could carry payload {n}"
        url = f"{ACME}/tickets/{ticket['id']}"
        reply = {"body": text, "body_html": payload}
        message = await _write(client, "POST", f"{url}/messages", reply, agent, tally)
        note = {"body": text, "body_html": payload, "is_internal": True}
        await _write(client, "POST", f"{url}/messages", note, agent, tally)
        await _write(client, "POST", f"{url}/messages", {"body_html": payload}, contact, tally)
        await _write(client, "POST", f"{url}/tags", {"tag": payload[:60]}, agent, tally)
        uploaded = await client.post(
            f"{url}/attachments",
            files={"file": (f"{payload}.txt", text.encode(), "text/plain")},
            headers=agent.auth,
        )
        assert uploaded.status_code == 201, uploaded.text
        tally["writes"] += 1
        tickets.append(ticket["id"])
        ids |= {
            "ticket_id": ticket["id"],
            "attachment_id": uploaded.json()["id"],
            **({"message_id": message["id"]} if message else {}),
            **({"group_id": group["id"]} if group else {}),
            **({"organization_id": org["id"]} if org else {}),
            **({"contact_id": made_contact["id"]} if made_contact else {}),
            **({"category_id": category["id"]} if category else {}),
        }
    return ids, tickets, tally["writes"]


def _html_fields(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        found = []
        for key, inner in value.items():
            where = f"{path}.{key}"
            if isinstance(inner, str) and key.endswith("_html"):
                found.append((where, inner))
            else:
                found += _html_fields(inner, where)
        return found
    if isinstance(value, list):
        return [
            pair for n, inner in enumerate(value) for pair in _html_fields(inner, f"{path}[{n}]")
        ]
    return []


READERS = ("owner", "agent", "contact")


async def _browser_headers(client: httpx.AsyncClient, person: Person) -> dict[str, str]:
    """A Cookie header carrying `person`'s browser session (kept off the shared client)."""
    body = {"email": person.email, "password": PASSWORD}
    signed_in = await client.post("/api/v1/auth/login", json=body)
    assert signed_in.status_code == 200, signed_in.text
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    client.cookies.clear()
    return {"Cookie": cookie}


async def test_the_xss_corpus_comes_back_inert(
    app: FastAPI, client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    ids, tickets, writes = await plant_payloads(client, world)
    urls = []
    for route in tenant_get_routes(app):
        if route.template.endswith("/content"):
            continue  # file bytes: covered by the upload test below
        if route.template.endswith("/live"):
            continue  # the console's event stream: names no data, and stays open for a minute
        url = route.template.format(**{name: ids.get(name, "0") for name in route.parameters})
        urls.append(url + ("?limit=200" if "limit" in route.query else ""))
    # The thread and timeline of every ticket, where each payload's HTML comes back.
    urls += [f"{ACME}/tickets/{t}/{part}?limit=200" for t in tickets for part in THREAD]
    failures: list[str] = []
    reads = html_fields = 0
    # Pages are read as a browser reads them: with the session cookie of a sign-in.
    browsers = {who: await _browser_headers(client, world.a[who]) for who in READERS}
    for url in urls:
        for who in READERS:
            on_page = not url.startswith("/api/")
            headers = browsers[who] if on_page else world.a[who].auth
            response = await client.get(url, headers=headers)
            reads += 1
            if on_page and response.is_redirect:
                continue  # a page this person is sent away from shows nothing
            kind = response.headers.get("content-type", "")
            if on_page and kind.startswith(("text/css", "image/")):
                continue  # a tenant's colours and logo: validated values, never user text
            if kind.startswith("text/html"):  # a page: no payload may come back unescaped
                raw = [p for p in XSS_PAYLOADS if "<" in p and p in response.text]
                failures += [f"{who} GET {url}: unescaped {raw[:3]}"] if raw else []
                continue
            if not kind.startswith(JSON_TYPES):
                failures.append(f"{who} GET {url}: served as {kind!r}")
            if response.headers.get("x-content-type-options") != "nosniff":
                failures.append(f"{who} GET {url}: no nosniff")
            if response.status_code >= 500:
                failures.append(f"{who} GET {url}: {response.status_code}")
            if not kind.startswith(JSON_TYPES):
                continue
            for where, html in _html_fields(json.loads(response.text)):
                html_fields += 1
                running = active_content(html)
                if running:
                    failures.append(f"{who} GET {url}: {where} runs {running}: {html!r}")
    record(
        "xss",
        backend_of(settings.db_url),
        {
            "payloads": len(XSS_PAYLOADS),
            "writes": writes,
            "reads": reads,
            "html_fields_checked": html_fields,
            "executable_found": len(failures),
        },
    )
    assert html_fields >= len(XSS_PAYLOADS) * 2
    assert not failures, "\n".join(failures[:40])


async def _ticket(client: httpx.AsyncClient, by: Person, contact_id: str) -> str:
    body: dict[str, Any] = {"subject": "Files"}
    if by.role != "contact":
        body["requester_id"] = contact_id
    response = await client.post(f"{ACME}/tickets", json=body, headers=by.auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _outside_blob_store(data_dir: Path) -> list[Path]:
    """Files under the data directory that are not content-addressed blobs."""
    strays = []
    for path in data_dir.rglob("*"):
        if path.is_file() and path.suffix != ".jsonl":
            relative = path.relative_to(data_dir).parts
            digest = relative[-1]
            inside = relative[0] == "blobs" and len(relative) == 4 and len(digest) == 64
            if not inside or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                strays.append(path)
    return strays


async def _check_download(
    client: httpx.AsyncClient, by: Person, url: str, failures: list[str], why: str
) -> None:
    served = await client.get(f"{url}/content", headers=by.auth)
    disposition = served.headers.get("content-disposition", "")
    kind = served.headers.get("content-type", "")
    if served.status_code != 200 or not disposition.startswith("attachment;"):
        failures.append(f"{why}: download {served.status_code} {disposition!r}")
    if any(word in kind for word in ("html", "xml", "script", "svg")):
        failures.append(f"{why}: served as {kind}")
    if "\n" in disposition or "\r" in disposition or "/" in disposition.split("filename", 1)[-1]:
        failures.append(f"{why}: unsafe Content-Disposition {disposition!r}")
    if served.headers.get("x-content-type-options") != "nosniff":
        failures.append(f"{why}: no nosniff")


async def test_hostile_uploads_are_stored_inert_or_refused(
    client: httpx.AsyncClient, world: World, settings: Settings, data_dir: Path
) -> None:
    admin = world.a["admin"]
    limits = {"settings": {"attachment_max_bytes": MAX_BYTES, "attachment_max_per_ticket": 100}}
    patched = await client.patch(
        ACME,
        content=json.dumps(limits),
        headers={**admin.auth, "Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    failures: list[str] = []
    stored = refused = 0
    contact_id = str(world.a.contact_id)

    for who in ("agent", "contact"):
        person = world.a[who]
        ticket = await _ticket(client, person, contact_id)
        for name in HOSTILE_FILENAMES:
            url = f"{ACME}/tickets/{ticket}/attachments"
            response = await client.post(
                url, files={"file": (name, b"harmless", "text/plain")}, headers=person.auth
            )
            why = f"{who} uploads {name[:40]!r}"
            if response.status_code == 422 and "file" in response.text:
                refused += 1  # e.g. no filename at all: not a file part
                continue
            if response.status_code != 201:
                failures.append(f"{why}: {response.status_code} {response.text[:200]}")
                continue
            stored += 1
            kept = response.json()["filename"]
            if any(c in kept for c in "/\\\x00\r\n") or kept in (".", "..") or len(kept) > 255:
                failures.append(f"{why}: stored as {kept!r}")
            await _check_download(client, person, f"{url}/{response.json()['id']}", failures, why)

    agent = world.a["agent"]
    ticket = await _ticket(client, agent, contact_id)
    for hostile in hostile_files(oversize_bytes=MAX_BYTES + 1):
        url = f"{ACME}/tickets/{ticket}/attachments"
        response = await client.post(
            url,
            files={"file": (hostile.filename, hostile.content, hostile.claimed_type)},
            headers=agent.auth,
        )
        why = f"upload {hostile.name}"
        if hostile.refused:
            refused += response.status_code in (413, 422)
            if response.status_code not in (413, 422):
                failures.append(f"{why}: {response.status_code}, expected a refusal")
            continue
        if response.status_code != 201:
            failures.append(f"{why}: {response.status_code} {response.text[:200]}")
            continue
        stored += 1
        if response.json()["size"] != len(hostile.content):
            failures.append(f"{why}: stored {response.json()['size']} bytes, not as sent")
        await _check_download(client, agent, f"{url}/{response.json()['id']}", failures, why)

    strays = _outside_blob_store(data_dir)
    record(
        "uploads",
        backend_of(settings.db_url),
        {
            "hostile_filenames": len(HOSTILE_FILENAMES),
            "hostile_files": len(hostile_files(0)),
            "stored_inert": stored,
            "refused": refused,
            "files_outside_blob_store": len(strays),
            "failures": len(failures),
        },
    )
    assert not strays, f"files outside the blob store: {strays}"
    assert not failures, "\n".join(failures)
