"""The database holds the levels' invariants: unique names and thresholds per shop, the
multiplier's range, one state per card, a purchase raising a level once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from loyalty.services import purchase_record
from tests.factories import MembershipFactory
from tiers.models import ChangeReason, LevelChange, Tier, TierState

pytestmark = pytest.mark.django_db


def refused(**values):
    with pytest.raises(IntegrityError), transaction.atomic():
        Tier.objects.create(**values)


def test_tier_rows_the_database_refuses(shop, other_shop):
    Tier.objects.create(shop=shop, name="Zilver", threshold=Decimal(500))
    refused(shop=shop, name="ZILVER", threshold=Decimal(600))  # names ignore case
    refused(shop=shop, name="Goud", threshold=Decimal(500))
    refused(shop=shop, name="Nul", threshold=Decimal(0))
    refused(shop=shop, name="Te veel", threshold=Decimal(700), multiplier=Decimal("10.01"))
    refused(shop=shop, name="Te weinig", threshold=Decimal(800), multiplier=Decimal("0.99"))
    refused(shop=shop, name="", threshold=Decimal(900))
    # Another shop may use the same name and threshold.
    Tier.objects.create(shop=other_shop, name="Zilver", threshold=Decimal(500))


def test_one_state_per_card(shop):
    card = MembershipFactory(shop=shop)
    TierState.objects.create(shop=shop, membership=card)
    with pytest.raises(IntegrityError), transaction.atomic():
        TierState.objects.create(shop=shop, membership=card)


def test_an_override_needs_its_reason(shop):
    import datetime as dt

    card = MembershipFactory(shop=shop)
    with pytest.raises(IntegrityError), transaction.atomic():
        TierState.objects.create(shop=shop, membership=card, override_until=dt.date(2027, 1, 1))


def test_a_purchase_raises_a_level_once(shop):
    card = MembershipFactory(shop=shop)
    purchase = purchase_record(shop=shop, amount="10.00", membership_id=card.pk)
    values = {"shop": shop, "membership": card, "reason": ChangeReason.PURCHASE,
              "purchase": purchase, "from_rank": 0, "to_rank": 1}
    LevelChange.objects.create(**values)
    with pytest.raises(IntegrityError), transaction.atomic():
        LevelChange.objects.create(**{**values, "from_rank": 1, "to_rank": 2})
