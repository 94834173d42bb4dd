"""Creating a shop in Chromium: the web address follows the name as it is typed (the same
address the server makes of a name), stops following once the owner types their own, and the
created shop lives at that address."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from loyalty.models import Shop
from loyalty.services import shop_slug_from_name
from tests.browser.helpers import PHONE, sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser

NAMES = ["Bakkerij De Gouden Korst", "  Café   Ørsted & Zonen  ", "Bageri Sötsak i Malmö",
         "Straße_Nummer 5 -- Köln", "Æbleskiver ♥", "x" * 60, "a" * 49 + " b", "!!!",
         "Ĳssalon 't Hoekje", "Œuvre — Brød & Co."]


@pytest.mark.django_db(transaction=True)
def test_the_web_address_follows_the_name(new_page, screenshot, console_errors):
    owner = UserFactory(email="anneke@goudenkorst.example")
    page = new_page(**PHONE)
    sign_in(page, owner.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/dashboard/shops/new/$"))
    form = page.get_by_role("main")
    name, slug = form.get_by_label("Shop name"), form.get_by_label("Web address")

    name.press_sequentially("Bakkerij De Gouden Korst")
    expect(slug).to_have_value("bakkerij-de-gouden-korst")

    # The browser and the server make the same address of any name.
    for text in NAMES:
        assert page.evaluate("name => window.trouwSlugFromName(name)", text) == \
            shop_slug_from_name(text), text

    # An address of the owner's own is left alone; emptied, it follows the name again.
    slug.fill("gouden-korst")
    name.fill("Bakkerij De Gouden Korst Noord")
    expect(slug).to_have_value("gouden-korst")
    slug.fill("")
    name.fill("Bakkerij De Gouden Korst Noord!")
    expect(slug).to_have_value("bakkerij-de-gouden-korst-noord")
    assert page.evaluate("[document.scrollingElement.scrollWidth, innerWidth]") == [390, 390]
    screenshot(page, "shop-create-phone")

    form.get_by_role("button", name="Create shop").click()
    expect(page).to_have_url(re.compile(r"/dashboard/bakkerij-de-gouden-korst-noord/$"))
    assert Shop.objects.get().name == "Bakkerij De Gouden Korst Noord!"
    assert console_errors == []
