"""The expiry night under real concurrency on PostgreSQL: two runs at once expire each lot once,
and a spend racing the night never makes points count twice (the card's row lock)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection

from loyalty import selectors, services
from loyalty.models import EntryKind, LedgerEntry, PointLot
from tests.conftest import require_service
from tests.factories import MembershipFactory, ShopFactory
from tests.helpers import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def postgresql_only():
    require_service(connection.vendor == "postgresql",
                    "PostgreSQL (DATABASE_URL), for real row locks between threads")


def _shop_with_cards(count: int):
    shop = ShopFactory()
    with time_machine.travel(dt.datetime(2026, 1, 1, 12, tzinfo=AMS), tick=False):
        services.program_rules_update(shop=shop, by=None, points_per_unit=10,
                                      expiry_policy="earned", expiry_months=1)
    cards = [MembershipFactory(shop=shop) for _ in range(count)]
    with time_machine.travel(dt.datetime(2026, 1, 15, 12, tzinfo=AMS), tick=False):
        for card in cards:
            services.purchase_record(shop=shop, amount="10.00", membership_id=card.pk)
            services.purchase_record(shop=shop, amount="5.00", membership_id=card.pk)
    return shop, cards


def test_two_runs_at_once_expire_once(monkeypatch):
    from loyalty.services import expiry

    monkeypatch.setattr(expiry, "LOCK_BATCH", 7)  # several batches, interleaving
    shop, cards = _shop_with_cards(30)
    night = dt.datetime(2026, 2, 15, 0, 30, tzinfo=AMS)

    results = run_at_once([lambda: services.points_expire_shop(shop=shop, now=night)] * 4)

    assert [status for status, _value in results] == ["ok"] * 4
    assert sum(value["points"] for _status, value in results) == 30 * 150
    assert sum(value["lots"] for _status, value in results) == 60
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRY).count() == 30
    assert not PointLot.objects.filter(remaining__gt=0).exists()
    assert selectors.ledger_mismatches(shop=shop) == []


def test_a_spend_racing_the_night_counts_its_points_once():
    shop, cards = _shop_with_cards(10)
    night = dt.datetime(2026, 2, 15, 0, 30, tzinfo=AMS)

    def spend(card):
        return lambda: services.points_spend(shop=shop, membership_id=card.pk, points=120)

    jobs = [lambda: services.points_expire_shop(shop=shop, now=night),
            *(spend(card) for card in cards)]
    results = run_at_once(jobs)

    spent = [v for s, v in results[1:] if s == "ok"]
    refused = [v for s, v in results[1:] if s == "error"]
    assert all(isinstance(v, ValidationError) for v in refused)
    assert results[0][0] == "ok"
    # Every card either spent 120 before the night (30 left to expire) or lost all 150.
    assert results[0][1]["points"] == len(spent) * 30 + len(refused) * 150
    assert selectors.ledger_mismatches(shop=shop) == []


def test_the_one_statement_night_writes_what_the_steps_write(monkeypatch):
    from loyalty import sql
    from loyalty.models import Membership

    night = dt.datetime(2026, 2, 15, 0, 30, tzinfo=AMS)
    written = []
    for chained in (True, False):
        shop, cards = _shop_with_cards(3)
        with time_machine.travel(dt.datetime(2026, 1, 20, 12, tzinfo=AMS), tick=False):
            services.points_spend(shop=shop, membership_id=cards[0].pk, points=120)
        monkeypatch.setattr(sql, "chains_writes", lambda using="default", c=chained: c)
        with time_machine.travel(night, tick=False):
            result = services.points_expire_shop(shop=shop)
        entries = [
            {f.attname: getattr(e, f.attname) for f in e._meta.concrete_fields
             if f.attname not in {"id", "shop_id", "membership_id"}}
            for e in LedgerEntry.objects.filter(shop=shop, kind=EntryKind.EXPIRY)
            .order_by("membership_id")]
        balances = [m.points_balance for m in Membership.objects.filter(shop=shop).order_by("pk")]
        written.append(({k: v for k, v in result.items() if k not in {"shop", "seconds"}},
                        entries, balances))
        assert selectors.ledger_mismatches(shop=shop) == []
    assert written[0] == written[1]
    assert written[0][0] == {"cards": 3, "lots": 5, "points": 30 + 150 + 150}
    assert written[0][1][0]["created_at"] == night
