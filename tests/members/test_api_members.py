"""The members API: enrol (POST /api/v1/members/), look up (GET ?q=), and a card's balance."""

from __future__ import annotations

import json

import pytest

from loyalty.models import EntryKind, LedgerEntry, Membership, MembershipSource
from loyalty.services import api_key_create, points_credit, program_rules_update
from members.services import card_number_is_valid
from tests.factories import MembershipFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

MEMBERS = "/api/v1/members/"


@pytest.fixture
def api(client, shop):
    _api_key, raw = api_key_create(shop=shop, name="till-1")
    headers = {"Authorization": f"Api-Key {raw}"}

    class Api:
        auth = headers

        def get(self, path, params=None):
            return client.get(path, params or {}, headers=headers)

        def post(self, path, data):
            return client.post(path, data=json.dumps(data), content_type="application/json",
                               headers=headers)

    return Api()


GOOD = {
    "name": "Fatima El Amrani",
    "email": "Fatima@Example.com",
    "phone": "06 1234 5678",
    "birthday": "1990-04-12",
    "language": "nl",
    "marketing_consent": True,
}


# --- Enrol ---------------------------------------------------------------------------------------


class TestEnrol:
    def test_enrols_a_member_and_answers_201_with_the_card(self, api, shop):
        response = api.post(MEMBERS, GOOD)

        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == {"card_number", "name", "email", "phone", "language", "balance",
                             "joined_at", "level"}
        assert body["level"] is None  # the shop has no levels
        assert len(body["card_number"]) == 13 and body["card_number"].isdigit()
        assert card_number_is_valid(body["card_number"])
        assert body["name"] == "Fatima El Amrani"
        assert body["email"] == "fatima@example.com"
        assert body["phone"] == "+31612345678"  # E.164
        assert body["language"] == "nl"
        assert body["balance"] == 0

        membership = Membership.objects.get()
        assert membership.shop == shop
        assert membership.card_number == body["card_number"]
        assert membership.source == MembershipSource.API
        assert membership.user is None
        assert str(membership.birthday) == "1990-04-12"
        assert membership.marketing_consent is True
        assert membership.marketing_consent_at is not None
        assert LedgerEntry.objects.count() == 0

    def test_the_signup_bonus_is_in_the_balance(self, api, shop):
        program_rules_update(shop=shop, by=None, signup_bonus=150)

        response = api.post(MEMBERS, GOOD)

        assert response.status_code == 201, response.content
        assert response.json()["balance"] == 150
        membership = Membership.objects.get(card_number=response.json()["card_number"])
        assert membership.points_balance == 150
        entry = LedgerEntry.objects.get(membership=membership)
        assert (entry.points, entry.kind) == (150, EntryKind.SIGNUP_BONUS)

        detail = api.get(f"{MEMBERS}{membership.card_number}/")
        assert detail.json()["balance"] == 150

    def test_only_a_name_and_a_phone_number(self, api, shop):
        response = api.post(MEMBERS, {"name": "Piet", "phone": "+31 6 87654321"})

        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["email"], body["phone"]) == ("", "+31687654321")
        assert body["language"] == shop.language  # the shop's language when none is given

    def test_only_a_name_and_an_email(self, api):
        response = api.post(MEMBERS, {"name": "Piet", "email": "piet@example.com"})

        assert response.status_code == 201, response.content
        assert Membership.objects.get().email == "piet@example.com"

    @pytest.mark.parametrize(("changes", "field"), [
        ({"name": None}, "name"),  # missing
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 151}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"email": "", "phone": ""}, "email"),  # neither e-mail nor phone
        ({"email": None, "phone": None}, "email"),  # neither, both left out
        ({"phone": "call me"}, "phone"),
        ({"phone": "123"}, "phone"),
        ({"birthday": "12-04-1990"}, "birthday"),  # bad format
        ({"birthday": "1990-13-01"}, "birthday"),
        ({"birthday": "yesterday"}, "birthday"),
        ({"birthday": "2999-01-01"}, "birthday"),  # in the future
        ({"language": "de"}, "language"),  # unknown language
        ({"language": "NL"}, "language"),
    ])
    def test_bad_input_is_400_naming_the_field_and_creates_nothing(self, api, changes, field):
        data = dict(GOOD)
        for key, value in changes.items():
            if value is None:
                data.pop(key)
            else:
                data[key] = value

        response = api.post(MEMBERS, data)

        assert_error(response, 400, "invalid", field)
        assert Membership.objects.count() == 0
        assert LedgerEntry.objects.count() == 0

    def test_a_body_that_is_not_json_is_400_and_creates_nothing(self, api, client):
        response = client.post(MEMBERS, data="name=Piet", content_type="application/json",
                               headers=api.auth)

        assert_error(response, 400, "parse_error", None)
        assert Membership.objects.count() == 0

    def test_a_duplicate_email_is_409(self, api, shop):
        MembershipFactory(shop=shop, email="fatima@example.com")

        response = api.post(MEMBERS, dict(GOOD, phone=""))

        assert_error(response, 409, "duplicate", "email")
        assert Membership.objects.count() == 1

    def test_a_duplicate_email_in_other_case_is_409(self, api, shop):
        first = api.post(MEMBERS, GOOD)
        assert first.status_code == 201

        response = api.post(MEMBERS, dict(GOOD, email="FATIMA@EXAMPLE.COM", phone=""))

        assert_error(response, 409, "duplicate", "email")
        assert Membership.objects.count() == 1

    def test_a_duplicate_phone_is_409(self, api, shop):
        MembershipFactory(shop=shop, email="someone@example.com", phone="+31612345678")

        response = api.post(MEMBERS, dict(GOOD, email=""))

        assert_error(response, 409, "duplicate", "phone")
        assert Membership.objects.count() == 1

    def test_the_same_email_at_another_shop_is_fine(self, api, other_shop):
        MembershipFactory(shop=other_shop, email="fatima@example.com")

        response = api.post(MEMBERS, GOOD)

        assert response.status_code == 201
        assert Membership.objects.count() == 2


