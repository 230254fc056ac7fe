"""The XSS corpus in a real browser: console and portal pages show every payload as text.

Payloads go in through the API as subjects, descriptions, public replies (text and HTML), tags
and the customer's name; the console list, the ticket page and the portal's list and ticket
are then opened in Chromium. Nothing may open a dialog, and the DOM may hold no element the
payloads would have made if they were parsed as markup (event-handler attributes, script
elements other than the pages' own, `javascript:` links, frames, objects). The second check
matters more than the first: the Content-Security-Policy would block most of these even if
they were injected, and the point is that they never are.

Runs after `test_browser.py` against the same server (it leaves hostile data behind).
"""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Browser, Dialog, Page

from tests.e2e.conftest import Server
from tests.e2e.test_browser import _sign_in
from tests.robustness.corpus import XSS_PAYLOADS

INJECTED = """() => {
  const found = [];
  for (const element of document.querySelectorAll('*')) {
    for (const attribute of element.attributes) {
      const name = attribute.name.toLowerCase();
      const value = attribute.value.trim().toLowerCase();
      if (name.startsWith('on')) found.push(`${element.tagName} ${name}`);
      if (['href', 'src', 'action', 'formaction', 'data'].includes(name)
          && (value.startsWith('javascript:') || value.startsWith('data:text/html'))) {
        found.push(`${element.tagName} ${name}=${value}`);
      }
    }
  }
  for (const script of document.querySelectorAll('script')) {
    const src = script.getAttribute('src') || '';
    if (!src.startsWith('/static/')) found.push(`script ${src || script.textContent}`);
  }
  for (const tag of ['iframe', 'object', 'embed', 'base', 'meta[http-equiv]', 'svg script']) {
    for (const element of document.querySelectorAll(tag)) found.push(element.outerHTML);
  }
  return found;
}"""


async def _seed(server: Server) -> tuple[str, int]:
    """Every payload as a ticket subject and description; the last ticket also gets every
    payload as a public reply, as tags and in its customer's name. Returns that ticket's id
    and how many writes the API accepted."""
    world, tenant = server.world, "/api/v1/tenants/acme"
    owner, agent = world.a["owner"].auth, world.a["agent"].auth
    accepted = 0
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as api:

        async def write(method: str, path: str, headers: dict[str, str], body: Any) -> Any:
            nonlocal accepted
            response = await api.request(method, f"{tenant}{path}", json=body, headers=headers)
            assert response.status_code < 500, response.text
            accepted += response.status_code < 300
            return response.json() if response.status_code < 300 else None

        ticket_id = ""
        for payload in XSS_PAYLOADS:
            body = {"subject": payload, "description": payload,
                    "requester_id": str(world.a.contact_id)}  # fmt: skip
            created = await write("POST", "/tickets", owner, body)
            ticket_id = created["id"] if created else ticket_id
        assert ticket_id, "no ticket with a payload subject was accepted"
        for payload in XSS_PAYLOADS:
            reply = {"body": payload, "body_html": payload}
            await write("POST", f"/tickets/{ticket_id}/messages", agent, reply)
        tags = [payload[:64] for payload in XSS_PAYLOADS[:10]]
        await write("PATCH", f"/tickets/{ticket_id}", agent, {"tags": tags})
        name = {"name": XSS_PAYLOADS[3]}
        await write("PATCH", f"/contacts/{world.a.contact_id}", owner, name)
    return ticket_id, accepted


async def _inert(page: Page, url: str, dialogs: list[str]) -> None:
    response = await page.goto(url)
    assert response is not None, url
    assert response.status == 200, url
    await page.wait_for_load_state("load")
    found = await page.evaluate(INJECTED)
    assert not found, f"{url} holds injected markup: {found[:10]}"
    assert not dialogs, f"{url} opened dialogs: {dialogs}"


async def test_no_payload_runs_or_becomes_markup_in_console_or_portal(
    browser: Browser, server: Server
) -> None:
    ticket_id, accepted = await _seed(server)
    assert accepted >= len(XSS_PAYLOADS) * 2, "most payloads must be stored to be shown"
    dialogs: list[str] = []

    def opened(dialog: Dialog) -> None:
        dialogs.append(dialog.message)

    agent = await (await browser.new_context()).new_page()
    agent.on("dialog", opened)
    await _sign_in(agent, f"{server.url}/app/login", server.world.a["agent"].email)
    await _inert(agent, f"{server.url}/app/acme/tickets?view=open", dialogs)
    await _inert(agent, f"{server.url}/app/acme/tickets?view=open&q=alert", dialogs)
    await _inert(agent, f"{server.url}/app/acme/tickets/{ticket_id}", dialogs)
    shown = await agent.locator("main").inner_text()
    assert "<script>alert('xss-1')</script>" in shown, "payloads are shown as text"

    customer = await (await browser.new_context()).new_page()
    customer.on("dialog", opened)
    await _sign_in(customer, f"{server.url}/portal/acme/login", server.world.a["contact"].email)
    await _inert(customer, f"{server.url}/portal/acme", dialogs)
    await _inert(customer, f"{server.url}/portal/acme/tickets/{ticket_id}", dialogs)
    assert "<svg onload=alert('xss-5')>" in await customer.locator("main").inner_text()
