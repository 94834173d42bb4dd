"""The counter's member page in Chromium: after "Add points", "Redeem now" and an undo every
panel is current (the core's balance and the rewards app's panel, which the core only knows by
URL name), and the focus is in the "Next customer" field, so the next scan lands there."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from loyalty import services
from loyalty.models import EntryKind
from rewards import services as reward_services
from rewards.models import RewardKind, Voucher, VoucherStatus
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
    services.points_credit(shop=shop, membership_id=sanne.pk, points=450,
                           kind=EntryKind.ADJUSTMENT, note="opening balance")
    coffee = reward_services.reward_create(shop=shop, name="Free coffee", points_cost=500,
                                           kind=RewardKind.FREE_PRODUCT, product_name="Coffee")
    return {"shop": shop, "staff": staff_user, "sanne": sanne, "coffee": coffee}


def open_member(new_page, counter, **options):
    page = new_page(**options)
    sign_in(page, counter["staff"].email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/counter/gouden-korst/$"))
    page.goto(f"/counter/gouden-korst/members/{counter['sanne'].card_number}/")
    return page


def snap(page, name: str) -> None:
    """A screenshot in the middle of a test: Playwright's caret hiding leaves style="" on the
    inputs, which htmx's settling would then copy (refused by the page's CSP: an error in the
    console). "initial" leaves the page as it is."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOT_DIR / f"{name}.png", full_page=True, caret="initial")


def coffee_row(page):
    return page.locator("#member-rewards li.reward-row", has_text="Free coffee")


@pytest.mark.django_db(transaction=True)
def test_every_panel_is_current_after_earn_redeem_and_undo(new_page, counter, console_errors):
    page = open_member(new_page, counter)
    balance = page.locator("#panel #balance")
    expect(balance).to_have_text("450")
    expect(coffee_row(page)).to_contain_text("50 more points needed")
    expect(coffee_row(page).get_by_role("button", name="Redeem now")).to_have_count(0)
    # The member page opens ready for the sale.
    expect(page.get_by_label("Amount (EUR)")).to_be_focused()

    # --- Add points: the rewards panel learns the new balance without a reload -------------
    page.keyboard.type("10.00")
    page.keyboard.press("Enter")
    expect(balance).to_have_text("550")
    expect(page.locator("#counter-feedback")).to_have_text("+100 points for €10.00.")
    expect(coffee_row(page).get_by_role("button", name="Redeem now")).to_be_visible()
    expect(coffee_row(page)).not_to_contain_text("more points needed")
    next_customer = page.get_by_label("Next customer: phone, e-mail, card number or name")
    expect(next_customer).to_be_focused()
    snap(page, "counter-member-after-earn")

    # --- Redeem now: it asks first, in the panel; Confirm takes the points ------------------
    coffee_row(page).get_by_role("button", name="Redeem now").click()
    question = page.locator("#member-rewards .confirm-question")
    expect(question).to_have_text(
        "Redeem Free coffee for 500 points? Sanne Visser keeps 50 points.")
    assert not Voucher.objects.exists()  # nothing happened yet
    expect(page.get_by_role("button", name="Confirm")).to_be_focused()
    snap(page, "counter-redeem-confirm")
    page.keyboard.press("Enter")
    expect(page.locator("#counter-feedback")).to_have_text(
        "Free coffee redeemed: 500 points taken off.")
    expect(balance).to_have_text("50")
    expect(coffee_row(page)).to_contain_text("450 more points needed")
    expect(page.locator(".confirm-question")).to_have_count(0)
    expect(next_customer).to_be_focused()
    assert Voucher.objects.get().status == VoucherStatus.USED

    # --- Undo the purchase: with htmx too, and the rewards panel follows --------------------
    page.locator("details.undo summary").click()
    page.get_by_label("Why undo it?").fill("wrong card")
    page.get_by_role("button", name="Undo purchase").click()
    # The 450 points spent first were the oldest (the opening balance and 50 of the
    # purchase): the undo takes back the 50 of the purchase that are left.
    expect(page.locator("#counter-feedback")).to_have_text(
        "Purchase undone: 50 points taken back.")
    expect(balance).to_have_text("0")
    expect(page.locator("details.undo")).to_have_count(0)
    expect(coffee_row(page)).to_contain_text("500 more points needed")
    expect(next_customer).to_be_focused()

    # --- The next customer's card, scanned: it lands in the search field -------------------
    piet = MembershipFactory(shop=counter["shop"], name="Piet Jansen")
    page.keyboard.type(piet.card_number)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/members/{piet.card_number}/$"))
    expect(page.get_by_role("heading", name="Piet Jansen")).to_be_visible()
    assert console_errors == []


@pytest.mark.django_db(transaction=True)
def test_member_panel_on_a_phone(new_page, counter, screenshot, console_errors):
    page = open_member(new_page, counter, **PHONE)
    expect(page.locator("#panel #balance")).to_have_text("450")
    expect(coffee_row(page)).to_contain_text("50 more points needed")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    screenshot(page, "counter-member-phone")
    assert console_errors == []


@pytest.mark.django_db(transaction=True)
def test_a_stamp_card_at_the_counter(new_page, counter, console_errors):
    from tests.loyalty.test_views_counter_stamps import give_stamps, stamp_card

    shop, sanne = counter["shop"], counter["sanne"]
    stamp_card(shop, stamps=10, reward="a free coffee")
    services.points_spend(shop=shop, membership_id=sanne.pk, points=450,
                          kind=EntryKind.ADJUSTMENT, note="to stamps")
    give_stamps(shop, sanne, 9)
    page = open_member(new_page, counter)
    stamps = page.locator("#panel #stamps")
    expect(stamps).to_contain_text("9 of 10 stamps")
    expect(page.locator("#panel #balance")).to_have_count(0)

    page.keyboard.type("4.50")
    page.keyboard.press("Enter")
    expect(page.locator("#counter-feedback")).to_have_text("+1 stamp for €4.50.")
    expect(page.locator("#stamp-handout")).to_contain_text("Card full: hand out a free coffee")
    snap(page, "counter-stamps-full")
    # When the Confirm button gets the focus, htmx has already wired up its form: an Enter at
    # once (a fast cashier, or a test) posts with htmx, not as a full page.
    page.evaluate("""() => document.addEventListener("focusin", (event) => {
        const form = event.target.form;
        if (form) window.focusedFormWired = !!(form["htmx-internal-data"] || {}).initHash;
    })""")
    page.get_by_role("button", name="Hand out").click()
    expect(page.locator("#stamp-handout")).to_contain_text(
        "Hand out a free coffee? 10 stamps come off the card.")
    expect(page.get_by_role("button", name="Yes, hand it out")).to_be_focused()
    assert page.evaluate("window.focusedFormWired") is True
    page.keyboard.press("Enter")
    expect(page.locator("#counter-feedback")).to_have_text(
        "Card handed out: a free coffee. The stamps are off the card.")
    expect(stamps).to_contain_text("0 of 10 stamps")
    expect(page.locator("#stamp-handout")).to_have_count(0)
    expect(page.get_by_label("Next customer: phone, e-mail, card number or name")).to_be_focused()

    phone = open_member(new_page, counter, **PHONE)
    expect(phone.locator("#panel #stamps")).to_contain_text("0 of 10 stamps")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    snap(phone, "counter-stamps-phone")
    assert console_errors == []