# --- Look up -------------------------------------------------------------------------------------


@pytest.fixture
def fatima(shop):
    return MembershipFactory(shop=shop, name="Fatima El Amrani", email="fatima@example.com",
                             phone="+31612345678")


@pytest.fixture
def others(shop):
    return [
        MembershipFactory(shop=shop, name="Jan de Vries", email="jan@example.com",
                          phone="+31699999999"),
        MembershipFactory(shop=shop, name="Els Bakker", email="els@voorbeeld.nl",
                          phone="+31688888888"),
    ]


class TestLookup:
    @pytest.mark.parametrize("q", [
        "0612345678",  # a Dutch mobile as typed
        "06 1234 5678",
        "+31612345678",
        "+31 6 12345678",
    ])
    def test_by_phone(self, api, fatima, others, q):
        response = api.get(MEMBERS, {"q": q})

        assert response.status_code == 200
        cards = [m["card_number"] for m in response.json()["results"]]
        assert cards == [fatima.card_number]

    @pytest.mark.parametrize("q", ["fatima@example.com", "FATIMA@example.com"])
    def test_by_email(self, api, fatima, others, q):
        response = api.get(MEMBERS, {"q": q})

        assert response.status_code == 200
        results = response.json()["results"]
        assert [m["card_number"] for m in results] == [fatima.card_number]
        assert results[0]["email"] == "fatima@example.com"
        assert results[0]["name"] == "Fatima El Amrani"
        assert results[0]["balance"] == 0

    def test_by_card_number(self, api, fatima, others):
        response = api.get(MEMBERS, {"q": fatima.card_number})

        assert response.status_code == 200
        assert [m["card_number"] for m in response.json()["results"]] == [fatima.card_number]

    def test_by_card_number_with_spaces(self, api, fatima, others):
        card = fatima.card_number
        spaced = f"{card[:4]} {card[4:8]} {card[8:]}"

        response = api.get(MEMBERS, {"q": spaced})

        assert [m["card_number"] for m in response.json()["results"]] == [card]

    def test_nothing_found_is_an_empty_list(self, api, fatima):
        response = api.get(MEMBERS, {"q": "nobody@nowhere.example"})

        assert response.status_code == 200
        assert response.json() == {"results": []}

    def test_a_result_shows_the_balance(self, api, shop, fatima):
        points_credit(shop=shop, membership_id=fatima.pk, points=42, kind=EntryKind.BONUS)

        response = api.get(MEMBERS, {"q": fatima.email})

        assert response.json()["results"][0]["balance"] == 42

    @pytest.mark.parametrize("q", [None, "", "  ", "ab", " ab "])
    def test_q_too_short_is_400(self, api, fatima, q):
        params = {} if q is None else {"q": q}

        response = api.get(MEMBERS, params)

        assert_error(response, 400, "invalid", "q")

    def test_at_most_20_results(self, api, shop):
        for n in range(25):
            MembershipFactory(shop=shop, name=f"Lid {n:02d}", email=f"lid{n}@bulk.example")

        response = api.get(MEMBERS, {"q": "bulk.example"})

        assert response.status_code == 200
        assert len(response.json()["results"]) == 20


# --- A card ----------------------------------------------------------------------------------


class TestDetail:
    def test_a_card_and_its_balance(self, api, shop, fatima):
        points_credit(shop=shop, membership_id=fatima.pk, points=275, kind=EntryKind.BONUS)

        response = api.get(f"{MEMBERS}{fatima.card_number}/")

        assert response.status_code == 200
        body = response.json()
        assert body["card_number"] == fatima.card_number
        assert body["name"] == "Fatima El Amrani"
        assert body["balance"] == 275

    def test_an_unknown_card_is_404(self, api, fatima):
        response = api.get(f"{MEMBERS}1234567890128/")

        assert_error(response, 404, "member_not_found", "card_number")

    def test_garbage_as_a_card_is_404(self, api, fatima):
        response = api.get(f"{MEMBERS}not-a-card/")

        assert_error(response, 404, "member_not_found", "card_number")
