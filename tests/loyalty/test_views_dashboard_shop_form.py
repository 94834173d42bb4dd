"""Creating a shop and its settings: the web address made from the name, our own messages,
real time zones (the likely ones first), and the new details (country, colour, privacy link)."""

from __future__ import annotations

import re
import zoneinfo

import pytest
from pytest_django.asserts import assertRedirects

from loyalty.forms import time_zones
from loyalty.models import Shop
from tests.factories import ShopFactory, UserFactory
from tests.helpers import text

pytestmark = pytest.mark.django_db

NEW_SHOP = {"name": "Bakkerij De Gouden Korst", "slug": "", "currency": "EUR",
            "language": "nl", "country": "NL", "time_zone": "Europe/Amsterdam"}


@pytest.fixture
def new_owner_client(client):
    client.force_login(UserFactory())
    return client


def options_of(page: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return re.findall(r'<option value="([^"]*)"', select)


def test_an_empty_web_address_is_made_from_the_name(new_owner_client):
    response = new_owner_client.post("/dashboard/shops/new/", NEW_SHOP)
    assertRedirects(response, "/dashboard/bakkerij-de-gouden-korst/",
                    fetch_redirect_response=False)
    assert Shop.objects.get().slug == "bakkerij-de-gouden-korst"


def test_a_taken_name_gets_the_next_free_address(new_owner_client):
    ShopFactory(slug="bakkerij-de-gouden-korst")
    response = new_owner_client.post("/dashboard/shops/new/", NEW_SHOP)
    assertRedirects(response, "/dashboard/bakkerij-de-gouden-korst-2/",
                    fetch_redirect_response=False)


def test_a_typed_address_that_is_taken_suggests_a_free_one(new_owner_client):
    ShopFactory(slug="gouden-korst")
    response = new_owner_client.post("/dashboard/shops/new/", {**NEW_SHOP,
                                                               "slug": "gouden-korst"})
    assert response.status_code == 400
    assert ("The web address “gouden-korst” is taken. Try another, such as "
            "“gouden-korst-2”.") in text(response)
    assert Shop.objects.count() == 1


@pytest.mark.parametrize("slug", ["Gouden Korst!", "korst_noord", "-korst", "x" * 51, "ä-b"])
def test_a_bad_address_gets_our_own_message(new_owner_client, slug):
    response = new_owner_client.post("/dashboard/shops/new/", {**NEW_SHOP, "slug": slug})
    assert response.status_code == 400
    content = text(response)
    assert 'id="id_slug_error"' in content
    error = re.search(r'id="id_slug_error"[^>]*>(.*?)</div>', content, re.S).group(1)
    assert "lowercase letters, digits and hyphens" in error
    assert "Enter a valid" not in error
    assert "Ensure this value" not in error
    assert not Shop.objects.exists()


def test_the_form_loads_the_script_that_suggests_the_address(new_owner_client):
    page = text(new_owner_client.get("/dashboard/shops/new/"))
    assert 'data-slug-from="id_name"' in page
    assert re.search(r'<script src="/static/js/shop_create[^"]*\.js" defer></script>', page)


def test_a_swedish_owner_gets_swedish_defaults(new_owner_client):
    page = text(new_owner_client.get("/dashboard/shops/new/", headers={
        "Accept-Language": "sv"}))
    assert '<option value="SE" selected>' in page
    assert '<option value="SEK" selected>' in page
    assert '<option value="Europe/Stockholm" selected>' in page


def test_the_country_is_stored(new_owner_client):
    new_owner_client.post("/dashboard/shops/new/", {**NEW_SHOP, "country": "BE",
                                                    "time_zone": "Europe/Brussels"})
    shop = Shop.objects.get()
    assert (shop.country, shop.time_zone) == ("BE", "Europe/Brussels")


# --- time zones -----------------------------------------------------------------------------


def test_the_time_zones_are_real_and_canonical(new_owner_client):
    zones = options_of(text(new_owner_client.get("/dashboard/shops/new/")), "time_zone")
    assert zones[:3] == ["Europe/Amsterdam", "Europe/Stockholm", "Europe/Brussels"]
    assert len(zones) == len(set(zones)) > 300
    known = zoneinfo.available_timezones()
    assert set(zones) <= known
    for alias in ("localtime", "Zulu", "W-SU", "UTC", "GMT", "US/Eastern", "Etc/GMT+1",
                  "Etc/UTC", "Europe/Kiev", "Asia/Calcutta", "America/Buenos_Aires", "Cuba",
                  "posixrules", "Factory"):
        assert alias not in zones, alias
    assert not [zone for zone in zones if zone.startswith("Etc/") or "/" not in zone]
    for real in ("Europe/Kyiv", "Asia/Kolkata", "America/Argentina/Buenos_Aires",
                 "Europe/Oslo", "Europe/Copenhagen", "Pacific/Auckland"):
        assert real in zones, real
    rest = [zone for zone in zones if zone not in time_zones()[:9]]
    assert rest == sorted(rest)


def test_an_alias_is_refused(new_owner_client):
    response = new_owner_client.post("/dashboard/shops/new/", {**NEW_SHOP, "time_zone": "Zulu"})
    assert response.status_code == 400
    assert 'id="id_time_zone_error"' in text(response)
    assert not Shop.objects.exists()


# --- settings -------------------------------------------------------------------------------


def settings_data(shop, **overrides):
    data = {"name": shop.name, "language": shop.language, "country": shop.country,
            "time_zone": shop.time_zone, "brand_color": shop.brand_color, "email": "",
            "phone": "", "address": "", "website": "", "privacy_url": ""}
    data.update(overrides)
    return data


def test_settings_show_country_colour_and_privacy_link(owner_client, shop):
    page = text(owner_client.get(f"/dashboard/{shop.slug}/settings/"))
    assert '<select name="country"' in page
    assert re.search(r'<input type="color" name="brand_color" value="#8a4b2a"', page)
    assert 'name="privacy_url"' in page


def test_settings_save_country_colour_and_privacy_link(owner_client, shop):
    response = owner_client.post(f"/dashboard/{shop.slug}/settings/", settings_data(
        shop, country="SE", brand_color="#1E40AF",
        privacy_url="https://noord.example/privacy"))
    assertRedirects(response, f"/dashboard/{shop.slug}/settings/",
                    fetch_redirect_response=False)
    shop.refresh_from_db()
    assert (shop.country, shop.brand_color, shop.privacy_url) == (
        "SE", "#1e40af", "https://noord.example/privacy")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("brand_color", "red", "Pick a colour, or type one as # and six hex digits"),
    ("brand_color", "#12345", "Pick a colour"),
    ("privacy_url", "not a link", "Enter the full link, such as https://www.example.nl/privacy."),
    ("country", "US", "Select a valid choice."),
])
def test_settings_refuse_bad_new_details(owner_client, shop, field, value, message):
    response = owner_client.post(f"/dashboard/{shop.slug}/settings/",
                                 settings_data(shop, **{field: value}))
    assert response.status_code == 400
    assert message in text(response)
    shop.refresh_from_db()
    assert (shop.country, shop.brand_color, shop.privacy_url) == ("NL", "#8a4b2a", "")


def test_a_shop_with_an_old_alias_zone_can_still_save(owner_client, shop):
    Shop.objects.filter(pk=shop.pk).update(time_zone="Europe/Kiev")
    shop.refresh_from_db()
    page = text(owner_client.get(f"/dashboard/{shop.slug}/settings/"))
    assert '<option value="Europe/Kiev" selected>' in page
    response = owner_client.post(f"/dashboard/{shop.slug}/settings/",
                                 settings_data(shop, name="Nieuw"))
    assert response.status_code == 302
