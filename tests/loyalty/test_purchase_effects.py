"""TROUW_EFFECTS["purchase"]: what a purchase does in other apps runs in order, inside the
purchase's transaction — a failing effect undoes the whole purchase."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from loyalty.models import LedgerEntry, Purchase
from loyalty.services import purchase_effects, purchase_record
from tests.factories import MembershipFactory, ShopFactory

CALLS: list[tuple[str, int, bool]] = []


def first_effect(*, purchase):
    CALLS.append(("first", purchase.pk, LedgerEntry.objects.filter(purchase=purchase).exists()))


def second_effect(*, purchase):
    CALLS.append(("second", purchase.pk, Purchase.objects.filter(pk=purchase.pk).exists()))


def failing_effect(*, purchase):
    raise ValidationError("the charity app refused")


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()


@pytest.mark.django_db
def test_effects_run_in_the_order_of_the_setting_after_the_points(settings):
    settings.TROUW_EFFECTS = {**settings.TROUW_EFFECTS, "purchase": [
        "tests.loyalty.test_purchase_effects.first_effect",
        "tests.loyalty.test_purchase_effects.second_effect",
    ]}
    member = MembershipFactory()
    purchase = purchase_record(shop=member.shop, amount="12.00", membership_id=member.pk)
    assert [("first", purchase.pk, True), ("second", purchase.pk, True)] == CALLS
    assert [f.__name__ for f in purchase_effects()] == ["first_effect", "second_effect"]


@pytest.mark.django_db
def test_a_failing_effect_undoes_the_purchase_and_its_points(settings):
    settings.TROUW_EFFECTS = {**settings.TROUW_EFFECTS, "purchase": [
        "tests.loyalty.test_purchase_effects.first_effect",
        "tests.loyalty.test_purchase_effects.failing_effect",
    ]}
    member = MembershipFactory()
    with pytest.raises(ValidationError):
        purchase_record(shop=member.shop, amount="12.00", membership_id=member.pk)
    member.refresh_from_db()
    assert member.points_balance == 0
    assert Purchase.objects.count() == 0
    assert LedgerEntry.objects.count() == 0
    assert len(CALLS) == 1  # the first effect ran, inside the transaction that was rolled back


@pytest.mark.django_db
def test_only_the_apps_effects_are_configured_by_default():
    shop = ShopFactory()
    purchase_record(shop=shop, amount="3.00")
    assert CALLS == []
    assert [f"{f.__module__}.{f.__name__}" for f in purchase_effects()] == [
        "tiers.badges.services.badges_award", "tiers.services.purchase_level_up",
        "charity.services.purchase_donate"]
