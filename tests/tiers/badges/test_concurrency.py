"""Two purchases of one member at the same moment, on PostgreSQL with real threads: the card's
lock (taken by the earn) orders them, so each badge is awarded once, its bonus written once,
and the ledger stays consistent."""

from __future__ import annotations

import pytest
from django.db import connection

from loyalty import selectors, services
from loyalty.models import EntryKind, LedgerEntry
from tests.conftest import require_service
from tests.factories import MembershipFactory, ShopFactory
from tests.helpers import run_at_once
from tests.tiers.badges.conftest import make_badge
from tiers.badges.models import BadgeAward

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def postgresql_only():
    require_service(connection.vendor == "postgresql",
                    "PostgreSQL (DATABASE_URL), for real row locks between threads")


def test_two_purchases_at_once_award_each_badge_once():
    shop = ShopFactory()
    services.program_rules_update(shop=shop, by=None, points_per_unit=10, pending_days=14)
    shop.refresh_from_db()
    member = MembershipFactory(shop=shop)
    make_badge(shop, "first_purchase", name="First", bonus_points=25)
    make_badge(shop, "spend_total", name="Fifteen", amount="15.00", bonus_points=5)

    def earn():
        return services.purchase_record(shop=shop, amount="10.00", membership_id=member.pk)

    results = run_at_once([earn] * 6)
    assert [status for status, _value in results] == ["ok"] * 6, results
    news = [item["text"] for _status, purchase in results for item in purchase.news]
    assert sorted(news) == ["New badge: Fifteen", "New badge: First"]
    assert BadgeAward.objects.filter(membership=member).count() == 2
    assert LedgerEntry.objects.filter(membership=member, kind=EntryKind.BADGE).count() == 2
    member.refresh_from_db()
    assert member.points_balance == 6 * 100 + 25 + 5
    assert selectors.ledger_mismatches() == []


def test_two_api_earns_at_once_with_badges_answer_once_each():
    import json

    from django.test import Client

    shop = ShopFactory()
    services.program_rules_current(shop=shop)
    member = MembershipFactory(shop=shop)
    make_badge(shop, "first_purchase", name="First", bonus_points=25)
    _key, raw = services.api_key_create(shop=shop, name="till")

    def earn(key):
        def job():
            response = Client().post(
                "/api/v1/purchases/", data=json.dumps({"member": member.card_number,
                                                       "amount": "10.00"}),
                content_type="application/json",
                headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": key})
            return response.status_code, response.json()
        return job

    # The same Idempotency-Key twice and two others: three purchases, one badge.
    results = run_at_once([earn("k-1"), earn("k-1"), earn("k-2"), earn("k-3")])
    assert all(status == "ok" for status, _value in results), results
    statuses = sorted(value[0] for _status, value in results)
    assert statuses == [201, 201, 201, 201]
    badge_news = [value[1]["news"] for _s, value in results if value[1]["news"]]
    purchase_ids = {value[1]["id"] for _s, value in results}
    assert len(purchase_ids) == 3
    assert len({json.dumps(n) for n in badge_news}) == 1
    assert BadgeAward.objects.filter(membership=member).count() == 1
    member.refresh_from_db()
    assert member.points_balance == 3 * 100 + 25
    assert selectors.ledger_mismatches() == []
