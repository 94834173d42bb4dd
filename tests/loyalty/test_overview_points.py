"""The dashboard overview's points: outstanding (and its worth), pending, and this month's
flow — for the owner's shop only, in the shop's month."""

from __future__ import annotations

import datetime as dt
import re
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
    assert overview["points_given_this_month"] == 200 + 70 + 25 + 5  # the adjustment up too
    assert overview["points_taken_back_this_month"] == 0
    assert overview["points_redeemed_this_month"] == 300 - 100  # net of the return
    assert overview["points_expired_this_month"] == 0
    assert overview["points_change_this_month"] == 200 + 70 + 25 - 300 + 100 + 5
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
    assert "Points in March" in english
    assert "100 points = €1.00" in english
    assert "punten op de kaarten van je leden, €\u00a06,00 waard" in dutch
    assert "maart" in dutch


def test_the_overview_runs_a_fixed_number_of_queries(busy_shop, owner,
                                                      django_assert_max_num_queries):
    for _ in range(20):
        services.purchase_record(shop=busy_shop, amount="5.00",
                                 membership_id=MembershipFactory(shop=busy_shop).pk)
    client = Client()
    client.force_login(owner)

    with django_assert_max_num_queries(12):
        assert client.get(f"/dashboard/{busy_shop.slug}/").status_code == 200


# --- The month's figures add up ------------------------------------------------------------------

APRIL = dt.datetime(2026, 4, 20, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def april(shop, owner):
    """10 points per euro, no pending period. In March: a purchase (100 points). In April, in
    the shop's time zone: two purchases (+500, +200), adjustments up (+30) and down (−10), a
    partial refund (−250), an undo (−200), a voucher used (−100), a voucher cancelled (−80,
    then +80 back) and points expired (−15). Another shop's points, and March's, stay out."""
    from rewards.services import reward_create, voucher_cancel, voucher_claim

    services.program_rules_update(shop=shop, by=owner, points_per_unit=10, pending_days=0)
    anna, bram = MembershipFactory(shop=shop), MembershipFactory(shop=shop)
    # 22:30 UTC on 31 March is 00:30 on 1 April in Amsterdam: April's.
    with time_machine.travel(dt.datetime(2026, 3, 31, 21, 0, tzinfo=dt.UTC), tick=False):
        services.purchase_record(shop=shop, amount="10.00", membership_id=bram.pk)  # March
    with time_machine.travel(dt.datetime(2026, 3, 31, 22, 30, tzinfo=dt.UTC), tick=False):
        big = services.purchase_record(shop=shop, amount="50.00", membership_id=anna.pk)
    with time_machine.travel(APRIL, tick=False):
        small = services.purchase_record(shop=shop, amount="20.00", membership_id=anna.pk)
        services.points_adjust(shop=shop, membership_id=bram.pk, points=30, reason="Old card",
                               by=owner)
        services.points_adjust(shop=shop, membership_id=bram.pk, points=-10, reason="Typo",
                               by=owner)
        services.purchase_refund(shop=shop, purchase_id=big.pk, amount="25.00",
                                 recorded_by=owner)
        services.purchase_undo(shop=shop, purchase_id=small.pk, reason="Wrong card", by=owner)
        cake = reward_create(shop=shop, kind="perk", name="Cake", points_cost=100)
        coffee = reward_create(shop=shop, kind="perk", name="Coffee", points_cost=80)
        voucher_claim(shop=shop, membership_id=anna.pk, reward_id=cake.pk)
        cancelled = voucher_claim(shop=shop, membership_id=bram.pk, reward_id=coffee.pk)
        voucher_cancel(shop=shop, voucher_id=cancelled.pk, by=owner)
        services.points_spend(shop=shop, membership_id=anna.pk, points=15,
                              kind=EntryKind.EXPIRY)
    other = ShopFactory()
    with time_machine.travel(APRIL, tick=False):
        services.purchase_record(shop=other, amount="99.00",
                                 membership_id=MembershipFactory(shop=other).pk)
    return shop


def test_the_months_figures_add_up(april):
    with time_machine.travel(APRIL + dt.timedelta(hours=1), tick=False):
        overview = selectors.shop_overview(shop=april)

    given = overview["points_given_this_month"]
    taken_back = overview["points_taken_back_this_month"]
    redeemed = overview["points_redeemed_this_month"]
    expired = overview["points_expired_this_month"]
    change = overview["points_change_this_month"]
    assert (given, taken_back, redeemed, expired) == (
        500 + 200 + 30,  # purchases and the adjustment up
        250 + 200 + 10,  # the refund, the undo and the adjustment down
        100 + 80 - 80,  # the vouchers, less the cancelled one's points returned
        15,
    )
    assert given - taken_back - redeemed - expired == change == 155
    # The change is what the cards gained since the month began: March's 100 were there.
    assert overview["points_outstanding"] == 100 + change


def test_the_page_says_what_each_line_means(april, owner):
    client = Client()
    client.force_login(owner)

    with time_machine.travel(APRIL + dt.timedelta(hours=1), tick=False):
        page = client.get(f"/dashboard/{april.slug}/").content.decode()

    def line(name):
        match = re.search(rf'<div class="month-line[^"]*" id="month-{name}">(.*?)</div>', page,
                          re.S)
        assert match, name
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()

    assert line("given") == (
        "Given for purchases, sign-up and other bonuses, and your adjustments up +730")
    assert line("taken-back") == (
        "Taken back by refunds, purchases undone at the counter, and your adjustments down "
        "\u2212460")
    assert line("redeemed").startswith("Redeemed spent on rewards")
    assert line("redeemed").endswith("\u2212100")
    assert line("expired") == "Expired past their expiry date \u221215"
    assert line("change") == (
        "Change on your members' cards given \u2212 taken back \u2212 redeemed \u2212 expired, "
        "since 1 April in your shop's time zone +155")
