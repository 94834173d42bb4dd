"""Issue 13's journey in Chromium: a member picks a charity on the portal; staff records a
purchase with a round-up at the counter; the member's impact and the shop's public impact page
show the new totals; after the month has ended the owner closes it, and the statement matches
the donation ledger (and `reconcile_donations` agrees)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone
from playwright.sync_api import expect

from charity import services as charity_services
from charity.models import Donation, Statement
from tests.browser.conftest import SCREENSHOT_DIR
from tests.browser.helpers import PHONE, sign_in
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    OwnerFactory,
    ShopFactory,
    StaffMemberFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.mark.django_db(transaction=True)
def test_pick_round_up_see_the_impact_and_close_the_month(new_page, console_errors,
                                                           screenshot):
    shop = ShopFactory(name="De Gouden Korst", slug="gouden-korst", language="en")
    owner = UserFactory(email="eva@goudenkorst.example", name="Eva")
    OwnerFactory(shop=shop, user=owner)
    staff_user = UserFactory(email="daan@goudenkorst.example", name="Daan")
    StaffMemberFactory(shop=shop, user=staff_user)
    customer = UserFactory(email="sanne@example.com", name="Sanne Visser")
    sanne = MembershipFactory(shop=shop, user=customer, email=customer.email,
                              name="Sanne Visser", phone="+31612345601", language="en")
    kwf = charity_services.charity_create(shop=shop, name="KWF")
    charity_services.charity_create(shop=shop, name="Clean Sea")
    charity_services.program_configure(shop=shop, data=charity_services.program_input_clean(
        enabled=True, mode="beside", rule_kind="percent", rule_value="1", split="default",
        round_up_max="5.00", default_charity_id=kwf.pk))

    # The member picks Clean Sea on her phone.
    phone = new_page(**PHONE)
    sign_in(phone, customer.email, PASSWORD)
    phone.goto(f"/portal/{shop.slug}/charity/")
    expect(phone.locator("#charity-applies")).to_contain_text("KWF")
    phone.get_by_text("Clean Sea").click()
    phone.get_by_role("button", name="Choose this charity").click()
    expect(phone.locator("#charity-applies")).to_contain_text("Clean Sea")

    # At the counter: 27.40, rounded up to 28.00 for her charity.
    counter = new_page(**DESKTOP)
    sign_in(counter, staff_user.email, PASSWORD)
    expect(counter).to_have_url(re.compile(r"/counter/gouden-korst/$"))
    counter.goto(f"/counter/{shop.slug}/members/{sanne.card_number}/")
    expect(counter.get_by_label("Amount (EUR)")).to_be_focused()
    counter.keyboard.type("27.40")
    offer = "Round up to €28.00 (+€0.60 for Clean Sea)"
    expect(counter.locator("#donation-offer-words")).to_have_text(offer)
    counter.get_by_label(offer).check()
    counter.get_by_role("button", name="Add points").click()
    feedback = counter.locator("#counter-feedback")
    expect(feedback.locator(".counter-news-donation")).to_have_text(
        "€0.60 round-up and €0.27 from the shop to Clean Sea.")
    expect(counter.locator("#panel #balance")).to_have_text("270")

    # The ledger: 0.27 from the shop (1% of 27.40, half up) and 0.60 of her own.
    given = dict(Donation.objects.filter(shop=shop).values_list("kind").annotate(
        total=Sum("amount")))
    assert given == {"shop_share": Decimal("0.27"), "round_up": Decimal("0.60")}

    # Her impact, and the shop's public page, show it at once.
    phone.goto(f"/portal/{shop.slug}/impact/")
    expect(phone.locator("#impact-total")).to_contain_text("€0.87")
    phone.goto(f"/s/{shop.slug}/impact/")
    expect(phone.locator("#impact-this-month")).to_have_text("€0.87")
    expect(phone.locator("#impact-all-time")).to_have_text("€0.87")
    expect(phone.get_by_text("Clean Sea")).to_be_visible()
    assert "Sanne" not in phone.content()  # no personal data on the public page

    # January: the owner closes December; the statement is the ledger's.
    month = timezone.now().astimezone(zoneinfo.ZoneInfo(shop.time_zone)).date().replace(day=1)
    after = (month + dt.timedelta(days=32)).replace(day=2)
    with time_machine.travel(dt.datetime(after.year, after.month, after.day, 9,
                                         tzinfo=dt.UTC), tick=True):
        dashboard = new_page(**DESKTOP)
        sign_in(dashboard, owner.email, PASSWORD)
        dashboard.goto(f"/dashboard/{shop.slug}/charity/months/{month:%Y-%m}/")
        dashboard.get_by_text("Close this month", exact=True).click()  # it asks first
        confirm = dashboard.get_by_role("button", name=re.compile(r"^Yes, close "))
        expect(confirm).to_be_visible()
        # caret="initial": no style of Playwright's own, which our CSP would report.
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        dashboard.screenshot(path=SCREENSHOT_DIR / "charity-month-close-confirm-desktop.png",
                             full_page=True, caret="initial")
        confirm.click()
        expect(dashboard.get_by_text("This month is closed")).to_be_visible()
        row = dashboard.locator("tr", has_text="Clean Sea")
        expect(row).to_contain_text("€0.27")
        expect(row).to_contain_text("€0.60")
        expect(row).to_contain_text("€0.87")
    statement = Statement.objects.get(shop=shop, charity__name="Clean Sea", month=month)
    assert (statement.shop_funded, statement.customer_funded, statement.donations_count) == (
        Decimal("0.27"), Decimal("0.60"), 2)
    assert not Statement.objects.filter(shop=shop, charity=kwf).exclude(
        donations_count=0).exists()
    call_command("reconcile_donations", "--shop", shop.slug)  # raises on a mismatch
    assert console_errors == []  # before the screenshot below (see test_levels.py)
    phone.goto(f"/s/{shop.slug}/impact/")
    screenshot(phone, "charity-journey-public-impact-phone")
