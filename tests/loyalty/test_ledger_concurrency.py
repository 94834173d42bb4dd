"""The points engine under real concurrency: threads with their own PostgreSQL connections,
released together by a barrier. Row locks (the membership first, then the purchase) must keep the
ledger consistent, the balance non-negative and every idempotency key single-use."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum

from loyalty import selectors, services
from loyalty.models import EntryKind, LedgerEntry, Membership, PointLot, Purchase, Refund
from tests.conftest import require_service
from tests.factories import MembershipFactory, ShopFactory, UserFactory
from tests.helpers import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def postgresql_only():
    require_service(connection.vendor == "postgresql",
                    "PostgreSQL (DATABASE_URL), for real row locks between threads")


def _shop_and_member(**rules):
    shop = ShopFactory()
    services.program_rules_update(shop=shop, by=None, points_per_unit=10, **rules)
    return shop, MembershipFactory(shop=shop)


def test_concurrent_earns_and_spends_keep_the_ledger_consistent():
    shop, member = _shop_and_member()
    services.purchase_record(shop=shop, amount="10.00", membership_id=member.pk)  # 100 to start

    def earn():
        return services.purchase_record(shop=shop, amount="10.00", membership_id=member.pk)

    def spend():
        return services.points_spend(shop=shop, membership_id=member.pk, points=150)

    # 10 earns of 100 and 10 spends of 150: 1100 points in all, 1500 asked for, so at least
    # three spends must fail for lack of points.
    jobs = [earn, spend] * 10
    results = run_at_once(jobs)

    unexpected = [value for (status, value) in results
                  if status == "error" and not isinstance(value, ValidationError)]
    assert unexpected == []
    earns = [value for job, (status, value) in zip(jobs, results, strict=True)
             if job is earn and status == "ok"]
    spends = [value for job, (status, value) in zip(jobs, results, strict=True)
              if job is spend and status == "ok"]
    refused = [value for (status, value) in results if status == "error"]
    assert len(earns) == 10
    assert 1 <= len(spends) <= 7
    assert len(refused) == 10 - len(spends) >= 3
    for error in refused:
        assert list(error.message_dict) == ["points"]
        assert "Not enough points" in error.messages[0]

    member.refresh_from_db()
    assert member.points_balance == 100 + 100 * len(earns) - 150 * len(spends)
    assert member.points_balance >= 0
    assert selectors.ledger_mismatches() == []
    assert LedgerEntry.objects.filter(membership=member).aggregate(t=Sum("points"))["t"] == (
        member.points_balance)
    assert PointLot.objects.filter(membership=member).aggregate(t=Sum("remaining"))["t"] == (
        member.points_balance)
    assert LedgerEntry.objects.filter(membership=member, kind=EntryKind.REDEMPTION).count() == (
        len(spends))
    assert Purchase.objects.filter(membership=member).count() == 11

    # Entries are written under the membership's lock, so in id order the running balance is
    # the balance as it was: it never went below zero.
    running = 0
    for points in LedgerEntry.objects.filter(membership=member).order_by("pk").values_list(
            "points", flat=True):
        running += points
        assert running >= 0
    assert running == member.points_balance


def test_the_same_purchase_sent_ten_times_at_once_is_recorded_once():
    shop, member = _shop_and_member()

    def send():
        return services.purchase_record(shop=shop, amount="27.50", membership_id=member.pk,
                                        reference="R-42", idempotency_key="till-1:R-42")

    results = run_at_once([send] * 10)

    recorded = [value for (status, value) in results if status == "ok"]
    duplicates = [value for (status, value) in results if status == "error"]
    assert len(recorded) == 1
    assert len(duplicates) == 9
    assert all(isinstance(error, services.DuplicateRequest) for error in duplicates)
    purchase = recorded[0]
    assert {error.existing.pk for error in duplicates} == {purchase.pk}
    assert Purchase.objects.filter(shop=shop).count() == 1
    assert LedgerEntry.objects.filter(membership=member).count() == 1
    member.refresh_from_db()
    assert member.points_balance == 270
    assert selectors.ledger_mismatches() == []


def test_the_same_purchase_without_a_card_sent_ten_times_at_once_is_recorded_once():
    shop, _member = _shop_and_member()

    def send():
        return services.purchase_record(shop=shop, amount="5.00", idempotency_key="web-7")

    results = run_at_once([send] * 10)

    recorded = [value for (status, value) in results if status == "ok"]
    duplicates = [value for (status, value) in results if status == "error"]
    assert len(recorded) == 1
    assert all(isinstance(error, services.DuplicateRequest) for error in duplicates)
    assert {error.existing.pk for error in duplicates} == {recorded[0].pk}
    assert Purchase.objects.filter(shop=shop).count() == 1


def test_two_full_refunds_at_once_one_succeeds():
    shop, member = _shop_and_member()
    purchase = services.purchase_record(shop=shop, amount="27.50", membership_id=member.pk)
    services.purchase_record(shop=shop, amount="5.00", membership_id=member.pk)  # 50 more

    def refund():
        return services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="27.50")

    results = run_at_once([refund, refund])

    succeeded = [value for (status, value) in results if status == "ok"]
    failed = [value for (status, value) in results if status == "error"]
    assert len(succeeded) == 1
    assert len(failed) == 1
    assert isinstance(failed[0], ValidationError)
    assert list(failed[0].message_dict) == ["amount"]
    assert succeeded[0].points_reversed == 270
    assert Refund.objects.filter(purchase=purchase).count() == 1
    purchase.refresh_from_db()
    assert purchase.refunded_amount == Decimal("27.50")
    member.refresh_from_db()
    assert member.points_balance == 50
    assert selectors.ledger_mismatches() == []


def test_refunds_and_spends_at_once_never_overdraw():
    """Refunds take back points while redemptions spend them: whatever the order, the balance
    stays at zero or above and what could not be taken back is the shortfall."""
    shop, member = _shop_and_member()
    purchases = [services.purchase_record(shop=shop, amount="10.00", membership_id=member.pk)
                 for _ in range(5)]  # 500 points

    def refund(purchase):
        return lambda: services.purchase_refund(shop=shop, purchase_id=purchase.pk,
                                                amount="10.00")

    def spend():
        return services.points_spend(shop=shop, membership_id=member.pk, points=100)

    jobs = [refund(p) for p in purchases] + [spend] * 5
    results = run_at_once(jobs)

    unexpected = [value for (status, value) in results
                  if status == "error" and not isinstance(value, ValidationError)]
    assert unexpected == []
    assert all(status == "ok" for status, _ in results[:5])  # every refund is recorded
    spent = sum(1 for status, _ in results[5:] if status == "ok")
    refunds = Refund.objects.filter(purchase__shop=shop)
    assert refunds.count() == 5
    totals = refunds.aggregate(r=Sum("points_reversed"), s=Sum("points_shortfall"))
    assert totals["r"] + totals["s"] == 500
    member = Membership.objects.get(pk=member.pk)
    assert member.points_balance == 500 - 100 * spent - totals["r"] == 0
    assert selectors.ledger_mismatches() == []


def test_two_undos_of_one_purchase_at_once_make_one_refund():
    shop, member = _shop_and_member()
    staff = UserFactory()
    purchase = services.purchase_record(shop=shop, amount="27.50", membership_id=member.pk)

    def undo():
        return services.purchase_undo(shop=shop, purchase_id=purchase.pk, reason="Oops",
                                      by=staff)

    results = run_at_once([undo, undo])

    assert sorted(status for status, _value in results) == ["error", "ok"]
    refused = next(value for status, value in results if status == "error")
    assert isinstance(refused, ValidationError)  # a message for the cashier, not a crash
    assert Refund.objects.filter(purchase=purchase).count() == 1
    member.refresh_from_db()
    assert member.points_balance == 0
    assert LedgerEntry.objects.filter(membership=member).aggregate(
        total=Sum("points"))["total"] == 0
