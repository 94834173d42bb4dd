"""The API's documentation (/api/docs/) in Chromium: Swagger UI, from our own static files,
under a Content Security Policy that blocks inline scripts and styles, lists the operations.

It used to be a blank page: the viewer's start script was inline and the policy refused it
(a console error, no operations)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import PHONE

pytestmark = pytest.mark.browser


def _docs_page(new_page, **context):
    page = new_page(**context)
    refused = []
    page.on("console", lambda msg: refused.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    response = page.goto("/api/docs/")
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    return page, refused


def test_the_docs_list_the_operations(new_page, console_errors, screenshot):
    page, refused = _docs_page(new_page)

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Trouw API")
    purchases = page.locator(".opblock-post", has_text="/api/v1/purchases/").first
    expect(purchases).to_be_visible()
    expect(purchases).to_contain_text("Record a purchase and credit its points")
    for path in ("/api/v1/members/", "/api/v1/rewards/", "/api/v1/redemptions/",
                 "/api/v1/vouchers/{code}/use"):
        expect(page.locator(".opblock", has_text=path).first).to_be_visible()
    assert page.locator(".opblock").count() >= 10

    # An operation opens with its answers, the error statuses among them.
    purchases.locator(".opblock-summary").click()
    responses = purchases.locator(".responses-table").first
    for status in ("201", "400", "401", "409"):
        expect(responses.locator(f"tr.response[data-code='{status}']")).to_have_count(1)
    screenshot(page, "api-docs-desktop")
    assert refused == []
    assert console_errors == []


def test_the_docs_on_a_phone(new_page, console_errors, screenshot):
    page, refused = _docs_page(new_page, **PHONE)

    expect(page.locator(".opblock", has_text="/api/v1/purchases/").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, width
    screenshot(page, "api-docs-phone")
    assert refused == []
    assert console_errors == []
