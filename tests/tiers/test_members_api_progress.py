"""The members API's level progress for a whole page at once (settings.TROUW_LEVEL_PROGRESS →
tiers.selectors.level_progress_many): a constant number of queries for 1 or 20 members, and
the same figures as the per-card computation (tiers.selectors.level_progress)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.models import Membership
from loyalty.services import api_key_create, purchase_record
from tests.factories import MembershipFactory
from tiers import selectors

from .conftest import levels_set

pytestmark = pytest.mark.django_db

# Amounts that put cards below Brons, in each level and at the top (Goud: nothing to climb).
AMOUNTS = ["0", "3.50", "10.00", "49.99", "50.00", "62.00", "99.99", "100.00", "250.00"]


def _members(shop, prefix: str, count: int) -> list[Membership]:
    cards = []
    for n in range(count):
        card = MembershipFactory(shop=shop, name=f"{prefix} {n:02d}")
        amount = AMOUNTS[n % len(AMOUNTS)]
        if amount != "0":
            purchase_record(shop=shop, amount=amount, membership_id=card.pk)
        cards.append(card)
    return cards


def _lookup(client, raw, query):
    response = client.get("/api/v1/members/", {"q": query},
                          headers={"Authorization": f"Api-Key {raw}"})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _queries(client, raw, query) -> tuple[int, list]:
    with CaptureQueriesContext(connection) as captured:
        results = _lookup(client, raw, query)
    return len(captured), results


@pytest.mark.parametrize("measure", ["points", "amount", "visits"])
def test_a_page_of_20_costs_the_queries_of_one_and_agrees_with_each_card(
        client, shop, measure, django_assert_max_num_queries):
    tiers = None
    if measure != "points":
        tiers = [{"name": "Brons", "threshold": "1"}, {"name": "Zilver", "threshold": "5"},
                 {"name": "Goud", "threshold": "10"}]
        if measure == "amount":
            tiers = [{"name": "Brons", "threshold": "10.00"},
                     {"name": "Zilver", "threshold": "50.00"},
                     {"name": "Goud", "threshold": "100.00"}]
    levels_set(shop, measure=measure, tiers=tiers)
    shop.refresh_from_db()
    _members(shop, "Pietersen", 1)
    many = _members(shop, "Jansen", 20)
    raw = api_key_create(shop=shop, name="till")[1]
    _lookup(client, raw, "Pietersen")  # warm: the program is kept a few seconds per process
    one, results_one = _queries(client, raw, "Pietersen")
    twenty, results = _queries(client, raw, "Jansen")
    assert (len(results_one), len(results)) == (1, 20)
    assert twenty == one
    with django_assert_max_num_queries(one):
        _lookup(client, raw, "Jansen")
    # The same figures as the per-card computation, for every card of the page.
    by_card = {m.card_number: m for m in Membership.objects.filter(pk__in=[m.pk for m in many])}
    seen = set()
    for body in results:
        card = by_card[body["card_number"]]
        expected = selectors.level_progress(membership=card)
        assert (body["level"] or {}).get("progress") == expected
        seen.add("top" if expected is None else expected["next_level"])
    if measure == "points":  # the page holds cards below Brons, at each level and at the top
        assert seen == {"Brons", "Zilver", "Goud", "top"}


def test_the_bulk_form_agrees_with_the_single_one_and_skips_nothing(levels):
    cards = _members(levels, "Lid", 9)
    fresh = list(Membership.objects.filter(pk__in=[c.pk for c in cards]))
    bulk = selectors.level_progress_many(shop=levels, memberships=fresh)
    assert set(bulk) == {c.pk for c in cards}
    assert bulk == {c.pk: selectors.level_progress(membership=c) for c in fresh}
    assert bulk[cards[0].pk] == {"next_level": "Brons", "left": "100 points more", "percent": 0}


def test_without_levels_the_bulk_form_asks_nothing(shop, django_assert_num_queries):
    cards = [MembershipFactory(shop=shop) for _ in range(3)]
    with django_assert_num_queries(0):
        assert selectors.level_progress_many(shop=shop, memberships=cards) == {
            c.pk: None for c in cards}


def test_the_detail_and_the_enrolment_use_the_same_hook(client, levels, member):
    raw = api_key_create(shop=levels, name="till")[1]
    purchase_record(shop=levels, amount="62.00", membership_id=member.pk)
    detail = client.get(f"/api/v1/members/{member.card_number}/",
                        headers={"Authorization": f"Api-Key {raw}"}).json()
    assert detail["level"]["progress"] == selectors.level_progress(
        membership=Membership.objects.get(pk=member.pk))
    created = client.post("/api/v1/members/", {"name": "Nieuw Lid", "email": "n@example.com"},
                          content_type="application/json",
                          headers={"Authorization": f"Api-Key {raw}"})
    assert created.status_code == 201, created.content
    assert created.json()["level"] == {"name": "", "colour": "", "multiplier": "1.00",
                                       "progress": {"next_level": "Brons",
                                                    "left": "100 points more", "percent": 0}}
