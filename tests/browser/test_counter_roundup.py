"""The counter's round-up in Chromium: the earn form's words follow the amount typed, one tap
rounds up, the answer says what was given (apart from the points, as good news), the balance
and the charity panel are current, the focus goes to "Next customer"; the member's charity is
changed in its panel. Screenshots at desktop and phone widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from charity import services as charity_services
from charity.models import Donation
from tests.browser.conftest import SCREENSHOT_DIR
from tests.browser.helpers import PHONE, sign_in
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    ShopFactory,
    StaffMemberFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def counter(db):
    shop = ShopFactory(name="De Gouden Korst", slug="gouden-korst", language="en")
    staff_user = UserFactory(email="daan@goudenkorst.example", name="Daan")
    StaffMemberFactory(shop=shop, user=staff_user)
    sanne = MembershipFactory(shop=shop, name="Sanne Visser", phone="+31612345601")
    kwf = charity_services.charity_create(shop=shop, name="KWF")
    charity_services.charity_create(shop=shop, name="Clean Sea")
    charity_services.program_configure(shop=shop, data=charity_services.program_input_clean(
        enabled=True, mode="beside", rule_kind="percent", rule_value="1", split="default",
        round_up_max="5.00", default_charity_id=kwf.pk))
    return {"shop": shop, "staff": staff_user, "sanne": sanne}


def open_member(new_page, counter, **options):
    page = new_page(**options)
    sign_in(page, counter["staff"].email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/counter/gouden-korst/$"))
    page.goto(f"/counter/gouden-korst/members/{counter['sanne'].card_number}/")
    return page


def snap(page, name: str) -> None:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOT_DIR / f"{name}.png", full_page=True, caret="initial")


def round_up_and_earn(page, name: str) -> None:
    expect(page.get_by_label("Amount (EUR)")).to_be_focused()
    page.keyboard.type("27.40")
    words = page.locator("#donation-offer-words")
    expect(words).to_have_text("Round up to €28.00 (+€0.60 for KWF)")
    page.get_by_label("Round up to €28.00 (+€0.60 for KWF)").check()
    snap(page, f"{name}-round-up-offered")
    page.get_by_role("button", name="Add points").click()
    feedback = page.locator("#counter-feedback")
    expect(feedback.locator(".message-success")).to_have_text("+270 points for €27.40.")
    expect(feedback.locator(".counter-news-donation")).to_have_text(
        "€0.60 round-up and €0.27 from the shop to KWF.")
    expect(page.locator("#panel #balance")).to_have_text("270")
    expect(page.get_by_label("Next customer: phone, e-mail, card number or name")).to_be_focused()
    # The form is fresh for the next sale: the round-up is not ticked any more.
    expect(page.locator("#sale_round_up")).not_to_be_checked()
    expect(page.locator("#member-charity")).to_contain_text("Gives to KWF until the customer")
    snap(page, f"{name}-round-up-given")


@pytest.mark.django_db(transaction=True)
def test_a_round_up_at_the_counter_on_a_desktop(new_page, counter, console_errors):
    page = open_member(new_page, counter, viewport={"width": 1280, "height": 900})
    round_up_and_earn(page, "counter-desktop")
    # The customer picks another charity: the panel and the earn form's offer follow.
    panel = page.locator("#member-charity")
    panel.get_by_label("Customer's charity").select_option(label="Clean Sea")
    panel.get_by_role("button", name="Pick").click()
    expect(page.locator("#counter-feedback")).to_have_text(
        "From now on Sanne Visser gives to Clean Sea.")
    expect(panel).to_contain_text("Gives to Clean Sea (the customer's choice).")
    expect(page.locator("#donation-offer-words")).to_contain_text("for Clean Sea")
    assert Donation.objects.filter(kind="round_up").count() == 1
    assert console_errors == []


@pytest.mark.django_db(transaction=True)
def test_a_round_up_at_the_counter_on_a_phone(new_page, counter, console_errors):
    page = open_member(new_page, counter, **PHONE)
    round_up_and_earn(page, "counter-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    assert console_errors == []
