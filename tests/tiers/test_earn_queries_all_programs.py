"""Issue 12's query budget with every program on at once: the counter earn and the API earn ask
the database as often in a shop with 10 levels, 20 badges and 5 bonus-point events active as in
one with a single level, badge and event — measured on the heaviest earn (a level reached, a
badge with its bonus awarded, an event applied), so the budget cannot hold vacuously.

The other query tests switch one feature on at a time (tests/tiers/test_counter_and_api.py, the
levels; tests/tiers/badges/test_queries.py, the badges; tests/loyalty/test_api_queries.py, the
bare earn). The set here is bench/programs.py's: four events that never apply to these
purchases (their days are over, or they wait for other categories) and one that always does,
and twenty badges over every template but referrals."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from loyalty import services
from loyalty.models import Membership
from tests.factories import MembershipFactory, OwnerFactory, ShopFactory, UserFactory
from tiers import services as tier_services
from tiers.badges import services as badge_services
from tiers.badges.models import BadgeAward
from tiers.models import LevelChange

pytestmark = pytest.mark.django_db



def _bench_programs():
    """bench/programs.py (the bench's own set of programs), loaded from its file."""
    path = Path(__file__).resolve().parents[2] / "bench" / "programs.py"
    spec = importlib.util.spec_from_file_location("trouw_bench_programs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _bench_programs()
EVENTS = BENCH.EVENTS  # five: "Dubbele punten" always applies, the four others never here
ALWAYS = EVENTS[0]
# Ten levels 50 points apart: a first purchase of 10.00 (100 points, ×2 for the event) reaches
# Niveau 4 of them at once; the one level of the small shop is the first of these.
TEN = [{"name": f"Niveau {n}", "colour": "#8a4b2a", "threshold": str(50 * n),
        "multiplier": f"{1 + n / 20:.2f}", "perks": ""} for n in range(1, 11)]
TWENTY = BENCH.BADGES  # only "Welkom" is met by a first purchase of 10.00
WELCOME = next(badge for badge in TWENTY if badge["template"] == "first_purchase")
BONUS = 25  # each badge's bonus points
AMOUNT = "10.00"
EARNED = 200  # 10.00 at 10 points a euro, ×2 for "Dubbele punten" (no level yet)


@pytest.fixture(autouse=True)
def _kept_through_the_test(settings):
    """The steady state of a till: the shop's levels, badges and rules are read on a process's
    first earn and then kept (TROUW_API_KEY_CACHE_SECONDS, 5 s in production); kept here for the
    whole test, so a slow run cannot make one earn pay for reading them again."""
    settings.TROUW_API_KEY_CACHE_SECONDS = 600


def programs_shop(*, levels: list[dict], badges: list[dict], events: list[dict]):
    shop = ShopFactory()
    services.program_rules_update(shop=shop, by=None, points_per_unit=10, pending_days=14,
                                  bonus_events=events, bonus_combine="stack")
    tier_services.program_save(shop=shop, data=tier_services.program_input_clean(
        enabled=True, measure="points", period="year", downgrade="one", grace_days=0,
        tiers=levels))
    for fields in badges:
        fields = dict(fields)
        if fields["template"] == "spend_within":
            fields["starts_on"] = dt.date.today()
        badge_services.badge_create(shop=shop, icon="star", bonus_points=BONUS, **fields)
    shop.refresh_from_db()
    assert shop.levels_enabled and shop.badges_enabled
    assert len(shop.current_rules.bonus_events) == len(events)
    return shop


@pytest.fixture
def small():
    return programs_shop(levels=TEN[:1], badges=[WELCOME], events=[ALWAYS])


@pytest.fixture
def big():
    return programs_shop(levels=TEN, badges=TWENTY, events=EVENTS)


def assert_earned_all(card, *, level: str) -> None:
    """The earn did everything the budget is about: the event's points, the level, the badge
    with its bonus."""
    card = Membership.objects.get(pk=card.pk)
    assert card.points_balance == EARNED + BONUS
    assert card.level_name == level
    assert LevelChange.objects.filter(membership=card).count() == 1
    assert list(BadgeAward.objects.filter(membership=card).values_list("badge__name", flat=True)
                ) == ["Welkom"]


# --- The API ----------------------------------------------------------------------------------


def api_earn(client, raw, card, key):
    return client.post("/api/v1/purchases/", data=json.dumps({
        "member": card.card_number, "amount": AMOUNT,
        "items": [{"name": "Brood", "category": "Brood", "unit_price": AMOUNT}]}),
        content_type="application/json",
        headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": key})


def _api_measured(client, raw, card, key) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as captured:
        response = api_earn(client, raw, card, key)
    assert response.status_code == 201, response.content
    return len(captured), response.json()


def _assert_answer(body, *, level: str) -> None:
    assert body["points_earned"] == EARNED
    assert body["balance"] == EARNED + BONUS
    assert body["level"] == level
    assert sorted(item["kind"] for item in body["news"]) == ["badge", "level_up"]
    assert {"kind": "badge", "text": "New badge: Welkom"} in body["news"]
    assert body["bonuses"] == [{"source": "event", "name": "Dubbele punten", "points": 100,
                                 "multiplier": "2"}]


def test_the_api_earn_keeps_its_budget_with_10_levels_20_badges_and_5_events(
        client, small, big, django_assert_max_num_queries):
    raw_small = services.api_key_create(shop=small, name="till")[1]
    raw_big = services.api_key_create(shop=big, name="till")[1]
    # Warm: each shop's key, rules, levels and badges read once, then kept.
    api_earn(client, raw_small, MembershipFactory(shop=small), "warm-small")
    api_earn(client, raw_big, MembershipFactory(shop=big), "warm-big")

    card = MembershipFactory(shop=small)
    budget, body = _api_measured(client, raw_small, card, "q-small")
    _assert_answer(body, level="Niveau 1")
    assert_earned_all(card, level="Niveau 1")
    print(f"\nAPI earn with 1 level, 1 badge, 1 event: {budget} queries")

    card = MembershipFactory(shop=big)
    with django_assert_max_num_queries(budget):
        response = api_earn(client, raw_big, card, "q-big")
    assert response.status_code == 201, response.content
    _assert_answer(response.json(), level="Niveau 4")
    assert_earned_all(card, level="Niveau 4")


# --- The counter ------------------------------------------------------------------------------


def counter_client(*shops) -> Client:
    """A client signed in as someone at the counter of every one of ``shops``, its session warm."""
    user = UserFactory()
    for shop in shops:
        OwnerFactory(shop=shop, user=user)
    client = Client()
    client.force_login(user)
    for shop in shops:
        client.get(f"/counter/{shop.slug}/")
    return client


def counter_earn(client, shop, card, token):
    return client.post(f"/counter/{shop.slug}/members/{card.card_number}/earn/",
                       {"amount": AMOUNT, "token": token, "reference": ""},
                       headers={"HX-Request": "true"})


def _assert_said(response, *, level: str) -> None:
    assert response.status_code == 200, response.content
    said = response.content.decode()
    assert "New badge: Welkom" in said
    assert level in said
    assert f"+{EARNED} points" in said
    assert "Dubbele punten" in said


def test_the_counter_earn_keeps_its_budget_with_10_levels_20_badges_and_5_events(
        small, big, django_assert_max_num_queries):
    client = counter_client(small, big)
    counter_earn(client, small, MembershipFactory(shop=small), "w" * 32)
    counter_earn(client, big, MembershipFactory(shop=big), "x" * 32)

    card = MembershipFactory(shop=small)
    with CaptureQueriesContext(connection) as captured:
        response = counter_earn(client, small, card, "s" * 32)
    _assert_said(response, level="Niveau 1")
    assert_earned_all(card, level="Niveau 1")
    budget = len(captured)
    print(f"\ncounter earn with 1 level, 1 badge, 1 event: {budget} queries")

    card = MembershipFactory(shop=big)
    with django_assert_max_num_queries(budget):
        response = counter_earn(client, big, card, "b" * 32)
    _assert_said(response, level="Niveau 4")
    assert_earned_all(card, level="Niveau 4")
