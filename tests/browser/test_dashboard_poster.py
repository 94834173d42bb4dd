"""The poster (A4) and the table card (A6), printed by Chromium: one page each, of the right
size, with the sheet alone (none of the dashboard around it). The PDFs and screenshots land in
test-output/ to look at."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from loyalty import services
from tests.browser.conftest import REPO_ROOT
from tests.browser.helpers import PHONE, sign_in
from tests.factories import PASSWORD, OwnerFactory, ShopFactory, UserFactory

pytestmark = pytest.mark.browser

PDF_DIR = REPO_ROOT / "test-output" / "pdf"
MM = 72 / 25.4  # PDF points per millimetre
SIZES = {"poster": (210, 297), "table-card": (105, 148)}


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """(width, height) in millimetres of each page of a PDF as Chromium writes it."""
    pages = re.findall(rb"/Type\s*/Page\b(?!s)(.*?)>>", pdf, re.S)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert len(boxes) >= len(pages)
    return [(float(w) / MM, float(h) / MM) for w, h in boxes[:len(pages)]]


@pytest.mark.django_db(transaction=True)
def test_poster_and_table_card_print_on_one_page_each(new_page, screenshot, console_errors):
    shop = ShopFactory(name="Bakkerij De Gouden Korst", slug="bakkerij-de-gouden-korst",
                       language="nl", brand_color="#8a4b2a")
    owner = UserFactory(email="anneke@goudenkorst.example")
    OwnerFactory(shop=shop, user=owner)
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10,
                                  points_per_currency_value=100)
    page = new_page()
    sign_in(page, owner.email, PASSWORD)
    page.goto(f"/dashboard/{shop.slug}/")
    page.locator(".sidenav").get_by_role("link", name="Poster").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/{shop.slug}/poster/$"))
    PDF_DIR.mkdir(parents=True, exist_ok=True)

    for name, url in (("poster", f"/dashboard/{shop.slug}/poster/"),
                      ("table-card", f"/dashboard/{shop.slug}/poster/table-card/")):
        page.goto(url)
        sheet = page.locator("article.sheet")
        expect(sheet).to_contain_text("Bakkerij De Gouden Korst")
        expect(sheet.locator("svg.sheet-qr")).to_be_visible()
        expect(page.get_by_role("button", name="Print")).to_be_visible()  # shown by the JS
        screenshot(page, f"{name}-desktop")

        page.emulate_media(media="print")
        for chrome in (".topbar", ".sidenav", ".footer", ".sheet-controls"):
            expect(page.locator(chrome)).to_be_hidden()
        expect(sheet).to_be_visible()
        screenshot(page, f"{name}-print")
        page.emulate_media(media="null")  # page.pdf() prints with the print styles

        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        (PDF_DIR / f"{name}.pdf").write_bytes(pdf)
        pages = pdf_pages(pdf)
        assert len(pages) == 1, (name, pages)
        width, height = pages[0]
        expected = SIZES[name]
        assert abs(width - expected[0]) < 1 and abs(height - expected[1]) < 1, (name, pages)

    phone = new_page(**PHONE)
    sign_in(phone, owner.email, PASSWORD)
    for name, url in (("poster", f"/dashboard/{shop.slug}/poster/"),
                      ("table-card", f"/dashboard/{shop.slug}/poster/table-card/")):
        phone.goto(url)
        expect(phone.locator("article.sheet svg.sheet-qr")).to_be_visible()
        assert phone.evaluate("document.scrollingElement.scrollWidth") <= 390
        assert phone.evaluate("window.innerWidth") == 390
        screenshot(phone, f"{name}-phone")
    assert console_errors == []
