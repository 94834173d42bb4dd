"""The shop's public impact page (totals per charity, this month and all time, equal to the
ledger, no personal data, the shop's language and currency) and its panel on the public page."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum
from django.urls import reverse

from charity import services
from charity.models import Donation
from loyalty import services as loyalty_services
from loyalty.models import Shop
from tests.factories import MembershipFactory, ShopFactory
from tests.helpers import text

from .conftest import VALID_RSIN, charity_add, program_set

pytestmark = pytest.mark.django_db

NOVEMBER = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
DECEMBER = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def buy(shop, card, amount, **kwargs):
    shop = Shop.objects.get(pk=shop.pk)
    return loyalty_services.purchase_record(shop=shop, amount=amount, membership_id=card.pk,
                                            **kwargs)


@pytest.fixture
def giving(shop):
    """A Dutch shop (nl) whose members gave in November and December: the default charity
    (Voedselbank) by default, Bomen by choice, with a round-up and a partial refund."""
    hope = charity_add(shop, "Voedselbank Noord", registration_kind="anbi",
                       registration_number=VALID_RSIN)
    trees = charity_add(shop, "Bomen voor later")
    program_set(shop, rule_value="10")
    anna = MembershipFactory(shop=shop, name="Anna Geheim", email="anna@geheim.example")
    bram = MembershipFactory(shop=shop, name="Bram Geheim")
    services.membership_charity_choose(membership=bram, charity_id=trees.pk)
    with time_machine.travel(NOVEMBER):
        purchase = buy(shop, anna, "1234.50")  # 123.45 to Voedselbank
        loyalty_services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="234.50")
    with time_machine.travel(DECEMBER):
        buy(shop, bram, "27.40", extras={"round_up": True})  # 2.74 and 0.60 to Bomen
    return hope, trees


def test_the_totals_per_charity_equal_the_ledger_in_the_shops_language(client, shop, giving):
    hope, trees = giving
    with time_machine.travel(DECEMBER):
        response = client.get(reverse("charity_public_impact", args=[shop.slug]))
    page = text(response)
    assert response.status_code == 200 and 'lang="nl"' in page
    by_charity = dict(Donation.objects.values("charity").annotate(total=Sum("amount"))
                      .values_list("charity", "total"))
    assert by_charity == {hope.pk: Decimal("100.00"), trees.pk: Decimal("3.34")}
    # One number format (nl): the euro sign, a no-break space, a comma, a point for thousands.
    assert '<dd id="impact-all-time">€\u00a0103,34</dd>' in page
    assert '<dd id="impact-this-month">€\u00a03,34</dd>' in page
    assert "€\u00a0100,00" in page
    assert "€\u00a02,74 van de winkel, €\u00a00,60 uit afrondingen van klanten" in page
    assert not re.search(r"€\s?\d+\.\d\d\b", page)
    assert f"ANBI, RSIN {VALID_RSIN}" in page


def test_the_page_shows_no_personal_data(client, shop, giving):
    page = text(client.get(reverse("charity_public_impact", args=[shop.slug])))
    for personal in ("Anna Geheim", "Bram Geheim", "anna@geheim.example"):
        assert personal not in page


def test_a_big_month_uses_the_languages_thousands_separator(client, shop, giving):
    with time_machine.travel(DECEMBER):
        buy(shop, MembershipFactory(shop=shop), "12000.00")
        page = text(client.get(reverse("charity_public_impact", args=[shop.slug])))
    assert "€\u00a01.203,34" in page  # 1,200.00 + 3.34 this month


def test_a_swedish_shop_speaks_swedish_and_counts_in_kronor(client):
    shop = ShopFactory(slug="kaffe-sv", language="sv", currency="SEK",
                       time_zone="Europe/Stockholm")
    charity_add(shop, "Barnfonden")
    program_set(shop, rule_kind="per_purchase", rule_value="5.00")
    buy(shop, MembershipFactory(shop=shop), "100.00")
    page = text(client.get(reverse("charity_public_impact", args=[shop.slug])))
    assert 'lang="sv"' in page and "5,00\u00a0kr" in page


def test_without_the_program_there_is_no_impact_page_and_no_panel(client, shop):
    charity_add(shop, "Voedselbank Noord")
    assert client.get(reverse("charity_public_impact", args=[shop.slug])).status_code == 404
    page = text(client.get(reverse("shop_page", args=[shop.slug])))
    assert reverse("charity_public_impact", args=[shop.slug]) not in page
    program_set(shop, enabled=False)
    assert client.get(reverse("charity_public_impact", args=[shop.slug])).status_code == 404
    assert client.get(reverse("charity_public_impact", args=["no-such-shop"])).status_code == 404


def test_the_public_page_links_to_the_impact_page_while_the_program_is_on(client, shop, giving):
    page = text(client.get(reverse("shop_page", args=[shop.slug])))
    assert reverse("charity_public_impact", args=[shop.slug]) in page
    assert "Bij elke aankoop geeft de winkel een deel aan het goede doel dat jij kiest." in page


def test_instead_of_points_the_pages_say_purchases_earn_donations(client, shop, giving):
    program_set(shop, mode="instead")
    page = text(client.get(reverse("charity_public_impact", args=[shop.slug])))
    assert "aankopen donaties op in plaats van punten" in page  # the shop's language: nl
    page = text(client.get(reverse("shop_page", args=[shop.slug])))
    assert "leveren je aankopen donaties op in plaats van punten" in page


def test_one_shops_page_shows_only_its_own_donations(client, shop, giving):
    other = ShopFactory(slug="kaas-oost", language="en")
    charity_add(other, "Eigen doel")
    program_set(other)
    page = text(client.get(reverse("charity_public_impact", args=[other.slug])))
    assert "Voedselbank Noord" not in page and "Bomen voor later" not in page
    assert '<dd id="impact-all-time">€0.00</dd>' in page
