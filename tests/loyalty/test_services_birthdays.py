"""Birthday gifts (loyalty/services/birthdays.py) on a frozen clock: the shop's own time zone
around local midnight, 06:00 and both clock-change days; Feb 29; the notice days; the 7-day
catch-up; each window; twice run = once given; the card's maximum balance."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from loyalty import selectors, services, tasks
from loyalty.models import (
    BirthdayGift,
    EntryKind,
    LedgerEntry,
    Membership,
    OutboxMessage,
    PointLot,
)
from loyalty.points import MAX_BALANCE
from loyalty.services import birthdays
from tests.conftest import require_service
from tests.factories import MembershipFactory, ShopFactory

UTC = dt.UTC
pytestmark = pytest.mark.django_db


def _utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def _gift_rules(shop, points=250, window="day", days=0, **more):
    return services.program_rules_update(shop=shop, by=None, birthday_points=points,
                                         birthday_window=window, birthday_days_before=days,
                                         **more)


def _member(shop, birthday, set_at=None, **kwargs) -> Membership:
    return MembershipFactory(shop=shop, birthday=birthday, birthday_set_at=set_at, **kwargs)


def _give(shop, at: dt.datetime, **kwargs):
    with time_machine.travel(at, tick=False):
        shop.refresh_from_db()
        return services.birthday_gifts_give(shop=shop, **kwargs)


def _clean():
    assert selectors.ledger_mismatches() == []


# --- the calendar --------------------------------------------------------------------------


def test_feb_29_is_celebrated_on_feb_28_in_other_years():
    born = dt.date(2000, 2, 29)
    assert services.birthday_in_year(born, 2028) == dt.date(2028, 2, 29)
    assert services.birthday_in_year(born, 2027) == dt.date(2027, 2, 28)
    assert services.birthday_in_year(dt.date(1990, 3, 1), 2027) == dt.date(2027, 3, 1)


@pytest.mark.parametrize(("window", "days", "expected"), [
    ("day", 0, dt.date(2026, 6, 18)),
    ("before", 7, dt.date(2026, 6, 11)),
    ("week", 0, dt.date(2026, 6, 15)),  # 18 June 2026 is a Thursday; its Monday
    ("month", 0, dt.date(2026, 6, 1)),
])
def test_each_window_has_its_gift_day(shop, window, days, expected):
    rules = _gift_rules(shop, window=window, days=days)
    assert services.birthday_gift_date(rules=rules, celebrated=dt.date(2026, 6, 18)) == expected


# --- the shop's clock ----------------------------------------------------------------------

# (time zone, birthday this year, the last UTC minute before 06:00 local, 06:00 local in UTC)
SIX_OCLOCK = [
    ("Europe/Amsterdam", dt.date(2026, 6, 15), _utc(2026, 6, 15, 3, 59), _utc(2026, 6, 15, 4)),
    ("Europe/Stockholm", dt.date(2026, 1, 15), _utc(2026, 1, 15, 4, 59), _utc(2026, 1, 15, 5)),
    ("Pacific/Auckland", dt.date(2026, 6, 15), _utc(2026, 6, 14, 17, 59), _utc(2026, 6, 14, 18)),
    ("America/Los_Angeles", dt.date(2026, 6, 15), _utc(2026, 6, 15, 12, 59),
     _utc(2026, 6, 15, 13)),
    # Both clock-change days of each zone.
    ("Europe/Amsterdam", dt.date(2026, 3, 29), _utc(2026, 3, 29, 3, 59), _utc(2026, 3, 29, 4)),
    ("Europe/Amsterdam", dt.date(2026, 10, 25), _utc(2026, 10, 25, 4, 59),
     _utc(2026, 10, 25, 5)),
    ("Europe/Stockholm", dt.date(2026, 3, 29), _utc(2026, 3, 29, 3, 59), _utc(2026, 3, 29, 4)),
    ("Europe/Stockholm", dt.date(2026, 10, 25), _utc(2026, 10, 25, 4, 59),
     _utc(2026, 10, 25, 5)),
    ("Pacific/Auckland", dt.date(2026, 4, 5), _utc(2026, 4, 4, 17, 59), _utc(2026, 4, 4, 18)),
    ("Pacific/Auckland", dt.date(2026, 9, 27), _utc(2026, 9, 26, 16, 59),
     _utc(2026, 9, 26, 17)),
    ("America/Los_Angeles", dt.date(2026, 3, 8), _utc(2026, 3, 8, 12, 59), _utc(2026, 3, 8, 13)),
    ("America/Los_Angeles", dt.date(2026, 11, 1), _utc(2026, 11, 1, 13, 59),
     _utc(2026, 11, 1, 14)),
]


@pytest.mark.parametrize(("zone", "birthday", "before", "six"), SIX_OCLOCK)
def test_the_gift_comes_at_six_on_the_shops_clock(zone, birthday, before, six):
    # The table itself is checked against the time-zone database.
    local = zoneinfo.ZoneInfo(zone)
    assert before.astimezone(local).strftime("%H:%M") == "05:59"
    assert six.astimezone(local).strftime("%H:%M") == "06:00"
    assert six.astimezone(local).date() == birthday
    shop = ShopFactory(time_zone=zone)
    _gift_rules(shop)
    member = _member(shop, birthday.replace(year=1990))
    assert _give(shop, before).given == 0
    assert not BirthdayGift.objects.exists()
    run = _give(shop, six)
    assert (run.given, run.local_date) == (1, birthday)
    gift = BirthdayGift.objects.get()
    assert (gift.membership_id, gift.year, gift.birthday, gift.points) == (
        member.pk, birthday.year, birthday, 250)
    member.refresh_from_db()
    assert member.points_balance == 250
    _clean()


@pytest.mark.parametrize(("zone", "before_midnight", "after_midnight"), [
    # 23:59 on 14 June local (the gift is for 15 June) and 00:00–05:59 of 15 June.
    ("Europe/Amsterdam", _utc(2026, 6, 14, 21, 59), _utc(2026, 6, 15, 3, 0)),
    ("Europe/Stockholm", _utc(2026, 6, 14, 21, 59), _utc(2026, 6, 14, 22, 0)),
    ("Pacific/Auckland", _utc(2026, 6, 14, 11, 59), _utc(2026, 6, 14, 12, 0)),
    ("America/Los_Angeles", _utc(2026, 6, 15, 6, 59), _utc(2026, 6, 15, 7, 0)),
])
def test_nothing_around_local_midnight_before_six(zone, before_midnight, after_midnight):
    local = zoneinfo.ZoneInfo(zone)
    assert before_midnight.astimezone(local).strftime("%d %H:%M") == "14 23:59"
    assert after_midnight.astimezone(local).strftime("%d") == "15"
    assert after_midnight.astimezone(local).hour < 6
    shop = ShopFactory(time_zone=zone)
    _gift_rules(shop)
    _member(shop, dt.date(1985, 6, 15))
    assert _give(shop, before_midnight).given == 0
    assert _give(shop, after_midnight).given == 0
    assert not BirthdayGift.objects.exists()


def test_a_shop_in_another_zone_is_not_given_by_the_hour_of_amsterdam():
    amsterdam = ShopFactory(time_zone="Europe/Amsterdam")
    la = ShopFactory(time_zone="America/Los_Angeles")
    for shop in (amsterdam, la):
        _gift_rules(shop)
        _member(shop, dt.date(1990, 6, 15))
    # 06:00 in Amsterdam is 21:00 on 14 June in Los Angeles: only Amsterdam gives.
    with time_machine.travel(_utc(2026, 6, 15, 4), tick=False):
        assert tasks.birthdays_give.delay().get() == 1
    assert list(BirthdayGift.objects.values_list("shop_id", flat=True)) == [amsterdam.pk]
    with time_machine.travel(_utc(2026, 6, 15, 13), tick=False):
        assert tasks.birthdays_give.delay().get() == 1  # LA now; Amsterdam's is given
    assert BirthdayGift.objects.count() == 2


# --- Feb 29 ----------------------------------------------------------------------------------


def test_feb_29_in_a_year_without_it_gets_the_gift_on_feb_28(shop):
    _gift_rules(shop)
    member = _member(shop, dt.date(2000, 2, 29))
    assert _give(shop, _utc(2027, 2, 27, 12)).given == 0
    assert _give(shop, _utc(2027, 2, 28, 5)).given == 1  # 06:00 in Amsterdam
    gift = BirthdayGift.objects.get()
    assert (gift.year, gift.birthday) == (2027, dt.date(2027, 2, 28))
    assert _give(shop, _utc(2027, 3, 1, 12)).given == 0
    assert member.birthday_gifts.count() == 1


def test_feb_29_in_a_leap_year_gets_the_gift_on_feb_29(shop):
    _gift_rules(shop)
    _member(shop, dt.date(2000, 2, 29))
    born_28 = _member(shop, dt.date(2001, 2, 28))
    run = _give(shop, _utc(2028, 2, 28, 12))
    assert run.given == 1 and BirthdayGift.objects.get().membership_id == born_28.pk
    assert _give(shop, _utc(2028, 2, 29, 12)).given == 1
    assert BirthdayGift.objects.get(birthday=dt.date(2028, 2, 29)).year == 2028


# --- the notice days and the 365 days --------------------------------------------------------


def test_a_birthday_entered_29_days_before_counts_from_next_year(shop, settings):
    settings.TROUW_BIRTHDAY_NOTICE_DAYS = 30
    _gift_rules(shop)
    late = _member(shop, dt.date(1990, 6, 30), set_at=_utc(2026, 6, 1, 10))  # 29 days
    early = _member(shop, dt.date(1991, 6, 30), set_at=_utc(2026, 5, 31, 10))  # 30 days
    assert services.birthday_counts_from(shop=shop, birthday=late.birthday,
                                         set_at=late.birthday_set_at) == dt.date(2027, 6, 30)
    assert services.birthday_counts_from(shop=shop, birthday=early.birthday,
                                         set_at=early.birthday_set_at) == dt.date(2026, 6, 30)
    _give(shop, _utc(2026, 6, 30, 12))
    assert list(BirthdayGift.objects.values_list("membership_id", flat=True)) == [early.pk]
    _give(shop, _utc(2027, 6, 30, 12))
    assert late.birthday_gifts.get().year == 2027


def test_the_notice_days_are_the_shops_local_days(settings):
    settings.TROUW_BIRTHDAY_NOTICE_DAYS = 30
    shop = ShopFactory(time_zone="Pacific/Auckland")
    _gift_rules(shop)
    # 31 May 13:00 UTC is 1 June 01:00 in Auckland: 29 local days before 30 June.
    member = _member(shop, dt.date(1990, 6, 30), set_at=_utc(2026, 5, 31, 13))
    assert _give(shop, _utc(2026, 6, 30, 0)).given == 0
    assert not member.birthday_gifts.exists()


def test_a_changed_birthday_earns_no_second_gift_within_365_days(shop, settings):
    settings.TROUW_BIRTHDAY_NOTICE_DAYS = 30
    _gift_rules(shop)
    member = _member(shop, dt.date(1990, 11, 20))
    assert _give(shop, _utc(2025, 11, 20, 12)).given == 1
    # Changed on 1 December to 10 February, well over 30 days before: 10 February 2026 is a
    # new year but only 82 days after the last gift.
    Membership.objects.filter(pk=member.pk).update(birthday=dt.date(1990, 2, 10),
                                                   birthday_set_at=_utc(2025, 12, 1, 9))
    assert _give(shop, _utc(2026, 2, 10, 12)).given == 0
    assert _give(shop, _utc(2027, 2, 10, 12)).given == 1
    assert sorted(member.birthday_gifts.values_list("year", flat=True)) == [2025, 2027]


def test_an_unchanged_birthday_is_given_every_year(shop):
    _gift_rules(shop, window="month")
    member = _member(shop, dt.date(1990, 3, 1))
    for year in (2026, 2027, 2028):
        # The 1st of March is exactly 365 (or 366) days after the last one.
        assert _give(shop, _utc(year, 3, 1, 5, 30)).given == 1
    assert member.birthday_gifts.count() == 3


# --- catch-up --------------------------------------------------------------------------------


def test_a_run_after_missed_days_gives_up_to_7_days_back_and_no_older(shop):
    _gift_rules(shop)
    today = dt.date(2026, 6, 20)
    members = {back: _member(shop, (today - dt.timedelta(days=back)).replace(year=1990))
               for back in range(11)}
    run = _give(shop, _utc(2026, 6, 20, 12))
    given = set(BirthdayGift.objects.values_list("membership_id", flat=True))
    assert given == {members[back].pk for back in range(8)}
    assert run.given == 8
    assert _give(shop, _utc(2026, 6, 20, 13)).given == 0


def test_before_six_the_catch_up_stops_at_yesterday(shop):
    _gift_rules(shop)
    yesterday = _member(shop, dt.date(1990, 6, 19))
    _member(shop, dt.date(1990, 6, 20))
    _give(shop, _utc(2026, 6, 20, 2))  # 04:00 in Amsterdam
    assert list(BirthdayGift.objects.values_list("membership_id", flat=True)) == [yesterday.pk]


# --- windows -------------------------------------------------------------------------------


def test_days_before_gives_n_days_ahead(shop):
    _gift_rules(shop, window="before", days=7)
    in_7 = _member(shop, dt.date(1990, 6, 22))
    _member(shop, dt.date(1990, 6, 23))
    _member(shop, dt.date(1990, 6, 14))  # its gift was due 7 June: 8 days back
    _give(shop, _utc(2026, 6, 15, 12))
    assert list(BirthdayGift.objects.values_list("membership_id", "birthday")) == [
        (in_7.pk, dt.date(2026, 6, 22))]


def test_days_before_a_january_birthday_is_next_years_gift(shop):
    _gift_rules(shop, window="before", days=7)
    member = _member(shop, dt.date(1990, 1, 3))
    _give(shop, _utc(2026, 12, 27, 12))
    assert member.birthday_gifts.get().year == 2027
    assert _give(shop, _utc(2027, 1, 3, 12)).given == 0


def test_the_birthday_week_is_given_on_its_monday(shop):
    _gift_rules(shop, window="week")
    week = [_member(shop, dt.date(1990, 6, day)) for day in range(15, 22)]  # Mon–Sun
    _member(shop, dt.date(1990, 6, 22))  # next Monday
    _give(shop, _utc(2026, 6, 15, 12))
    assert set(BirthdayGift.objects.values_list("membership_id", flat=True)) == {
        m.pk for m in week}


def test_the_birthday_month_is_given_on_its_first_day(shop):
    _gift_rules(shop, window="month")
    june = [_member(shop, dt.date(1990, 6, day)) for day in (1, 15, 30)]
    _member(shop, dt.date(1990, 7, 1))
    _member(shop, dt.date(1990, 5, 31))  # its month was given on 1 May
    _give(shop, _utc(2026, 6, 1, 12))
    assert set(BirthdayGift.objects.values_list("membership_id", flat=True)) == {
        m.pk for m in june}


# --- once, batches, the cap ------------------------------------------------------------------


def test_twice_run_is_once_given(shop):
    _gift_rules(shop)
    members = [_member(shop, dt.date(1990, 6, 15)) for _ in range(5)]
    first = _give(shop, _utc(2026, 6, 15, 12), batch_size=2)
    second = _give(shop, _utc(2026, 6, 15, 12), batch_size=2)
    assert (first.given, second.given) == (5, 0)
    assert LedgerEntry.objects.filter(kind=EntryKind.BIRTHDAY).count() == 5
    for member in members:
        member.refresh_from_db()
        assert member.points_balance == 250
    _clean()


def test_the_database_refuses_a_second_gift_of_the_same_year(shop):
    member = _member(shop, dt.date(1990, 6, 15))
    BirthdayGift.objects.create(shop=shop, membership=member, year=2026,
                                birthday=dt.date(2026, 6, 15))
    from django.db import IntegrityError, transaction
    with pytest.raises(IntegrityError), transaction.atomic():
        BirthdayGift.objects.create(shop=shop, membership=member, year=2026,
                                    birthday=dt.date(2026, 6, 15))


def test_a_batch_that_fails_half_way_leaves_nothing_and_the_next_run_completes(shop, settings):
    _gift_rules(shop)
    members = [_member(shop, dt.date(1990, 6, 15)) for _ in range(5)]
    calls = []

    def fail_on_the_second_batch(*, shop, gifts):
        calls.append(len(gifts))
        if len(calls) == 2:
            raise RuntimeError("worker killed")

    settings.TROUW_EFFECTS = {**settings.TROUW_EFFECTS, "birthday": [
        f"{__name__}._effect_proxy"]}
    _EFFECT[0] = fail_on_the_second_batch
    with pytest.raises(RuntimeError):
        _give(shop, _utc(2026, 6, 15, 12), batch_size=2)
    assert BirthdayGift.objects.count() == 2  # the first batch committed, the second not
    assert LedgerEntry.objects.filter(kind=EntryKind.BIRTHDAY).count() == 2
    _clean()
    _EFFECT[0] = lambda **kwargs: None
    assert _give(shop, _utc(2026, 6, 15, 12), batch_size=2).given == 3
    assert {g.membership_id for g in BirthdayGift.objects.all()} == {m.pk for m in members}
    _clean()


_EFFECT = [lambda **kwargs: None]


def _effect_proxy(**kwargs):
    _EFFECT[0](**kwargs)


def test_the_moment_gets_the_batch_after_its_points(shop, settings):
    _gift_rules(shop)
    member = _member(shop, dt.date(1990, 6, 15))
    seen = []

    def record(*, shop, gifts):
        seen.append((shop.pk, [(g.membership_id, g.points, g.entry.points,
                                g.membership.points_balance) for g in gifts]))

    settings.TROUW_EFFECTS = {**settings.TROUW_EFFECTS,
                              "birthday": [f"{__name__}._effect_proxy"]}
    _EFFECT[0] = record
    try:
        _give(shop, _utc(2026, 6, 15, 12))
    finally:
        _EFFECT[0] = lambda **kwargs: None
    assert seen == [(shop.pk, [(member.pk, 250, 250, 250)])]


def test_the_cap_gives_what_still_fits_on_a_card(shop):
    _gift_rules(shop)
    almost_full = _member(shop, dt.date(1990, 6, 15))
    full = _member(shop, dt.date(1991, 6, 15))
    services.points_credit(shop=shop, membership_id=almost_full.pk, points=MAX_BALANCE - 100,
                           kind=EntryKind.ADJUSTMENT)
    services.points_credit(shop=shop, membership_id=full.pk, points=MAX_BALANCE,
                           kind=EntryKind.ADJUSTMENT)
    _give(shop, _utc(2026, 6, 15, 12))
    almost_full.refresh_from_db()
    full.refresh_from_db()
    assert almost_full.points_balance == MAX_BALANCE
    assert full.points_balance == MAX_BALANCE
    gifts = {g.membership_id: g for g in BirthdayGift.objects.all()}
    assert gifts[almost_full.pk].points == 100 and gifts[almost_full.pk].entry.points == 100
    assert gifts[full.pk].points == 0 and gifts[full.pk].entry is None  # the year is used
    _clean()


def test_the_entry_and_lot_are_written_with_the_rules_expiry_terms(shop):
    _gift_rules(shop, expiry_policy="earned", expiry_months=12)
    member = _member(shop, dt.date(1990, 6, 15))
    _give(shop, _utc(2026, 6, 15, 12))
    gift = BirthdayGift.objects.get()
    assert (gift.entry.kind, gift.entry.points, gift.entry.membership_id) == (
        EntryKind.BIRTHDAY, 250, member.pk)
    lot = PointLot.objects.get(entry=gift.entry)
    assert (lot.points, lot.remaining) == (250, 250)
    assert lot.available_at == _utc(2026, 6, 15, 12)
    # The start of the shop's local day 12 months on (lot_terms, as every lot): 00:00 in
    # Amsterdam on 15 June 2027.
    assert lot.expires_at == _utc(2027, 6, 14, 22)
    assert lot.inactivity_months is None


def test_inactivity_expiry_is_stored_on_the_lot(shop):
    _gift_rules(shop, expiry_policy="inactive", expiry_months=6)
    _member(shop, dt.date(1990, 6, 15))
    _give(shop, _utc(2026, 6, 15, 12))
    lot = PointLot.objects.get()
    assert (lot.expires_at, lot.inactivity_months) == (None, 6)


def test_no_gift_no_job(shop):
    _gift_rules(shop, points=0)
    _member(shop, dt.date(1990, 6, 15))
    assert _give(shop, _utc(2026, 6, 15, 12)).given == 0
    assert not BirthdayGift.objects.exists()


def test_only_the_shops_own_members(shop, other_shop):
    _gift_rules(shop)
    _member(other_shop, dt.date(1990, 6, 15))
    mine = _member(shop, dt.date(1990, 6, 15))
    _give(shop, _utc(2026, 6, 15, 12))
    assert list(BirthdayGift.objects.values_list("membership_id", flat=True)) == [mine.pk]


# --- the e-mail ------------------------------------------------------------------------------


def test_the_birthday_email_only_with_consent(shop):
    _gift_rules(shop)
    yes = _member(shop, dt.date(1990, 6, 15), marketing_consent=True, language="nl")
    _member(shop, dt.date(1990, 6, 15), marketing_consent=False)
    run = _give(shop, _utc(2026, 6, 15, 12))
    assert run.given == 2 and run.emails == 1
    message = OutboxMessage.objects.get()
    assert (message.kind, message.key, message.to, message.membership_id, message.language) == (
        "birthday", f"birthday:{yes.card_number}:2026", yes.email, yes.pk, "nl")
    assert message.context["points"] == 250


def test_the_birthday_email_says_the_points_and_the_voucher(shop):
    from loyalty import emails

    member = _member(shop, dt.date(1990, 6, 15), marketing_consent=True, name="Sanne")
    message = OutboxMessage.objects.create(
        shop=shop, membership=member, kind="birthday", key="k", to=member.email,
        language="en", context={"points": 1250, "extras": [
            {"kind": "voucher", "name": "A free coffee", "code": "ABCD-EFGH"}]})
    email = emails.birthday(message)
    assert email.subject == f"Happy birthday from {shop.name}!"
    for part in (email.text, email.html):
        assert "1,250" in part
        assert "A free coffee" in part and "ABCD-EFGH" in part
        assert f"/portal/{shop.slug}/" in part
    assert "<style" not in email.html  # inlined
    assert "stamp" not in email.text
    # One unsubscribe line in the text part (compose adds it to every marketing e-mail).
    assert email.text.count("/unsubscribe/") == 1
    assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    message.membership = None
    assert emails.birthday(message) is None


def test_the_birthday_email_of_a_stamp_shop_says_stamps(shop):
    from loyalty import emails

    services.program_rules_update(shop=shop, by=None, program="stamps", stamp_minimum="3.00",
                                  stamps_per_card=10, stamp_reward="a free coffee")
    member = _member(shop, dt.date(1990, 6, 15), marketing_consent=True, name="Sanne")
    message = OutboxMessage.objects.create(
        shop=shop, membership=member, kind="birthday", key="k", to=member.email,
        language="en", context={"points": 2})
    email = emails.birthday(message)
    assert "2 stamps are on your card." in email.text
    assert "+2 stamps" in email.html
    assert "points" not in email.text


# --- task, command, index ----------------------------------------------------------------


def test_the_task_takes_a_shop_id(shop, other_shop):
    for s in (shop, other_shop):
        _gift_rules(s)
        _member(s, dt.date(1990, 6, 15))
    with time_machine.travel(_utc(2026, 6, 15, 12), tick=False):
        assert tasks.birthdays_give.delay(shop.pk).get() == 1
        assert tasks.birthdays_give.delay(shop.pk).get() == 0
    assert list(BirthdayGift.objects.values_list("shop_id", flat=True)) == [shop.pk]


def test_the_beat_runs_the_task_hourly():
    from loyalty.celery import app

    entry = app.conf.beat_schedule["give-birthday-gifts"]
    assert entry["task"] == "loyalty.tasks.birthdays_give"
    assert entry["schedule"].hour == set(range(24)) and entry["schedule"].minute == {0}


def test_the_command_gives_and_tells(shop, capsys):
    _gift_rules(shop)
    _member(shop, dt.date(1990, 6, 15))
    with time_machine.travel(_utc(2026, 6, 15, 12), tick=False):
        call_command("birthdays_give", "--shop", shop.slug)
        call_command("birthdays_give", "--shop", shop.slug)
    out = capsys.readouterr().out
    assert "1 gifts given" in out and "0 gifts given" in out
    with pytest.raises(Exception, match="No shop"):
        call_command("birthdays_give", "--shop", "nope")


def test_the_days_birthdays_use_the_birthday_index(shop):
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL), for EXPLAIN")
    rules = _gift_rules(shop)
    query = (Membership.objects.filter(shop=shop, birthday__isnull=False,
                                       birthday__month=6, birthday__day__in=[15]))
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        plan = query.explain()
        cursor.execute("SET enable_seqscan = on")
    assert "membership_birthday_idx" in plan, plan
    assert birthdays.birthdays_due(shop=shop, rules=rules, through=dt.date(2026, 6, 15)) == []


def test_the_owners_sentence(shop):
    assert services.birthday_gift_sentence(shop=shop) == "Members get no birthday gift."
    _gift_rules(shop, window="before", days=7)
    assert services.birthday_gift_sentence(shop=shop) == (
        "Members get 250 points from 7 days before their birthday, from 06:00.")
    _gift_rules(shop, window="week")
    assert services.birthday_gift_sentence(shop=shop) == (
        "Members get 250 points on the Monday of their birthday week, from 06:00.")
    _gift_rules(shop, window="month", points=1)
    assert services.birthday_gift_sentence(shop=shop) == (
        "Members get 1 point on the first day of their birthday month, from 06:00.")
