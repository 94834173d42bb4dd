"""Points expiry on a frozen clock: the terms a lot gets when its points arrive (never
retroactive), the expiry night (a lot's boundary to the second, FIFO, pending points, the
inactivity clock, shops in other time zones, exactly once) and what the portal is told."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command

from loyalty import selectors, services
from loyalty.localdays import inactivity_boundary, months_add
from loyalty.models import EntryKind, LedgerEntry, PointLot, ProgramRules
from tests.factories import MembershipFactory, ShopFactory

UTC = dt.UTC
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")


def at(*args, zone=AMS) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)


def buy(shop, member, amount="10.00", when=None):
    """A purchase at ``when`` (10 points per euro: 100 points for €10)."""
    with time_machine.travel(when, tick=False):
        return services.purchase_record(shop=shop, amount=amount, membership_id=member.pk)


def expire(when, **kwargs):
    with time_machine.travel(when, tick=False):
        return services.points_expire(**kwargs)


def rules(shop, when=None, **fields):
    with time_machine.travel(when or at(2025, 12, 1, 12), tick=False):
        return services.program_rules_update(shop=shop, by=None, points_per_unit=10, **fields)


def balance(member) -> int:
    member.refresh_from_db()
    return member.points_balance


@pytest.fixture
def card(shop):
    return MembershipFactory(shop=shop)


# --- The calendar ------------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "months", "expected"), [
    (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
    (dt.date(2027, 12, 31), 2, dt.date(2028, 2, 29)),
    (dt.date(2026, 3, 15), 12, dt.date(2027, 3, 15)),
    (dt.date(2026, 11, 30), 3, dt.date(2027, 2, 28)),
    (dt.date(2026, 3, 31), -1, dt.date(2026, 2, 28)),
    (dt.date(2026, 1, 1), 120, dt.date(2036, 1, 1)),
])
def test_months_are_calendar_months(day, months, expected):
    assert months_add(day, months) == expected


def test_the_inactivity_boundary_covers_month_ends():
    # Clocks on 29, 30 and 31 January plus one month all land on 28 February 2027.
    boundary = inactivity_boundary(months=1, today=dt.date(2027, 2, 28), zone=AMS)
    assert boundary == at(2027, 2, 1)
    assert inactivity_boundary(months=1, today=dt.date(2027, 2, 27), zone=AMS) == at(2027, 1, 28)


# --- The terms on the lot ----------------------------------------------------------------------


def test_lot_terms_of_each_policy(shop):
    earned = at(2026, 1, 31, 23, 30)
    never = ProgramRules(shop=shop, expiry_policy="never")
    earned_rules = ProgramRules(shop=shop, expiry_policy="earned", expiry_months=1)
    inactive = ProgramRules(shop=shop, expiry_policy="inactive", expiry_months=6)
    terms = {"time_zone": "Europe/Amsterdam", "earned_at": earned, "available_at": earned}
    assert services.lot_terms(rules=never, **terms) == (None, None)
    assert services.lot_terms(rules=inactive, **terms) == (None, 6)
    # 31 January + 1 month: the start of 28 February, Amsterdam time.
    assert services.lot_terms(rules=earned_rules, **terms) == (at(2026, 2, 28), None)


def test_pending_points_never_expire_before_they_are_spendable(shop):
    earned = at(2026, 1, 10, 12)
    rules_ = ProgramRules(shop=shop, expiry_policy="earned", expiry_months=1, pending_days=40)
    available = earned + dt.timedelta(days=40)  # 19 February, after 10 February
    expires_at, _ = services.lot_terms(rules=rules_, time_zone="Europe/Amsterdam",
                                       earned_at=earned, available_at=available)
    assert expires_at == at(2026, 2, 20)  # a whole day to spend them


def test_the_earn_stores_the_terms_in_force(shop, card):
    rules(shop, expiry_policy="earned", expiry_months=12)
    buy(shop, card, when=at(2026, 1, 15, 10))
    lot = PointLot.objects.get(membership=card)
    assert (lot.expires_at, lot.inactivity_months) == (at(2027, 1, 15), None)


def test_other_lots_get_the_terms_too(shop, card):
    rules(shop, expiry_policy="inactive", expiry_months=6)
    with time_machine.travel(at(2026, 1, 15, 10), tick=False):
        services.points_credit(shop=shop, membership_id=card.pk, points=50,
                               kind=EntryKind.BONUS)
    assert PointLot.objects.get(membership=card).inactivity_months == 6


def test_a_policy_change_does_not_touch_existing_lots(shop, card):
    rules(shop, expiry_policy="earned", expiry_months=12)
    buy(shop, card, when=at(2026, 1, 15, 10))  # expires 15 January 2027
    rules(shop, when=at(2026, 2, 1, 12), expiry_policy="earned", expiry_months=3)
    buy(shop, card, when=at(2026, 2, 10, 10))  # expires 10 May 2026
    rules(shop, when=at(2026, 3, 1, 12), expiry_policy="never")
    buy(shop, card, when=at(2026, 3, 10, 10))  # never
    dates = list(PointLot.objects.filter(membership=card).order_by("pk")
                 .values_list("expires_at", flat=True))
    assert dates == [at(2027, 1, 15), at(2026, 5, 10), None]

    expire(at(2026, 5, 10, 0, 0, 1))
    assert balance(card) == 200  # only the lot of the 3-month terms
    expire(at(2027, 1, 15, 0, 0, 1))
    assert balance(card) == 100  # the 12-month lot kept its terms after "never"
    expire(at(2036, 1, 1, 12))
    assert balance(card) == 100
    assert selectors.ledger_mismatches(shop=shop) == []


def test_turning_expiry_on_leaves_points_earned_before(shop, card):
    buy(shop, card, when=at(2026, 1, 15, 10))  # under "never"
    rules(shop, when=at(2026, 2, 1, 12), expiry_policy="earned", expiry_months=1)
    expire(at(2027, 6, 1, 12))
    assert balance(card) == 100


# --- The expiry night ----------------------------------------------------------------------------


def test_expiry_at_a_lots_boundary_to_the_second(shop, card):
    rules(shop, expiry_policy="earned", expiry_months=12)
    buy(shop, card, when=at(2026, 1, 15, 10))
    boundary = at(2027, 1, 15)  # 23:00 UTC on 14 January

    assert expire(boundary - dt.timedelta(seconds=1))[0]["lots"] == 0
    assert balance(card) == 100
    assert selectors.points_expiring(membership=card, now=boundary - dt.timedelta(seconds=1)) \
        == [{"on": dt.date(2027, 1, 15), "points": 100, "without_purchase": False}]

    result = expire(boundary + dt.timedelta(seconds=1))
    assert result[0] | {"seconds": 0} == {"shop": shop.pk, "cards": 1, "lots": 1, "points": 100,
                                          "seconds": 0}
    assert balance(card) == 0
    entry = LedgerEntry.objects.get(membership=card, kind=EntryKind.EXPIRY)
    assert entry.points == -100 and entry.shop_id == shop.pk
    assert PointLot.objects.get(membership=card).remaining == 0
    assert selectors.points_expiring(membership=card, now=boundary) == []
    assert selectors.ledger_mismatches(shop=shop) == []


def test_running_twice_expires_once(shop, card):
    rules(shop, expiry_policy="earned", expiry_months=1)
    buy(shop, card, when=at(2026, 1, 15, 10))
    first = expire(at(2026, 2, 15, 1))
    second = expire(at(2026, 2, 15, 2))
    assert (first[0]["points"], second[0]["points"]) == (100, 0)
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRY).count() == 1
    assert balance(card) == 0


def test_spent_points_are_never_touched(shop, card):
    rules(shop, expiry_policy="earned", expiry_months=1)
    buy(shop, card, when=at(2026, 1, 15, 10))
    buy(shop, card, amount="5.00", when=at(2026, 2, 1, 10))
    with time_machine.travel(at(2026, 2, 2, 10), tick=False):
        services.points_spend(shop=shop, membership_id=card.pk, points=70)  # oldest lot first
    expire(at(2026, 2, 15, 0, 30))
    assert balance(card) == 50  # the 30 left of January's lot expired, February's 50 not
    assert LedgerEntry.objects.get(kind=EntryKind.EXPIRY).points == -30
    expire(at(2026, 3, 1, 0, 30))
    assert balance(card) == 0
    assert selectors.ledger_mismatches(shop=shop) == []


def test_pending_points_wait_for_their_day(shop, card):
    rules(shop, expiry_policy="earned", expiry_months=1, pending_days=40)
    buy(shop, card, when=at(2026, 1, 10, 12))  # spendable 19 February, expire 20 February
    expire(at(2026, 2, 19, 23, 59, 59))
    assert balance(card) == 100
    expire(at(2026, 2, 20, 0, 0, 1))
    assert balance(card) == 0


def test_the_inactivity_clock_and_a_purchase_resetting_it(shop, card):
    rules(shop, expiry_policy="inactive", expiry_months=3)
    buy(shop, card, when=at(2026, 1, 10, 15))
    expire(at(2026, 4, 9, 23, 59, 59))
    assert balance(card) == 100
    assert selectors.points_expiring(membership=card, now=at(2026, 4, 9, 12)) == [
        {"on": dt.date(2026, 4, 10), "points": 100, "without_purchase": True}]

    # A purchase starts the clock again, for all points under these terms: now 1 July.
    buy(shop, card, amount="0.50", when=at(2026, 4, 1, 11))  # too small for a point
    expire(at(2026, 4, 10, 0, 0, 1))
    assert balance(card) == 100
    assert selectors.points_expiring(membership=card, now=at(2026, 4, 10, 12)) == [
        {"on": dt.date(2026, 7, 1), "points": 100, "without_purchase": True}]
    expire(at(2026, 6, 30, 23, 59, 59))
    assert balance(card) == 100
    expire(at(2026, 7, 1, 0, 0, 1))
    assert balance(card) == 0
    assert selectors.ledger_mismatches(shop=shop) == []


def test_a_purchase_without_points_resets_the_clock(shop, card):
    rules(shop, expiry_policy="inactive", expiry_months=1, minimum_amount="5.00")
    buy(shop, card, when=at(2026, 1, 10, 15))
    buy(shop, card, amount="1.00", when=at(2026, 2, 5, 9))  # below the minimum: no points
    expire(at(2026, 2, 20, 12))
    assert balance(card) == 100
    expire(at(2026, 3, 5, 0, 0, 1))
    assert balance(card) == 0


def test_turning_inactivity_on_starts_the_clock_that_day(shop, card):
    buy(shop, card, when=at(2025, 1, 10, 15))  # under "never", long before
    rules(shop, when=at(2026, 3, 1, 9), expiry_policy="inactive", expiry_months=2)
    # The card's last purchase is 14 months old, but only points from 1 March on have terms.
    buy(shop, card, amount="5.00", when=at(2026, 3, 1, 12))
    expire(at(2026, 4, 30, 12))
    assert balance(card) == 150
    expire(at(2026, 5, 1, 0, 0, 1))
    assert balance(card) == 100  # the old points keep "never"


def test_a_later_lot_keeps_its_own_clock(shop, card):
    """The clock is the later of the last purchase and the lot's own arrival: a bonus after
    the last purchase lasts its months from its arrival."""
    rules(shop, expiry_policy="inactive", expiry_months=1)
    buy(shop, card, when=at(2026, 1, 10, 15))
    with time_machine.travel(at(2026, 1, 25, 10), tick=False):
        services.points_credit(shop=shop, membership_id=card.pk, points=40, kind=EntryKind.BONUS)
    expire(at(2026, 2, 10, 0, 0, 1))
    assert balance(card) == 40
    expire(at(2026, 2, 25, 0, 0, 1))
    assert balance(card) == 0


def test_shops_in_other_time_zones_expire_at_their_own_midnight(db):
    auckland = ShopFactory(time_zone="Pacific/Auckland")
    los_angeles = ShopFactory(time_zone="America/Los_Angeles")
    cards = {}
    for shop in (auckland, los_angeles):
        rules(shop, expiry_policy="earned", expiry_months=1)
        cards[shop.pk] = MembershipFactory(shop=shop)
        buy(shop, cards[shop.pk], when=dt.datetime(2026, 3, 10, 20, tzinfo=UTC))
    # 20:00 UTC on 10 March is 11 March in Auckland and 10 March (13:00) in Los Angeles.
    nz = zoneinfo.ZoneInfo("Pacific/Auckland")
    la = zoneinfo.ZoneInfo("America/Los_Angeles")
    assert PointLot.objects.get(membership=cards[auckland.pk]).expires_at == at(2026, 4, 11,
                                                                                zone=nz)
    assert PointLot.objects.get(membership=cards[los_angeles.pk]).expires_at == at(2026, 4, 10,
                                                                                   zone=la)
    # 12:00 UTC on 10 April: already 11 April (00:00 NZST) in Auckland, 05:00 in Los Angeles.
    expire(dt.datetime(2026, 4, 10, 12, 0, 1, tzinfo=UTC))
    assert (balance(cards[auckland.pk]), balance(cards[los_angeles.pk])) == (0, 0)
    assert selectors.ledger_mismatches() == []


def test_the_auckland_shop_before_its_midnight(db):
    auckland = ShopFactory(time_zone="Pacific/Auckland")
    rules(auckland, expiry_policy="earned", expiry_months=1)
    member = MembershipFactory(shop=auckland)
    buy(auckland, member, when=dt.datetime(2026, 3, 10, 20, tzinfo=UTC))
    expire(dt.datetime(2026, 4, 10, 11, 59, 59, tzinfo=UTC))  # 23:59:59 on 10 April there
    assert balance(member) == 100


def test_one_shop_only_and_other_shops_untouched(shop, card, other_shop):
    for s in (shop, other_shop):
        rules(s, expiry_policy="earned", expiry_months=1)
    other_card = MembershipFactory(shop=other_shop)
    buy(shop, card, when=at(2026, 1, 15, 10))
    buy(other_shop, other_card, when=at(2026, 1, 15, 10))
    expire(at(2026, 3, 1), shop_ids=[shop.pk])
    assert (balance(card), balance(other_card)) == (0, 100)


def test_the_command_expires_and_says_so(shop, card, capsys):
    rules(shop, expiry_policy="earned", expiry_months=1)
    buy(shop, card, when=at(2026, 1, 15, 10))
    with time_machine.travel(at(2026, 3, 1, 9), tick=False):
        call_command("points_expire", "--shop", shop.slug)
    assert "Expired 100 points in 1 lots on 1 cards" in capsys.readouterr().out
    assert balance(card) == 0
    with pytest.raises(Exception, match="No shop with the slug"):
        call_command("points_expire", "--shop", "nope")


def test_the_task_runs_the_service(shop, card):
    from loyalty import tasks

    rules(shop, expiry_policy="earned", expiry_months=1)
    buy(shop, card, when=at(2026, 1, 15, 10))
    with time_machine.travel(at(2026, 3, 1, 9), tick=False):
        assert tasks.points_expire.apply(kwargs={"shop_ids": [shop.pk]}).get() == 1
        assert tasks.points_expire.apply().get() == 0


def test_the_beat_runs_expiry_hourly_in_utc():
    from loyalty.celery import app

    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    for task in ("loyalty.tasks.points_expire", "loyalty.tasks.points_expiring_remind"):
        assert schedule[task].hour == set(range(24))
