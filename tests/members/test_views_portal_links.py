"""The links other apps plug into the member's card (``TROUW_PORTAL_LINKS``): a link that names
a shop field shows only while the shop has that program ("My impact" only with a charity
program, "Levels" only with levels, "Achievements" only with an active badge), at no query;
the pages behind them still answer sensibly when reached by their address."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loyalty.templatetags.trouw import links_for_shop
from tests.charity.conftest import charity_add, program_set
from tests.factories import ShopFactory
from tests.helpers import text
from tests.tiers.conftest import levels_set
from tiers.badges import services as badge_services

pytestmark = pytest.mark.django_db

LINKS = ("portal_levels", "portal_achievements", "portal_impact")


def card_links(client, shop) -> set[str]:
    body = text(client.get(reverse("portal:card", args=[shop.slug])))
    return {name for name in LINKS if reverse(name, args=[shop.slug]) in body}


def test_a_shop_without_programs_shows_none_of_their_links(member_client, shop):
    assert card_links(member_client, shop) == set()
    body = text(member_client.get(reverse("portal:card", args=[shop.slug])))
    assert reverse("portal_rewards", args=[shop.slug]) in body  # a link without a field stays


def test_the_pages_behind_the_hidden_links_still_answer_sensibly(member_client, shop):
    impact = member_client.get(reverse("portal_impact", args=[shop.slug]))
    assert impact.status_code == 200
    assert "This shop has no charity program at the moment." in text(impact)
    levels = member_client.get(reverse("portal_levels", args=[shop.slug]))
    assert levels.status_code == 200
    assert "This shop has no levels at the moment." in text(levels)


def test_each_program_switched_on_brings_its_own_link(member_client, shop):
    charity_add(shop, "Voedselbank Noord")
    program_set(shop)
    assert card_links(member_client, shop) == {"portal_impact"}
    levels_set(shop)
    assert card_links(member_client, shop) == {"portal_impact", "portal_levels"}
    badge_services.badge_create(shop=shop, template="visits", name="Vijf keer", count=5,
                                icon="star")
    assert card_links(member_client, shop) == set(LINKS)


def test_switching_a_program_off_takes_its_link_away(member_client, shop):
    charity_add(shop, "Voedselbank Noord")
    program_set(shop)
    badge = badge_services.badge_create(shop=shop, template="visits", name="Vijf keer", count=5,
                                        icon="star")
    assert card_links(member_client, shop) == {"portal_impact", "portal_achievements"}
    program_set(shop, enabled=False)
    badge_services.badge_set_active(shop=shop, badge_id=badge.pk, active=False)
    assert card_links(member_client, shop) == set()


def test_another_shops_program_does_not_bring_the_link(member_client, shop):
    other = ShopFactory(slug="kaas-west")
    charity_add(other, "KWF")
    program_set(other)
    levels_set(other)
    assert card_links(member_client, shop) == set()


def test_the_filter_reads_the_loaded_shop_and_fails_on_a_misspelt_field(shop):
    shop.charity_enabled = True  # as loaded: the filter asks the database nothing
    links = [("a", "A"), ("b", "B", "charity_enabled"), ("c", "C", "levels_enabled")]
    with CaptureQueriesContext(connection) as queries:
        assert links_for_shop(links, shop) == [("a", "A"), ("b", "B")]
    assert len(queries) == 0
    with pytest.raises(AttributeError):
        links_for_shop([("d", "D", "charity_enbled")], shop)
