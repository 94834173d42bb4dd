"""Levels on a clock-change day in Europe/Amsterdam (the last Sundays of March and October):
the rolling 12 months turn at the local midnight of such a day, the re-evaluation's window
ends at it, and visits are counted by local day — the hour that repeats in October, or the
hour skipped in March, never splits a day, and 23:30 and 00:30 around it are two days.

Every instant is written on the shop's clock and checked against UTC first, so a test can
never pass only because the clock change did not happen where it says."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
import time_machine

from loyalty.localdays import day_start
from loyalty.services import purchase_record
from tests.factories import MembershipFactory
from tiers import selectors, services
from tiers.models import ChangeReason, LevelChange, TierState

from .conftest import levels_set
from .test_services import level_of

pytestmark = pytest.mark.django_db
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")
UTC = dt.UTC


def local(*args, fold: int = 0) -> dt.datetime:
    return dt.datetime(*args, tzinfo=AMS, fold=fold)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def buy_at(shop, card, amount, when: dt.datetime):
    with time_machine.travel(when.astimezone(UTC), tick=False):
        return purchase_record(shop=shop, amount=amount, membership_id=card.pk)


def clocks_change_on(day: dt.date) -> bool:
    """The day is a Sunday on which Amsterdam's offset from UTC changes."""
    morning = dt.datetime.combine(day, dt.time(0, 30), tzinfo=AMS).utcoffset()
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=AMS).utcoffset()
    return day.weekday() == 6 and morning != noon


def visits(card, shop) -> tuple[Decimal, Decimal]:
    """The card's visits as the earn reads them and as the grouped query does."""
    one = selectors.membership_measure(membership=card, shop=shop, measure="visits",
                                       start=None)
    grouped = selectors.shop_measures(shop=shop, measure="visits", start=None)
    return one, grouped.get(card.pk, Decimal(0))


# --- The rolling 12 months turn at local midnight on a clock-change day -----------------------

# (the local day the window begins on, the local day it is evaluated on, their midnights in UTC)
SEASONS = {
    # Clocks go back at 03:00 on 26 October 2025 and on 25 October 2026: midnight is summer
    # time (UTC+2), so the window begins at 22:00 UTC the day before.
    "october": (dt.date(2025, 10, 26), dt.date(2026, 10, 25),
                utc(2025, 10, 25, 22, 0), utc(2026, 10, 24, 22, 0)),
    # Clocks go forward at 02:00 on 29 March 2026 and on 28 March 2027: midnight is winter time
    # (UTC+1), so the window begins at 23:00 UTC the day before.
    "march": (dt.date(2026, 3, 29), dt.date(2027, 3, 28),
              utc(2026, 3, 28, 23, 0), utc(2027, 3, 27, 23, 0)),
}


@pytest.mark.parametrize("season", sorted(SEASONS))
def test_the_rolling_year_turns_at_local_midnight_on_a_clock_change_day(shop, season):
    first_day, today, first_midnight, today_midnight = SEASONS[season]
    assert clocks_change_on(first_day) and clocks_change_on(today)
    assert day_start(first_day, AMS) == first_midnight
    assert day_start(today, AMS) == today_midnight
    levels_set(shop, period="rolling")  # Brons at 100 points; 5.00 earns 50
    inside, outside, in_time = (MembershipFactory(shop=shop) for _ in range(3))
    before = first_day - dt.timedelta(days=1)
    # 00:30 on the clock-change day and 23:30 the evening before: one UTC day, two local days.
    just_after = local(first_day.year, first_day.month, first_day.day, 0, 30)
    just_before = local(before.year, before.month, before.day, 23, 30)
    assert just_after.astimezone(UTC).date() == just_before.astimezone(UTC).date() == before
    buy_at(shop, inside, "5.00", just_after)
    buy_at(shop, outside, "5.00", just_before)
    buy_at(shop, in_time, "5.00", just_before)

    # The last minute of the day before: the window still begins the day before, 23:30 counts.
    eve = today - dt.timedelta(days=1)
    last_minute = local(eve.year, eve.month, eve.day, 23, 59)
    assert selectors.period_start(period="rolling", now=last_minute, zone=AMS) == (
        day_start(before, AMS))
    buy_at(shop, in_time, "5.00", last_minute)
    assert level_of(in_time)[0] == "Brons"

    # Just after local midnight on the clock-change day (still the day before in UTC): the
    # window begins at the clock-change day's midnight 12 months ago; 00:30 counts, 23:30 not.
    just_past = local(today.year, today.month, today.day, 0, 1)
    assert just_past.astimezone(UTC).date() == eve
    start = selectors.period_start(period="rolling", now=just_past, zone=AMS)
    assert start == first_midnight
    buy_at(shop, inside, "5.00", just_past)
    buy_at(shop, outside, "5.00", just_past)
    assert level_of(inside)[0] == "Brons"  # 50 + 50: exactly at the threshold
    assert level_of(outside)[0] == ""  # 50 + 50, but the first 50 fell out at midnight
    for card, want in ((inside, 100), (outside, 50)):
        assert selectors.membership_measure(membership=card, shop=shop, measure="points",
                                            start=start) == want
        assert selectors.shop_measures(shop=shop, measure="points",
                                       start=start)[card.pk] == want


