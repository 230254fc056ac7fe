"""The issue's scenario in a real browser against a real server.

A customer submits a ticket in the portal; an agent already looking at the Unassigned view sees
it appear without reloading, opens it, replies publicly and adds an internal note; the customer
sees the reply and not the note, and answers; the agent sees the answer arrive, and resolves the
ticket. Keyboard shortcuts, the refusal of contacts at /app, phone width and an axe-core check
of the main pages are covered on the way; screenshots land in tests/e2e/artifacts/.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import Server
from tests.factories import PASSWORD

WAIT_MS = 15_000
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


async def _sign_in(page: Page, url: str, email: str) -> None:
    await page.goto(url)
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def _accessible(page: Page, what: str) -> None:
    results = await Axe().run(page)
    assert results.violations_count == 0, f"{what}:\n{results.generate_report()}"


async def test_customer_and_agent_work_a_ticket(
    browser: Browser, server: Server, artifacts: Path
) -> None:
    agent = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
    await _sign_in(agent, f"{server.url}/app/login", server.world.a["agent"].email)
    await expect(agent.get_by_role("heading", name="Unassigned in my groups")).to_be_visible()
    await _accessible(agent, "console list (empty)")

    customer = await (await browser.new_context()).new_page()
    await _sign_in(customer, f"{server.url}/portal/acme/login", server.world.a["contact"].email)
    await customer.get_by_role("link", name="New request").first.click()
    await customer.get_by_label("Subject").fill("The invoice PDF is blank")
    await customer.get_by_label("How can we help?").fill("Since Monday every invoice is empty.")
    await customer.get_by_label("Attachments").set_input_files(
        files=[{"name": "invoice.png", "mimeType": "image/png", "buffer": PNG}]
    )
    await customer.get_by_role("button", name="Submit request").click()
    await expect(customer.get_by_role("status")).to_contain_text("your request was received")

    # The agent's list updates by itself (Server-Sent Events), and so does the view count.
    row_link = agent.get_by_role("link", name="The invoice PDF is blank")
    await expect(row_link).to_be_visible(timeout=WAIT_MS)
    await expect(agent.locator('[data-count="unassigned"]')).to_have_text("1", timeout=WAIT_MS)
    await _accessible(agent, "console list")
    await agent.screenshot(path=artifacts / "console-list.png", full_page=True)

    # Keyboard: ? shows the shortcuts, j selects the first row, Enter opens it.
    await agent.keyboard.press("?")
    await expect(agent.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    await agent.keyboard.press("Escape")
    await agent.keyboard.press("j")
    await expect(agent.locator("tr.selected")).to_contain_text("The invoice PDF is blank")
    await agent.keyboard.press("Enter")
    await expect(agent.get_by_role("heading", level=1)).to_contain_text("The invoice PDF is blank")

    # r: reply; n: internal note; a: assign to me.
    await agent.keyboard.press("r")
    await expect(agent.locator("#composer-body")).to_be_focused()
    await agent.keyboard.type("Thanks, we are looking into the PDF renderer.")
    await agent.get_by_role("button", name="Send reply").click()
    await expect(agent.get_by_role("status")).to_have_text("Reply sent.")
    await agent.keyboard.press("n")
    await expect(agent.locator("#composer")).to_have_class("composer mode-note")
    await agent.keyboard.type("Renderer ran out of disk on Monday.")
    await agent.get_by_role("button", name="Add note").click()
    await expect(agent.locator(".message.note")).to_contain_text("ran out of disk")
    await agent.keyboard.press("a")
    await expect(agent.get_by_role("status")).to_have_text("Assigned to you.")
    await expect(agent.locator("img.preview")).to_have_count(1)
    await _accessible(agent, "console ticket")
    await agent.screenshot(path=artifacts / "ticket-page.png", full_page=True)

    # The customer sees the reply, never the note, and answers.
    await customer.reload()
    await expect(customer.get_by_text("looking into the PDF renderer")).to_be_visible()
    await expect(customer.get_by_text("ran out of disk")).to_have_count(0)
    await customer.get_by_label("Add a message").fill("Thank you, here is another one.")
    await customer.get_by_role("button", name="Send").click()
    await expect(customer.get_by_role("status")).to_have_text("Your message was added.")
    await _accessible(customer, "portal ticket")
    await customer.screenshot(path=artifacts / "portal-ticket.png", full_page=True)

    # The agent's open ticket shows the answer without a reload; then they resolve it.
    await expect(agent.get_by_text("here is another one")).to_be_visible(timeout=WAIT_MS)
    await agent.get_by_label("Status", exact=True).select_option(label="Resolved")
    await agent.get_by_role("button", name="Save changes").click()
    await expect(agent.locator(".ticket-head .status")).to_have_text("Resolved")

    await customer.reload()
    await expect(customer.locator(".meta .status")).to_have_text("Resolved")


async def test_admin_pages_and_phone_width(
    browser: Browser, server: Server, artifacts: Path
) -> None:
    owner = await (await browser.new_context()).new_page()
    await _sign_in(owner, f"{server.url}/app/login", server.world.a["owner"].email)
    await owner.goto(f"{server.url}/app/acme/admin/groups")
    await owner.get_by_label("Name").fill("Billing")
    await owner.get_by_role("button", name="Create group").click()
    await expect(owner.get_by_role("heading", name="Billing")).to_be_visible()
    await _accessible(owner, "admin groups")
    await owner.goto(f"{server.url}/app/acme/admin/members")
    await _accessible(owner, "admin members")
    for page in ("sla/calendars/new", "sla/policies/new", "channels", "mail/outbound"):
        await owner.goto(f"{server.url}/app/acme/admin/{page}")
        await _accessible(owner, f"admin {page}")
    await owner.screenshot(path=artifacts / "admin.png", full_page=True)

    phone = await (
        await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    ).new_page()
    await _sign_in(phone, f"{server.url}/app/login", server.world.a["agent"].email)
    await phone.goto(f"{server.url}/app/acme/tickets?view=open")
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the list scrolls sideways on a phone ({width}px)"
    await phone.screenshot(path=artifacts / "console-list-phone.png", full_page=True)


async def test_contact_is_refused_at_app(browser: Browser, server: Server) -> None:
    page = await (await browser.new_context()).new_page()
    await _sign_in(page, f"{server.url}/portal/acme/login", server.world.a["contact"].email)
    response = await page.goto(f"{server.url}/app/acme/tickets")
    assert response is not None
    assert response.status == 403
    await expect(page.get_by_role("heading", level=1)).to_contain_text("customers use the portal")
    await _accessible(page, "refusal page")


async def test_the_bell_rings_live_and_the_inbox_marks_read(
    browser: Browser, server: Server, artifacts: Path
) -> None:
    world = server.world
    agent = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
    await _sign_in(agent, f"{server.url}/app/login", world.a["agent"].email)
    # Start from a quiet bell (earlier tests may have left notices), on the ticket list.
    async with httpx.AsyncClient(base_url=server.url) as api:
        read = await api.post(
            "/api/v1/tenants/acme/notifications/read-all", headers=world.a["agent"].auth
        )
        assert read.status_code == 200, read.text
    await agent.goto(f"{server.url}/app/acme/tickets?view=open")
    bell = agent.locator("[data-unread-count]")
    await expect(bell).to_be_hidden()
    async with httpx.AsyncClient(base_url=server.url) as api:
        created = await api.post(
            "/api/v1/tenants/acme/tickets",
            json={"subject": "VPN drops every hour", "requester": {"email": "vpn@example.org"}},
            headers=world.a["owner"].auth,
        )
        assert created.status_code == 201, created.text
        assigned = await api.patch(
            f"/api/v1/tenants/acme/tickets/{created.json()['id']}",
            json={"assignee_id": str(world.a["agent"].user_id)},
            headers=world.a["owner"].auth,
        )
        assert assigned.status_code == 200, assigned.text
    # The worker files the notification; the live stream moves the bell without a reload.
    await expect(bell).to_be_visible(timeout=WAIT_MS)
    await agent.get_by_role("link", name="Notifications").click()
    await expect(agent.locator("[data-unread-count]")).to_have_text("1")
    await expect(agent.get_by_role("link", name=re.compile("VPN drops every hour"))).to_be_visible()
    await _accessible(agent, "notifications")
    await agent.screenshot(path=artifacts / "notifications.png", full_page=True)
    await agent.get_by_role("button", name="Mark all read").click()
    await expect(agent.get_by_role("status")).to_have_text("All notifications marked as read.")
    await expect(bell).to_be_hidden()
