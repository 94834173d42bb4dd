"""The floor of ``bench/earn_api.py`` keeps up with the schema: its raw INSERTs must still be
accepted as the models gain columns. (Session 8 found it answering 500 to every request since
``Purchase.earn_detail`` arrived, so that the ratios of issue 12 were measured against a floor
that failed; this holds it.) PostgreSQL only, like the bench."""

from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from loyalty import services
from loyalty.models import LedgerEntry, Membership, Purchase
from tests.conftest import require_service
from tests.factories import MembershipFactory, ShopFactory

# The floor has its own psycopg connection: the rows it reads must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def _floor_module():
    path = Path(__file__).resolve().parent.parent / "bench" / "floor_app.py"
    spec = importlib.util.spec_from_file_location("trouw_floor_app", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_floor_writes_an_earn_the_product_can_read(monkeypatch):
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL), the bench's")
    shop = ShopFactory(slug="floor-bakkerij")
    services.program_rules_current(shop=shop)
    member = MembershipFactory(shop=shop)
    floor = _floor_module()
    monkeypatch.setattr(floor, "SHOP_SLUG", shop.slug)
    database = connection.settings_dict
    monkeypatch.setattr(floor, "DSN", (
        f"postgresql://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"))
    raw = floor._connection()
    try:
        body = floor._earn(raw, floor._local.shop, member.card_number, Decimal("27.50"), "F-1",
                           "floor-key-1")
    finally:
        raw.close()
    assert body["status"] == 201
    purchase = Purchase.objects.get(pk=body["id"])
    assert purchase.earn_detail == {} and purchase.amount == Decimal("27.50")
    entry = LedgerEntry.objects.get(purchase=purchase)
    assert entry.points == body["points_earned"] > 0
    assert Membership.objects.get(pk=member.pk).points_balance == body["points_earned"]
