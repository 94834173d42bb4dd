"""The charity program in Chromium: a member picks a charity on the portal, gives points
after the confirm step, and sees "My impact"; the public impact page and the yearly summary.
Each fits a phone (390 px, no horizontal scroll); screenshots at phone and desktop widths
under test-output/screenshots/ (charity-*)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from loyalty.models import Shop
from loyalty.services import purchase_record
from tests.browser.fits import assert_fits_phone
from tests.browser.helpers import PHONE, sign_in
from tests.charity.conftest import VALID_90_KONTO, VALID_RSIN, charity_add, program_set
from tests.factories import PASSWORD, MembershipFactory, ShopFactory, UserFactory
from tests.members.stamp_shops import stamps_give

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def test_a_member_picks_a_charity_gives_points_and_sees_the_impact(new_page, screenshot,
                                                                   console_errors):
    shop = ShopFactory(name="Bakkerij De Gouden Korst", slug="gouden-korst", language="nl",
                       brand_color="#8a4b2a")
    charity_add(shop, "Voedselbank Noord", description="Eten voor gezinnen die het krap hebben",
                registration_kind="anbi", registration_number=VALID_RSIN,
                website="https://voedselbank.example")
    charity_add(shop, "Bomen voor Morgen", description="Plant bomen in de stad",
                registration_kind="se90", registration_number=VALID_90_KONTO)
    program_set(shop, points_per_unit=100)
    user = UserFactory(email="sanne@example.com", name="Sanne Visser")
    member = MembershipFactory(shop=shop, user=user, email=user.email, name="Sanne Visser",
                               language="nl")
    stamps_give(shop, member, 500)  # spendable points
    purchase_record(shop=Shop.objects.get(pk=shop.pk), amount="1234.56",
                    membership_id=member.pk, extras={"round_up": True})  # to the default

    page = new_page(**PHONE)
    sign_in(page, member.email, PASSWORD)
    page.goto(f"/portal/{shop.slug}/charity/")
    expect(page.locator("#charity-applies")).to_contain_text("Voedselbank Noord")
    expect(page.get_by_text(f"ANBI, RSIN {VALID_RSIN}")).to_be_visible()
    assert_fits_phone(page)
    screenshot(page, "charity-portal-pick-phone")
    page.get_by_text("Bomen voor Morgen").click()
    page.get_by_role("button", name="Dit goede doel kiezen").click()  # the member reads Dutch
    expect(page.locator("#charity-applies")).to_contain_text("Bomen voor Morgen")

    page.goto(f"/portal/{shop.slug}/impact/")
    page.get_by_label("Punten om te doneren").fill("300")
    page.get_by_role("button", name="Volgende").click()
    expect(page.locator("#give-sentence")).to_have_text(
        "Doneer 300 punten = €\u00a03,00 aan Bomen voor Morgen")
    assert_fits_phone(page)
    screenshot(page, "charity-portal-give-phone")
    page.get_by_role("button", name="Ja, mijn punten doneren").click()
    # 24.69 from the purchase (2%), the round-up 0.44, and 3.00 for the points.
    expect(page.locator("#impact-total")).to_contain_text("€\u00a028,13")
    # 500 + 12,340 earned by the purchase − 300 given, in the Dutch number format.
    expect(page.get_by_text("Je kunt 12.540 punten doneren.")).to_be_visible()
    assert_fits_phone(page)
    screenshot(page, "charity-portal-impact-phone")

    page.goto(f"/s/{shop.slug}/impact/")
    expect(page.locator("#impact-all-time")).to_have_text("€\u00a028,13")
    assert_fits_phone(page)
    screenshot(page, "charity-public-impact-phone")
    page.goto(f"/s/{shop.slug}/")
    page.get_by_role("link", name="Bekijk wat we samen gaven").scroll_into_view_if_needed()
    assert_fits_phone(page)
    page.goto(f"/portal/{shop.slug}/impact/2026/")
    assert_fits_phone(page)
    screenshot(page, "charity-portal-year-phone")

    desktop = new_page(**DESKTOP)
    sign_in(desktop, member.email, PASSWORD)
    for path, name in ((f"/portal/{shop.slug}/impact/", "charity-portal-impact-desktop"),
                       (f"/portal/{shop.slug}/charity/", "charity-portal-pick-desktop"),
                       (f"/s/{shop.slug}/impact/", "charity-public-impact-desktop"),
                       (f"/portal/{shop.slug}/impact/2026/", "charity-portal-year-desktop")):
        desktop.goto(path)
        screenshot(desktop, name)
    expect(desktop.get_by_text("← Mijn bijdrage")).to_be_visible()  # on screen: the way back
    desktop.emulate_media(media="print")
    desktop.goto(f"/portal/{shop.slug}/impact/2026/")
    expect(desktop.get_by_text("← Mijn bijdrage")).to_be_hidden()
    screenshot(desktop, "charity-portal-year-print")
    assert console_errors == []
