"""A refund of the purchase that completed a badge: within its pending window the badge and its
bonus are taken back when the badge no longer holds (a reversal entry the member sees); after
the window, or while the badge still holds, it stays."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from loyalty import selectors as loyalty_selectors
from loyalty import services
from loyalty.models import EntryKind, LedgerEntry
from tests.tiers.badges.conftest import buy, local, make_badge
from tiers.badges.models import BadgeAward

pytestmark = pytest.mark.django_db


def live(member) -> list[str]:
    return sorted(BadgeAward.objects.filter(membership=member, revoked_at__isnull=True)
                  .values_list("badge__name", flat=True))


def test_a_full_refund_within_the_window_takes_the_badge_and_its_bonus_back(badge_shop,
                                                                           badge_member):
    make_badge(badge_shop, "first_purchase", name="First visit", bonus_points=25)
    purchase = buy(badge_shop, badge_member, "10.00", at=local(2026, 3, 2, 10))
    with time_machine.travel(local(2026, 3, 10, 10), tick=False):  # 8 of 14 pending days
        services.purchase_refund(shop=badge_shop, purchase_id=purchase.pk, amount="10.00")
    assert live(badge_member) == []
    award = BadgeAward.objects.get()
    assert award.revoked_at is not None
    reversal = award.reversal
    assert (reversal.kind, reversal.points, reversal.reverses_id) == (
        EntryKind.REVERSAL, -25, award.entry_id)
    badge_member.refresh_from_db()
    assert badge_member.points_balance == 0
    assert loyalty_selectors.ledger_mismatches() == []


def test_the_member_sees_the_badge_and_its_reversal_in_the_history(client, badge_shop):
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory()
    member = MembershipFactory(shop=badge_shop, user=user)
    make_badge(badge_shop, "first_purchase", name="First visit", bonus_points=25)
    purchase = buy(badge_shop, member, "10.00")
    client.force_login(user)
    page = client.get(f"/portal/{badge_shop.slug}/").content.decode()
    assert "Badge: First visit" in page
    services.purchase_refund(shop=badge_shop, purchase_id=purchase.pk, amount="10.00")
    page = client.get(f"/portal/{badge_shop.slug}/").content.decode()
    assert "Badge taken back: First visit" in page


def test_a_refund_after_the_pending_window_leaves_the_badge(badge_shop, badge_member):
    make_badge(badge_shop, "first_purchase", name="First visit", bonus_points=25)
    purchase = buy(badge_shop, badge_member, "10.00", at=local(2026, 3, 2, 10))
    with time_machine.travel(purchase.points_available_at + dt.timedelta(seconds=1),
                             tick=False):
        services.purchase_refund(shop=badge_shop, purchase_id=purchase.pk, amount="10.00")
    assert live(badge_member) == ["First visit"]
    assert not LedgerEntry.objects.filter(kind=EntryKind.REVERSAL,
                                          reverses__kind=EntryKind.BADGE).exists()


def test_a_refund_at_the_very_end_of_the_window_counts_as_after(badge_shop, badge_member):
    make_badge(badge_shop, "first_purchase", name="First visit")
    purchase = buy(badge_shop, badge_member, "10.00", at=local(2026, 3, 2, 10))
    with time_machine.travel(purchase.points_available_at, tick=False):
        services.purchase_refund(shop=badge_shop, purchase_id=purchase.pk, amount="10.00")
    assert live(badge_member) == ["First visit"]


def test_a_partial_refund_that_keeps_the_badge_holding_changes_nothing(badge_shop,
                                                                       badge_member):
    make_badge(badge_shop, "spend_total", name="Twenty", amount="20.00", bonus_points=10)
    purchase = buy(badge_shop, badge_member, "25.00")
    services.purchase_refund(shop=badge_shop, purchase_id=purchase.pk, amount="5.00")
    assert live(badge_member) == ["Twenty"]  # 20.00 net: still holds
    services.purchase_refund(shop=badge_shop, purchase_id=purchase.pk, amount="0.01")
    assert live(badge_member) == []  # 19.99: no longer
    badge_member.refresh_from_db()
    # 250 + 10, less the first refund's 50 (the cent takes back no whole point) and the bonus.
    assert badge_member.points_balance == 250 + 10 - 50 - 10
    assert loyalty_selectors.ledger_mismatches() == []


def test_only_the_badges_that_purchase_completed_are_checked(badge_shop, badge_member):
    make_badge(badge_shop, "first_purchase", name="First")
    make_badge(badge_shop, "visits", name="Two", count=2)
    first = buy(badge_shop, badge_member, at=local(2026, 3, 2, 10))
    second = buy(badge_shop, badge_member, at=local(2026, 3, 3, 10))
    assert live(badge_member) == ["First", "Two"]
    with time_machine.travel(local(2026, 3, 4, 10), tick=False):
        # The first purchase refunded: "Two" (completed by the second) is no longer true, but
        # it was not this purchase that completed it; "First" still holds with the second.
        services.purchase_refund(shop=badge_shop, purchase_id=first.pk, amount="10.00")
    assert live(badge_member) == ["First", "Two"]
    with time_machine.travel(local(2026, 3, 4, 11), tick=False):
        services.purchase_refund(shop=badge_shop, purchase_id=second.pk, amount="10.00")
    # "Two" no longer holds and this purchase completed it; "First" was completed by the first
    # purchase, whose refund found it still true: it stays.
    assert live(badge_member) == ["First"]


def test_a_badge_taken_back_can_be_earned_again(badge_shop, badge_member):
    make_badge(badge_shop, "first_purchase", name="First", bonus_points=5)
    purchase = buy(badge_shop, badge_member)
    services.purchase_refund(shop=badge_shop, purchase_id=purchase.pk, amount="10.00")
    again = buy(badge_shop, badge_member)
    assert again.news[0]["text"] == "New badge: First"
    assert live(badge_member) == ["First"]
    assert BadgeAward.objects.count() == 2
    badge_member.refresh_from_db()
    assert badge_member.points_balance == 100 + 5
    assert loyalty_selectors.ledger_mismatches() == []


def test_a_bonus_partly_spent_is_taken_back_as_far_as_the_card_holds(badge_shop, badge_member):
    """Badge bonuses are pending, so they cannot be spent; but the card's other points can be,
    and the reversal never takes the balance below zero."""
    services.program_rules_update(shop=badge_shop, by=None, points_per_unit=10, pending_days=0)
    badge_shop.refresh_from_db()
    make_badge(badge_shop, "first_purchase", name="First", bonus_points=50)
    purchase = buy(badge_shop, badge_member, "10.00")  # 100 + 50, spendable at once
    services.points_spend(shop=badge_shop, membership_id=badge_member.pk, points=140)
    services.program_rules_update(shop=badge_shop, by=None, points_per_unit=10,
                                  pending_days=14)
    # No pending window, but a full refund within 10 minutes is the counter's undo: the badge
    # and its bonus go back, as far as the 10 points left on the card hold.
    services.purchase_refund(shop=badge_shop, purchase_id=purchase.pk, amount="10.00")
    assert live(badge_member) == []
    badge_member.refresh_from_db()
    assert badge_member.points_balance == 0
    assert loyalty_selectors.ledger_mismatches() == []


def test_the_counters_undo_takes_the_badge_back(badge_shop, badge_member, staff_user):
    from loyalty.models import StaffMember

    StaffMember.objects.filter(user=staff_user).update(shop=badge_shop)
    make_badge(badge_shop, "first_purchase", name="First", bonus_points=5)
    purchase = buy(badge_shop, badge_member)
    services.purchase_undo(shop=badge_shop, purchase_id=purchase.pk, reason="typo",
                           by=staff_user)
    assert live(badge_member) == []
    badge_member.refresh_from_db()
    assert badge_member.points_balance == 0


@pytest.fixture
def no_pending(badge_shop):
    """The badge shop without a pending window: points (and badge bonuses) count at once."""
    services.program_rules_update(shop=badge_shop, by=None, points_per_unit=10, pending_days=0)
    badge_shop.refresh_from_db()
    return badge_shop


def test_without_a_pending_window_the_counters_undo_takes_the_badge_and_its_bonus_back(
        no_pending, badge_member, staff_user):
    """The level's rule (tiers.services.refund_in_window): in a shop without a pending window
    the counter's undo (a full refund within 10 minutes) still takes back what the purchase
    earned — the level, and the badge with its bonus."""
    from loyalty.models import StaffMember

    StaffMember.objects.filter(user=staff_user).update(shop=no_pending)
    make_badge(no_pending, "first_purchase", name="First visit", bonus_points=25)
    purchase = buy(no_pending, badge_member, "10.00", at=local(2026, 3, 2, 10))
    assert purchase.points_available_at == purchase.created_at  # no window
    badge_member.refresh_from_db()
    assert badge_member.points_balance == 100 + 25
    with time_machine.travel(local(2026, 3, 2, 10, 9), tick=False):  # 9 of the 10 minutes
        services.purchase_undo(shop=no_pending, purchase_id=purchase.pk, reason="wrong card",
                               by=staff_user)
    assert live(badge_member) == []
    award = BadgeAward.objects.get()
    reversal = award.reversal
    assert reversal is not None
    assert (reversal.kind, reversal.points, reversal.reverses_id) == (
        EntryKind.REVERSAL, -25, award.entry_id)
    badge_member.refresh_from_db()
    assert badge_member.points_balance == 0
    assert loyalty_selectors.ledger_mismatches() == []


def test_without_a_pending_window_a_partial_refund_later_keeps_the_badge(no_pending,
                                                                        badge_member):
    make_badge(no_pending, "spend_total", name="Twenty", amount="20.00", bonus_points=10)
    purchase = buy(no_pending, badge_member, "25.00", at=local(2026, 3, 2, 10))
    with time_machine.travel(local(2026, 3, 2, 10, 11), tick=False):  # past the undo's 10 min
        services.purchase_refund(shop=no_pending, purchase_id=purchase.pk, amount="10.00")
    assert live(badge_member) == ["Twenty"]  # 15.00 net no longer holds, but it is too late
    assert not LedgerEntry.objects.filter(kind=EntryKind.REVERSAL,
                                          reverses__kind=EntryKind.BADGE).exists()
    badge_member.refresh_from_db()
    assert badge_member.points_balance == 250 + 10 - 100
    assert loyalty_selectors.ledger_mismatches() == []


def test_without_a_pending_window_a_partial_refund_at_once_keeps_the_badge(no_pending,
                                                                          badge_member):
    """Only the full refund within the 10 minutes is the undo; a partial one is a refund of a
    real visit and counts at re-evaluation only."""
    make_badge(no_pending, "spend_total", name="Twenty", amount="20.00", bonus_points=10)
    purchase = buy(no_pending, badge_member, "25.00")
    services.purchase_refund(shop=no_pending, purchase_id=purchase.pk, amount="10.00")
    assert live(badge_member) == ["Twenty"]
