"""The birthday job's mark (``Shop.birthdays_given_through``): a completed run remembers the
last local day it gave, so the next run looks only at the days after it — the hourly runs after
the day's first ask the members table nothing — while missed days are still caught up (7 days
back at most), new rules start over, and a window that lets a gift come earlier than the notice
days never uses it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.models import BirthdayGift, Shop
from tests.loyalty.test_services_birthdays import _gift_rules, _give, _member, _utc

pytestmark = pytest.mark.django_db


def mark_of(shop) -> dt.date | None:
    return Shop.objects.values_list("birthdays_given_through", flat=True).get(pk=shop.pk)


def member_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries
            if 'FROM "loyalty_membership"' in q["sql"]]


def test_a_completed_run_marks_its_day_and_the_next_run_that_day_asks_nothing(shop):
    _gift_rules(shop)  # Europe/Amsterdam, on the day
    _member(shop, dt.date(1990, 6, 15))
    assert _give(shop, _utc(2026, 6, 15, 5)).given == 1  # 07:00 in Amsterdam
    assert mark_of(shop) == dt.date(2026, 6, 15)
    with CaptureQueriesContext(connection) as captured:
        assert _give(shop, _utc(2026, 6, 15, 9)).due == 0
    assert member_queries(captured) == []


def test_before_six_the_mark_is_yesterday(shop):
    _gift_rules(shop)
    _give(shop, _utc(2026, 6, 15, 2))  # 04:00 in Amsterdam: up to yesterday
    assert mark_of(shop) == dt.date(2026, 6, 14)


def test_missed_days_after_the_mark_are_caught_up(shop):
    _gift_rules(shop)
    _give(shop, _utc(2026, 6, 10, 10))
    assert mark_of(shop) == dt.date(2026, 6, 10)
    for day in (10, 11, 12, 13):
        _member(shop, dt.date(1990, 6, day))
    # No run on the 11th and 12th: the run of the 13th gives the 11th, 12th and 13th (the
    # 10th's member was given on the 10th, the mark's day).
    run = _give(shop, _utc(2026, 6, 13, 10))
    assert run.given == 3
    assert sorted(BirthdayGift.objects.values_list("birthday__day", flat=True)) == [11, 12, 13]
    assert mark_of(shop) == dt.date(2026, 6, 13)


def test_an_old_mark_still_catches_up_seven_days_at_most(shop):
    _gift_rules(shop)
    _give(shop, _utc(2026, 6, 1, 10))
    for day in (5, 9, 20):
        _member(shop, dt.date(1990, 6, day))
    # On the 16th: the 9th is 7 days back (given), the 5th older (not), the 20th not yet due.
    assert _give(shop, _utc(2026, 6, 16, 10)).given == 1
    assert list(BirthdayGift.objects.values_list("birthday__day", flat=True)) == [9]
    assert _give(shop, _utc(2026, 6, 20, 10)).given == 1


def test_new_rules_clear_the_mark(shop):
    _gift_rules(shop)
    _give(shop, _utc(2026, 6, 15, 10))
    assert mark_of(shop) == dt.date(2026, 6, 15)
    _gift_rules(shop, window="before", days=3)
    assert mark_of(shop) is None
    # The new window makes the 17th's birthday due on the 14th: the next run, without a mark,
    # looks at the whole catch-up window and gives it.
    _member(shop, dt.date(1990, 6, 17))
    assert _give(shop, _utc(2026, 6, 15, 11)).given == 1


def test_a_month_window_never_uses_the_mark(shop, settings):
    """A gift on the 1st for a birthday on the 31st comes 30 days early, as long as the notice:
    a birthday entered later that day is still due the next day, so every run looks back."""
    settings.TROUW_BIRTHDAY_NOTICE_DAYS = 30
    _gift_rules(shop, window="month")
    _give(shop, _utc(2026, 7, 1, 10))
    assert mark_of(shop) is None
    _member(shop, dt.date(1990, 7, 31), set_at=_utc(2026, 7, 1, 12))
    assert _give(shop, _utc(2026, 7, 2, 10)).given == 1
