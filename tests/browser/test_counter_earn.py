"""A purchase at the counter, through the real UI in Chromium, and the member seeing it on
their phone.

Staff find the customer by the phone number as the customer says it (06 1234 5678 for the
stored +31612345678), open the card with the keyboard, type the amount and press Enter; the
panel updates in place. Then the customer signs in on a phone and sees the points and the
purchase in their history.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from loyalty.models import EntryKind, LedgerEntry, Purchase
from members import services as member_services
from tests.browser.helpers import PHONE, sign_in
from tests.factories import PASSWORD, ShopFactory, StaffMemberFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_staff_records_a_purchase_and_the_member_sees_it(new_page, screenshot, console_errors):
    shop = ShopFactory(name="De Gouden Korst", slug="gouden-korst", language="en")
    staff_user = UserFactory(email="daan@goudenkorst.example", name="Daan Bakker")
    StaffMemberFactory(shop=shop, user=staff_user)
    customer = UserFactory(email="fatima@example.com", name="Fatima El Amrani")
    membership = member_services.member_enrol(
        shop=shop, name="Fatima El Amrani", email=customer.email, phone="+31612345678",
        user=customer, language="en")
    # Someone else whose number shares digits must not get in the way.
    member_services.member_enrol(shop=shop, name="Piet Jansen", phone="+31612349876")

    # --- staff, at the counter -------------------------------------------------------------
    staff = new_page()
    sign_in(staff, staff_user.email, PASSWORD)
    expect(staff).to_have_url(re.compile(r"/counter/gouden-korst/$"))
    search = staff.get_by_label("Phone, e-mail, card number or name")
    expect(search).to_be_focused()

    with staff.expect_response(lambda r: "q=06" in r.url
                               and r.request.headers.get("hx-request") == "true"
                               and "5678" in r.url):
        search.press_sequentially("06 1234 5678")
    result = staff.locator("#results a.result")
    expect(result).to_have_count(1)
    expect(result).to_contain_text("Fatima El Amrani")
    expect(result).to_contain_text(membership.card_number_display)

    search.press("ArrowDown")
    expect(result).to_be_focused()
    staff.keyboard.press("Enter")
    expect(staff).to_have_url(
        re.compile(rf"/counter/gouden-korst/members/{membership.card_number}/$"))
    expect(staff.get_by_role("heading", name="Fatima El Amrani")).to_be_visible()
    expect(staff.locator("#balance")).to_have_text("0")

    amount = staff.get_by_label("Amount (EUR)")
    expect(amount).to_be_focused()
    member_page_url = staff.url
    with staff.expect_response(lambda r: r.url.endswith("/earn/")
                               and r.request.method == "POST"):
        staff.keyboard.type("27.50")
        staff.keyboard.press("Enter")
    panel = staff.locator("#panel")
    # 27 whole euros × the default 10 points per euro (cents do not count).
    expect(panel.locator("#balance")).to_have_text("270")
    expect(staff.locator("#counter-feedback").get_by_role("status")).to_have_text(
        "+270 points for €27.50.")
    expect(panel.locator(".history li").first).to_contain_text("Purchase of €27.50")
    expect(panel.locator(".history li").first).to_contain_text("+270")
    assert staff.url == member_page_url  # htmx reloaded the panel; the page did not reload
    # Ready for the next customer: the search has the focus (a scan must not land in the
    # amount field), and the amount field is empty.
    expect(staff.get_by_label("Next customer: phone, e-mail, card number or name")
           ).to_be_focused()
    expect(staff.get_by_label("Amount (EUR)")).to_have_value("")
    screenshot(staff, "counter-earn")

    purchase = Purchase.objects.get(shop=shop)
    assert purchase.membership_id == membership.pk
    assert purchase.amount == Decimal("27.50")
    assert purchase.points_earned == 270
    assert purchase.recorded_by_id == staff_user.pk
    entry = LedgerEntry.objects.get(membership=membership)
    assert (entry.kind, entry.points) == (EntryKind.EARN, 270)
    membership.refresh_from_db()
    assert membership.points_balance == 270

    # --- the member, on their phone --------------------------------------------------------
    phone = new_page(**PHONE)
    sign_in(phone, customer.email, PASSWORD)
    expect(phone).to_have_url(re.compile(r"/portal/gouden-korst/$"))
    card = phone.locator(".member-card")
    expect(card.locator(".points")).to_have_text("270")
    expect(card).to_contain_text("worth €2.70")
    history = phone.locator(".history li")
    expect(history).to_have_count(1)
    expect(history.first.locator(".entry-text")).to_have_text(
        "Purchase of €27.50 at De Gouden Korst")
    expect(history.first.locator(".entry-points")).to_have_text("+270 points")
    # Nothing sticks out sideways on a phone.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    screenshot(phone, "portal-history")

    assert console_errors == []
