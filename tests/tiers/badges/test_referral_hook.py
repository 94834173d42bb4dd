"""The "friends referred" badges' hook (the referral moment, settings.TROUW_EFFECTS["referral"]):
the referrals, once they exist, announce a member's count of referred friends with the card
locked, and each badge whose number it reaches is awarded once, its bonus pending for the
shop's pending days like a purchase's points."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import transaction

from loyalty import moments
from loyalty import selectors as loyalty_selectors
from loyalty import services as loyalty_services
from loyalty.models import EntryKind, Membership, PointLot, Shop
from tests.tiers.badges.conftest import make_badge
from tiers.badges.models import BadgeAward
from tiers.badges.selectors import achievements

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 10, 12, 0, tzinfo=dt.UTC)


def referred(shop, member, count):
    """What the referrals will do: lock the card, announce the new count."""
    with time_machine.travel(NOW, tick=False), transaction.atomic():
        card = loyalty_services.membership_lock(shop=Shop.objects.get(pk=shop.pk),
                                                membership_id=member.pk)
        moments.announce("referral", membership=card, count=count)


def awarded(member) -> list[str]:
    return sorted(BadgeAward.objects.filter(membership=member, revoked_at__isnull=True)
                  .values_list("badge__name", flat=True))


def test_each_badge_is_awarded_once_when_the_count_reaches_it(badge_shop, badge_member):
    make_badge(badge_shop, "referrals", name="One friend", count=1)
    make_badge(badge_shop, "referrals", name="Three friends", count=3, bonus_points=50)
    make_badge(badge_shop, "first_purchase", name="Welcome")  # not the referrals' to give
    referred(badge_shop, badge_member, 1)
    assert awarded(badge_member) == ["One friend"]
    referred(badge_shop, badge_member, 2)  # one short of three
    assert awarded(badge_member) == ["One friend"]
    referred(badge_shop, badge_member, 3)  # exactly three
    assert awarded(badge_member) == ["One friend", "Three friends"]
    award = BadgeAward.objects.get(badge__name="Three friends")
    assert award.purchase is None
    assert (award.entry.kind, award.entry.points, award.entry.note) == (
        EntryKind.BADGE, 50, "Three friends")
    lot = PointLot.objects.get(entry=award.entry)
    assert lot.available_at == NOW + dt.timedelta(days=14)  # the shop's pending days
    assert Membership.objects.get(pk=badge_member.pk).points_balance == 50
    referred(badge_shop, badge_member, 4)  # a later count awards nothing twice
    assert BadgeAward.objects.filter(membership=badge_member).count() == 2
    assert Membership.objects.get(pk=badge_member.pk).points_balance == 50
    assert loyalty_selectors.ledger_mismatches() == []


def test_the_portal_shows_a_referral_badge_once_earned(badge_shop, badge_member):
    make_badge(badge_shop, "referrals", name="Two friends", count=2)
    page = achievements(membership=badge_member)
    assert page["earned"] == [] and page["locked"] == []  # no goal shown before it counts
    referred(badge_shop, badge_member, 2)
    card = Membership.objects.select_related("shop").get(pk=badge_member.pk)
    assert [row["badge"].name for row in achievements(membership=card)["earned"]] == [
        "Two friends"]


def test_a_badge_switched_off_or_a_shop_without_badges_awards_nothing(badge_shop,
                                                                       badge_member):
    from tiers.badges import services as badge_services

    badge = make_badge(badge_shop, "referrals", name="One friend", count=1)
    badge_services.badge_set_active(shop=badge_shop, badge_id=badge.pk, active=False)
    referred(badge_shop, badge_member, 5)
    assert awarded(badge_member) == []
    assert moments.effects("referral")  # the moment has its effect in settings
