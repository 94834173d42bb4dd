"""The database holds the badges' invariants itself: each named constraint refuses its bad row,
whatever code writes it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from tests.tiers.badges.conftest import buy, make_badge
from tiers.badges.models import Badge, BadgeAward

pytestmark = pytest.mark.django_db

GOOD = {"template": "visits", "name": "Regular", "icon": "star", "count": 5}


@pytest.mark.parametrize(("values", "constraint"), [
    ({"template": "nonsense"}, "badge_template_known"),
    ({"bonus_points": 100_001}, "badge_bonus_within_limit"),
    ({"count": None}, "badge_count_needed"),
    ({"count": 0}, "badge_count_needed"),
    ({"template": "weekdays", "count": 8}, "badge_weekdays_at_most_seven"),
    ({"template": "spend_total", "amount": None}, "badge_amount_needed"),
    ({"template": "spend_total", "amount": 0}, "badge_amount_needed"),
    ({"template": "spend_within", "amount": 10, "days": None,
      "starts_on": dt.date(2026, 1, 1)}, "badge_challenge_has_a_window"),
    ({"template": "spend_within", "amount": 10, "days": 30, "starts_on": None},
     "badge_challenge_has_a_window"),
    ({"icon": ""}, "badge_has_an_icon"),
])
def test_the_database_refuses_a_bad_badge(shop, values, constraint):
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        Badge.objects.create(shop=shop, **{**GOOD, **values})
    assert constraint in str(refused.value) or "CHECK" in str(refused.value).upper()
    Badge.objects.create(shop=shop, **GOOD)  # the good row goes in


def test_one_live_award_per_member_and_badge_but_a_taken_back_one_may_repeat(shop, member):
    badge = make_badge(shop, "first_purchase")
    buy(shop, member)
    award = BadgeAward.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        BadgeAward.objects.create(shop=shop, badge=badge, membership=member)
    BadgeAward.objects.filter(pk=award.pk).update(revoked_at=award.earned_at)
    BadgeAward.objects.create(shop=shop, badge=badge, membership=member)
    assert BadgeAward.objects.filter(revoked_at__isnull=True).count() == 1


def test_a_badge_with_awards_cannot_be_deleted(shop, member):
    from django.db.models import ProtectedError

    badge = make_badge(shop, "first_purchase")
    buy(shop, member)
    with pytest.raises(ProtectedError):
        badge.delete()
