"""The owner's dashboard on a phone (390 px wide), in Chromium: no page scrolls sideways, and a
card number stays on one line.

Every dashboard page is opened with data that makes its tables wide (long e-mail addresses,
names and key names, a pending invitation, a member with history); the page may scroll down,
never to the side. Screenshots at phone and desktop width land in test-output/screenshots/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from loyalty import services
from tests.browser.helpers import PHONE, sign_in
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    OwnerFactory,
    ShopFactory,
    StaffInvitationFactory,
    StaffMemberFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser

WIDTH = PHONE["viewport"]["width"]


def wide_shop():
    shop = ShopFactory(name="Bakkerij De Gouden Korst", slug="bakkerij-de-gouden-korst",
                       language="en")
    owner = UserFactory(email="anneke.van.der.berg-de-vries@goudenkorst.example",
                        name="Anneke van der Berg-de Vries")
    OwnerFactory(shop=shop, user=owner)
    StaffMemberFactory(shop=shop, user=UserFactory(
        email="daan.bakker.weekendhulp@goudenkorst.example", name="Daan Bakker"))
    StaffInvitationFactory(shop=shop, email="nieuwe.medewerker.zaterdag@goudenkorst.example")
    members = [
        MembershipFactory(shop=shop, name=f"Alexandra Wilhelmina van Oranje-Nassau {n}",
                          email=f"alexandra.wilhelmina.{n}@voorbeeld-huishouden.example",
                          phone=f"+3161234567{n}")
        for n in range(3)
    ]
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10)
    services.purchase_record(shop=shop, amount="27.50", membership_id=members[0].pk)
    services.points_adjust(shop=shop, membership_id=members[0].pk, points=25,
                           reason="Kaart kwijt, punten van de oude kaart overgezet", by=owner)
    services.api_key_create(shop=shop, name="kassa-achter-de-toonbank-links", by=owner)
    return shop, owner, members[0]


def no_sideways_scroll(page) -> tuple[int, int]:
    return page.evaluate(
        "[document.scrollingElement.scrollWidth, window.innerWidth]")


@pytest.mark.django_db(transaction=True)
def test_every_dashboard_page_fits_a_phone(new_page, screenshot, console_errors):
    shop, owner, member = wide_shop()
    base = f"/dashboard/{shop.slug}"
    pages = {
        "overview": f"{base}/",
        "members": f"{base}/members/",
        "member": f"{base}/members/{member.card_number}/",
        "staff": f"{base}/staff/",
        "api-keys": f"{base}/api-keys/",
        "settings": f"{base}/settings/",
        "shop-create": "/dashboard/shops/new/",
    }
    phone = new_page(**PHONE)
    sign_in(phone, owner.email, PASSWORD)
    too_wide = {}
    for name, url in pages.items():
        phone.goto(url)
        expect(phone.locator("main h1").first).to_be_visible()
        scroll_width, inner_width = no_sideways_scroll(phone)
        # A phone's browser zooms out on a page wider than the screen: innerWidth grows too.
        if max(scroll_width, inner_width) > WIDTH:
            too_wide[name] = max(scroll_width, inner_width)
        screenshot(phone, f"dashboard-phone-{name}")
    assert too_wide == {}, f"pages wider than {WIDTH} px: {too_wide}"

    # A card number is on one line, on the list and on the member's page.
    for url in (pages["members"], pages["member"]):
        phone.goto(url)
        card = phone.locator(".card-number", has_text=member.card_number_display)
        expect(card).to_have_count(1)
        line_height = card.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
        assert card.bounding_box()["height"] < 1.5 * line_height, url

    desktop = new_page()
    sign_in(desktop, owner.email, PASSWORD)
    for name, url in pages.items():
        desktop.goto(url)
        expect(desktop.locator("main h1").first).to_be_visible()
        scroll_width, inner_width = no_sideways_scroll(desktop)
        assert scroll_width <= inner_width, name
        screenshot(desktop, f"dashboard-desktop-{name}")
    assert console_errors == []
