"""The portal card in Chromium on a phone (390 px, no horizontal scroll), in the shop's
colours: points and their money value for a points shop, stamps (7 of 10) for a stamp card;
screenshots under test-output/screenshots/ (portal-*)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from loyalty.services import program_rules_update
from tests.browser.fits import assert_fits_phone, css
from tests.browser.helpers import PHONE, sign_in
from tests.factories import PASSWORD, MembershipFactory, ShopFactory, UserFactory
from tests.members.stamp_shops import stamp_card_start, stamps_give

pytestmark = pytest.mark.browser


def member_of(shop, email: str):
    user = UserFactory(email=email, name="Sanne Visser")
    return MembershipFactory(shop=shop, user=user, email=email, name="Sanne Visser")


def test_a_points_card_on_a_phone(new_page, screenshot, console_errors):
    shop = ShopFactory(name="Bakkerij De Gouden Korst", slug="gouden-korst", language="en",
                       brand_color="#8a4b2a")
    program_rules_update(shop=shop, by=None, points_per_unit=10)
    member = member_of(shop, "sanne@example.com")
    stamps_give(shop, member, 1250)  # an adjustment: 1,250 points

    page = new_page(**PHONE)
    sign_in(page, member.email, PASSWORD)
    page.goto(f"/portal/{shop.slug}/")

    card = page.get_by_label("Your member card")
    expect(card.locator(".points")).to_have_text("1,250")
    expect(card).to_contain_text("worth €12.50")
    expect(card.locator("svg.card-qr")).to_be_visible()
    assert "138, 75, 42" in css(page, ".member-card", "background-image")
    assert_fits_phone(page)
    screenshot(page, "portal-card-points-phone")
    assert console_errors == []


def test_a_stamp_card_on_a_phone(new_page, screenshot, console_errors):
    shop = ShopFactory(name="Koffiebar Kop & Schotel", slug="kop-en-schotel", language="en",
                       brand_color="#fbbf24")
    member = member_of(shop, "sanne@example.com")
    stamp_card_start(shop, stamps_per_card=10, reward="a free coffee")
    stamps_give(shop, member, 7)

    page = new_page(**PHONE)
    sign_in(page, member.email, PASSWORD)
    page.goto(f"/portal/{shop.slug}/")

    card = page.get_by_label("Your member card")
    expect(card).to_contain_text("7 of 10 stamps")
    expect(card.locator(".stamp.stamped")).to_have_count(7)
    expect(card.locator(".points")).to_have_count(0)
    expect(card).not_to_contain_text("worth")
    # A light colour: dark text on the card.
    assert css(page, ".member-card", "color") == "rgb(17, 24, 39)"
    assert_fits_phone(page)
    screenshot(page, "portal-card-stamps-phone")

    page.get_by_role("link", name="How it works").click()
    expect(page.locator(".portal-stamps")).to_contain_text("7 of 10 stamps")
    assert_fits_phone(page)
    screenshot(page, "portal-how-it-works-stamps-phone")

    desktop = new_page()
    sign_in(desktop, member.email, PASSWORD)
    desktop.goto(f"/portal/{shop.slug}/")
    expect(desktop.get_by_label("Your member card")).to_contain_text("7 of 10 stamps")
    screenshot(desktop, "portal-card-stamps-desktop")
    assert console_errors == []
