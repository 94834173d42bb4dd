"""Levels through the real UI in Chromium: a member crosses a threshold at the counter, the
counter says so (the level and the badge earned each a line of their own beside the points,
screenshots at desktop and phone widths) and shows the new level beside the balance; the
member's phone shows the level, "You reached Zilver!", the progress bar to the next level and,
on its Achievements page, the badge earned."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from loyalty.services import purchase_record
from members import services as member_services
from tests.browser.fits import assert_fits_phone
from tests.browser.helpers import PHONE, sign_in
from tests.factories import PASSWORD, ShopFactory, StaffMemberFactory, UserFactory
from tiers import services as tier_services
from tiers.badges import services as badge_services

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_a_member_reaches_a_level_at_the_counter_and_sees_it(new_page, console_errors,
                                                             screenshot):
    shop = ShopFactory(name="De Gouden Korst", slug="gouden-korst", language="en")
    staff_user = UserFactory(email="daan@goudenkorst.example", name="Daan Bakker")
    StaffMemberFactory(shop=shop, user=staff_user)
    customer = UserFactory(email="fatima@example.com", name="Fatima El Amrani")
    membership = member_services.member_enrol(
        shop=shop, name="Fatima El Amrani", email=customer.email, phone="+31612345678",
        user=customer, language="en")
    purchase_record(shop=shop, amount="45.00", membership_id=membership.pk)  # 450 points
    tier_services.program_save(shop=shop, data=tier_services.program_input_clean(
        enabled=True, measure="points", period="year", downgrade="one", grace_days=0,
        tiers=[{"name": "Brons", "threshold": "100", "colour": "#cd7f32"},
               {"name": "Zilver", "threshold": "500", "multiplier": "1.25",
                "colour": "#c0c0c0", "perks": "Free delivery"},
               {"name": "Goud", "threshold": "1000", "multiplier": "1.50"}]))
    badge_services.badge_create(shop=shop, template="spend_total", name="Vaste klant",
                                icon="coffee", amount="50.00")

    staff = new_page()
    sign_in(staff, staff_user.email, PASSWORD)
    expect(staff).to_have_url(re.compile(r"/counter/gouden-korst/$"))
    staff.goto(f"/counter/gouden-korst/members/{membership.card_number}/")
    panel = staff.locator("#panel")
    expect(panel.locator("#level")).to_contain_text("Level: Brons")
    amount = staff.get_by_label("Amount (EUR)")
    expect(amount).to_be_focused()
    with staff.expect_response(lambda r: r.url.endswith("/earn/")
                               and r.request.method == "POST"):
        staff.keyboard.type("6.00")
        staff.keyboard.press("Enter")
    status = staff.locator("#counter-feedback").get_by_role("status")
    expect(status.locator(".message-success")).to_have_text("+60 points for €6.00.")
    expect(status.locator(".counter-news-level_up")).to_have_text("You reached Zilver!")
    expect(status.locator(".counter-news-badge")).to_have_text("New badge: Vaste klant")
    expect(status.locator(".counter-news-badge img")).to_have_attribute(
        "src", "/static/tiers/badges/coffee.svg")
    expect(panel.locator("#level")).to_contain_text("Level: Zilver")
    expect(panel.locator("#balance")).to_have_text("510")
    expect(staff.get_by_label("Next customer: phone, e-mail, card number or name")
           ).to_be_focused()

    phone = new_page(**PHONE)
    sign_in(phone, customer.email, PASSWORD)
    phone.goto("/portal/gouden-korst/")
    level = phone.locator("#level")
    expect(level).to_contain_text("You reached Zilver!")
    expect(level).to_contain_text("Your level: Zilver")
    expect(level).to_contain_text("490 points more to Goud")
    expect(level.locator("progress")).to_have_attribute("value", "2")
    level.get_by_role("link", name="What each level gives").click()
    expect(phone.locator("#levels li[aria-current]")).to_contain_text("Free delivery")
    # The badge that purchase earned, on the portal's Achievements page (from the card's link),
    # with the day it was earned.
    phone.goto("/portal/gouden-korst/")
    phone.get_by_role("link", name="Achievements").click()
    expect(phone).to_have_url(re.compile(r"/portal/gouden-korst/achievements/$"))
    earned = phone.locator(".badge-earned")
    expect(earned).to_have_count(1)
    expect(earned).to_contain_text("Vaste klant")
    expect(earned).to_contain_text("Earned on ")
    expect(phone.locator(".badge-locked")).to_have_count(0)
    assert console_errors == [], "\n".join(console_errors)
    # Last: Playwright's screenshot hides the caret with a style of its own, which our CSP
    # refuses (a console error that is not the page's).
    screenshot(staff, "counter-news-desktop")


@pytest.mark.django_db(transaction=True)
def test_the_counter_news_on_a_phone(new_page, console_errors, screenshot):
    """A counter on a phone: the badge and the level are lines of their own beside the points,
    with the badge's icon, and the result fits the screen."""
    shop = ShopFactory(name="De Gouden Korst", slug="gouden-korst", language="en")
    staff_user = UserFactory(email="daan@goudenkorst.example", name="Daan Bakker")
    StaffMemberFactory(shop=shop, user=staff_user)
    membership = member_services.member_enrol(shop=shop, name="Fatima El Amrani",
                                              phone="+31612345678", language="en")
    tier_services.program_save(shop=shop, data=tier_services.program_input_clean(
        enabled=True, measure="points", period="year", downgrade="one", grace_days=0,
        tiers=[{"name": "Brons", "threshold": "100", "colour": "#cd7f32"}]))
    badge_services.badge_create(shop=shop, template="first_purchase",
                                name="Eerste bezoek met een lange naam", icon="trophy")

    staff = new_page(**PHONE)
    sign_in(staff, staff_user.email, PASSWORD)
    staff.goto(f"/counter/gouden-korst/members/{membership.card_number}/")
    with staff.expect_response(lambda r: r.url.endswith("/earn/")
                               and r.request.method == "POST"):
        staff.get_by_label("Amount (EUR)").fill("12.00")
        staff.get_by_role("button", name="Add points").click()
    status = staff.locator("#counter-feedback").get_by_role("status")
    expect(status.locator(".message-success")).to_have_text("+120 points for €12.00.")
    expect(status.locator(".counter-news-badge")).to_have_text(
        "New badge: Eerste bezoek met een lange naam")
    expect(status.locator(".counter-news-level_up")).to_have_text("You reached Brons!")
    expect(status.locator(".counter-news-badge img")).to_be_visible()
    expect(staff.locator("#panel #balance")).to_have_text("120")  # the panel reloaded
    expect(staff.locator("#panel #level")).to_contain_text("Level: Brons")
    assert_fits_phone(staff)
    assert console_errors == [], "\n".join(console_errors)
    # Last, as above.
    screenshot(staff, "counter-news-phone")
