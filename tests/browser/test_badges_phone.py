"""Badges in Chromium on a phone (390 px): the owner's list and form and the member's
achievements fit the screen without sideways scrolling and break no Content Security Policy
rule (the chart is inline SVG, the progress bars are <progress>). Screenshots land in
test-output/screenshots/. (Here, not in tests/tiers/badges/: the harness' one Chromium per
session lives in tests/browser/conftest.py.)"""

from __future__ import annotations

import datetime as dt

import pytest

from loyalty import services
from tests.browser.helpers import PHONE, sign_in
from tests.factories import PASSWORD, MembershipFactory, OwnerFactory, ShopFactory, UserFactory
from tests.tiers.badges.conftest import make_badge

pytestmark = pytest.mark.browser


def _shop_with_badges():
    shop = ShopFactory(name="Bakkerij De Gouden Korst", slug="gouden-korst-badges")
    services.program_rules_update(shop=shop, by=None, points_per_unit=10, pending_days=0)
    owner = UserFactory(email="anneke@badges.example")
    OwnerFactory(shop=shop, user=owner)
    member = MembershipFactory(shop=shop, user=UserFactory(email="sanne@badges.example"),
                               name="Sanne Visser")
    today = dt.date.today()
    make_badge(shop, "first_purchase", name="First visit", icon="coffee", bonus_points=25)
    make_badge(shop, "visits", name="Regular of the house, ten visits", icon="star", count=10)
    make_badge(shop, "spend_total", name="Big spender", icon="crown", amount="250.00")
    make_badge(shop, "spend_within", name="December challenge", icon="gift", amount="60.00",
               days=30, starts_on=today - dt.timedelta(days=10))
    make_badge(shop, "week_streak", name="Four weeks running", icon="flame", count=4)
    for amount in ("12.50", "8.00", "27.50"):
        services.purchase_record(shop=shop, amount=amount, membership_id=member.pk)
    services.points_spend(shop=shop, membership_id=member.pk, points=200)
    return shop, owner, member


def _fits(page) -> None:
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page.url} scrolls sideways: {width} > {inner}"


@pytest.mark.django_db(transaction=True)
def test_badges_fit_a_phone(new_page, screenshot, console_errors):
    shop, owner, member = _shop_with_badges()

    page = new_page(**PHONE)
    sign_in(page, owner.email, PASSWORD)
    page.goto(f"/dashboard/{shop.slug}/badges/")
    assert page.get_by_text("Earned by 1 member").count() >= 1
    _fits(page)
    screenshot(page, "badges-dashboard-phone")
    page.goto(f"/dashboard/{shop.slug}/badges/new/?template=spend_within")
    _fits(page)
    page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Give the badge a name").count() == 1
    _fits(page)
    screenshot(page, "badges-form-errors-phone")

    page = new_page(**PHONE)
    sign_in(page, member.user.email, PASSWORD)
    page.goto(f"/portal/{shop.slug}/achievements/")
    assert page.locator("svg.points-chart polyline").count() == 1
    assert page.get_by_text("20 days left").count() == 1
    assert page.get_by_text("1 of 10 visits").count() == 1
    _fits(page)
    screenshot(page, "badges-achievements-phone")
    # The form with errors answers 400 on purpose (Chromium logs that); nothing else may show.
    assert [e for e in console_errors if "status of 400" not in e] == []
