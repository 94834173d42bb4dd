"""On PostgreSQL a purchase that earns points is written in one statement (purchase, earn entry,
lot, balance: services.purchases._purchase_earn_write). It must write exactly what the
step-by-step path writes — the path SQLite takes, and PostgreSQL too when a purchase earns
nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from loyalty import services, sql
from loyalty.models import EntryKind, LedgerEntry, PointLot, Purchase
from tests.conftest import require_service
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SKIP = {"id", "created_at", "idempotency_key", "purchase_id", "entry_id", "membership_id"}


@pytest.fixture(autouse=True)
def postgresql_only():
    require_service(connection.vendor == "postgresql",
                    "PostgreSQL (DATABASE_URL), for its data-modifying WITH")


def rows(purchase: Purchase) -> dict:
    entry = LedgerEntry.objects.get(purchase=purchase)
    lot = PointLot.objects.get(entry=entry)

    def fields(obj):
        return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields
                if f.attname not in SKIP}

    return {"purchase": fields(Purchase.objects.get(pk=purchase.pk)), "entry": fields(entry),
            "lot": fields(lot), "entry_purchase": entry.purchase_id == purchase.pk,
            "lot_entry": lot.entry_id == entry.pk}


def record(shop, member, key, *, owner):
    return services.purchase_record(shop=shop, amount="27.50", membership_id=member.pk,
                                    reference="R-1", recorded_by=owner, idempotency_key=key)


def test_one_statement_writes_what_the_steps_write(shop, owner, monkeypatch):
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10, pending_days=14)
    one, steps = MembershipFactory(shop=shop), MembershipFactory(shop=shop)

    chained = record(shop, one, "one", owner=owner)
    monkeypatch.setattr(sql, "chains_writes", lambda using="default": False)
    stepped = record(shop, steps, "steps", owner=owner)

    assert chained.points_earned == stepped.points_earned == 270
    a, b = rows(chained), rows(stepped)
    # Each path's times come from its own clock reading; the rest must be equal.
    for written in (a, b):
        assert written["lot"]["available_at"] == written["purchase"]["points_available_at"]
        written["lot"]["available_at"] = written["purchase"]["points_available_at"] = None
    assert a["purchase"] == b["purchase"]
    assert a["entry"] == b["entry"]
    assert a["lot"] == b["lot"]
    assert a["entry"]["kind"] == EntryKind.EARN and a["entry"]["points"] == 270
    assert a["entry"]["actor_user_id"] == owner.pk
    assert a["entry_purchase"] and a["lot_entry"] and b["entry_purchase"] and b["lot_entry"]
    one.refresh_from_db()
    steps.refresh_from_db()
    assert one.points_balance == steps.points_balance == 270
    # The answer's objects carry the ids and the balance written.
    assert chained.membership.points_balance == 270
    assert LedgerEntry.objects.get(purchase=chained).idempotency_key == "purchase:one"
    assert Purchase.objects.get(pk=chained.pk).idempotency_key == "one"


@pytest.mark.parametrize("policy", ["earned", "inactive"])
def test_both_paths_write_the_lots_terms_and_the_last_purchase(shop, owner, monkeypatch, policy):
    """The expiry terms on the lot and the card's last purchase (the inactivity clock) come out
    the same on both paths, at one clock reading."""
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10, pending_days=14,
                                  expiry_policy=policy, expiry_months=12)
    one, steps = MembershipFactory(shop=shop), MembershipFactory(shop=shop)
    at = dt.datetime(2026, 1, 31, 22, 30, tzinfo=dt.UTC)  # 23:30 in Amsterdam
    with time_machine.travel(at, tick=False):
        chained = record(shop, one, "one", owner=owner)
        monkeypatch.setattr(sql, "chains_writes", lambda using="default": False)
        stepped = record(shop, steps, "steps", owner=owner)

    a, b = rows(chained), rows(stepped)
    assert a["lot"] == b["lot"]
    if policy == "earned":  # the start of 31 January 2027 in Amsterdam
        assert a["lot"]["expires_at"] == dt.datetime(2027, 1, 30, 23, 0, tzinfo=dt.UTC)
        assert a["lot"]["inactivity_months"] is None
    else:
        assert (a["lot"]["expires_at"], a["lot"]["inactivity_months"]) == (None, 12)
    one.refresh_from_db()
    steps.refresh_from_db()
    assert one.last_purchase_at == steps.last_purchase_at == at
    assert chained.membership.last_purchase_at == at


def test_a_purchase_without_points_moves_the_last_purchase_too(shop, owner):
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10,
                                  minimum_amount="50.00")
    member = MembershipFactory(shop=shop)
    at = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(at, tick=False):
        purchase = record(shop, member, "k", owner=owner)
    member.refresh_from_db()
    assert purchase.points_earned == 0
    assert member.last_purchase_at == at and member.points_balance == 0


def test_a_lot_under_a_never_policy_has_no_terms(shop, owner):
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10)
    member = MembershipFactory(shop=shop)
    lot = PointLot.objects.get(entry__purchase=record(shop, member, "k", owner=owner))
    assert (lot.expires_at, lot.inactivity_months) == (None, None)


def _core_only(settings):
    """The core's own statements: the apps' purchase effects count theirs in their tests
    (tests/tiers/badges/test_queries.py)."""
    settings.TROUW_EFFECTS = {**settings.TROUW_EFFECTS, "purchase": []}
    settings.TROUW_EARN_READS = []


SEEN_READS: list = []


def read_the_new_rows(*, purchase, membership, now, items):
    """A read for TROUW_EARN_READS: what the statement's ``p`` and ``e`` hold, the card's
    purchases in the table (which the statement's own insert is not among), and the lines."""
    SEEN_READS.append((purchase.created_at, now, [item.name for item in items]))
    return ("SELECT json_build_array(p.amount, p.refunded_amount, p.created_at = %s, e.points,"
            " (SELECT count(*) FROM loyalty_purchase WHERE membership_id = %s)) FROM p, e",
            [now, membership.pk])


def not_asked(*, purchase, membership, now, items):
    return None


def test_the_earn_statement_carries_the_reads_asked_of_it(shop, owner, settings):
    _core_only(settings)
    settings.TROUW_EARN_READS = ["tests.loyalty.test_purchase_statement.not_asked",
                                 "tests.loyalty.test_purchase_statement.read_the_new_rows"]
    member = MembershipFactory(shop=shop)
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10)
    record(shop, member, "k0", owner=owner)
    SEEN_READS.clear()
    with CaptureQueriesContext(connection) as captured:
        purchase = services.purchase_record(
            shop=shop, amount="12.50", membership_id=member.pk, idempotency_key="k1",
            items=[{"name": "Brood", "unit_price": "12.50"}])
    statements = [q["sql"] for q in captured.captured_queries
                  if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    # The lock, the earn's statement with the read riding on it, the lines.
    assert len(statements) == 3, statements
    assert statements[1].startswith("WITH p AS (INSERT") and "json_build_array" in statements[1]
    assert purchase.earn_reads == {"tests.loyalty.test_purchase_statement.read_the_new_rows": [
        12.5, 0, True, 120, 1]}  # 10 points a whole euro
    [(created_at, now, names)] = SEEN_READS
    assert created_at == now is not None and names == ["Brood"]


def test_a_purchase_that_earns_nothing_asks_no_read(shop, owner, settings):
    _core_only(settings)
    settings.TROUW_EARN_READS = ["tests.loyalty.test_purchase_statement.read_the_new_rows"]
    member = MembershipFactory(shop=shop)
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10)
    SEEN_READS.clear()
    purchase = services.purchase_record(shop=shop, amount="0.05", membership_id=member.pk)
    assert (purchase.points_earned, purchase.earn_reads, SEEN_READS) == (0, {}, [])