def test_a_rolling_anniversary_on_a_clock_change_day_counts_up_to_its_local_midnight(shop):
    """A level reached on 25 October 2025 is re-evaluated on 25 October 2026, the day clocks
    go back: the window ends at that day's local midnight (22:00 UTC on the 24th), so 23:30 on
    the 24th counts and 00:30 on the 25th — the same UTC day — does not."""
    anniversary = dt.date(2026, 10, 25)
    assert clocks_change_on(anniversary)
    with time_machine.travel(utc(2025, 1, 2, 9), tick=False):
        levels_set(shop, period="rolling")
    kept, dropped = MembershipFactory(shop=shop), MembershipFactory(shop=shop)
    for card in (kept, dropped):
        buy_at(shop, card, "40.00", local(2025, 10, 24, 12))  # 400: Brons
        buy_at(shop, card, "10.00", local(2025, 10, 25, 12))  # 500: Zilver, on the 25th
        assert level_of(card)[0] == "Zilver"
        assert TierState.objects.get(membership=card).holds_until == anniversary
    # In the window that ends at the anniversary only the raising purchase's 100 points
    # remain; 45.00 more (450, or more with Zilver's multiplier) keeps Zilver — if it counts.
    last_evening, first_night = local(2026, 10, 24, 23, 30), local(2026, 10, 25, 0, 30)
    assert last_evening.astimezone(UTC) == utc(2026, 10, 24, 21, 30)
    assert first_night.astimezone(UTC) == utc(2026, 10, 24, 22, 30)
    buy_at(shop, kept, "45.00", last_evening)
    buy_at(shop, dropped, "45.00", first_night)
    assert selectors.review_window(period="rolling", day=anniversary, zone=AMS) == (
        utc(2025, 10, 24, 22, 0), utc(2026, 10, 24, 22, 0))

    shop.refresh_from_db()
    counts = services.levels_reevaluate(shop=shop, now=local(2026, 10, 25, 12))
    assert (counts["checked"], counts["kept"], counts["down"]) == (2, 1, 1)
    assert level_of(kept)[0] == "Zilver"
    assert level_of(dropped)[0] == "Brons"
    change = LevelChange.objects.filter(membership=dropped).order_by("-pk").first()
    assert (change.reason, change.from_name, change.to_name) == (
        ChangeReason.REEVALUATION, "Zilver", "Brons")
    assert not LevelChange.objects.filter(membership=kept,
                                          reason=ChangeReason.REEVALUATION).exists()


# --- Visits on a clock-change day ---------------------------------------------------------------


@pytest.fixture
def two_visits(shop):
    levels_set(shop, measure="visits", tiers=[{"name": "Vaste klant", "threshold": "2"}])
    return shop


