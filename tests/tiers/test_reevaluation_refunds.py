"""A refund after the purchase's pending window leaves the level it raised at once, and counts at
re-evaluation: on the anniversary the card, below the threshold net of the refund, goes down
(one level, or straight to the level earned); without the refund it keeps its level."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from loyalty.models import Purchase, Refund
from loyalty.services import program_rules_update, purchase_refund
from tiers import selectors
from tiers.models import ChangeReason, LevelChange, TierState

from .conftest import levels_set
from .test_reevaluation import AMS, at, buy, level, reevaluate

pytestmark = pytest.mark.django_db

# Per measure: the purchase that reaches Goud (1,000 points, or 1,000.00 spent) and the partial
# refund that leaves 300 net — Brons's threshold is 100 and Zilver's 500.
SIZES = {"points": ("100.00", "70.00", Decimal("300")),
         "amount": ("1000.00", "700.00", Decimal("300.00"))}
RAISED_AT = at(2026, 3, 1, 10)  # a rolling level: its anniversary is 1 March 2027
REFUNDED_AT = at(2026, 3, 20, 12)  # after the 14 pending days (15 March, 10:00)


def rolling_with_pending_window(shop, *, measure, downgrade):
    with time_machine.travel(at(2026, 1, 2, 9), tick=False):
        levels_set(shop, measure=measure, period="rolling", downgrade=downgrade)
        program_rules_update(shop=shop, by=None, pending_days=14)


def measure_now(card, shop, measure, when):
    return selectors.membership_measure(
        membership=card, shop=shop, measure=measure,
        start=selectors.period_start(period="rolling", now=when, zone=AMS))


@pytest.mark.parametrize(("downgrade", "after"), [("one", "Zilver"), ("straight", "Brons")])
@pytest.mark.parametrize("measure", sorted(SIZES))
def test_a_refund_after_the_pending_window_counts_at_the_reevaluation(shop, member, measure,
                                                                      downgrade, after):
    rolling_with_pending_window(shop, measure=measure, downgrade=downgrade)
    amount, refunded, net = SIZES[measure]
    raising = buy(shop, member, amount, RAISED_AT)
    assert level(member) == "Goud"
    assert TierState.objects.get(membership=member).holds_until == dt.date(2027, 3, 1)
    assert Purchase.objects.get(pk=raising.pk).points_available_at < REFUNDED_AT

    with time_machine.travel(REFUNDED_AT, tick=False):
        refund = purchase_refund(shop=shop, purchase_id=raising.pk, amount=refunded)
    # Outside the pending window: the level stays for now, and the log says nothing of it.
    assert level(member) == "Goud"
    assert not LevelChange.objects.filter(membership=member,
                                          reason=ChangeReason.REFUND).exists()
    assert not LevelChange.objects.filter(refund=refund).exists()
    assert list(LevelChange.objects.filter(membership=member).values_list(
        "reason", "to_name")) == [(ChangeReason.PURCHASE, "Goud")]
    assert measure_now(member, shop, measure, REFUNDED_AT) == net  # the refund is counted
    assert Refund.objects.get(pk=refund.pk).created_at == REFUNDED_AT

    # The day before the anniversary: nothing is due yet.
    assert reevaluate(shop, at(2027, 2, 28, 23, 59))["checked"] == 0
    assert level(member) == "Goud"
    # On the anniversary the window (1 March 2026 – 28 February 2027) holds 300 net: Brons.
    counts = reevaluate(shop, at(2027, 3, 1, 0, 1))
    assert (counts["checked"], counts["down"], counts["kept"]) == (1, 1, 0)
    assert level(member) == after
    change = LevelChange.objects.filter(membership=member).order_by("-pk").first()
    assert (change.reason, change.from_name, change.to_name, change.refund_id) == (
        ChangeReason.REEVALUATION, "Goud", after, None)
    assert TierState.objects.get(membership=member).holds_until == dt.date(2028, 3, 1)
    assert reevaluate(shop, at(2027, 3, 1, 5))["checked"] == 0  # once that day
    assert level(member) == after


def test_one_level_at_a_time_goes_on_down_at_the_next_anniversary(shop, member):
    rolling_with_pending_window(shop, measure="points", downgrade="one")
    raising = buy(shop, member, "100.00", RAISED_AT)
    with time_machine.travel(REFUNDED_AT, tick=False):
        purchase_refund(shop=shop, purchase_id=raising.pk, amount="70.00")
    reevaluate(shop, at(2027, 3, 1, 0, 1))
    assert level(member) == "Zilver"
    # A year with nothing bought: one more step, to Brons (not straight to no level).
    assert reevaluate(shop, at(2028, 3, 1, 0, 1))["down"] == 1
    assert level(member) == "Brons"
    assert list(LevelChange.objects.filter(membership=member).order_by("pk").values_list(
        "reason", "from_name", "to_name")) == [
        (ChangeReason.PURCHASE, "", "Goud"),
        (ChangeReason.REEVALUATION, "Goud", "Zilver"),
        (ChangeReason.REEVALUATION, "Zilver", "Brons"),
    ]


@pytest.mark.parametrize("downgrade", ["one", "straight"])
@pytest.mark.parametrize("measure", sorted(SIZES))
def test_without_the_refund_the_level_is_kept_at_the_reevaluation(shop, member, measure,
                                                                  downgrade):
    rolling_with_pending_window(shop, measure=measure, downgrade=downgrade)
    buy(shop, member, SIZES[measure][0], RAISED_AT)
    assert level(member) == "Goud"
    counts = reevaluate(shop, at(2027, 3, 1, 0, 1))
    assert (counts["checked"], counts["down"], counts["kept"]) == (1, 0, 1)
    assert level(member) == "Goud"
    assert not LevelChange.objects.filter(membership=member,
                                          reason=ChangeReason.REEVALUATION).exists()
    assert TierState.objects.get(membership=member).holds_until == dt.date(2028, 3, 1)


@pytest.mark.parametrize("measure", sorted(SIZES))
def test_a_refund_that_still_leaves_the_threshold_keeps_the_level(shop, member, measure):
    """Net of a refund after the window exactly at Goud's threshold: the level is kept."""
    rolling_with_pending_window(shop, measure=measure, downgrade="straight")
    amount, partial = {"points": ("110.00", "10.00"), "amount": ("1100.00", "100.00")}[measure]
    raising = buy(shop, member, amount, RAISED_AT)
    with time_machine.travel(REFUNDED_AT, tick=False):
        purchase_refund(shop=shop, purchase_id=raising.pk, amount=partial)
    assert measure_now(member, shop, measure, REFUNDED_AT) == 1000
    assert reevaluate(shop, at(2027, 3, 1, 0, 1))["kept"] == 1
    assert level(member) == "Goud"
