"""The dashboard overview's points: outstanding (and its worth), pending, and this month's
flow — for the owner's shop only, in the shop's month."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from loyalty import selectors, services
from loyalty.models import EntryKind
from tests.factories import MembershipFactory, ShopFactory

pytestmark = pytest.mark.django_db

MID_MARCH = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def busy_shop(shop, owner):
    """Rules: 10 points per euro, 100 points = €1, 14 days pending. In February: one purchase
    (spendable by March). In March: two purchases (pending), a sign-up bonus, a redemption,
    a redemption's return and an owner's adjustment."""
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10,
                                  points_per_currency_value=100, pending_days=14)
    anna, bram = MembershipFactory(shop=shop), MembershipFactory(shop=shop)
    with time_machine.travel(dt.datetime(2026, 2, 10, 12, 0, tzinfo=dt.UTC), tick=False):
        services.purchase_record(shop=shop, amount="50.00", membership_id=anna.pk)  # 500
    with time_machine.travel(MID_MARCH, tick=False):
        services.purchase_record(shop=shop, amount="20.00", membership_id=anna.pk)  # 200
        services.purchase_record(shop=shop, amount="7.50", membership_id=bram.pk)  # 70
        services.points_credit(shop=shop, membership_id=bram.pk, points=25,
                               kind=EntryKind.SIGNUP_BONUS)
        spent = services.points_spend(shop=shop, membership_id=anna.pk, points=300)
        services.points_credit(shop=shop, membership_id=anna.pk, points=100,
                               kind=EntryKind.REVERSAL, reverses=spent)
        services.points_adjust(shop=shop, membership_id=bram.pk, points=5, reason="Typo",
                               by=owner)
    # Another shop's points never count.
    other = ShopFactory()
    services.purchase_record(shop=other, amount="99.00",
                             membership_id=MembershipFactory(shop=other).pk)
    return shop


def test_the_overview_counts_the_shops_points(busy_shop):
    with time_machine.travel(MID_MARCH + dt.timedelta(hours=1), tick=False):
        overview = selectors.shop_overview(shop=busy_shop)

    # Cards: Anna 500 + 200 - 300 + 100 = 500; Bram 70 + 25 + 5 = 100.
    assert overview["points_outstanding"] == 600
    assert overview["points_outstanding_money"] == Decimal("6.00")
    assert overview["points_pending"] == 270  # March's purchases, within 14 days
    assert overview["points_given_this_month"] == 200 + 70 + 25  # not the adjustment
    assert overview["points_redeemed_this_month"] == 300 - 100  # net of the return
    assert overview["member_count"] == 2


def test_the_month_is_the_shops_month(shop, owner):
    """At 23:30 UTC on 31 March it is already April in Amsterdam: March's points are last
    month's there."""
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10)
    member = MembershipFactory(shop=shop)
    with time_machine.travel(dt.datetime(2026, 3, 31, 21, 0, tzinfo=dt.UTC), tick=False):
        services.purchase_record(shop=shop, amount="10.00", membership_id=member.pk)

    with time_machine.travel(dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC), tick=False):
        overview = selectors.shop_overview(shop=shop)

    assert overview["month_start"].month == 4
    assert overview["points_given_this_month"] == 0
    assert overview["points_outstanding"] == 100


def test_the_page_shows_them_in_the_owners_language(busy_shop, owner):
    client = Client()
    client.force_login(owner)

    with time_machine.travel(MID_MARCH + dt.timedelta(hours=1), tick=False):
        english = client.get(f"/dashboard/{busy_shop.slug}/").content.decode()
        dutch = client.get(f"/dashboard/{busy_shop.slug}/",
                           headers={"Accept-Language": "nl"}).content.decode()

    assert "points on your members' cards, worth €6.00" in english
    assert "of which 270 pending" in english
    assert "given in March (purchases and bonuses)" in english
    assert "redeemed in March" in english
    assert "100 points = €1.00" in english
    assert "punten op de kaarten van je leden, €\u00a06,00 waard" in dutch
    assert "ingewisseld in maart" in dutch


def test_the_overview_runs_a_fixed_number_of_queries(busy_shop, owner,
                                                      django_assert_max_num_queries):
    for _ in range(20):
        services.purchase_record(shop=busy_shop, amount="5.00",
                                 membership_id=MembershipFactory(shop=busy_shop).pk)
    client = Client()
    client.force_login(owner)

    with django_assert_max_num_queries(12):
        assert client.get(f"/dashboard/{busy_shop.slug}/").status_code == 200
