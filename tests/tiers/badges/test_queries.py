"""Deciding badges costs a constant number of queries whatever the number of badges: the API earn
and the counter earn with 20 badges active ask the database as often as with one, and an earn
that completes a badge adds only that award's writes."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty import services
from tests.factories import MembershipFactory, OwnerFactory, ShopFactory, UserFactory
from tests.tiers.badges.conftest import make_badge
from tiers.badges.models import BadgeAward

pytestmark = pytest.mark.django_db

# The API earn without effects (tests/loyalty/test_api_queries.py: 5 on PostgreSQL, 8 elsewhere,
# with the test's SAVEPOINT and RELEASE), plus the badges': the shop's badges, read on a
# process's first earn and then kept a few seconds (1), and the one statement of the member's
# history with the badges held and the product categories (1; on PostgreSQL it is read inside
# the earn's own statement, settings.TROUW_EARN_READS, and costs no statement of its own).
API_EARN_MAX = (5 if connection.vendor == "postgresql" else 8) + 2 + 2


def new_shop():
    shop = ShopFactory()
    services.program_rules_current(shop=shop)  # the rules exist, as in a running shop
    shop.refresh_from_db()
    return shop


def twenty_badges(shop, *, first_purchase: bool = False):
    """20 active badges of every template, none met by a member's first 10.00 purchase (but
    "First purchase" with ``first_purchase``)."""
    today = dt.date.today()
    templates = [
        ("visits", {"count": 5}), ("visits", {"count": 10}), ("visits", {"count": 50}),
        ("spend_total", {"amount": "100.00"}), ("spend_total", {"amount": "500.00"}),
        ("spend_within", {"amount": "50.00", "days": 30,
                          "starts_on": today - dt.timedelta(days=3)}),
        ("spend_within", {"amount": "80.00", "days": 7, "starts_on": today}),
        ("week_streak", {"count": 3}), ("week_streak", {"count": 8}),
        ("weekdays", {"count": 3}), ("weekdays", {"count": 6}),
        ("categories", {"count": 3}), ("categories", {"count": 5}),
        ("referrals", {"count": 1}), ("referrals", {"count": 5}),
        ("visits", {"count": 3}), ("spend_total", {"amount": "25.00"}),
        ("week_streak", {"count": 2}), ("categories", {"count": 2}),
    ]
    for number, (template, values) in enumerate(templates):
        make_badge(shop, template, name=f"Badge {number}", bonus_points=10, **values)
    if first_purchase:
        make_badge(shop, "first_purchase", name="Hello", bonus_points=10)
    else:
        make_badge(shop, "visits", name="Badge 19", count=20, bonus_points=10)


def one_badge(shop):
    make_badge(shop, "categories", name="Only", count=3)


def _api_earn(client, shop, member, key):
    _api_key, raw = services.api_key_create(shop=shop, name=f"till-{key}")
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/api/v1/purchases/",
            data=json.dumps({"member": member.card_number, "amount": "10.00",
                             "items": [{"name": "Brood", "category": "brood",
                                        "unit_price": "10.00"}]}),
            content_type="application/json",
            headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": key})
    assert response.status_code == 201, response.content
    return response, [q["sql"] for q in captured.captured_queries]


def test_the_api_earn_asks_as_often_with_20_badges_as_with_one(client):
    small = new_shop()
    one_badge(small)
    big = new_shop()
    twenty_badges(big)
    _r, with_one = _api_earn(client, small, MembershipFactory(shop=small), "q-one")
    _r, with_twenty = _api_earn(client, big, MembershipFactory(shop=big), "q-twenty")
    print(f"\nAPI earn: {len(with_one)} queries with 1 badge, {len(with_twenty)} with 20")
    assert len(with_one) == len(with_twenty), "\n".join(with_twenty)
    assert len(with_twenty) <= API_EARN_MAX, "\n".join(with_twenty)


def test_the_api_earn_stays_within_the_limit_with_20_badges(client,
                                                            django_assert_max_num_queries):
    shop = new_shop()
    twenty_badges(shop)
    member = MembershipFactory(shop=shop)
    _api_key, raw = services.api_key_create(shop=shop, name="till")
    with django_assert_max_num_queries(API_EARN_MAX):
        response = client.post(
            "/api/v1/purchases/",
            data=json.dumps({"member": member.card_number, "amount": "10.00"}),
            content_type="application/json",
            headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": "q-limit"})
    assert response.status_code == 201
    assert response.json()["news"] == []


def test_an_api_earn_that_completes_a_badge_adds_only_its_writes(client,
                                                                 django_assert_max_num_queries):
    shop = new_shop()
    twenty_badges(shop, first_purchase=True)
    member = MembershipFactory(shop=shop)
    _api_key, raw = services.api_key_create(shop=shop, name="till")
    # The award: its bonus entry, lot and balance (1 statement on PostgreSQL, 3 elsewhere) and
    # the award rows (1).
    extra = (1 if connection.vendor == "postgresql" else 3) + 1
    with django_assert_max_num_queries(API_EARN_MAX + extra):
        response = client.post(
            "/api/v1/purchases/",
            data=json.dumps({"member": member.card_number, "amount": "10.00"}),
            content_type="application/json",
            headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": "q-badge"})
    assert response.status_code == 201
    body = response.json()
    assert body["news"] == [{"kind": "badge", "text": "New badge: Hello"}]
    assert body["balance"] == 100 + 10
    assert BadgeAward.objects.filter(membership=member).count() == 1


def _counter_earn(shop, member, token, limit=None):
    """The counter's earn (htmx) by the shop's owner; with ``limit`` (pytest-django's
    django_assert_max_num_queries and a number) the earn's request is held to it."""
    from django.test import Client

    owner = OwnerFactory(shop=shop, user=UserFactory()).user
    client = Client()
    client.force_login(owner)
    url = f"/counter/{shop.slug}/members/{member.card_number}/earn/"
    client.get(f"/counter/{shop.slug}/")  # the session is warm
    with CaptureQueriesContext(connection) as captured:
        if limit is not None:
            assert_max, most = limit
            with assert_max(most):
                response = client.post(url, {"amount": "10.00", "token": token,
                                             "reference": ""}, headers={"HX-Request": "true"})
        else:
            response = client.post(url, {"amount": "10.00", "token": token, "reference": ""},
                                   headers={"HX-Request": "true"})
    assert response.status_code == 200, response.content
    return [q["sql"] for q in captured.captured_queries]


