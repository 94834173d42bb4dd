"""What the browser tests share: signing in, and a phone-sized window."""

from __future__ import annotations

from playwright.sync_api import Page

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("main").locator("button[type=submit]").click()