def test_it_is_one_statement_after_the_lock(shop, owner, settings):
    _core_only(settings)
    member = MembershipFactory(shop=shop)
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10)

    with CaptureQueriesContext(connection) as captured:
        record(shop, member, "k", owner=owner)

    statements = [q["sql"] for q in captured.captured_queries
                  if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 2, statements  # lock the card; purchase + entry + lot + balance
    assert statements[1].startswith("WITH p AS (INSERT INTO")
    assert '"last_purchase_at" = ' in statements[1]


def test_with_expiry_terms_it_is_still_one_statement(shop, owner, settings):
    _core_only(settings)
    member = MembershipFactory(shop=shop)
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10,
                                  expiry_policy="earned", expiry_months=6)
    with CaptureQueriesContext(connection) as captured:
        record(shop, member, "k", owner=owner)
    statements = [q["sql"] for q in captured.captured_queries
                  if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 2, statements
    assert PointLot.objects.get(membership=member).expires_at is not None


def test_a_duplicate_key_writes_nothing(shop, owner):
    member = MembershipFactory(shop=shop)
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10)
    record(shop, member, "k", owner=owner)

    with pytest.raises(IntegrityError), transaction.atomic():
        services.purchase_record(shop=shop, amount=Decimal("10.00"), membership_id=member.pk,
                                 idempotency_key="k", in_transaction=True)

    member.refresh_from_db()
    assert (Purchase.objects.count(), LedgerEntry.objects.count(), PointLot.objects.count(),
            member.points_balance) == (1, 1, 1, 270)
