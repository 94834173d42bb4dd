"""The donation ledger under real concurrency (PostgreSQL, threads with their own
connections): purchases and refunds at two counters and a month close at once leave each
statement equal to the sum of the ledger's lines of its month; two purchases at once never
give more than the monthly cap."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from charity import selectors, services
from charity.models import CharityProgram, Donation, Statement
from loyalty import services as loyalty_services
from loyalty.localdays import months_add
from loyalty.models import Shop
from tests.conftest import require_service
from tests.factories import MembershipFactory, ShopFactory
from tests.helpers import run_at_once

from .conftest import charity_add, program_set

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOVEMBER = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
DECEMBER = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def postgresql_only():
    require_service(connection.vendor == "postgresql",
                    "PostgreSQL (DATABASE_URL), for real row locks between threads")


def test_counters_and_a_month_close_at_once_leave_statements_equal_to_the_ledger():
    shop = ShopFactory()
    charity_add(shop, "Hope")
    charity_add(shop, "Trees")
    program_set(shop, split="even")
    cards = [MembershipFactory(shop=shop) for _ in range(2)]
    with time_machine.travel(NOVEMBER, tick=False):
        bought = [loyalty_services.purchase_record(
            shop=Shop.objects.get(pk=shop.pk), amount="40.00", membership_id=card.pk,
            extras={"donation_amount": "1.00"}) for card in cards]

    def refund(purchase):
        return lambda: loyalty_services.purchase_refund(shop=shop, purchase_id=purchase.pk,
                                                        amount="20.00")

    def buy(card):
        return lambda: loyalty_services.purchase_record(
            shop=Shop.objects.get(pk=shop.pk), amount="9.40", membership_id=card.pk,
            extras={"round_up": True})

    def close():
        return services.month_close(shop=shop, month=dt.date(2026, 11, 1))

    with time_machine.travel(DECEMBER, tick=False):
        results = run_at_once([refund(bought[0]), refund(bought[1]), buy(cards[0]),
                               buy(cards[1]), close])
    assert [status for status, _value in results] == ["ok"] * 5, results
    for statement in Statement.objects.all():
        lines = Donation.objects.filter(charity=statement.charity, month=statement.month)
        assert statement.donations_count == lines.exclude(kind="reversal").count()
        assert statement.total == lines.aggregate(total=Sum("amount"))["total"]
    assert Statement.objects.count() == 2
    assert selectors.donations_reconcile() == []
    # Every refund landed whole in one month, November's (before the close) or December's.
    reversals = Donation.objects.filter(kind="reversal")
    assert sum(r.amount for r in reversals) == Decimal("-0.80")  # half of 2 × 0.80


def test_two_purchases_at_once_never_give_more_than_the_monthly_cap():
    shop = ShopFactory()
    charity_add(shop, "Hope")
    program_set(shop, rule_value="10", monthly_cap="15.00")
    loyalty_services.program_rules_current(shop=shop)  # the rules exist, as in a running shop
    cards = [MembershipFactory(shop=shop) for _ in range(3)]

    def buy(card):
        return lambda: loyalty_services.purchase_record(
            shop=Shop.objects.get(pk=shop.pk), amount="100.00", membership_id=card.pk)

    results = run_at_once([buy(card) for card in cards])
    assert [status for status, _value in results] == ["ok"] * 3, results
    assert sorted(Donation.objects.values_list("amount", flat=True)) == [Decimal("5.00"),
                                                                         Decimal("10.00")]


def _advisory_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                       " AND NOT granted")
        return cursor.fetchone()[0]


def test_a_purchase_giving_while_its_month_closes_waits_and_gives_to_the_next_month():
    """The program's lock: a close (here its two writes, held open) holds it exclusively; a
    purchase giving meanwhile waits for the commit and then reads the program as the close
    left it, so nothing lands in the closed month. Without the wait, the purchase, whose
    statement began before the close committed, would read the month as open."""
    shop = ShopFactory()
    charity_add(shop, "Hope")
    program_set(shop, rule_value="10")
    loyalty_services.program_rules_current(shop=shop)  # the rules exist, as in a running shop
    card = MembershipFactory(shop=shop)
    this_month = selectors.month_of(timezone.now(), shop.time_zone)
    locked, release = threading.Event(), threading.Event()

    def close():
        with transaction.atomic():
            program = services._program_lock(Shop.objects.get(pk=shop.pk))
            CharityProgram.objects.filter(pk=program.pk).update(closed_through=this_month)
            locked.set()
            assert release.wait(timeout=30)

    def buy():
        assert locked.wait(timeout=30)
        return loyalty_services.purchase_record(shop=Shop.objects.get(pk=shop.pk),
                                                amount="50.00", membership_id=card.pk)

    def watch():
        assert locked.wait(timeout=30)
        deadline = time.monotonic() + 20
        try:
            while _advisory_waiters() == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            return _advisory_waiters()
        finally:
            release.set()

    results = run_at_once([close, buy, watch])
    assert [status for status, _value in results] == ["ok"] * 3, results
    assert results[2][1] == 1  # the purchase waited for the close's lock
    [gift] = Donation.objects.filter(purchase=results[1][1])
    assert gift.amount == Decimal("5.00")
    assert gift.month == months_add(this_month, 1)


def test_purchases_giving_at_once_do_not_wait_for_one_another():
    """The shared lock: two purchases that give hold it at the same time (neither waits), and
    the program's row is never locked by them (no lock written into it)."""
    shop = ShopFactory()
    charity_add(shop, "Hope")
    program_set(shop, rule_value="10")
    loyalty_services.program_rules_current(shop=shop)
    cards = [MembershipFactory(shop=shop) for _ in range(2)]
    inside = threading.Barrier(2, timeout=30)

    def buy(card):
        def job():
            with transaction.atomic():
                purchase = loyalty_services.purchase_record(
                    shop=Shop.objects.get(pk=shop.pk), amount="50.00", membership_id=card.pk)
                inside.wait()  # both hold the program's shared lock here, uncommitted
                with connection.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                                   " AND mode = 'ShareLock' AND granted AND objid = %s",
                                   [shop.pk])
                    holders = cursor.fetchone()[0]
                inside.wait()
                return purchase, holders
        return job

    def row_version():  # a lock taken on the row writes the locker's id into its xmax
        with connection.cursor() as cursor:
            cursor.execute("SELECT ctid::text, xmax::text FROM charity_charityprogram"
                           " WHERE shop_id = %s", [shop.pk])
            return cursor.fetchone()

    before = row_version()
    results = run_at_once([buy(card) for card in cards])
    assert [status for status, _value in results] == ["ok"] * 2, results
    assert [value[1] for _status, value in results] == [2, 2]
    assert row_version() == before
    assert Donation.objects.filter(shop=shop).count() == 2
