"""The portal card on a phone says what expires when ("120 points expire on …"), in the shop's
time zone, without horizontal scroll; and the history shows expired points in words.
Screenshots under test-output/screenshots/ (portal-expiry-*)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import formats, timezone, translation
from playwright.sync_api import expect

from loyalty import services
from loyalty.localdays import local_date, months_add, shop_zone
from loyalty.models import EntryKind, LedgerEntry, PointLot
from tests.browser.fits import assert_fits_phone
from tests.browser.helpers import PHONE, sign_in
from tests.factories import PASSWORD, MembershipFactory, ShopFactory, UserFactory

pytestmark = pytest.mark.browser


def expected_day(day: dt.date) -> str:
    with translation.override("en"):
        this_year = timezone.now().astimezone(shop_zone("Europe/Amsterdam")).year
        return formats.date_format(day, "j F" if day.year == this_year else "j F Y")


def test_the_portal_says_what_expires_when_on_a_phone(new_page, screenshot, console_errors):
    shop = ShopFactory(name="Bakkerij De Gouden Korst", slug="gouden-korst", language="en",
                       brand_color="#8a4b2a")
    services.program_rules_update(shop=shop, by=None, points_per_unit=10,
                                  expiry_policy="earned", expiry_months=1)
    user = UserFactory(email="sanne@example.com", name="Sanne Visser")
    member = MembershipFactory(shop=shop, user=user, email=user.email, name="Sanne Visser",
                               language="en")
    services.purchase_record(shop=shop, amount="12.00", membership_id=member.pk)
    # An older batch whose day has come: the night expires it, the history says so.
    services.purchase_record(shop=shop, amount="3.00", membership_id=member.pk)
    old = PointLot.objects.filter(membership=member).order_by("pk").last()
    PointLot.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))
    services.points_expire()
    assert LedgerEntry.objects.get(membership=member, kind=EntryKind.EXPIRY).points == -30

    day = months_add(local_date(timezone.now(), shop_zone(shop.time_zone)), 1)
    page = new_page(**PHONE)
    sign_in(page, member.email, PASSWORD)
    page.goto(f"/portal/{shop.slug}/")

    card = page.get_by_label("Your member card")
    expect(card.locator(".points")).to_have_text("120")
    expect(card.locator("#expiring")).to_have_text(f"120 points expire on {expected_day(day)}")
    expect(card.locator("#expiring")).to_be_visible()
    expect(page.locator(".history .entry-expiry")).to_contain_text("Points expired")
    expect(page.locator(".history .entry-expiry")).to_contain_text("-30 points")
    assert_fits_phone(page)
    screenshot(page, "portal-expiry-phone")
    assert console_errors == []


@pytest.mark.django_db(transaction=True)
def test_the_editor_shows_the_effect_before_saving(new_page, screenshot, console_errors):
    from tests.browser.test_program_editor import open_editor, rules_in_force
    from tests.factories import OwnerFactory

    shop = ShopFactory(name="De Gouden Korst", slug="gouden-korst", language="en")
    owner = OwnerFactory(shop=shop, user=UserFactory(email="anneke@goudenkorst.example")).user
    services.program_rules_update(shop=shop, by=None, expiry_policy="earned", expiry_months=12)
    for name, options in (("phone", PHONE), ("desktop", {})):
        page = open_editor(new_page, owner, **options)
        effect = page.locator("#expiry-effect")
        expect(effect).to_contain_text("Points expire 12 months after they are earned.")
        page.locator("#expiry-fields input[value=earned]").check()
        page.locator("#id_expiry_months").fill("6")
        expect(effect).to_contain_text("When you save:")
        expect(effect).to_contain_text("No points on cards today are affected; from ")
        expect(effect).to_contain_text("points earned expire 6 months later.")
        expect(effect).to_contain_text("Points earned before keep their 12 months")
        if name == "phone":
            assert_fits_phone(page)
        page.locator("#expiry-fields").scroll_into_view_if_needed()
        screenshot(page, f"program-expiry-{name}")
    page.get_by_role("button", name="Save rules").click()
    expect(page.locator(".messages, [role=status]").first).to_be_visible()
    assert (rules_in_force(shop).expiry_policy, rules_in_force(shop).expiry_months) == (
        "earned", 6)
    assert console_errors == []
