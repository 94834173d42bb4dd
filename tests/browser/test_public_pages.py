"""A shop's public page, its privacy statement and the joined page in Chromium, on a phone
(390 px: no horizontal scroll) and at desktop width, in the shop's colours; screenshots of
each under test-output/screenshots/ (public-*)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from loyalty.models import Membership
from loyalty.services import program_rules_update
from rewards.models import RewardKind
from rewards.services import reward_create
from tests.browser.fits import assert_fits_phone, css
from tests.browser.helpers import PHONE
from tests.factories import ShopFactory
from tests.members.stamp_shops import stamp_card_start

pytestmark = pytest.mark.browser


@pytest.fixture
def bakery(db):
    shop = ShopFactory(
        name="Bakkerij De Gouden Korst", slug="gouden-korst", language="en", country="NL",
        brand_color="#8a4b2a", address="Korenmarkt 12, 3512 AB Utrecht", phone="+31302345678",
        email="hallo@goudenkorst.example", website="https://www.goudenkorst.example/")
    program_rules_update(shop=shop, by=None, points_per_unit=10, signup_bonus=50)
    for name, cost, description in [
        ("Free coffee", 150, "Any coffee from the menu."),
        ("Croissant of the day", 250, ""),
        ("€5 off your order", 500, "On a purchase from €15."),
    ]:
        reward_create(shop=shop, kind=RewardKind.PERK, name=name, points_cost=cost,
                      description=description)
    return shop


@pytest.fixture
def cafe(db):
    shop = ShopFactory(name="Koffiebar Kop & Schotel", slug="kop-en-schotel", language="en",
                       brand_color="#fbbf24", address="Oudegracht 3, Utrecht",
                       email="kop@example.com")
    stamp_card_start(shop, stamps_per_card=10, reward="a free coffee")
    return shop


def test_the_public_page_on_a_phone_and_a_desktop(new_page, bakery, screenshot, console_errors):
    page = new_page(**PHONE)
    page.goto(f"/s/{bakery.slug}/")

    hero = page.locator(".shop-hero")
    expect(hero.get_by_role("heading", level=1)).to_have_text(
        "Join the loyalty program of Bakkerij De Gouden Korst")
    expect(hero).to_contain_text("10 points for every €1 you spend")
    # The shop's colour, from its theme.css (no inline styles under the CSP).
    assert "138, 75, 42" in css(page, ".shop-hero", "background-image")
    assert css(page, ".shop-hero", "color") == "rgb(255, 255, 255)"
    rewards = page.locator(".public-rewards")
    expect(rewards.get_by_role("listitem")).to_have_count(3)
    expect(rewards).to_contain_text("Free coffee")
    expect(rewards).to_contain_text("150 points")
    contact = page.locator(".shop-contact")
    expect(contact.get_by_role("link", name="030 234 5678")).to_have_attribute(
        "href", "tel:+31302345678")
    expect(contact.get_by_role("link", name="goudenkorst.example", exact=True)).to_have_attribute(
        "href", "https://www.goudenkorst.example/")
    consent = page.get_by_label("Yes, send me news and offers from this shop.")
    expect(consent).not_to_be_checked()
    privacy = page.get_by_role("link", name="Privacy statement: what is stored and why")
    expect(privacy).to_be_visible()
    assert_fits_phone(page)
    screenshot(page, "public-page-phone")

    privacy.click()
    expect(page).to_have_url(re.compile(rf"/s/{bakery.slug}/privacy/$"))
    expect(page.get_by_role("heading", name="Your rights")).to_be_visible()
    expect(page.get_by_role("link", name="hallo@goudenkorst.example")).to_be_visible()
    assert_fits_phone(page)
    screenshot(page, "public-privacy-phone")

    desktop = new_page()
    desktop.goto(f"/s/{bakery.slug}/")
    join = desktop.locator(".shop-join").bounding_box()
    side = desktop.locator(".shop-public-side").bounding_box()
    assert side["x"] > join["x"] + join["width"] - 1, "the rewards sit beside the form"
    screenshot(desktop, "public-page-desktop")
    desktop.goto(f"/s/{bakery.slug}/privacy/")
    screenshot(desktop, "public-privacy-desktop")
    assert console_errors == []


def test_a_stamp_shop_on_a_phone(new_page, cafe, screenshot, console_errors):
    page = new_page(**PHONE)
    page.goto(f"/s/{cafe.slug}/")

    expect(page.locator(".shop-hero")).to_contain_text("A stamp for every purchase from")
    card = page.get_by_label("Your stamp card")
    expect(card).to_contain_text("0 of 10 stamps")
    expect(card.locator(".stamp")).to_have_count(10)
    expect(page.locator(".shop-hero")).to_contain_text("10 stamps give a free coffee.")
    expect(page.locator(".shop-public")).not_to_contain_text("points")
    # A light colour: dark text on it, and on the Join button.
    assert css(page, ".shop-hero", "color") == "rgb(17, 24, 39)"
    assert css(page, ".shop-join button[type=submit]", "color") == "rgb(17, 24, 39)"
    assert_fits_phone(page)
    screenshot(page, "public-stamps-phone")

    desktop = new_page()
    desktop.goto(f"/s/{cafe.slug}/")
    screenshot(desktop, "public-stamps-desktop")
    assert console_errors == []


def test_joining_with_a_phone_number_shows_the_card_with_its_qr_code(new_page, bakery,
                                                                    screenshot, console_errors):
    page = new_page(**PHONE)
    page.goto(f"/s/{bakery.slug}/")
    page.get_by_label("Your name").fill("Fatima El Amrani")
    page.get_by_label("Phone number").fill("06 12345678")
    page.get_by_role("button", name="Join").click()

    expect(page).to_have_url(re.compile(rf"/s/{bakery.slug}/joined/$"))
    membership = Membership.objects.get(shop=bakery)
    card = page.get_by_label("Your member card")
    expect(card).to_contain_text(membership.card_number_display)
    qr = card.locator("svg.card-qr")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box["width"] >= 150 and box["height"] >= 150, "big enough for a scanner"
    expect(page.get_by_text("Show this at the counter", exact=False)).to_be_visible()
    assert_fits_phone(page)
    screenshot(page, "public-joined-phone")
    assert console_errors == []


def test_the_rewards_are_there_without_javascript(new_page, bakery, console_errors):
    page = new_page(java_script_enabled=False, **PHONE)
    page.goto(f"/s/{bakery.slug}/")
    expect(page.locator(".public-rewards").get_by_role("listitem")).to_have_count(3)
    expect(page.get_by_role("button", name="Join")).to_be_visible()
    assert_fits_phone(page)
    assert console_errors == []
