"""Levels under real concurrency (PostgreSQL, threads with their own connections): two
purchases for one card at once each see the other's points under the card's lock, so the
level changes once; the same purchase sent twice at once changes it once."""

from __future__ import annotations

import pytest
from django.db import connection

from loyalty.models import Membership
from loyalty.services import DuplicateRequest, purchase_record
from tests.conftest import require_service
from tests.factories import MembershipFactory, ShopFactory
from tests.helpers import run_at_once
from tiers.models import LevelChange

from .conftest import levels_set, reached

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def postgresql_only():
    require_service(connection.vendor == "postgresql",
                    "PostgreSQL (DATABASE_URL), for real row locks between threads")


def test_two_purchases_at_once_raise_the_level_once():
    shop = ShopFactory()
    levels_set(shop)
    card = MembershipFactory(shop=shop)
    purchase_record(shop=shop, amount="45.00", membership_id=card.pk)  # 450: Brons

    def buy():
        return purchase_record(shop=shop, amount="6.00", membership_id=card.pk)

    results = run_at_once([buy, buy, buy])
    assert [status for status, _value in results] == ["ok"] * 3
    news = [item for _status, purchase in results for item in purchase.news]
    assert [item["text"] for item in news] == [reached("Zilver", shop)]
    card = Membership.objects.get(pk=card.pk)
    assert card.level_name == "Zilver"
    assert list(LevelChange.objects.filter(membership=card).values_list(
        "to_name", flat=True)) == ["Zilver", "Brons"]


def test_the_same_purchase_twice_at_once_changes_the_level_once():
    shop = ShopFactory()
    levels_set(shop)
    card = MembershipFactory(shop=shop)

    def buy():
        return purchase_record(shop=shop, amount="10.00", membership_id=card.pk,
                               idempotency_key="till-42")

    results = run_at_once([buy, buy])
    outcomes = sorted(type(value).__name__ for _status, value in results)
    assert outcomes == ["DuplicateRequest", "Purchase"]
    assert all(isinstance(value, DuplicateRequest) or value.news for _s, value in results)
    assert Membership.objects.get(pk=card.pk).level_name == "Brons"
    assert LevelChange.objects.filter(membership=card).count() == 1
