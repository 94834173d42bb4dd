"""Badges earned right after a purchase: every template at its boundary (exactly N and N−1, X
and one cent below, a streak across a week boundary at local midnight and on a clock-change
week, a challenge's Y days exactly), the bonus pending like the purchase's points, and the
news the counter and the API show."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from loyalty import selectors as loyalty_selectors
from loyalty.models import EntryKind, LedgerEntry, PointLot
from tests.tiers.badges.conftest import buy, local, make_badge
from tiers.badges.models import BadgeAward
from tiers.badges.services import badges_award

pytestmark = pytest.mark.django_db


def awarded(member) -> list[str]:
    return sorted(BadgeAward.objects.filter(membership=member, revoked_at__isnull=True)
                  .values_list("badge__name", flat=True))


def test_first_purchase_earns_the_badge_once_with_news_and_a_pending_bonus(badge_shop,
                                                                          badge_member):
    make_badge(badge_shop, "first_purchase", name="First visit", bonus_points=25)
    first = buy(badge_shop, badge_member, "10.00")
    # The icon is for the counter's line; the API answers kind and text only.
    assert first.news == [{"kind": "badge", "text": "New badge: First visit",
                           "icon_static": "tiers/badges/star.svg"}]
    award = BadgeAward.objects.get()
    assert (award.purchase, award.membership) == (first, badge_member)
    entry = award.entry
    assert (entry.kind, entry.points, entry.note, entry.purchase) == (
        EntryKind.BADGE, 25, "First visit", first)
    lot = PointLot.objects.get(entry=entry)
    assert lot.available_at == first.points_available_at  # pending like the purchase's points
    assert first.membership.points_balance == 100 + 25  # the answer's balance includes it
    badge_member.refresh_from_db()
    assert badge_member.points_balance == 125
    second = buy(badge_shop, badge_member, "10.00")
    assert second.news == []
    assert BadgeAward.objects.count() == 1
    assert loyalty_selectors.ledger_mismatches() == []


def test_a_sale_without_a_card_earns_nothing(badge_shop):
    from loyalty import services

    make_badge(badge_shop, "first_purchase")
    purchase = services.purchase_record(shop=badge_shop, amount="10.00")
    assert purchase.news == []
    assert BadgeAward.objects.count() == 0


def test_n_visits_counts_different_local_days_exactly_at_n(badge_shop, badge_member):
    make_badge(badge_shop, "visits", name="Three visits", count=3)
    buy(badge_shop, badge_member, at=local(2026, 3, 2, 9))
    buy(badge_shop, badge_member, at=local(2026, 3, 2, 17))  # the same day: no new visit
    second_day = buy(badge_shop, badge_member, at=local(2026, 3, 3, 23, 59))  # 2 of 3
    assert second_day.news == [] and awarded(badge_member) == []
    # 00:00 in Amsterdam is 23:00 UTC the day before: still a new local day.
    third = buy(badge_shop, badge_member, at=local(2026, 3, 4, 0, 0))
    assert awarded(badge_member) == ["Three visits"]
    assert third.news[0]["text"] == "New badge: Three visits"


def test_spend_in_total_at_x_not_one_cent_below_net_of_refunds(badge_shop, badge_member):
    from loyalty import services

    make_badge(badge_shop, "spend_total", name="Big spender", amount="50.00")
    first = buy(badge_shop, badge_member, "30.00")
    services.purchase_refund(shop=badge_shop, purchase_id=first.pk, amount="0.01")
    buy(badge_shop, badge_member, "20.00")  # 49.99 net
    assert awarded(badge_member) == []
    buy(badge_shop, badge_member, "0.01")  # 50.00 exactly
    assert awarded(badge_member) == ["Big spender"]


def test_a_challenge_counts_its_y_days_exactly_on_the_shops_clock(badge_shop, badge_member):
    make_badge(badge_shop, "spend_within", name="March challenge", amount="30.00", days=30,
               starts_on=dt.date(2026, 3, 1))
    buy(badge_shop, badge_member, "10.00", at=local(2026, 2, 28, 23, 59))  # before the start
    buy(badge_shop, badge_member, "10.00", at=local(2026, 3, 1, 0, 0))  # the first minute
    buy(badge_shop, badge_member, "10.00", at=local(2026, 3, 15, 12))
    assert awarded(badge_member) == []  # 20.00 within the window
    # Day 30 is 30 March; the window ends at 31 March 00:00 local (summer time by then).
    late = buy(badge_shop, badge_member, "10.00", at=local(2026, 3, 31, 0, 0))
    assert late.news == [] and awarded(badge_member) == []
    last_minute = buy(badge_shop, badge_member, "10.00", at=local(2026, 3, 30, 23, 59))
    assert awarded(badge_member) == ["March challenge"]
    assert last_minute.news[0]["kind"] == "badge"


def test_a_challenge_is_not_earned_before_it_starts(badge_shop, badge_member):
    make_badge(badge_shop, "spend_within", name="Later", amount="5.00", days=7,
               starts_on=dt.date(2026, 5, 1))
    buy(badge_shop, badge_member, "50.00", at=local(2026, 4, 30, 23, 59))
    assert awarded(badge_member) == []


def test_a_week_streak_across_a_week_boundary_at_local_midnight(badge_shop, badge_member):
    make_badge(badge_shop, "week_streak", name="Two weeks", count=2)
    # Sunday 8 March 23:59 and Monday 9 March 00:00 local: two ISO weeks, one minute apart.
    buy(badge_shop, badge_member, at=local(2026, 3, 8, 23, 59))
    assert awarded(badge_member) == []
    buy(badge_shop, badge_member, at=local(2026, 3, 9, 0, 0))
    assert awarded(badge_member) == ["Two weeks"]


def test_a_week_streak_is_not_the_same_week_twice_nor_a_gap(badge_shop, badge_member):
    make_badge(badge_shop, "week_streak", name="Three weeks", count=3)
    buy(badge_shop, badge_member, at=local(2026, 3, 2, 10))  # week 10, Monday
    buy(badge_shop, badge_member, at=local(2026, 3, 8, 23, 0))  # week 10, Sunday
    buy(badge_shop, badge_member, at=local(2026, 3, 16, 10))  # week 12: week 11 skipped
    buy(badge_shop, badge_member, at=local(2026, 3, 23, 10))  # week 13: a run of 2
    assert awarded(badge_member) == []
    buy(badge_shop, badge_member, at=local(2026, 3, 30, 10))  # week 14: 12, 13, 14
    assert awarded(badge_member) == ["Three weeks"]


def test_a_week_streak_over_the_clock_change_week(badge_shop, badge_member):
    """Clocks go forward on Sunday 29 March 2026 at 02:00 in Amsterdam: that week is 167 hours
    long, and its Sunday 23:30 local is 21:30 UTC — still the same ISO week locally."""
    make_badge(badge_shop, "week_streak", name="Spring streak", count=2)
    buy(badge_shop, badge_member, at=local(2026, 3, 23, 0, 30))  # Monday of the change week
    buy(badge_shop, badge_member, at=local(2026, 3, 29, 23, 30))  # its Sunday, after the change
    assert awarded(badge_member) == []  # one week only
    buy(badge_shop, badge_member, at=local(2026, 3, 30, 0, 0))  # the next Monday, 22:00 UTC
    assert awarded(badge_member) == ["Spring streak"]


def test_a_week_streak_on_the_autumn_clock_change(badge_shop, badge_member):
    """Clocks go back on Sunday 25 October 2026: 00:30 on Monday 26 October local is 23:30 UTC
    on Sunday, a new ISO week locally though not in UTC."""
    make_badge(badge_shop, "week_streak", name="Autumn streak", count=2)
    buy(badge_shop, badge_member, at=local(2026, 10, 25, 12))
    buy(badge_shop, badge_member, at=local(2026, 10, 26, 0, 30))
    assert awarded(badge_member) == ["Autumn streak"]


def test_a_week_streak_across_the_new_year(badge_shop, badge_member):
    make_badge(badge_shop, "week_streak", name="Over new year", count=2)
    buy(badge_shop, badge_member, at=local(2026, 12, 31, 10))  # ISO week 53 of 2026
    buy(badge_shop, badge_member, at=local(2027, 1, 4, 10))  # ISO week 1 of 2027
    assert awarded(badge_member) == ["Over new year"]


def test_k_different_weekdays_exactly_at_k(badge_shop, badge_member):
    make_badge(badge_shop, "weekdays", name="Every day", count=3)
    buy(badge_shop, badge_member, at=local(2026, 3, 2, 10))  # Monday
    buy(badge_shop, badge_member, at=local(2026, 3, 9, 10))  # Monday again
    buy(badge_shop, badge_member, at=local(2026, 3, 3, 23, 59))  # Tuesday
    assert awarded(badge_member) == []
    buy(badge_shop, badge_member, at=local(2026, 3, 5, 0, 0))  # Thursday from its first minute
    assert awarded(badge_member) == ["Every day"]


def test_k_product_categories_from_the_purchase_lines(badge_shop, badge_member):
    make_badge(badge_shop, "categories", name="Explorer", count=3)
    buy(badge_shop, badge_member, "7.00", items=[
        {"name": "Brood", "category": "brood", "unit_price": "3.00"},
        {"name": "Croissant", "category": "gebak", "unit_price": "2.00"},
        {"name": "Krentenbol", "category": "brood", "unit_price": "1.00"},
        {"name": "Tas", "unit_price": "1.00"},  # no category: does not count
    ])
    assert awarded(badge_member) == []
    buy(badge_shop, badge_member, "4.00", items=[
        {"name": "Koffie", "category": "koffie", "unit_price": "4.00"}])
    assert awarded(badge_member) == ["Explorer"]


def test_referrals_are_never_earned_until_referrals_exist(badge_shop, badge_member):
    make_badge(badge_shop, "referrals", name="Ambassador", count=1)
    for _ in range(3):
        buy(badge_shop, badge_member)
    assert awarded(badge_member) == []


def test_a_badge_switched_off_is_not_earned_and_one_earned_stays(badge_shop, badge_member):
    from tiers.badges.services import badge_set_active

    first = make_badge(badge_shop, "first_purchase", name="First")
    visits = make_badge(badge_shop, "visits", name="Two", count=2)
    buy(badge_shop, badge_member, at=local(2026, 3, 2, 10))
    badge_set_active(shop=badge_shop, badge_id=visits.pk, active=False)
    badge_set_active(shop=badge_shop, badge_id=first.pk, active=False)
    buy(badge_shop, badge_member, at=local(2026, 3, 3, 10))
    assert awarded(badge_member) == ["First"]


def test_several_badges_at_one_purchase_each_with_its_news(badge_shop, badge_member):
    make_badge(badge_shop, "first_purchase", name="Hello", bonus_points=5)
    make_badge(badge_shop, "spend_total", name="Ten", amount="10.00", bonus_points=7)
    make_badge(badge_shop, "visits", name="Two", count=2)
    purchase = buy(badge_shop, badge_member, "10.00")
    assert [item["text"] for item in purchase.news] == ["New badge: Hello", "New badge: Ten"]
    assert sorted(LedgerEntry.objects.filter(kind=EntryKind.BADGE).values_list(
        "points", flat=True)) == [5, 7]
    assert purchase.membership.points_balance == 112


def test_the_database_refuses_a_second_live_award(badge_shop, badge_member):
    badge = make_badge(badge_shop, "first_purchase")
    buy(badge_shop, badge_member)
    with pytest.raises(IntegrityError), transaction.atomic():
        BadgeAward.objects.create(shop=badge_shop, badge=badge, membership=badge_member)


def test_the_effect_is_called_again_for_the_same_purchase_awards_nothing_new(badge_shop,
                                                                          badge_member):
    make_badge(badge_shop, "first_purchase", bonus_points=10)
    purchase = buy(badge_shop, badge_member)
    purchase.news = []
    assert badges_award(purchase=purchase) == []
    assert purchase.news == []
    assert BadgeAward.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=EntryKind.BADGE).count() == 1


def test_a_retried_purchase_with_the_same_idempotency_key_awards_once(badge_shop, badge_member):
    from loyalty.services import DuplicateRequest

    make_badge(badge_shop, "first_purchase", bonus_points=10)
    buy(badge_shop, badge_member, idempotency_key="till-1:R-1")
    with pytest.raises(DuplicateRequest):
        buy(badge_shop, badge_member, idempotency_key="till-1:R-1")
    assert BadgeAward.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=EntryKind.BADGE).count() == 1
    badge_member.refresh_from_db()
    assert badge_member.points_balance == 110


def test_a_failing_badge_write_undoes_the_purchase(badge_shop, badge_member, monkeypatch):
    from loyalty.models import Purchase
    from tiers.badges import services as badge_services

    make_badge(badge_shop, "first_purchase", bonus_points=10)

    def broken(*args, **kwargs):
        raise IntegrityError("disk full")

    monkeypatch.setattr(badge_services.sql, "insert_many", broken)
    with pytest.raises(IntegrityError):
        buy(badge_shop, badge_member)
    assert Purchase.objects.count() == 0
    assert LedgerEntry.objects.count() == 0
    badge_member.refresh_from_db()
    assert badge_member.points_balance == 0


def test_badges_of_another_shop_are_never_evaluated(badge_shop, badge_member, other_shop):
    make_badge(other_shop, "first_purchase", name="Elsewhere")
    purchase = buy(badge_shop, badge_member)
    assert purchase.news == []
    assert BadgeAward.objects.count() == 0


def test_amounts_are_decimals_throughout(badge_shop, badge_member):
    from tiers.badges.selectors import member_facts

    buy(badge_shop, badge_member, "0.10")
    buy(badge_shop, badge_member, "0.20")
    facts = member_facts(membership=badge_member, shop=badge_shop)
    assert facts.spent == Decimal("0.30")
