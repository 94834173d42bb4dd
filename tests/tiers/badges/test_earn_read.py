"""The badges' read inside the earn's own statement (settings.TROUW_EARN_READS): on PostgreSQL
the member's history, the badges held, the categories and the level's measure come with the
statement that writes the purchase, which does not see its own writes. What it gives must be
exactly what a statement of its own, read after the purchase and its lines are written, gives —
whatever the measure and period, refunds, local days and categories; and the earn then asks the
database one statement fewer."""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty import services
from loyalty import sql as loyalty_sql
from tests.conftest import require_service
from tests.tiers.conftest import levels_set
from tiers.badges import selectors as badge_selectors
from tiers.badges import services as badge_services

from .conftest import buy, local, make_badge

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SEEN: list[tuple] = []


def compare(*, purchase):
    """A purchase effect run before the badges': the facts the earn's statement read, and the
    facts a statement of its own reads now (the purchase and its lines written)."""
    plan = purchase.badges_plan
    read = purchase.earn_reads[badge_services.EARN_READ]
    after = badge_selectors.facts_from_rows(loyalty_sql.fetch_all(*badge_services._facts_statement(
        plan, membership=purchase.membership, shop=purchase.shop)))
    SEEN.append((badge_selectors.facts_from_rows(read), after))


def _postgres():
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")


def _history(shop, member):
    """Purchases on three local days (the last at 00:30 on Amsterdam's clock: the same UTC day
    as the one before it, another local day), lines of three categories, one refunded in full
    and one in part."""
    buy(shop, member, "20.00", at=local(2026, 3, 2, 9, 0),
        items=[{"name": "Brood", "category": "brood", "unit_price": "20.00"}])
    full = buy(shop, member, "15.00", at=local(2026, 3, 3, 23, 30),
               items=[{"name": "Taart", "category": "taart", "unit_price": "15.00"}])
    part = buy(shop, member, "30.00", at=local(2026, 3, 4, 0, 30),
               items=[{"name": "Koffie", "category": "koffie", "unit_price": "30.00"}])
    with time_machine.travel(local(2026, 3, 4, 1, 0), tick=False):
        services.purchase_refund(shop=shop, purchase_id=full.pk, amount="15.00")
        services.purchase_refund(shop=shop, purchase_id=part.pk, amount="10.25")


@pytest.mark.parametrize("measure", ["points", "amount", "visits"])
@pytest.mark.parametrize("period", ["lifetime", "year", "rolling"])
def test_the_read_in_the_earn_equals_a_read_of_its_own(badge_shop, badge_member, settings,
                                                       measure, period):
    _postgres()
    levels_set(badge_shop, measure=measure, period=period, tiers=[
        {"name": "Brons", "colour": "#cd7f32", "threshold": "100000", "multiplier": "1.00"}])
    make_badge(badge_shop, "categories", name="Alles", count=9)
    make_badge(badge_shop, "visits", name="Vaak", count=99)
    make_badge(badge_shop, "first_purchase", name="Welkom", bonus_points=5)
    _history(badge_shop, badge_member)
    settings.TROUW_EFFECTS = {**settings.TROUW_EFFECTS, "purchase": [
        "tests.tiers.badges.test_earn_read.compare", *settings.TROUW_EFFECTS["purchase"]]}
    SEEN.clear()
    # The same local day as the last purchase (a day already counted), a category bought
    # before (its purchase partly refunded) and a new one; then a new day without lines.
    buy(badge_shop, badge_member, "12.34", at=local(2026, 3, 4, 18, 0), items=[
        {"name": "Koffie", "category": "koffie", "unit_price": "2.34"},
        {"name": "Thee", "category": "thee", "unit_price": "10.00"}])
    buy(badge_shop, badge_member, "7.00", at=local(2026, 3, 9, 8, 0))
    assert len(SEEN) == 2
    for in_earn, after in SEEN:
        assert in_earn.days == after.days
        assert in_earn.held == after.held
        assert in_earn.categories == after.categories
        assert in_earn.measure == after.measure
    first, second = SEEN
    assert first[0].categories == 3  # brood, koffie, thee (taart's purchase refunded in full)
    assert len(first[0].days) == 3 and len(second[0].days) == 4
    assert first[0].held == second[0].held != set()  # "Welkom", from the first purchase
    assert first[0].measure is not None and second[0].measure > 0


def test_the_earn_reads_the_badges_facts_in_its_own_statement(badge_shop, badge_member):
    _postgres()
    levels_set(badge_shop)
    make_badge(badge_shop, "visits", name="Vaak", count=5)
    buy(badge_shop, badge_member, "5.00", at=local(2026, 3, 2, 9, 0))
    with CaptureQueriesContext(connection) as captured:
        purchase = buy(badge_shop, badge_member, "5.00", at=local(2026, 3, 3, 9, 0))
    statements = [q["sql"] for q in captured.captured_queries]
    earn = [s for s in statements if s.startswith("WITH p AS (INSERT")]
    assert len(earn) == 1 and "json_agg" in earn[0]
    assert not [s for s in statements if s.startswith("SELECT 0 AS kind")]
    assert purchase.earn_reads == {}  # taken by the badges' effect


def test_a_purchase_without_points_reads_the_facts_itself(badge_shop, badge_member):
    _postgres()
    make_badge(badge_shop, "first_purchase", name="Welkom")
    with CaptureQueriesContext(connection) as captured:
        purchase = buy(badge_shop, badge_member, "0.05")  # 10 points a euro: none
    statements = [q["sql"] for q in captured.captured_queries]
    assert purchase.points_earned == 0
    assert [s for s in statements if s.startswith("SELECT 0 AS kind")]
    assert [item["text"] for item in purchase.news] == ["New badge: Welkom"]
