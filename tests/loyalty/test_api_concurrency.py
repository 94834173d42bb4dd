"""The API under real concurrency (PostgreSQL, real threads, real transactions): a till that
retries a request many times at once gets one purchase, and every retry the same answer."""

from __future__ import annotations

import pytest
from django.db import connection

from loyalty.models import (
    EntryKind,
    IdempotentRequest,
    LedgerEntry,
    Membership,
    PointLot,
    Purchase,
    Refund,
)
from loyalty.services import api_key_create, program_rules_current, purchase_record
from tests.conftest import require_service
from tests.factories import MembershipFactory, ShopFactory
from tests.helpers import post_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 10


def _require_postgres():
    require_service(connection.vendor == "postgresql",
                    "PostgreSQL (DATABASE_URL=postgres://...)")


@pytest.fixture
def setup():
    _require_postgres()
    shop = ShopFactory(slug="gelijktijdig")
    member = MembershipFactory(shop=shop)
    program_rules_current(shop=shop)
    _api_key, raw = api_key_create(shop=shop, name="till-1")
    return shop, member, raw


def test_the_same_earn_request_ten_times_at_once_is_one_purchase(setup):
    shop, member, raw = setup
    headers = {"Authorization": f"Api-Key {raw}", "Idempotency-Key": "till-1-race-0001"}
    body = {"member": member.card_number, "amount": "27.50", "reference": "BON-7",
            "items": [{"sku": "BRD-1", "name": "Brood", "quantity": "1", "unit_price": "27.50"}]}

    results = post_at_once([("/api/v1/purchases/", body, headers)] * THREADS)

    statuses = [status for status, _body, _replayed in results]
    bodies = [response_body for _status, response_body, _replayed in results]
    assert statuses == [201] * THREADS, bodies
    assert all(response_body == bodies[0] for response_body in bodies)
    assert bodies[0]["points_earned"] == 270
    assert bodies[0]["balance"] == 270
    # One request did the work; the nine others were answered from its record.
    assert sorted(replayed or "" for _s, _b, replayed in results) == [""] + ["true"] * 9

    purchase = Purchase.objects.get()
    assert purchase.pk == bodies[0]["id"]
    assert purchase.items.count() == 1
    entry = LedgerEntry.objects.get()
    assert (entry.purchase_id, entry.points, entry.kind) == (purchase.pk, 270, EntryKind.EARN)
    assert PointLot.objects.count() == 1
    assert IdempotentRequest.objects.count() == 1
    assert Membership.objects.get(pk=member.pk).points_balance == 270


def test_ten_different_purchases_at_once_all_count(setup):
    shop, member, raw = setup
    requests = [
        ("/api/v1/purchases/", {"member": member.card_number, "amount": "10.00"},
         {"Authorization": f"Api-Key {raw}", "Idempotency-Key": f"till-1-{n}"})
        for n in range(THREADS)
    ]

    results = post_at_once(requests)

    assert [status for status, _b, _r in results] == [201] * THREADS
    assert sorted(body["balance"] for _s, body, _r in results) == [
        100 * n for n in range(1, THREADS + 1)]
    assert Purchase.objects.count() == THREADS
    assert LedgerEntry.objects.count() == THREADS
    assert Membership.objects.get(pk=member.pk).points_balance == 100 * THREADS


def test_the_same_refund_ten_times_at_once_is_one_refund(setup):
    shop, member, raw = setup
    purchase = purchase_record(shop=shop, amount="27.50", membership_id=member.pk)
    headers = {"Authorization": f"Api-Key {raw}", "Idempotency-Key": "refund-race-1"}

    results = post_at_once(
        [(f"/api/v1/purchases/{purchase.pk}/refunds/", {"amount": "10.00"}, headers)] * THREADS
    )

    bodies = [body for _s, body, _r in results]
    assert [status for status, _b, _r in results] == [201] * THREADS, bodies
    assert all(body == bodies[0] for body in bodies)
    assert (bodies[0]["points_reversed"], bodies[0]["balance"]) == (98, 172)
    assert Refund.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).count() == 1
    assert Membership.objects.get(pk=member.pk).points_balance == 172


def test_different_refunds_at_once_never_refund_more_than_the_purchase(setup):
    shop, member, raw = setup
    purchase = purchase_record(shop=shop, amount="27.50", membership_id=member.pk)
    requests = [
        (f"/api/v1/purchases/{purchase.pk}/refunds/", {"amount": "10.00"},
         {"Authorization": f"Api-Key {raw}", "Idempotency-Key": f"refund-{n}"})
        for n in range(THREADS)
    ]

    results = post_at_once(requests)

    statuses = sorted(status for status, _b, _r in results)
    assert statuses == [201, 201] + [400] * (THREADS - 2)  # 10 + 10 fit in 27.50; 30 does not
    purchase.refresh_from_db()
    assert str(purchase.refunded_amount) == "20.00"
    assert Refund.objects.count() == 2
    assert Membership.objects.get(pk=member.pk).points_balance == 270 - 196


def test_the_same_customer_enrolled_ten_times_at_once_gets_one_card(setup):
    shop, _member, raw = setup
    headers = {"Authorization": f"Api-Key {raw}"}
    body = {"name": "Fatima El Amrani", "email": "fatima@example.com"}

    results = post_at_once([("/api/v1/members/", body, headers)] * THREADS)

    statuses = sorted(status for status, _b, _r in results)
    assert statuses == [201] + [409] * (THREADS - 1), results
    for status, response_body, _r in results:
        if status == 409:
            assert set(response_body["error"]) == {"code", "message", "field"}
            assert response_body["error"]["code"] == "duplicate"
    assert Membership.objects.filter(shop=shop, email="fatima@example.com").count() == 1
