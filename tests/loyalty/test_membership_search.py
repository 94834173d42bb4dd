"""selectors.membership_search: search as you type finds a member from the first digits of a
phone number (in any form the customer says it) or of a card number, only in the shop, without
matching everything on one or two digits, and with prefix matches that an index serves."""

from __future__ import annotations

import random

import pytest
from django.db import connection

from loyalty.models import Membership
from loyalty.selectors import membership_search, phone_prefixes
from loyalty.services import api_key_create
from tests.conftest import require_service
from tests.factories import MembershipFactory, OwnerFactory, ShopFactory, UserFactory
from tests.helpers import text

pytestmark = pytest.mark.django_db

SANNE_CARD = "4006123456786"
PIET_CARD = "4006987654323"
ELSEWHERE_CARD = "4006123499990"


@pytest.fixture
def people(shop, other_shop):
    """A Dutch shop with two mobile numbers, a landline and a Swedish customer; another shop
    with a customer who has Sanne's number and a card that starts like hers."""
    return {
        "sanne": MembershipFactory(shop=shop, name="Sanne Visser", email="sanne@example.com",
                                   phone="+31612345678", card_number=SANNE_CARD),
        "piet": MembershipFactory(shop=shop, name="Piet Jansen", email="piet@example.com",
                                  phone="+31687654321", card_number=PIET_CARD),
        "jan": MembershipFactory(shop=shop, name="Jan de Haan", email="jan@example.com",
                                 phone="+31701234567"),  # The Hague, 070 123 4567
        "astrid": MembershipFactory(shop=shop, name="Astrid Berg", email="astrid@example.se",
                                    phone="+46701234567"),  # 070-123 45 67 in Sweden
        "elsewhere": MembershipFactory(shop=other_shop, name="Sanne Elders",
                                       email="sanne@elders.example", phone="+31612345678",
                                       card_number=ELSEWHERE_CARD),
    }


def names(shop, query):
    return [m.name for m in membership_search(shop=shop, query=query)]


@pytest.mark.parametrize("query", [
    "06 12", "0612", "06-12", "06 123", "06 1234", "(06) 1234", "06 12 34 5", "06-1234-56",
    "06 1234 5678", "0612345678",
    "+31 6 12", "+316 12", "+31612", "+31 (0)6 1234", "+31 6 1234 5678",
    "0031 6 12", "0031612", "0031 6 1234 5678",
    " 06 1234 ",
])
def test_the_first_digits_of_a_phone_number_in_any_form_find_the_member(shop, people, query):
    assert names(shop, query) == ["Sanne Visser"]


@pytest.mark.parametrize("query", ["0046 701", "0046 70 123", "+46 70 12", "+46701234567",
                                   "0046 70-123 45 67"])
def test_a_foreign_number_is_found_with_its_country_code(shop, people, query):
    assert names(shop, query) == ["Astrid Berg"]


def test_a_national_number_is_read_in_the_shops_country(shop, people):
    # 070 123… is The Hague in a Dutch shop, not the Swedish mobile that ends alike (the old
    # search on the last nine digits found both).
    assert names(shop, "070 123 4567") == ["Jan de Haan"]
    assert names(shop, "070 12") == ["Jan de Haan"]


def test_a_swedish_shop_reads_07_as_a_swedish_mobile_number():
    shop = ShopFactory(country="SE", currency="SEK")
    MembershipFactory(shop=shop, name="Astrid Berg", phone="+46701234567")
    MembershipFactory(shop=shop, name="Jan de Haan", phone="+31701234567")
    for query in ("070-12", "070 123 45", "0701234567", "+46 70 123", "0046 70 12"):
        assert names(shop, query) == ["Astrid Berg"], query
    assert names(shop, "+31 70 123") == ["Jan de Haan"]


def test_a_number_without_its_0_is_read_as_a_national_one(shop, people):
    assert names(shop, "612 345") == ["Sanne Visser"]


def test_a_plus_lost_in_a_url_still_finds_the_number(shop, people):
    # GET ?q=+31612… without %2B arrives as " 31612…".
    assert names(shop, " 31612345678") == ["Sanne Visser"]


def test_an_old_row_not_in_e164_is_found_as_typed(shop, people):
    """A row that migration 0010 left in its old form (its number was taken by another row)."""
    MembershipFactory(shop=shop, name="Sanne (second card)", phone="0612345678")
    assert names(shop, "06 12") == ["Sanne (second card)", "Sanne Visser"]


@pytest.mark.parametrize("query", [
    "4006", "4006 1234", "4006 12", "400612", "4006 1234 5678", "4006 1234 5678 6",
    "4006123456786", "4006-1234",
])
def test_the_first_digits_of_a_card_number_find_the_card(shop, people, query):
    both = ["Piet Jansen", "Sanne Visser"]  # both cards start with 4006
    assert names(shop, query) == (both if query == "4006" else ["Sanne Visser"])


def test_a_card_prefix_matches_only_cards_that_start_with_it(shop, people):
    assert names(shop, "4006 9876") == ["Piet Jansen"]
    assert names(shop, "1234 5678") == []  # digits in the middle of a card