def test_the_hour_that_repeats_in_october_is_one_visit_day(two_visits, member):
    """On 25 October 2026 the clock goes from 03:00 back to 02:00: 01:30 (summer time),
    02:30 the second time (winter time) and 23:30 are one local day across two UTC days."""
    shop = two_visits
    assert clocks_change_on(dt.date(2026, 10, 25))
    same_day = [local(2026, 10, 25, 1, 30), local(2026, 10, 25, 2, 30, fold=1),
                local(2026, 10, 25, 23, 30)]
    assert [moment.astimezone(UTC) for moment in same_day] == [
        utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 22, 30)]
    assert local(2026, 10, 25, 2, 30).astimezone(UTC) == utc(2026, 10, 25, 0, 30)  # 1st 02:30
    for moment in same_day:
        buy_at(shop, member, "2.00", moment)
        assert visits(member, shop) == (1, 1)
        assert level_of(member)[0] == ""  # one below the threshold
    # 00:30 on the 26th (23:30 UTC on the 25th, the UTC day of the last two): a second visit.
    next_night = local(2026, 10, 26, 0, 30)
    assert next_night.astimezone(UTC) == utc(2026, 10, 25, 23, 30)
    purchase = buy_at(shop, member, "2.00", next_night)
    assert visits(member, shop) == (2, 2)
    assert level_of(member)[0] == "Vaste klant"  # exactly at the threshold
    change = LevelChange.objects.get(membership=member)
    assert (change.reason, change.purchase_id) == (ChangeReason.PURCHASE, purchase.pk)


def test_both_sides_of_the_repeated_hour_are_one_visit(two_visits, member):
    """02:30 happens twice on 25 October 2026, an hour apart: still the same local day."""
    first, second = local(2026, 10, 25, 2, 30), local(2026, 10, 25, 2, 30, fold=1)
    assert second.astimezone(UTC) - first.astimezone(UTC) == dt.timedelta(hours=1)
    buy_at(two_visits, member, "2.00", first)
    buy_at(two_visits, member, "2.00", second)
    assert visits(member, two_visits) == (1, 1)
    assert level_of(member)[0] == ""


def test_the_hour_skipped_in_march_is_one_visit_day(two_visits, member):
    """On 29 March 2026 the clock goes from 02:00 to 03:00: 01:30 (winter time), 03:30 (summer
    time) and 23:30 (21:30 UTC) are one local day."""
    shop = two_visits
    assert clocks_change_on(dt.date(2026, 3, 29))
    same_day = [local(2026, 3, 29, 1, 30), local(2026, 3, 29, 3, 30),
                local(2026, 3, 29, 23, 30)]
    assert [moment.astimezone(UTC) for moment in same_day] == [
        utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 21, 30)]
    for moment in same_day:
        buy_at(shop, member, "2.00", moment)
    assert visits(member, shop) == (1, 1)
    assert level_of(member)[0] == ""
    buy_at(shop, member, "2.00", local(2026, 3, 30, 0, 30))
    assert visits(member, shop) == (2, 2)
    assert level_of(member)[0] == "Vaste klant"


@pytest.mark.parametrize(("evening", "night", "same_utc_day"), [
    # Into the October clock-change day: 23:30 and 00:30 summer time, both on 24 October UTC.
    (local(2026, 10, 24, 23, 30), local(2026, 10, 25, 0, 30), dt.date(2026, 10, 24)),
    # Out of it: 23:30 and 00:30 winter time, both on 25 October UTC.
    (local(2026, 10, 25, 23, 30), local(2026, 10, 26, 0, 30), dt.date(2026, 10, 25)),
    # Into the March clock-change day: 23:30 and 00:30 winter time, both on 28 March UTC.
    (local(2026, 3, 28, 23, 30), local(2026, 3, 29, 0, 30), dt.date(2026, 3, 28)),
    # Out of it: 23:30 and 00:30 summer time, both on 29 March UTC.
    (local(2026, 3, 29, 23, 30), local(2026, 3, 30, 0, 30), dt.date(2026, 3, 29)),
], ids=["into-october", "out-of-october", "into-march", "out-of-march"])
def test_across_local_midnight_on_a_clock_change_day_are_two_visits(two_visits, member,
                                                                    evening, night,
                                                                    same_utc_day):
    assert evening.astimezone(UTC).date() == night.astimezone(UTC).date() == same_utc_day
    buy_at(two_visits, member, "2.00", evening)
    assert level_of(member)[0] == ""
    buy_at(two_visits, member, "2.00", night)
    assert visits(member, two_visits) == (2, 2)
    assert level_of(member)[0] == "Vaste klant"
