"""Shop.current_rules: the rules in force travel with the shop (one query for an API key or a
staff role) and always point at the latest version."""

from __future__ import annotations

import importlib
import json
from decimal import Decimal

import pytest
from django.apps import apps

from loyalty.models import ProgramRules, Purchase, Shop
from loyalty.services import (
    api_key_create,
    program_rules_current,
    program_rules_update,
    purchase_record,
)
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_a_new_shop_gets_version_1_on_first_use_and_it_is_in_force(shop):
    assert shop.current_rules is None

    rules = program_rules_current(shop=shop)

    assert rules.version == 1
    assert Shop.objects.get(pk=shop.pk).current_rules_id == rules.pk
    assert program_rules_current(shop=Shop.objects.get(pk=shop.pk)) == rules
    assert ProgramRules.objects.filter(shop=shop).count() == 1


def test_a_stale_shop_without_rules_does_not_create_a_second_version_1(shop):
    stale = Shop.objects.get(pk=shop.pk)
    first = program_rules_current(shop=shop)

    assert program_rules_current(shop=stale) == first
    assert ProgramRules.objects.filter(shop=shop).count() == 1


def test_saving_rules_puts_the_new_version_in_force(shop, owner):
    program_rules_current(shop=shop)

    rules = program_rules_update(shop=shop, by=owner, points_per_unit=5)

    assert rules.version == 2
    assert shop.current_rules == rules
    assert Shop.objects.get(pk=shop.pk).current_rules == rules


def test_an_update_through_a_stale_shop_compares_with_the_rules_in_force(shop, owner):
    stale = Shop.objects.get(pk=shop.pk)
    program_rules_current(shop=stale)  # the stale copy holds version 1
    program_rules_update(shop=shop, by=owner, points_per_unit=5)  # version 2 elsewhere

    again = program_rules_update(shop=stale, by=owner, points_per_unit=5)

    assert again.version == 2  # the same as in force: no version 3
    assert ProgramRules.objects.filter(shop=shop).count() == 2
    again = program_rules_update(shop=stale, by=owner, points_per_unit=10)
    assert again.version == 3 and Shop.objects.get(pk=shop.pk).current_rules == again


def test_a_purchase_uses_the_rules_in_force_and_records_the_version(client, shop, owner):
    member = MembershipFactory(shop=shop)
    program_rules_update(shop=shop, by=owner, points_per_unit=10)
    _key, raw = api_key_create(shop=shop, name="till-1")
    program_rules_update(shop=Shop.objects.get(pk=shop.pk), by=owner, points_per_unit=3)

    response = client.post(
        "/api/v1/purchases/", data=json.dumps({"member": member.card_number, "amount": "10"}),
        content_type="application/json",
        headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": "k-1"},
    )

    assert response.status_code == 201, response.content
    assert response.json()["points_earned"] == 30
    assert response.json()["rules_version"] == 2
    counter = purchase_record(shop=Shop.objects.get(pk=shop.pk), amount=Decimal("10"),
                              membership_id=member.pk)
    assert counter.rules.version == 2 and counter.points_earned == 30
    assert set(Purchase.objects.values_list("rules__version", flat=True)) == {2}


def test_the_migration_puts_each_shops_latest_version_in_force(shop, other_shop, owner):
    program_rules_current(shop=shop)
    latest = program_rules_update(shop=shop, by=owner, points_per_unit=4)
    Shop.objects.update(current_rules=None)
    migration = importlib.import_module("loyalty.migrations.0005_shop_current_rules")

    migration.current_rules_fill(apps, schema_editor=None)

    assert Shop.objects.get(pk=shop.pk).current_rules_id == latest.pk
    assert Shop.objects.get(pk=other_shop.pk).current_rules_id is None
