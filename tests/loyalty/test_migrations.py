"""Data migrations that change stored rows, run on a database that holds such rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("loyalty", "0007_idempotent_request_response_text")
AFTER = ("loyalty", "0008_idempotency_key_unique_per_shop")


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


def test_a_key_stored_for_two_endpoints_keeps_its_newest_answer():
    apps = migrate(BEFORE)
    try:
        Shop = apps.get_model("loyalty", "Shop")
        IdempotentRequest = apps.get_model("loyalty", "IdempotentRequest")
        one = Shop.objects.create(name="One", slug="one", currency="EUR")
        two = Shop.objects.create(name="Two", slug="two", currency="EUR")

        def answer(shop, key, operation):
            return IdempotentRequest.objects.create(
                shop=shop, key=key, operation=operation, request_hash="0" * 64,
                status_code=201, response="{}").pk

        answer(one, "k", "purchase")
        newest = answer(one, "k", "refund:7")
        other_shop = answer(two, "k", "purchase")
        alone = answer(one, "other", "purchase")

        apps = migrate(AFTER)
        IdempotentRequest = apps.get_model("loyalty", "IdempotentRequest")
        assert set(IdempotentRequest.objects.values_list("pk", flat=True)) == {
            newest, other_shop, alone}
    finally:
        migrate_to_the_end()


def migrate_to_the_end():
    """Every app's latest migration again: going back in the core also unapplied the apps'
    migrations that depend on it (rewards' 0002 on loyalty's 0011), and later tests need them."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


PHONES_BEFORE = ("loyalty", "0009_shop_country_brand_stamp_card_customer_note")
PHONES_AFTER = ("loyalty", "0010_membership_phone_e164")


def test_phone_numbers_become_e164_with_their_shops_country():
    apps = migrate(PHONES_BEFORE)
    try:
        Shop = apps.get_model("loyalty", "Shop")
        Membership = apps.get_model("loyalty", "Membership")
        dutch = Shop.objects.create(name="NL", slug="nl", currency="EUR", country="NL")
        swedish = Shop.objects.create(name="SE", slug="se", currency="SEK", country="SE")
        other_dutch = Shop.objects.create(name="NL 2", slug="nl-2", currency="EUR", country="NL")
        cards = iter(range(1_000_000_000_000, 1_000_000_001_000))

        def member(shop, phone, email=""):
            return Membership.objects.create(
                shop=shop, card_number=str(next(cards)), name=f"{shop.slug} {phone}",
                email=email, phone=phone).pk

        rows = {
            # (shop, stored before) → expected after
            member(dutch, "0612345678"): "0612345678",  # +31612345678 is held by the next row
            member(dutch, "+31612345678"): "+31612345678",
            member(dutch, "0687654321"): "+31687654321",  # the oldest of two gets the number
            member(dutch, "687654321"): "687654321",
            member(dutch, "0201234567"): "+31201234567",  # a landline
            member(dutch, "+46701234567"): "+46701234567",  # a Swedish number stays Swedish
            member(dutch, "+32470123456"): "+32470123456",
            member(dutch, "003247012345"): "003247012345",  # not a valid number: kept
            member(dutch, "12345"): "12345",  # cannot be read: kept
            member(dutch, "+31699990000"): "+31699990000",  # not given out: kept
            member(dutch, "", email="mail@example.com"): "",
            member(swedish, "0701234567"): "+46701234567",
            member(swedish, "0612345678"): "+46612345678",  # in Sweden, 061… is a Swedish number
            member(other_dutch, "0612345678"): "+31612345678",  # another shop: no clash
            member(other_dutch, "0031612345679"): "+31612345679",
        }
        untouched = {pk: Membership.objects.filter(pk=pk).values(
            "name", "email", "card_number", "points_balance").get() for pk in rows}

        apps = migrate(PHONES_AFTER)
        Membership = apps.get_model("loyalty", "Membership")
        assert dict(Membership.objects.values_list("pk", "phone")) == rows
        assert {pk: Membership.objects.filter(pk=pk).values(
            "name", "email", "card_number", "points_balance").get() for pk in rows} == untouched
    finally:
        migrate_to_the_end()


def test_the_phone_migration_runs_on_an_empty_database_and_back():
    migrate(PHONES_BEFORE)
    try:
        apps = migrate(PHONES_AFTER)
        assert apps.get_model("loyalty", "Membership").objects.count() == 0
        migrate(PHONES_BEFORE)  # the way back keeps the numbers as they are
    finally:
        migrate_to_the_end()
