"""The donation ledger under real concurrency (PostgreSQL, threads with their own
connections): purchases and refunds at two counters and a month close at once leave each
statement equal to the sum of the ledger's lines of its month; two purchases at once never
give more than the monthly cap."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.db.models import Sum

from charity import selectors, services
from charity.models import Donation, Statement
from loyalty import services as loyalty_services
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
        assert statement.donations_count == lines.count()
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
