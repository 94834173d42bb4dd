"""Levels at the counter and in the API: the level beside the balance, the purchase's news and
bonus parts in the earn's confirmation and answer, the member's level and progress, and a
constant number of queries whatever the number of tiers."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loyalty.models import Membership
from loyalty.services import api_key_create, purchase_record
from tests.factories import MembershipFactory, StaffMemberFactory
from tests.helpers import text
from tiers import selectors
from tiers.models import LevelChange

from .conftest import levels_set, reached

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}
TEN = [{"name": f"Niveau {n}", "threshold": str(100 * n), "multiplier": f"1.{n:02d}"}
       for n in range(1, 11)]
ONE = [{"name": "Niveau 1", "threshold": "100", "multiplier": "1.01"}]


def earn(client, shop, card, amount, token="a" * 32, htmx=True):
    return client.post(reverse("counter:earn", args=[shop.slug, card.card_number]),
                       {"amount": amount, "token": token, "reference": ""},
                       headers=HX if htmx else {})


# --- The counter ------------------------------------------------------------------------------


def test_the_earn_says_the_level_reached_and_the_panel_shows_it(staff_client, levels, member):
    response = earn(staff_client, levels, member, "62.00")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "membership-changed"
    said = text(response)
    assert "+620 points for €62.00." in said
    assert reached("Zilver", levels) in said
    panel = staff_client.get(reverse("counter:member", args=[levels.slug, member.card_number]),
                             headers=HX)
    assert "Level: <strong>Zilver</strong>" in text(panel)
    assert 'fill="#c0c0c0"' in text(panel)


def test_the_earn_says_what_the_level_added(staff_client, levels, member):
    earn(staff_client, levels, member, "60.00")  # Zilver, ×1.25
    said = text(earn(staff_client, levels, member, "27.50", token="b" * 32))
    assert "+337 points for €27.50, of which +67 for Zilver." in said
    assert reached("Zilver", levels) not in said


def test_a_double_submit_tells_the_level_once(staff_client, levels, member):
    earn(staff_client, levels, member, "62.00")
    again = earn(staff_client, levels, member, "62.00")
    assert reached("Zilver", levels) not in text(again)
    assert LevelChange.objects.filter(membership=member).count() == 1
    assert Membership.objects.get(pk=member.pk).points_balance == 620


def test_without_javascript_the_message_says_it_too(staff_client, levels, member):
    response = earn(staff_client, levels, member, "10.00", htmx=False)
    page = staff_client.get(response["Location"])
    assert reached("Brons", levels) in text(page)


def test_no_level_no_line(staff_client, shop, member):
    panel = staff_client.get(reverse("counter:member", args=[shop.slug, member.card_number]))
    assert 'class="member-level"' not in text(panel)


def _counter_earn_queries(client, shop, card, token) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = earn(client, shop, card, "250.00", token=token)
    assert response.status_code == 200
    return len(captured)


def test_the_counter_earn_costs_the_same_with_one_tier_or_ten(staff_client, staff_user, shop,
                                                              other_shop,
                                                              django_assert_max_num_queries):
    StaffMemberFactory(shop=other_shop, user=staff_user)  # at the counter of both shops
    levels_set(shop, tiers=ONE)
    levels_set(other_shop, tiers=TEN)
    # A level up each time (the heaviest case): to Niveau 1 in one shop, 2 of 10 in the other.
    one = _counter_earn_queries(staff_client, shop, MembershipFactory(shop=shop), "c" * 32)
    ten = _counter_earn_queries(staff_client, other_shop, MembershipFactory(shop=other_shop),
                                "d" * 32)
    assert one == ten
    with django_assert_max_num_queries(one):
        earn(staff_client, other_shop, MembershipFactory(shop=other_shop), "999.00",
             token="e" * 32)


# --- The API ----------------------------------------------------------------------------------


def api_earn(client, raw, card, amount, key):
    return client.post("/api/v1/purchases/", data=json.dumps(
        {"member": card.card_number, "amount": amount}), content_type="application/json",
        headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": key})


def test_the_api_answer_tells_the_level_and_the_news(client, levels, member):
    _key, raw = api_key_create(shop=levels, name="till")
    body = api_earn(client, raw, member, "62.00", "k-1").json()
    assert body["level"] == "Zilver"
    assert body["news"] == [{"kind": "level_up", "text": reached("Zilver", levels)}]
    assert body["bonuses"] == []
    replay = api_earn(client, raw, member, "62.00", "k-1")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["news"] == body["news"]  # the very same answer, recorded once
    assert LevelChange.objects.filter(membership=member).count() == 1
    second = api_earn(client, raw, member, "10.00", "k-2").json()
    assert second["news"] == []
    assert second["bonuses"] == [{"source": "level", "name": "Zilver", "points": 25,
                                   "multiplier": "1.25"}]


def test_the_members_api_gives_level_and_progress(client, levels, member):
    _key, raw = api_key_create(shop=levels, name="till")
    purchase_record(shop=levels, amount="62.00", membership_id=member.pk)
    body = client.get(f"/api/v1/members/{member.card_number}/",
                      headers={"Authorization": f"Api-Key {raw}"}).json()
    assert body["level"] == {"name": "Zilver", "colour": "#c0c0c0", "multiplier": "1.25",
                             "progress": {"next_level": "Goud", "left": "380 points more",
                                          "percent": 24}}


def test_the_members_api_without_levels_gives_null(client, shop, member):
    _key, raw = api_key_create(shop=shop, name="till")
    body = client.get(f"/api/v1/members/{member.card_number}/",
                      headers={"Authorization": f"Api-Key {raw}"}).json()
    assert body["level"] is None


def _api_earn_queries(client, raw, card, key) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = api_earn(client, raw, card, "250.00", key)
    assert response.status_code == 201, response.content
    assert response.json()["news"]
    return len(captured)


def test_the_api_earn_costs_the_same_with_one_tier_or_ten(client, shop, other_shop,
                                                          django_assert_max_num_queries):
    levels_set(shop, tiers=ONE)
    levels_set(other_shop, tiers=TEN)
    raw_one = api_key_create(shop=shop, name="till")[1]
    raw_ten = api_key_create(shop=other_shop, name="till")[1]
    # Warm: the program is read once per process and shop (kept a few seconds).
    api_earn(client, raw_one, MembershipFactory(shop=shop), "1.00", "warm-1")
    api_earn(client, raw_ten, MembershipFactory(shop=other_shop), "1.00", "warm-10")
    one = _api_earn_queries(client, raw_one, MembershipFactory(shop=shop), "q-1")
    ten = _api_earn_queries(client, raw_ten, MembershipFactory(shop=other_shop), "q-10")
    assert one == ten
    # The earn's own statements (tests/loyalty/test_api_queries.py) plus the measure (1) and
    # the level's three writes (the card's fields, its state, the log).
    from tests.loyalty.test_api_queries import MAX_QUERIES

    with django_assert_max_num_queries(MAX_QUERIES + 4):
        api_earn(client, raw_ten, MembershipFactory(shop=other_shop), "999.00", "q-max")
    # A purchase that raises nothing costs the measure only.
    with django_assert_max_num_queries(MAX_QUERIES + 1):
        api_earn(client, raw_ten, MembershipFactory(shop=other_shop), "1.00", "q-none")


def test_the_cached_program_is_forgotten_when_the_levels_change(client, shop, member):
    levels_set(shop, tiers=ONE)
    assert selectors.program_active(shop=shop).tiers[0].name == "Niveau 1"
    levels_set(shop, tiers=[{"name": "Anders", "threshold": "100"}])
    shop.refresh_from_db()
    assert selectors.program_active(shop=shop).tiers[0].name == "Anders"
