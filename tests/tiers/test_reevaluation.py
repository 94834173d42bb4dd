"""Re-evaluation: levels go down only on their date (1 January after the year a level holds
through, or the anniversary), after the grace days, one level or straight to the level earned;
once however often it runs; a manual level ends on its date."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from loyalty.models import Membership
from loyalty.services import purchase_record
from tiers import services, tasks
from tiers.models import ChangeReason, LevelChange, Tier, TierState

from .conftest import levels_set

pytestmark = pytest.mark.django_db
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")


def at(*args):
    return dt.datetime(*args, tzinfo=AMS)


def buy(shop, card, amount, when):
    with time_machine.travel(when, tick=False):
        return purchase_record(shop=shop, amount=amount, membership_id=card.pk)


def level(card) -> str:
    return Membership.objects.get(pk=card.pk).level_name


def reevaluate(shop, when):
    shop.refresh_from_db()
    return services.levels_reevaluate(shop=shop, now=when)


@pytest.fixture
def yearly(shop, member):
    with time_machine.travel(at(2026, 1, 2, 9), tick=False):
        levels_set(shop, period="year")
    buy(shop, member, "60.00", at(2026, 6, 1, 12))  # Zilver in 2026: holds through 2027
    return shop


def test_a_calendar_year_level_holds_through_next_year(yearly, member):
    assert TierState.objects.get(membership=member).holds_until == dt.date(2028, 1, 1)
    assert reevaluate(yearly, at(2027, 12, 31, 23, 59))["checked"] == 0
    assert level(member) == "Zilver"
    # The first minute of 2028 in Amsterdam: nothing earned in 2027, one level down.
    counts = reevaluate(yearly, at(2028, 1, 1, 0, 1))
    assert (counts["checked"], counts["down"]) == (1, 1)
    assert level(member) == "Brons"
    change = LevelChange.objects.filter(membership=member).first()
    assert (change.reason, change.from_name, change.to_name) == (ChangeReason.REEVALUATION,
                                                                 "Zilver", "Brons")
    # Run again the same day: nothing more.
    assert reevaluate(yearly, at(2028, 1, 1, 5))["checked"] == 0
    assert level(member) == "Brons"
    assert TierState.objects.get(membership=member).holds_until == dt.date(2029, 1, 1)


def test_qualifying_again_in_the_year_keeps_the_level(yearly, member):
    buy(yearly, member, "50.00", at(2027, 12, 31, 23, 30))  # 500 points in 2027, just in time
    counts = reevaluate(yearly, at(2028, 1, 1, 0, 1))
    assert counts["kept"] == 1
    assert level(member) == "Zilver"
    assert TierState.objects.get(membership=member).holds_until == dt.date(2029, 1, 1)


def test_short_of_the_threshold_goes_down(yearly, member):
    buy(yearly, member, "39.00", at(2027, 3, 1, 12))  # 390 + 97 for Zilver: 487 in 2027
    reevaluate(yearly, at(2028, 1, 1, 0, 1))
    assert level(member) == "Brons"


def test_straight_down_to_the_level_earned(shop, member):
    with time_machine.travel(at(2026, 1, 2, 9), tick=False):
        levels_set(shop, period="year", downgrade="straight")
    buy(shop, member, "100.00", at(2026, 6, 1, 12))  # Goud
    reevaluate(shop, at(2028, 1, 1, 0, 1))
    assert level(member) == ""
    assert TierState.objects.get(membership=member).tier is None


def test_grace_days_delay_the_step_down(shop, member):
    with time_machine.travel(at(2026, 1, 2, 9), tick=False):
        levels_set(shop, period="year", grace_days=10)
    buy(shop, member, "60.00", at(2026, 6, 1, 12))
    assert reevaluate(shop, at(2028, 1, 10, 23, 59))["checked"] == 0
    assert level(member) == "Zilver"
    reevaluate(shop, at(2028, 1, 11, 0, 1))
    assert level(member) == "Brons"


def test_a_rolling_level_is_measured_over_the_year_before_its_anniversary(shop, member):
    with time_machine.travel(at(2026, 1, 2, 9), tick=False):
        levels_set(shop, period="rolling")
    buy(shop, member, "60.00", at(2026, 3, 1, 10))  # Zilver; anniversary 1 March 2027
    buy(shop, member, "30.00", at(2026, 12, 1, 10))  # 300 + 75 for Zilver: 975, not Goud
    assert reevaluate(shop, at(2027, 2, 28, 23, 59))["checked"] == 0
    # On 1 March 2027 the window is 1 March 2026 – 28 February 2027: 975 points. Kept.
    assert reevaluate(shop, at(2027, 3, 1, 0, 1))["kept"] == 1
    assert level(member) == "Zilver"
    # A year later only nothing counts: one level down.
    assert reevaluate(shop, at(2028, 3, 1, 0, 1))["down"] == 1
    assert level(member) == "Brons"


def test_the_hourly_job_runs_each_shop_once_a_local_day(yearly, member):
    with time_machine.travel(at(2028, 1, 1, 0, 1), tick=False):
        assert tasks.levels_reevaluate_due.delay().get()["shops"] == 1
        assert tasks.levels_reevaluate_due.delay().get()["shops"] == 0
    assert level(member) == "Brons"
    assert LevelChange.objects.filter(reason=ChangeReason.REEVALUATION).count() == 1


# --- The owner's manual level -----------------------------------------------------------------


def test_a_manual_level_holds_until_its_end_and_then_goes_back(yearly, member, owner):
    goud = Tier.objects.get(shop=yearly, name="Goud")
    with time_machine.travel(at(2026, 7, 1, 12), tick=False):
        change = services.level_set_by_owner(
            shop=yearly, membership_id=member.pk, tier_id=goud.pk, reason="Our best customer",
            until=dt.date(2026, 12, 31), by=owner)
    assert (change.reason, change.note, change.by) == (ChangeReason.OWNER, "Our best customer",
                                                       owner)
    assert level(member) == "Goud"
    assert reevaluate(yearly, at(2026, 12, 30, 12))["checked"] == 0
    counts = reevaluate(yearly, at(2026, 12, 31, 0, 1))
    assert counts["manual_ended"] == 1
    assert level(member) == "Zilver"  # what the card earns in 2026
    state = TierState.objects.get(membership=member)
    assert (state.override_reason, state.override_until) == ("", None)


@pytest.mark.parametrize(("reason", "until", "message"), [
    ("", dt.date(2027, 1, 1), "Say why you set this level."),
    ("VIP", None, "Choose until when the level holds."),
    ("VIP", dt.date(2026, 7, 1), "The end date must be after today."),
    ("VIP", dt.date(2032, 1, 1), "at most five years away"),
])
def test_a_manual_level_needs_a_reason_and_an_end(yearly, member, reason, until, message):
    with time_machine.travel(at(2026, 7, 1, 12), tick=False), pytest.raises(
            ValidationError) as refused:
        services.level_set_by_owner(shop=yearly, membership_id=member.pk, tier_id=None,
                                    reason=reason, until=until, by=None)
    assert message in " ".join(refused.value.messages)
    assert level(member) == "Zilver"


def test_a_manual_level_of_another_shop_is_refused(yearly, member, other_shop):
    levels_set(other_shop)
    theirs = Tier.objects.for_shop(other_shop).first()
    with pytest.raises(ValidationError):
        services.level_set_by_owner(shop=yearly, membership_id=member.pk, tier_id=theirs.pk,
                                    reason="x", until=dt.date.today() + dt.timedelta(days=9),
                                    by=None)
    assert level(member) == "Zilver"