def test_the_counter_earn_asks_as_often_with_20_badges_as_with_one(
        django_assert_max_num_queries):
    none = new_shop()
    small = new_shop()
    one_badge(small)
    big = new_shop()
    twenty_badges(big)
    without = _counter_earn(none, MembershipFactory(shop=none), "t-none")
    with_one = _counter_earn(small, MembershipFactory(shop=small), "t-one")
    with_twenty = _counter_earn(big, MembershipFactory(shop=big), "t-twenty")
    print(f"\ncounter earn: {len(without)} queries without badges, {len(with_one)} with 1, "
          f"{len(with_twenty)} with 20")
    assert len(with_one) == len(with_twenty), "\n".join(with_twenty)
    # A shop without badges pays none (Shop.badges_enabled comes with the shop); with badges,
    # the badges the member does not hold and the history's one aggregate.
    _counter_earn(big, MembershipFactory(shop=big), "t-limit",
                  limit=(django_assert_max_num_queries, len(without) + 2))


def test_once_the_shops_badges_are_kept_an_earn_asks_one_statement_for_them(client):
    """The steady state of a till: the shop's 20 badges come from the process's copy, and one
    statement reads the history and the badges held — whatever the number of badges."""
    shop = new_shop()
    twenty_badges(shop)
    member = MembershipFactory(shop=shop)
    _r, first = _api_earn(client, shop, member, "q-first")
    _r, second = _api_earn(client, shop, member, "q-second")
    badge_reads = [q for q in second if "tiers_badge" in q]
    assert len(badge_reads) == 1, "\n".join(badge_reads)
    assert "tiers_badgeaward" in badge_reads[0] and "loyalty_purchase" in badge_reads[0]
    assert len([q for q in first if "tiers_badge" in q]) == 2  # the badges read, then kept


def test_a_badge_changed_in_this_process_is_seen_by_the_next_earn(client):
    shop = new_shop()
    badge = make_badge(shop, "first_purchase", name="Hallo", bonus_points=10)
    from tiers.badges import services as badge_services

    _r, _q = _api_earn(client, shop, MembershipFactory(shop=shop), "q-kept")  # now kept
    badge_services.badge_update(shop=shop, badge_id=badge.pk, name="Welkom", icon="star",
                                bonus_points=10)
    response, _q = _api_earn(client, shop, MembershipFactory(shop=shop), "q-renamed")
    assert response.json()["news"] == [{"kind": "badge", "text": "New badge: Welkom"}]
    badge_services.badge_set_active(shop=shop, badge_id=badge.pk, active=False)
    response, _q = _api_earn(client, shop, MembershipFactory(shop=shop), "q-off")
    assert response.json()["news"] == []


def test_a_shop_without_badges_pays_no_query(client):
    shop = new_shop()
    _r, queries = _api_earn(client, shop, MembershipFactory(shop=shop), "q-none")
    badge_queries = [q for q in queries if "tiers_" in q]
    assert badge_queries == []


@pytest.mark.django_db
def test_the_shop_knows_whether_it_has_an_active_badge():
    """What the earn's badges effect reads with the shop: kept by every badge change."""
    from loyalty.models import Shop
    from tests.factories import ShopFactory
    from tiers.badges import services as badge_services

    shop = ShopFactory()
    assert not shop.badges_enabled
    badge = badge_services.badge_create(shop=shop, template="visits", name="Vijf keer",
                                        icon="star", count=5)
    assert Shop.objects.get(pk=shop.pk).badges_enabled
    badge_services.badge_set_active(shop=shop, badge_id=badge.pk, active=False)
    assert not Shop.objects.get(pk=shop.pk).badges_enabled
    badge_services.badge_set_active(shop=shop, badge_id=badge.pk, active=True)
    assert Shop.objects.get(pk=shop.pk).badges_enabled
