"""The bonuses of a purchase (loyalty.points.points_for_purchase): the card's level multiplier
and the bonus-point events on at the time, on the shop's clock, each counted on the rules'
points for the amount (the base); stacked or best of, as the owner chose."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from loyalty.points import bonus_event_applies, points_for_purchase

AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")
TUESDAY_NOON = dt.datetime(2026, 12, 1, 12, tzinfo=AMS)  # a Tuesday


class Rules:
    """The part of ProgramRules the earn reads: 10 points per euro."""

    def __init__(self, events=(), combine="stack", **extra):
        self.points_per_unit, self.minimum_amount, self.steps = 10, Decimal(0), []
        self.steps_replace_rate, self.cap_per_purchase = False, None
        self.bonus_events, self.bonus_combine = list(events), combine
        self.__dict__.update(extra)


DOUBLE_TUESDAY = {"name": "Dubbele punten-dinsdag", "kind": "multiplier", "value": "2",
                  "weekdays": [1]}


def earn(rules, amount="27.00", at=TUESDAY_NOON, **kwargs):
    return points_for_purchase(rules=rules, amount=Decimal(amount), at_local=at, **kwargs)


def test_without_bonuses_the_base_and_no_detail():
    assert earn(Rules()) == (270, {})


def test_a_double_points_day_says_what_it_gave():
    points, detail = earn(Rules([DOUBLE_TUESDAY]))
    assert points == 540
    assert detail == {"base": 270, "parts": [
        {"source": "event", "name": "Dubbele punten-dinsdag", "points": 270,
         "multiplier": "2"}]}


def test_the_level_multiplier_counts_on_the_base_rounded_down():
    points, detail = earn(Rules(), amount="27.50", level_name="Zilver",
                          level_multiplier=Decimal("1.25"))
    assert points == 270 + 67  # 67.5 rounded down
    assert detail["parts"] == [{"source": "level", "name": "Zilver", "points": 67,
                                "multiplier": "1.25"}]


def test_stack_adds_every_bonus_best_of_keeps_the_biggest():
    events = [DOUBLE_TUESDAY, {"name": "Kerst", "kind": "extra", "value": 100}]
    stacked, _ = earn(Rules(events), level_name="Goud", level_multiplier=Decimal("1.5"))
    assert stacked == 270 + 270 + 100 + 135
    best, detail = earn(Rules(events, combine="best"), level_name="Goud",
                        level_multiplier=Decimal("1.5"))
    assert best == 540
    assert [p["name"] for p in detail["parts"]] == ["Dubbele punten-dinsdag"]


def test_a_purchase_that_earns_nothing_gets_no_bonus():
    rules = Rules([{"name": "Extra", "kind": "extra", "value": 50}],
                  minimum_amount=Decimal("5.00"))
    assert earn(rules, amount="4.99") == (0, {})
    assert earn(rules, amount="5.00")[0] == 100


@pytest.mark.parametrize(("at", "on"), [
    (dt.datetime(2026, 12, 1, 0, 0, tzinfo=AMS), True),      # Tuesday from local midnight
    (dt.datetime(2026, 11, 30, 23, 59, tzinfo=AMS), False),  # Monday night
    (dt.datetime(2026, 12, 1, 23, 59, tzinfo=AMS), True),
    (dt.datetime(2026, 12, 2, 0, 0, tzinfo=AMS), False),
])
def test_weekdays_are_the_shops_days(at, on):
    assert bonus_event_applies(DOUBLE_TUESDAY, at) is on


@pytest.mark.parametrize(("hour", "on"), [(15, False), (16, True), (17, True), (18, False)])
def test_hours_from_included_to_excluded(hour, on):
    happy_hour = {"name": "Happy hour", "kind": "multiplier", "value": "3", "from_hour": 16,
                  "to_hour": 18}
    assert bonus_event_applies(happy_hour, TUESDAY_NOON.replace(hour=hour)) is on


@pytest.mark.parametrize(("day", "on"), [(dt.date(2026, 11, 30), False),
                                         (dt.date(2026, 12, 1), True),
                                         (dt.date(2026, 12, 24), True),
                                         (dt.date(2026, 12, 25), False)])
def test_dates_are_both_included(day, on):
    advent = {"name": "Advent", "kind": "extra", "value": 10, "starts_on": "2026-12-01",
              "ends_on": "2026-12-24"}
    at = dt.datetime.combine(day, dt.time(12), tzinfo=AMS)
    assert bonus_event_applies(advent, at) is on


def test_the_clock_change_day_is_a_day_on_the_shops_clock():
    sunday = {"name": "Zondag", "kind": "extra", "value": 5, "weekdays": [6]}
    # 29 March 2026: summer time starts at 02:00 in Amsterdam. 00:30 UTC is 01:30 local,
    # Sunday; 22:30 UTC is 00:30 Monday local (UTC+2).
    utc = dt.UTC
    assert bonus_event_applies(sunday, dt.datetime(2026, 3, 29, 0, 30, tzinfo=utc)
                               .astimezone(AMS))
    assert not bonus_event_applies(sunday, dt.datetime(2026, 3, 29, 22, 30, tzinfo=utc)
                                   .astimezone(AMS))


def test_an_event_for_some_categories_counts_on_their_share():
    coffee = {"name": "Koffieweek", "kind": "multiplier", "value": "2",
              "categories": ["Koffie"]}
    points, detail = earn(Rules([coffee]), amount="20.00",
                          category_amounts={"koffie": Decimal("5.00"),
                                            "Gebak": Decimal("15.00")})
    assert points == 200 + 50  # a quarter of the base once more
    assert detail["parts"][0]["points"] == 50
    assert earn(Rules([coffee]), amount="20.00") == (200, {})  # no lines: no share


@pytest.mark.django_db
def test_the_earn_applies_the_cards_level_and_the_events_and_records_how(shop, member):
    import time_machine

    from loyalty import services
    from loyalty.models import LedgerEntry, Membership

    services.program_rules_update(shop=shop, by=None, bonus_events=[DOUBLE_TUESDAY])
    Membership.objects.filter(pk=member.pk).update(level_name="Zilver",
                                                   level_multiplier=Decimal("1.25"))
    with time_machine.travel(TUESDAY_NOON, tick=False):
        purchase = services.purchase_record(shop=shop, amount="27.00",
                                            membership_id=member.pk)
    assert purchase.points_earned == 270 + 67 + 270
    purchase.refresh_from_db()
    assert purchase.earn_detail == {"base": 270, "parts": [
        {"source": "level", "name": "Zilver", "points": 67, "multiplier": "1.25"},
        {"source": "event", "name": "Dubbele punten-dinsdag", "points": 270,
         "multiplier": "2"}]}
    entry = LedgerEntry.objects.get(purchase=purchase)
    assert entry.points == 607
    member.refresh_from_db()
    assert member.points_balance == 607
    with time_machine.travel(TUESDAY_NOON + dt.timedelta(days=1), tick=False):  # Wednesday
        wednesday = services.purchase_record(shop=shop, amount="27.00",
                                             membership_id=member.pk)
    assert wednesday.points_earned == 270 + 67


@pytest.mark.django_db
@pytest.mark.parametrize(("event", "message"), [
    ({"kind": "extra", "value": 5}, "Event 1: give it a name of at most 60 characters."),
    ({"name": "X", "kind": "multiplier", "value": "1"},
     "Event 1: the multiplier must be above 1 and at most 10."),
    ({"name": "X", "kind": "multiplier", "value": "abc"},
     "Event 1: enter a multiplier such as 2 or 1.5."),
    ({"name": "X", "kind": "extra", "value": 0},
     "Event 1: enter the extra points as a whole number from 1 to 1,000,000."),
    ({"name": "X", "kind": "gift", "value": 1}, "Event 1: choose a multiplier or extra points."),
    ({"name": "X", "kind": "extra", "value": 1, "starts_on": "2026-12-05",
      "ends_on": "2026-12-01"}, "Event 1: the last day is before the first."),
    ({"name": "X", "kind": "extra", "value": 1, "weekdays": [7]},
     "Event 1: choose weekdays from Monday to Sunday."),
    ({"name": "X", "kind": "extra", "value": 1, "from_hour": 18, "to_hour": 16},
     "Event 1: the hours must end after they start."),
])
def test_a_bad_event_is_refused_with_what_to_fix_and_nothing_is_saved(shop, event, message):
    from django.core.exceptions import ValidationError

    from loyalty import services
    from loyalty.models import ProgramRules

    services.program_rules_current(shop=shop)  # version 1, the defaults
    before = ProgramRules.objects.filter(shop=shop).count()
    with pytest.raises(ValidationError) as refused:
        services.program_rules_update(shop=shop, by=None, bonus_events=[event])
    assert refused.value.message_dict["bonus_events"] == [message]
    assert ProgramRules.objects.filter(shop=shop).count() == before


@pytest.mark.django_db
def test_events_are_stored_in_one_shape(shop):
    from loyalty import services

    rules = services.program_rules_update(shop=shop, by=None, bonus_combine="best", bonus_events=[
        {"name": " Happy hour ", "kind": "multiplier", "value": "2.00", "weekdays": [4, 1, 1],
         "from_hour": 16, "to_hour": 18, "starts_on": "", "categories": [" Koffie "]},
        {"name": "Kerst", "kind": "extra", "value": "25", "starts_on": "2026-12-20",
         "ends_on": "2026-12-26"}])
    assert rules.bonus_combine == "best"
    assert rules.bonus_events == [
        {"name": "Happy hour", "kind": "multiplier", "value": "2", "weekdays": [1, 4],
         "from_hour": 16, "to_hour": 18, "categories": ["Koffie"]},
        {"name": "Kerst", "kind": "extra", "value": 25, "starts_on": "2026-12-20",
         "ends_on": "2026-12-26"}]
