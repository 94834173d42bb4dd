"""A reward from claim to counter, through the real UI in Chromium.

A member with enough points claims a reward on their phone and gets a voucher with a code and
a QR code. Staff at the counter type that code into the counter's search box and press Enter:
the voucher page shows the reward and the member, and one click on "Use" marks it used. The
member then finds the voucher among their used vouchers.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from loyalty.models import EntryKind, LedgerEntry
from loyalty.services import purchase_record
from members import services as member_services
from rewards import services as reward_services
from rewards.models import RewardKind, Voucher, VoucherStatus
from tests.browser.helpers import PHONE, sign_in
from tests.factories import PASSWORD, ShopFactory, StaffMemberFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_member_claims_a_reward_and_staff_use_the_voucher(new_page, screenshot, console_errors):
    shop = ShopFactory(name="De Gouden Korst", slug="gouden-korst", language="en")
    staff_user = UserFactory(email="daan@goudenkorst.example", name="Daan Bakker")
    StaffMemberFactory(shop=shop, user=staff_user)
    customer = UserFactory(email="fatima@example.com", name="Fatima El Amrani")
    membership = member_services.member_enrol(
        shop=shop, name="Fatima El Amrani", email=customer.email, phone="+31612345678",
        user=customer, language="en")
    purchase_record(shop=shop, amount="50.00", membership_id=membership.pk)  # 500 points
    reward_services.reward_create(shop=shop, kind=RewardKind.FREE_PRODUCT, name="Free cappuccino",
                                  product_name="Cappuccino", points_cost=300,
                                  description="Any size, with a biscuit")
    reward_services.reward_create(shop=shop, kind=RewardKind.GIFT_VOUCHER, name="€10 gift voucher",
                                  value_amount="10.00", points_cost=1000)

    # --- the member, on their phone, claims the cappuccino -----------------------------------
    phone = new_page(**PHONE)
    sign_in(phone, customer.email, PASSWORD)
    expect(phone).to_have_url(re.compile(r"/portal/gouden-korst/$"))
    phone.get_by_role("link", name="Rewards").click()
    expect(phone).to_have_url(re.compile(r"/portal/gouden-korst/rewards/$"))
    expect(phone.get_by_text("You can spend 500 points.")).to_be_visible()
    cappuccino = phone.locator("article.reward-card", has_text="Free cappuccino")
    gift = phone.locator("article.reward-card", has_text="€10 gift voucher")
    expect(gift).to_contain_text("500 more points to go")
    expect(gift.get_by_role("button", name="Claim")).to_have_count(0)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]

    cappuccino.get_by_role("button", name="Claim").click()

    voucher = Voucher.objects.get(membership=membership)
    display = f"{voucher.code[:4]}-{voucher.code[4:]}"
    expect(phone).to_have_url(re.compile(rf"/portal/gouden-korst/vouchers/{voucher.code}/$"))
    expect(phone.get_by_text("Here is your voucher. Show it at the counter.")).to_be_visible()
    card = phone.locator(".voucher-card")
    expect(card.locator(".card-number")).to_have_text(display)
    expect(card).to_contain_text("Free cappuccino")
    qr = card.locator(".qr-box svg.card-qr")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 150 and box["height"] >= 150
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    screenshot(phone, "voucher")
    membership.refresh_from_db()
    assert membership.points_balance == 200
    assert voucher.status == VoucherStatus.OPEN

    # --- staff, at the counter, type the code and use it -------------------------------------
    staff = new_page()
    sign_in(staff, staff_user.email, PASSWORD)
    expect(staff).to_have_url(re.compile(r"/counter/gouden-korst/$"))
    search = staff.get_by_label("Phone, e-mail, card number or name")
    expect(search).to_be_focused()
    search.press_sequentially(display.lower())
    search.press("Enter")

    expect(staff).to_have_url(re.compile(r"/counter/gouden-korst/vouchers/\?code="))
    expect(staff.get_by_role("heading", name="Free cappuccino")).to_be_visible()
    expect(staff.get_by_text(f"For Fatima El Amrani (card {membership.card_number_display})")
           ).to_be_visible()
    use = staff.get_by_role("button", name="Use", exact=True)
    expect(use).to_be_focused()  # Enter uses it
    use.click()

    expect(staff.locator(".message-success")).to_have_text(
        "Voucher used: Free cappuccino for Fatima El Amrani.")
    # Then the empty code box, with the focus, for the next scan: no "already used" warning
    # right after the success.
    expect(staff.locator(".message-error, [role=alert]")).to_have_count(0)
    expect(staff.get_by_role("button", name="Use", exact=True)).to_have_count(0)
    code_box = staff.get_by_label("Voucher code")
    expect(code_box).to_be_focused()
    expect(code_box).to_have_value("")
    screenshot(staff, "counter-voucher")
    # Scanned again: a warning, when and by whom.
    code_box.fill(display)
    code_box.press("Enter")
    status = staff.locator(".voucher-status-used")
    expect(status).to_have_text(re.compile(
        r"^Already used today at \d\d:\d\d by Daan Bakker — do not hand out\.$"))
    expect(staff.get_by_label("Voucher code")).to_be_focused()

    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.USED
    assert voucher.used_by_id == staff_user.pk
    assert LedgerEntry.objects.filter(membership=membership,
                                      kind=EntryKind.REDEMPTION).count() == 1

    # --- the member reloads their rewards page --------------------------------------------------
    phone.goto("/portal/gouden-korst/rewards/")
    used = phone.locator(".panel", has=phone.get_by_role("heading",
                                                         name="Used and expired vouchers"))
    expect(used).to_be_visible()
    expect(used.locator("li")).to_have_count(1)
    expect(used.locator("li")).to_contain_text("Free cappuccino — used on ")
    expect(phone.get_by_role("heading", name="Your vouchers")).to_have_count(0)
    expect(phone.get_by_text("You can spend 200 points.")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    screenshot(phone, "portal-rewards-used")

    assert console_errors == []