@pytest.mark.parametrize("query", [SANNE_CARD[:8], "06 12", "+31 6 1234 5678", "0031 6 12",
                                   ELSEWHERE_CARD, "sanne"])
def test_another_shops_members_are_never_found(shop, other_shop, people, query):
    found = list(membership_search(shop=shop, query=query))
    assert people["elsewhere"] not in found
    assert {m.shop_id for m in found} <= {shop.pk}
    # and the other way round
    assert people["sanne"] not in membership_search(shop=other_shop, query=query)


@pytest.mark.parametrize("query", ["0", "06", "1", "12", "400", "+", "+3", "+31", "+31 6",
                                   "0031", "0031 6", "061", "+31 6 1", "-", "()", "0046 70"])
def test_one_or_two_digits_do_not_match_everyone(shop, people, query):
    for n in range(5):
        MembershipFactory(shop=shop, name=f"Extra {n}", phone=f"+3161{n:07d}",
                          card_number=f"40060000000{n}{n}")
    assert names(shop, query) == []


@pytest.mark.parametrize(("query", "expected"), [
    ("sanne", ["Sanne Visser"]),
    ("SANNE VIS", ["Sanne Visser"]),
    ("jansen", ["Piet Jansen"]),
    ("piet@example.com", ["Piet Jansen"]),
    ("@example.se", ["Astrid Berg"]),
    ("example", ["Astrid Berg", "Jan de Haan", "Piet Jansen", "Sanne Visser"]),
])
def test_names_and_email_addresses_are_found_as_before(shop, people, query, expected):
    assert names(shop, query) == expected


@pytest.mark.parametrize(("query", "country", "prefixes"), [
    ("06 12", "NL", ["+31612", "0612"]),
    ("+31 6 12", "NL", ["+31612"]),
    ("0031 6 12", "NL", ["+31612"]),
    ("0046 70 1", "NL", ["+46701"]),
    ("070-12", "SE", ["+467012", "07012"]),
    ("1234 5678", "DK", ["+4512345678", "12345678", "+12345678"]),  # Denmark has no 0
    ("+358 40 1", "FI", ["+358401"]),
    ("06", "NL", []),
    ("+31 6", "NL", []),
    ("+999 123", "NL", []),  # no such country code
])
def test_phone_prefixes(query, country, prefixes):
    assert phone_prefixes(query=query, country=country) == prefixes


# --- through the pages and the API --------------------------------------------------------------


def test_the_counter_shows_the_member_from_the_first_digits(staff_client, shop, people):
    for query in ("06 12", "+31 6 1234", "0031 6 12", SANNE_CARD[:4] + " " + SANNE_CARD[4:6]):
        response = staff_client.get(f"/counter/{shop.slug}/", {"q": query},
                                    headers={"HX-Request": "true"})
        content = text(response)
        assert "Sanne Visser" in content, query
        assert "No member found" not in content, query
        assert "Sanne Elders" not in content


def test_the_dashboard_members_list_finds_partial_numbers(owner_client, shop, people):
    content = text(owner_client.get(f"/dashboard/{shop.slug}/members/", {"q": "06 1234"}))
    assert "Sanne Visser" in content
    assert "Piet Jansen" not in content and "Sanne Elders" not in content


def test_the_api_lookup_finds_partial_numbers(client, shop, people):
    _key, raw = api_key_create(shop=shop, name="till-1")
    for q in ("06 12", "+31 6 1234", "0031612", SANNE_CARD[:6]):
        response = client.get("/api/v1/members/", {"q": q},
                              headers={"Authorization": f"Api-Key {raw}"})
        assert response.status_code == 200
        assert [row["card_number"] for row in response.json()["results"]] == [SANNE_CARD], q


# --- query cost ---------------------------------------------------------------------------------


@pytest.fixture
def big_shop(db):
    """Enough members for the planner to care (the counter searches on every keystroke)."""
    require_service(connection.vendor == "postgresql", "PostgreSQL (EXPLAIN of the search)")
    shop = ShopFactory()
    neighbour = ShopFactory()
    OwnerFactory(shop=shop, user=UserFactory())
    rng = random.Random(10)
    phones = rng.sample(range(10_000_000, 100_000_000), 20_000)
    Membership.objects.bulk_create(
        Membership(shop=shop if index % 2 else neighbour, name=f"Member {index}",
                   card_number=f"{rng.randrange(10**12, 10**13)}", phone=f"+316{phone}",
                   email=f"m{index}@example.com")
        for index, phone in enumerate(phones)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE loyalty_membership")
    return shop


@pytest.mark.parametrize(("query", "index"), [
    ("06 1234", "membership_phone_prefix_idx"),
    ("+31 6 1234", "membership_phone_prefix_idx"),
    ("0031 6 12345", "membership_phone_prefix_idx"),
    ("4006 1234", "card_number"),  # Django's varchar_pattern_ops index of the unique card number
])
def test_a_number_is_looked_up_through_an_index_not_a_scan(big_shop, query, index):
    plan = membership_search(shop=big_shop, query=query)[:9].explain()
    assert "Seq Scan" not in plan, plan
    assert index in plan, plan
