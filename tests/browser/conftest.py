"""Browser harness: Playwright's sync API driving Debian's Chromium against pytest-django's
live server.

- ``browser``: one headless Chromium for the whole session (``/usr/bin/chromium``; Playwright's
  own browsers cannot be downloaded here). Missing Chromium skips on a developer machine and
  fails under ``CI=true`` (see ``require_service``).
- ``new_page``: opens a page in a fresh browser context (its own cookies: one person each) on the
  live server. Contexts close after the test; when the test fails, each open page is saved as
  ``test-output/screenshots/failed-<test>-<n>.png``.
- ``screenshot``: saves a page as ``test-output/screenshots/<name>.png``.
- ``console_errors``: JavaScript errors and console errors (CSP violations among them) of the
  pages opened with ``new_page``; a test asserts that it stays empty.

Playwright's sync API keeps an asyncio event loop in the main thread, where Django then refuses
database queries ("You cannot call this from an async context"). The test thread's queries are
plain synchronous code, so ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set while the browser lives (it
is started lazily, by the first browser test, and stays until the end of the session).
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest

from tests.conftest import require_service

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "test-output" / "screenshots"
DESKTOP = {"width": 1280, "height": 860}
# Generous for a loaded CI machine; a passing run waits far less.
TIMEOUT_MS = 15_000


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def _allow_async_unsafe():
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(_allow_async_unsafe):
    require_service(CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK),
                    "Chromium at /usr/bin/chromium")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def console_errors():
    return []


@pytest.fixture
def new_page(browser, live_server, console_errors, request):
    """``new_page()`` opens a page in a fresh context, at ``live_server.url`` as base URL.
    Keyword arguments go to ``browser.new_context``, e.g. ``viewport=..., is_mobile=True``."""
    contexts = []

    def open_page(**context_options):
        options = {"locale": "en-GB", "timezone_id": "Europe/Amsterdam", "viewport": DESKTOP}
        options.update(context_options)
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: console_errors.append(f"{page.url}: {exc}"))
        page.on("console", lambda msg: console_errors.append(f"{page.url}: {msg.text}")
                if msg.type == "error" else None)
        return page

    yield open_page

    report = getattr(request.node, "report_call", None)
    failed = report is not None and report.failed
    for number, context in enumerate(contexts, start=1):
        if failed:
            name = re.sub(r"[^\w.-]+", "-", request.node.name)
            for page in context.pages:
                SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
                # A page that died must not hide the test's real failure.
                with contextlib.suppress(Exception):
                    page.screenshot(path=SCREENSHOT_DIR / f"failed-{name}-{number}.png",
                                    full_page=True)
        context.close()


@pytest.fixture
def screenshot():
    """``screenshot(page, "dashboard")`` writes test-output/screenshots/dashboard.png."""

    def save(page, name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return save
