"""Levels decided at the purchase, taken back by a refund in the pending window, once per
purchase; every threshold exactly and one point or cent below; periods on the shop's clock."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from loyalty.models import EntryKind, Membership, Refund
from loyalty.services import (
    DuplicateRequest,
    points_adjust,
    points_credit,
    program_rules_update,
    purchase_record,
    purchase_refund,
    purchase_undo,
)
from tests.factories import MembershipFactory
from tiers import selectors, services
from tiers.models import ChangeReason, LevelChange, TierState

from .conftest import THREE, levels_set, reached

pytestmark = pytest.mark.django_db
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")


def buy(shop, card, amount, **kwargs):
    return purchase_record(shop=shop, amount=amount, membership_id=card.pk, **kwargs)


def level_of(card) -> tuple:
    card = Membership.objects.get(pk=card.pk)
    return card.level_name, card.level_rank, card.level_multiplier


def test_exactly_at_a_threshold_counts_one_point_below_does_not(levels, member):
    buy(levels, member, "9.99")  # 90 points (cents are rounded down)
    points_credit(shop=levels, membership_id=member.pk, points=9, kind=EntryKind.BONUS)
    first = buy(levels, member, "0.50")  # no points; 99 counted: one below
    assert level_of(member) == ("", 0, Decimal("1.00"))
    assert first.news == []
    points_credit(shop=levels, membership_id=member.pk, points=1, kind=EntryKind.BONUS)
    second = buy(levels, member, "0.50")  # 100 counted: Brons
    assert level_of(member) == ("Brons", 1, Decimal("1.00"))
    assert second.news == [{"kind": "level_up", "text": reached("Brons", levels),
                            "colour": "#cd7f32"}]
    # The answer is current: the purchase's card holds the new level in memory.
    assert second.membership.level_name == "Brons"
    change = LevelChange.objects.get(membership=member)
    assert (change.reason, change.purchase_id, change.from_name, change.to_name) == (
        ChangeReason.PURCHASE, second.pk, "", "Brons")


def test_one_purchase_may_climb_several_levels_and_the_next_earns_the_multiplier(levels,
                                                                                  member):
    buy(levels, member, "100.00")  # 1,000 points
    assert level_of(member) == ("Goud", 3, Decimal("1.50"))
    state = TierState.objects.get(membership=member)
    assert state.tier.name == "Goud"
    following = buy(levels, member, "10.00")
    assert following.points_earned == 150
    assert following.earn_detail["parts"] == [{"source": "level", "name": "Goud",
                                               "points": 50, "multiplier": "1.50"}]
    assert following.news == []  # already at the top


def test_an_amount_threshold_to_the_cent(shop, member):
    levels_set(shop, measure="amount", tiers=[
        {"name": "Zilver", "threshold": "25.00", "multiplier": "1.10"}])
    buy(shop, member, "24.99")
    assert level_of(member)[0] == ""
    buy(shop, member, "0.01")
    assert level_of(member) == ("Zilver", 1, Decimal("1.10"))


def test_amount_spent_is_net_of_refunds(shop, member):
    levels_set(shop, measure="amount", tiers=[{"name": "Zilver", "threshold": "50.00"}])
    first = buy(shop, member, "30.00")
    purchase_refund(shop=shop, purchase_id=first.pk, amount="10.00")
    buy(shop, member, "29.99")  # 49.99 net
    assert level_of(member)[0] == ""
    buy(shop, member, "0.01")
    assert level_of(member)[0] == "Zilver"


def test_visits_are_purchases_on_different_local_days(shop, member):
    levels_set(shop, measure="visits", tiers=[{"name": "Vaste klant", "threshold": "2"}])
    # 23:30 on 1 June and 00:30 on 2 June in Amsterdam are two days, though one in UTC.
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=AMS), tick=False):
        buy(shop, member, "2.00")
        buy(shop, member, "2.00")  # the same day: still one visit
    with time_machine.travel(dt.datetime(2026, 6, 1, 23, 30, tzinfo=AMS), tick=False):
        buy(shop, member, "2.00")
    assert level_of(member)[0] == ""
    with time_machine.travel(dt.datetime(2026, 6, 2, 0, 30, tzinfo=AMS), tick=False):
        buy(shop, member, "2.00")
    assert level_of(member)[0] == "Vaste klant"


def test_an_undone_purchase_is_no_visit(shop, member):
    levels_set(shop, measure="visits", tiers=[{"name": "Vaste klant", "threshold": "2"}])
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=AMS), tick=False):
        first = buy(shop, member, "2.00")
        purchase_undo(shop=shop, purchase_id=first.pk, reason="typo", by=None)
    with time_machine.travel(dt.datetime(2026, 6, 2, 10, tzinfo=AMS), tick=False):
        buy(shop, member, "2.00")
    assert level_of(member)[0] == ""


def test_spending_and_adjustments_never_count_against_points_earned(levels, member):
    buy(levels, member, "20.00")
    points_adjust(shop=levels, membership_id=member.pk, points=-150, reason="correction",
                  by=None)
    assert selectors.membership_measure(membership=member, shop=levels, measure="points",
                                        start=None) == 200


def test_the_rolling_year_turns_at_local_midnight(shop):
    levels_set(shop, period="rolling")
    early, late = MembershipFactory(shop=shop), MembershipFactory(shop=shop)
    with time_machine.travel(dt.datetime(2025, 12, 1, 12, tzinfo=AMS), tick=False):
        buy(shop, early, "5.00")
        buy(shop, late, "5.00")
    # 23:59 on 30 November in Amsterdam: last year's 1 December still counts.
    with time_machine.travel(dt.datetime(2026, 11, 30, 23, 59, tzinfo=AMS), tick=False):
        buy(shop, early, "5.00")
    assert level_of(early)[0] == "Brons"
    # 00:01 on 1 December in Amsterdam (still 30 November in UTC): it does not.
    with time_machine.travel(dt.datetime(2026, 12, 1, 0, 1, tzinfo=AMS), tick=False):
        buy(shop, late, "5.00")
    assert level_of(late)[0] == ""


def test_the_calendar_year_begins_at_local_midnight(shop):
    levels_set(shop, period="year")
    card = MembershipFactory(shop=shop)
    with time_machine.travel(dt.datetime(2026, 12, 31, 23, 30, tzinfo=AMS), tick=False):
        buy(shop, card, "5.00")
    # 00:10 on 1 January in Amsterdam is 23:10 on 31 December in UTC: a new year here.
    with time_machine.travel(dt.datetime(2027, 1, 1, 0, 10, tzinfo=AMS), tick=False):
        buy(shop, card, "5.00")
    assert level_of(card)[0] == ""
    with time_machine.travel(dt.datetime(2027, 3, 1, 12, tzinfo=AMS), tick=False):
        buy(shop, card, "5.00")
    assert level_of(card)[0] == "Brons"
    state = TierState.objects.get(membership=card)
    assert state.holds_until == dt.date(2029, 1, 1)  # reached in 2027: holds through 2028


def test_the_same_purchase_retried_changes_the_level_once(levels, member):
    first = buy(levels, member, "10.00", idempotency_key="till-1")
    with pytest.raises(DuplicateRequest):
        buy(levels, member, "10.00", idempotency_key="till-1")
    assert first.news and level_of(member)[0] == "Brons"
    assert LevelChange.objects.filter(membership=member).count() == 1


# --- Refunds ----------------------------------------------------------------------------------


@pytest.fixture
def pending_levels(levels):
    program_rules_update(shop=levels, by=None, pending_days=14)
    return levels


def test_a_refund_in_the_pending_window_takes_back_the_level_it_reached(pending_levels,
                                                                         member):
    shop = pending_levels
    buy(shop, member, "45.00")  # 450 points: Brons
    raising = buy(shop, member, "10.00")  # 550: Zilver
    assert level_of(member)[0] == "Zilver"
    purchase_refund(shop=shop, purchase_id=raising.pk, amount="2.00")  # 530: still Zilver
    assert level_of(member)[0] == "Zilver"
    purchase_refund(shop=shop, purchase_id=raising.pk, amount="8.00")  # 450: back to Brons
    assert level_of(member) == ("Brons", 1, Decimal("1.00"))
    back = LevelChange.objects.filter(membership=member).first()
    assert (back.reason, back.from_name, back.to_name) == (ChangeReason.REFUND, "Zilver",
                                                           "Brons")
    assert back.refund == Refund.objects.filter(purchase=raising).order_by("-pk").first()


def test_a_refund_never_takes_a_card_below_its_level_before_that_purchase(pending_levels,
                                                                          member):
    shop = pending_levels
    earlier = buy(shop, member, "45.00")  # Brons
    raising = buy(shop, member, "10.00")  # Zilver
    purchase_refund(shop=shop, purchase_id=earlier.pk, amount="45.00")  # not the raising one
    assert level_of(member)[0] == "Zilver"
    purchase_refund(shop=shop, purchase_id=raising.pk, amount="10.00")  # 0 points left
    assert level_of(member)[0] == "Brons"  # where it was; the rest counts at re-evaluation


def test_a_refund_after_the_pending_window_leaves_the_level(pending_levels, member):
    shop = pending_levels
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=AMS), tick=False):
        raising = buy(shop, member, "50.00")
    assert level_of(member)[0] == "Zilver"
    with time_machine.travel(dt.datetime(2026, 6, 15, 12, 0, 1, tzinfo=AMS), tick=False):
        purchase_refund(shop=shop, purchase_id=raising.pk, amount="50.00")
    assert level_of(member)[0] == "Zilver"
    assert not LevelChange.objects.filter(reason=ChangeReason.REFUND).exists()


def test_a_refund_one_second_inside_the_window_takes_it_back(pending_levels, member):
    shop = pending_levels
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=AMS), tick=False):
        raising = buy(shop, member, "50.00")
    with time_machine.travel(dt.datetime(2026, 6, 15, 11, 59, 59, tzinfo=AMS), tick=False):
        purchase_refund(shop=shop, purchase_id=raising.pk, amount="50.00")
    assert level_of(member)[0] == ""


def test_the_counter_undo_takes_back_a_level(pending_levels, member, staff_user):
    raising = buy(pending_levels, member, "10.00")
    purchase_undo(shop=pending_levels, purchase_id=raising.pk, reason="wrong card",
                  by=staff_user)
    assert level_of(member)[0] == ""
    assert LevelChange.objects.filter(membership=member).count() == 2


def test_without_a_pending_window_the_counter_undo_still_takes_back_a_level(levels, member,
                                                                          staff_user):
    raising = buy(levels, member, "10.00")  # pending days 0: no window
    purchase_undo(shop=levels, purchase_id=raising.pk, reason="wrong amount", by=staff_user)
    assert level_of(member)[0] == ""


def test_without_a_pending_window_a_later_refund_leaves_the_level(levels, member):
    raising = buy(levels, member, "10.00")
    purchase_refund(shop=levels, purchase_id=raising.pk, amount="5.00")  # partial, no window
    assert level_of(member)[0] == "Brons"


def test_a_refund_of_a_purchase_that_raised_nothing_changes_nothing(pending_levels, member):
    buy(pending_levels, member, "60.00")
    other = buy(pending_levels, member, "1.00")
    purchase_refund(shop=pending_levels, purchase_id=other.pk, amount="1.00")
    assert level_of(member)[0] == "Zilver"


# --- Without levels -------------------------------------------------------------------------


def test_a_shop_without_levels_or_switched_off_gives_none(shop, member):
    buy(shop, member, "200.00")
    assert level_of(member)[0] == ""
    levels_set(shop, enabled=False)
    buy(shop, member, "200.00")
    assert level_of(member)[0] == ""
    assert selectors.level_progress(membership=member) is None


def test_levels_do_not_leak_into_another_shop(levels, other_shop):
    card = MembershipFactory(shop=other_shop)
    buy(other_shop, card, "200.00")
    assert level_of(card)[0] == ""


# --- The owner's input ------------------------------------------------------------------------


@pytest.mark.parametrize(("tiers", "message"), [
    ([{"name": "", "threshold": "10"}], "Level 1 needs a name."),
    ([{"name": "A", "threshold": "ten"}], "Level 1: enter the threshold as a number"),
    ([{"name": "A", "threshold": "0"}], "Level 1: the threshold must be above zero."),
    ([{"name": "A", "threshold": "10.5"}], "Level 1: points and visits are whole numbers."),
    ([{"name": "A", "threshold": "1e3"}], "Level 1: enter the threshold as a number"),
    ([{"name": "A", "threshold": "10", "multiplier": "0.5"}], "from 1.00 to 10.00"),
    ([{"name": "A", "threshold": "10", "multiplier": "10.01"}], "from 1.00 to 10.00"),
    ([{"name": "A", "threshold": "10", "colour": "red"}], "six hexadecimal digits"),
    ([{"name": "A", "threshold": "10"}, {"name": "a", "threshold": "20"}], "the same name"),
    ([{"name": "A", "threshold": "10"}, {"name": "B", "threshold": "10"}], "same threshold"),
    ([], "Add at least one level"),
    ([{"name": f"L{n}", "threshold": str(n)} for n in range(1, 12)], "At most 10 levels."),
])
def test_bad_levels_are_refused_with_our_words(shop, tiers, message):
    with pytest.raises(ValidationError) as refused:
        services.program_input_clean(enabled=True, measure="points", period="year",
                                     downgrade="one", grace_days=0, tiers=tiers)
    assert message in " ".join(refused.value.messages)


def test_bad_program_choices_are_refused(shop):
    with pytest.raises(ValidationError) as refused:
        services.program_input_clean(enabled=True, measure="likes", period="decade",
                                     downgrade="up", grace_days="-1", tiers=THREE)
    assert set(refused.value.message_dict) == {"measure", "period", "downgrade", "grace_days"}


def test_amount_thresholds_take_cents_points_do_not(shop):
    data = services.program_input_clean(enabled=True, measure="amount", period="year",
                                        downgrade="one", grace_days=0,
                                        tiers=[{"name": "A", "threshold": "42,50"}])
    assert data.tiers[0].threshold == Decimal("42.50")
    with pytest.raises(ValidationError):
        services.program_input_clean(enabled=True, measure="amount", period="year",
                                     downgrade="one", grace_days=0,
                                     tiers=[{"name": "A", "threshold": "42.505"}])


def test_a_badges_bonus_counts_towards_the_level_and_is_taken_back_with_it(shop, member):
    from loyalty.models import LedgerEntry
    from tiers.badges.services import badge_create

    levels_set(shop)
    program_rules_update(shop=shop, by=None, pending_days=14)
    badge_create(shop=shop, template="first_purchase", name="Welkom", icon="star",
                 bonus_points=50)
    first = buy(shop, member, "5.00")  # 50 points and the badge's 50: Brons
    assert LedgerEntry.objects.filter(membership=member, kind="badge").exists()
    assert level_of(member)[0] == "Brons"
    purchase_undo(shop=shop, purchase_id=first.pk, reason="wrong card", by=None)
    assert level_of(member)[0] == ""


@pytest.mark.parametrize("measure", ["points", "amount", "visits"])
def test_a_cards_measure_equals_the_shops_grouped_measure(shop, measure):
    """The earn's plain statement (``membership_measure``) and the grouped ORM query of the
    previews and re-evaluations (``shop_measures``) give the same figure, refunds, undos, local
    days and a window included: the two never disagree about a level."""
    levels_set(shop, measure=measure, tiers=[{"name": "Brons", "threshold": "100000"}])
    card, other = MembershipFactory(shop=shop), MembershipFactory(shop=shop)
    # 23:30 and 00:30 in Amsterdam: two local days, one UTC day.
    with time_machine.travel(dt.datetime(2026, 6, 1, 23, 30, tzinfo=AMS), tick=False):
        kept = buy(shop, card, "12.35")
        buy(shop, other, "99.00")
    with time_machine.travel(dt.datetime(2026, 6, 2, 0, 30, tzinfo=AMS), tick=False):
        refunded = buy(shop, card, "20.01")
        purchase_refund(shop=shop, purchase_id=refunded.pk, amount=Decimal("7.77"))
        undone = buy(shop, card, "5.00")
        purchase_undo(shop=shop, purchase_id=undone.pk, reason="typo", by=None)
    with time_machine.travel(dt.datetime(2026, 6, 5, 12, tzinfo=AMS), tick=False):
        buy(shop, card, "3.10")
    assert kept.pk
    windows = [(None, None), (dt.datetime(2026, 6, 1, 22, 0, tzinfo=dt.UTC), None),
               (None, dt.datetime(2026, 6, 3, tzinfo=AMS))]
    # Points: whatever the ledger holds (the agreement is the point); amounts net of the refund
    # (the undone purchase is refunded in full); visits on local days, the undone one not.
    expected = {"points": [None] * 3, "amount": ["27.69", "15.34", "24.59"],
                "visits": [3, 2, 2]}[measure]
    for (start, end), want in zip(windows, expected, strict=True):
        one = selectors.membership_measure(membership=card, shop=shop, measure=measure,
                                           start=start, end=end)
        grouped = selectors.shop_measures(shop=shop, measure=measure, start=start, end=end)
        assert one == grouped[card.pk]
        if want is not None:
            assert one == Decimal(want)
        if measure == "amount":
            assert str(one) == want  # two decimals, like the ORM's


@pytest.mark.parametrize("measure", ["points", "amount", "visits"])
def test_the_measure_read_with_the_badges_is_the_cards_measure_and_costs_no_query(
        shop, measure, monkeypatch):
    """With badges on, the badges' effect reads the level's measure in its own statement and
    hands it on (bonus points of the badges it awards included); the level's effect then runs
    no measure query, and the figure is the one ``membership_measure`` reads afterwards."""
    from tiers.badges.services import badge_create

    levels_set(shop, measure=measure, tiers=[{"name": "Brons", "threshold": "100000"}])
    badge_create(shop=shop, template="first_purchase", name="Welkom", icon="star",
                 bonus_points=25)
    card = MembershipFactory(shop=shop)
    buy(shop, card, "4.00")
    handed = []
    original = services.purchase_level_up

    def spy(*, purchase):
        handed.append(purchase.level_measure)
        return original(purchase=purchase)

    measured = []
    monkeypatch.setattr(services, "purchase_level_up", spy)
    monkeypatch.setattr(services.selectors, "membership_measure",
                        lambda **kw: measured.append(kw) or Decimal(0))
    with time_machine.travel(dt.datetime(2026, 6, 2, 12, tzinfo=AMS), tick=False):
        purchase = buy(shop, card, "12.35")  # the first purchase's badge is held: no bonus
    monkeypatch.undo()
    assert measured == []  # the level's effect used what the badges read
    program = selectors.program_active(shop=shop)
    expected = selectors.membership_measure(
        membership=card, shop=shop, measure=measure,
        start=selectors.period_start(period=program.period, now=purchase.created_at,
                                     zone=AMS))
    assert handed == [(measure, expected)]
    assert expected > 0


def test_a_badges_bonus_in_the_handed_on_measure_raises_the_level_at_that_purchase(shop):
    from tiers.badges.services import badge_create

    levels_set(shop, measure="points", tiers=[{"name": "Brons", "threshold": "75"}])
    badge_create(shop=shop, template="first_purchase", name="Welkom", icon="star",
                 bonus_points=30)
    card = MembershipFactory(shop=shop)
    buy(shop, card, "5.00")  # 50 points and the badge's 30: 80, over 75
    assert level_of(card)[0] == "Brons"
