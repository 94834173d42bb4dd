"""The earn endpoint does a fixed amount of database work: as many queries for a shop with one
member and one ledger entry as for one with 200 members and 1,000 entries."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loyalty import sql
from loyalty.models import EntryKind, LedgerEntry, Membership, PointLot, Purchase
from loyalty.services import api_key_create, points_credit, program_rules_current
from tests.factories import MembershipFactory, ShopFactory

pytestmark = pytest.mark.django_db

# What one earn with a card and one line item costs (see the report in the test output): the
# key with its shop and rules in force (1), lock the card (2), then on PostgreSQL one statement
# for the purchase, its ledger entry, the entry's lot and the balance (3), the purchase's lines
# (4), store the answer (5); elsewhere the purchase, entry, lot and balance are four statements
# (8). In production the transaction adds a COMMIT; inside a test's own transaction it is a
# SAVEPOINT and its RELEASE instead. No other savepoints. docs/benchmarks.md compares this with
# the bare SQL floor. The purchase effects of a shop without levels and badges add none (the
# shop's levels_enabled and badges_enabled come with it); tests/tiers count theirs.
MAX_QUERIES = (5 if sql.chains_writes() else 8) + 2


def _shop_with(members: int, entries_per_member: int):
    """A shop with ``members`` members holding ``entries_per_member`` ledger entries each, all
    consistent (entries, lots and cached balances agree). Returns (shop, a member, raw key)."""
    shop = ShopFactory()
    program_rules_current(shop=shop)  # rules exist already in both cases
    memberships = Membership.objects.bulk_create(
        [MembershipFactory.build(shop=shop) for _ in range(members)]
    )
    now = timezone.now()
    if entries_per_member == 1 and members == 1:
        points_credit(shop=shop, membership_id=memberships[0].pk, points=5,
                      kind=EntryKind.BONUS)
    else:
        entries = LedgerEntry.objects.bulk_create([
            LedgerEntry(shop=shop, membership=m, points=5, kind=EntryKind.BONUS,
                        idempotency_key=f"seed:{m.pk}:{n}")
            for m in memberships for n in range(entries_per_member)
        ])
        if connection.features.can_return_rows_from_bulk_insert:
            keyed = entries
        else:  # primary keys are not set by bulk_create on this database: read them back
            keyed = list(LedgerEntry.objects.filter(shop=shop))
        PointLot.objects.bulk_create([
            PointLot(membership_id=e.membership_id, entry=e, points=5, remaining=5,
                     available_at=now)
            for e in keyed
        ])
        Membership.objects.filter(shop=shop).update(points_balance=5 * entries_per_member)
    _api_key, raw = api_key_create(shop=shop, name="till-1")
    return shop, memberships[-1], raw


def _earn_queries(client, member, raw, key) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/api/v1/purchases/",
            data=json.dumps({"member": member.card_number, "amount": "27.50",
                             "items": [{"name": "Brood", "unit_price": "27.50"}]}),
            content_type="application/json",
            headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": key},
        )
    assert response.status_code == 201, response.content
    assert response.json()["points_earned"] == 270
    return len(captured), [q["sql"] for q in captured.captured_queries]


def test_the_earn_endpoint_runs_a_constant_number_of_queries(client):
    small_shop, small_member, small_raw = _shop_with(members=1, entries_per_member=1)
    big_shop, big_member, big_raw = _shop_with(members=200, entries_per_member=5)
    assert Membership.objects.filter(shop=small_shop).count() == 1
    assert LedgerEntry.objects.filter(shop=small_shop).count() == 1
    assert Membership.objects.filter(shop=big_shop).count() == 200
    assert LedgerEntry.objects.filter(shop=big_shop).count() == 1000
    assert big_member.entries.count() == 5

    small, small_sql = _earn_queries(client, small_member, small_raw, "q-small")
    big, big_sql = _earn_queries(client, big_member, big_raw, "q-big")

    print(f"\nqueries per earn: {small} (1 member, 1 entry), {big} (200 members, 1,000 entries)")
    assert small == big, "\n".join(big_sql)
    assert big <= MAX_QUERIES, "\n".join(big_sql)
    assert Purchase.objects.count() == 2
    big_member.refresh_from_db()
    assert big_member.points_balance == 25 + 270


def test_the_earn_endpoint_stays_within_the_limit(client, django_assert_max_num_queries):
    _shop, member, raw = _shop_with(members=200, entries_per_member=5)

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.post(
            "/api/v1/purchases/",
            data=json.dumps({"member": member.card_number, "amount": "10.00"}),
            content_type="application/json",
            headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": "q-limit"},
        )
    assert response.status_code == 201


def test_a_replay_is_cheaper_than_the_earn(client):
    _shop, member, raw = _shop_with(members=1, entries_per_member=1)
    earn, _ = _earn_queries(client, member, raw, "q-replay")

    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/api/v1/purchases/",
            data=json.dumps({"member": member.card_number, "amount": "27.50",
                             "items": [{"name": "Brood", "unit_price": "27.50"}]}),
            content_type="application/json",
            headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": "q-replay"},
        )
    assert response["Idempotent-Replayed"] == "true"
    print(f"\nqueries per replay: {len(captured)} (earn: {earn})")
    assert len(captured) < earn


def test_bonus_events_and_a_level_cost_the_earn_no_query(client):
    """Issue 12: the events come with the rules the earn reads anyway, the level's multiplier
    with the card it locks: five events and a level add no query."""
    from decimal import Decimal

    from bench.programs import EVENTS
    from loyalty.services import program_rules_update

    plain_shop, plain_member, plain_raw = _shop_with(members=1, entries_per_member=1)
    shop, member, raw = _shop_with(members=1, entries_per_member=1)
    program_rules_update(shop=shop, by=None, bonus_events=EVENTS)
    Membership.objects.filter(pk=member.pk).update(level_name="Goud",
                                                   level_multiplier=Decimal("1.50"))
    plain, _ = _earn_queries(client, plain_member, plain_raw, "q-plain")
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/api/v1/purchases/",
            data=json.dumps({"member": member.card_number, "amount": "27.50",
                             "items": [{"name": "Brood", "unit_price": "27.50"}]}),
            content_type="application/json",
            headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": "q-bonus"},
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["points_earned"] == 270 + 135 + 270  # the level's half and "Dubbele punten"
    assert [b["name"] for b in body["bonuses"]] == ["Goud", "Dubbele punten"]
    assert len(captured) == plain
