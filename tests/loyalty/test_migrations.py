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
        migrate(_latest())


def _latest():
    executor = MigrationExecutor(connection)
    return next(node for node in executor.loader.graph.leaf_nodes() if node[0] == "loyalty")
