"""Search as you type at the counter, in Chromium: the member shows up from the first digits of
the phone number, in the form the customer says it, with the number in the shop's national
format; "No member found" never shows for a member who is there (it invites a second card)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from members import services as member_services
from tests.browser.helpers import PHONE, sign_in
from tests.factories import PASSWORD, ShopFactory, StaffMemberFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def counter(db):
    shop = ShopFactory(name="De Gouden Korst", slug="gouden-korst", language="en", country="NL")
    staff_user = UserFactory(email="daan@goudenkorst.example", name="Daan Bakker")
    StaffMemberFactory(shop=shop, user=staff_user)
    sanne = member_services.member_enrol(shop=shop, name="Sanne Visser", phone="06 1234 5678")
    member_services.member_enrol(shop=shop, name="Piet Jansen", phone="06 8765 4321")
    member_services.member_enrol(shop=shop, name="Astrid Berg", phone="+46 70 123 45 67",
                                 email="astrid@example.se")
    return {"shop": shop, "staff": staff_user, "sanne": sanne}


def _type(search, text):
    search.fill("")
    search.press_sequentially(text, delay=40)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_typing_the_first_digits_shows_the_member(new_page, screenshot, console_errors,
                                                  counter, size):
    page = new_page(**PHONE) if size == "phone" else new_page()
    sign_in(page, counter["staff"].email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/counter/gouden-korst/$"))
    search = page.get_by_label("Phone, e-mail, card number or name")
    results = page.locator("#results")

    _type(search, "06 12")
    expect(results.locator("a.result")).to_have_count(1)
    expect(results.locator("a.result")).to_contain_text("Sanne Visser")
    expect(results.locator("a.result")).to_contain_text("06 12345678")  # national, not E.164
    expect(results).not_to_contain_text("No member found")
    if size == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    screenshot(page, f"counter-search-06-12-{size}")

    _type(search, "+31 6 1234")
    expect(results.locator("a.result")).to_have_count(1)
    expect(results.locator("a.result")).to_contain_text("Sanne Visser")
    expect(results).not_to_contain_text("No member found")

    # A Swedish customer in a Dutch shop says her number with its country code.
    _type(search, "0046 70 12")
    expect(results.locator("a.result")).to_have_count(1)
    expect(results.locator("a.result")).to_contain_text("Astrid Berg")
    expect(results.locator("a.result")).to_contain_text("+46 70 123 45 67")

    # The first digits of the card, with the spaces it is printed with.
    card = counter["sanne"].card_number_display
    _type(search, card[:7])
    expect(results.locator("a.result")).to_contain_text("Sanne Visser")

    # Enter on the one result opens the member, whose number shows nationally.
    _type(search, "06 1234 5")
    expect(results.locator("a.result")).to_have_count(1)
    search.press("Enter")
    expect(page).to_have_url(
        re.compile(rf"/counter/gouden-korst/members/{counter['sanne'].card_number}/$"))
    expect(page.locator("#panel")).to_contain_text("06 12345678")
    screenshot(page, f"counter-member-phone-{size}")
    assert console_errors == []
