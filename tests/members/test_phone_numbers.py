"""Phone numbers: stored in E.164 with the shop's country as the default region
(members.services.phone_normalize, with phonenumbers), refused when no one can call them, and
shown in the national format of the shop on every page (the ``phone`` filter); the API answers
E.164."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template

from loyalty.models import Membership
from loyalty.services import api_key_create
from members.services import member_enrol, phone_normalize
from tests.factories import MembershipFactory, ShopFactory
from tests.helpers import text

NBSP = "\u00a0"


def nb(shown: str) -> str:
    """A number as the filter shows it: its groups joined with no-break spaces."""
    return shown.replace(" ", NBSP)


NOT_CALLABLE = ("That is not a phone number we can call: check the digits. A number from "
                "another country starts with + and its country code.")


# --- phone_normalize ----------------------------------------------------------------------------


class TestPhoneNormalize:
    @pytest.mark.parametrize("raw", [
        "0612345678", "06 1234 5678", "06-12345678", " 06-1234-5678 ", "06 12 34 56 78",
        "(06) 1234 5678", "+31 6 1234 5678", "+31612345678", "+31 (0)6 1234 5678",
        "0031 6 1234 5678", "0031612345678", "06.1234.5678",
    ])
    def test_a_dutch_mobile_number_in_any_form(self, raw):
        assert phone_normalize(raw, country="NL") == "+31612345678"

    @pytest.mark.parametrize("raw", ["020 123 4567", "(020) 123 4567", "020-1234567",
                                     "020.123.4567", "+31 20 123 4567", "0031 20 1234567"])
    def test_a_dutch_landline(self, raw):
        assert phone_normalize(raw, country="NL") == "+31201234567"

    @pytest.mark.parametrize("raw", ["070-123 45 67", "070 123 45 67", "0701234567",
                                     "+46 70 123 45 67", "+46701234567", "0046 70-123 45 67"])
    def test_a_swedish_mobile_number_in_a_swedish_shop(self, raw):
        assert phone_normalize(raw, country="SE") == "+46701234567"

    @pytest.mark.parametrize("raw", ["+46 70 123 45 67", "0046 70 123 45 67", "0046701234567"])
    def test_a_swedish_number_in_a_dutch_shop_needs_its_country_code(self, raw):
        assert phone_normalize(raw, country="NL") == "+46701234567"

    def test_the_shops_country_decides_a_number_without_country_code(self):
        # 070 is The Hague in the Netherlands and a mobile number in Sweden.
        assert phone_normalize("070 123 4567", country="NL") == "+31701234567"
        assert phone_normalize("070-123 45 67", country="SE") == "+46701234567"

    @pytest.mark.parametrize("raw", ["+32 470 12 34 56", "0032 470 12 34 56", "+32470123456"])
    def test_a_belgian_number_in_a_dutch_shop(self, raw):
        assert phone_normalize(raw, country="NL") == "+32470123456"

    def test_a_belgian_number_in_a_belgian_shop(self):
        assert phone_normalize("0470 12 34 56", country="BE") == "+32470123456"

    @pytest.mark.parametrize("raw", ["", "   ", None])
    def test_nothing_stays_nothing(self, raw):
        assert phone_normalize(raw, country="NL") == ""

    @pytest.mark.parametrize("raw", ["06-1234abcd", "call me", "06 1234 5678 ext 12",
                                     "+31 6 12✆45", "1-800-FLOWERS", "06 1234 5678 #3",
                                     "٠٦١٢٣٤٥٦٧٨", "sanne@example.com"])
    def test_letters_and_other_signs_are_refused(self, raw):
        with pytest.raises(ValidationError) as exc:
            phone_normalize(raw, country="NL")
        assert exc.value.message_dict == {"phone": ["Enter a phone number with digits only."]}

    @pytest.mark.parametrize("raw", [
        "123", "12345", "123456", "06-12", "+31 6", "061234567",  # one digit short
        "06123456789", "+31 6 1234 5678 9012 34", "1234567890123456",
        "+31 6 9999 0000",  # 06-9… is not given out in the Netherlands
        "0000000000", "+999 123 456 789", "00 1234 5",
    ])
    def test_a_number_no_one_can_call_is_refused(self, raw):
        with pytest.raises(ValidationError) as exc:
            phone_normalize(raw, country="NL")
        assert exc.value.message_dict == {"phone": [NOT_CALLABLE]}


# --- enrolment ----------------------------------------------------------------------------------


@pytest.mark.django_db
class TestEnrolStoresE164:
    def test_a_swedish_shop_reads_07_as_a_swedish_mobile_number(self):
        shop = ShopFactory(country="SE", currency="SEK")
        membership = member_enrol(shop=shop, name="Astrid", phone="070-123 45 67")
        assert Membership.objects.get(pk=membership.pk).phone == "+46701234567"

    @pytest.mark.parametrize("again", ["+31 6 1234 5678", "0031 6 12 34 56 78", "06-12345678"])
    def test_the_same_number_written_another_way_is_a_duplicate(self, shop, again):
        member_enrol(shop=shop, name="Henk", phone="06 1234 5678")
        with pytest.raises(ValidationError) as exc:
            member_enrol(shop=shop, name="Henk", phone=again)
        assert exc.value.message_dict == {
            "phone": ["There is already a member with this phone number at Bakkerij Noord."]}
        assert Membership.objects.count() == 1

    def test_numbers_that_share_their_last_nine_digits_are_different_customers(self, shop):
        """+31 70 123 4567 (The Hague) and +46 70 123 45 67 (a Swedish mobile) end alike: the
        old check on the last nine digits took them for one customer."""
        member_enrol(shop=shop, name="Jan", phone="070 123 4567")
        member_enrol(shop=shop, name="Astrid", phone="+46 70 123 45 67")
        assert set(Membership.objects.values_list("phone", flat=True)) == {
            "+31701234567", "+46701234567"}

    def test_an_impossible_number_is_refused_and_nothing_is_written(self, shop):
        with pytest.raises(ValidationError) as exc:
            member_enrol(shop=shop, name="Henk", email="henk@example.com", phone="06 1234")
        assert exc.value.message_dict == {"phone": [NOT_CALLABLE]}
        assert Membership.objects.count() == 0


# --- showing numbers ----------------------------------------------------------------------------


def _phone(value, country):
    return Template("{% load trouw %}{{ value|phone:country }}").render(
        Context({"value": value, "country": country}))


class TestPhoneFilter:
    @pytest.mark.parametrize(("value", "country", "shown"), [
        ("+31612345678", "NL", "06 12345678"),
        ("+31201234567", "NL", "020 123 4567"),
        ("+46701234567", "SE", "070-123 45 67"),
        ("+46701234567", "NL", "+46 70 123 45 67"),
        ("+31612345678", "SE", "+31 6 12345678"),
        ("+32470123456", "NL", "+32 470 12 34 56"),
        ("+32470123456", "BE", "0470 12 34 56"),
        ("", "NL", ""),
        ("12-34", "NL", "12-34"),  # an old row that could not be read shows as stored
    ])
    def test_national_in_the_shops_country_international_otherwise(self, value, country, shown):
        assert _phone(value, country) == nb(shown)

    def test_a_number_never_wraps_in_the_middle(self):
        assert " " not in _phone("+46701234567", "NL")
        assert _phone("+46701234567", "NL") == "+46\u00a070\u00a0123\u00a045\u00a067"


@pytest.mark.django_db
class TestPagesShowTheNationalFormat:
    @pytest.fixture
    def henk(self, shop):
        return MembershipFactory(shop=shop, name="Henk de Boer", email="",
                                 phone="+31612345678")

    @pytest.fixture
    def astrid(self, shop):
        return MembershipFactory(shop=shop, name="Astrid Berg", email="",
                                 phone="+46701234567")

    def test_counter_results(self, staff_client, shop, henk, astrid):
        content = text(staff_client.get(f"/counter/{shop.slug}/", {"q": "Henk"}))
        assert nb("06 12345678") in content and "+31612345678" not in content
        content = text(staff_client.get(f"/counter/{shop.slug}/", {"q": "Astrid"}))
        assert nb("+46 70 123 45 67") in content

    def test_counter_member_panel(self, staff_client, shop, henk):
        content = text(staff_client.get(f"/counter/{shop.slug}/members/{henk.card_number}/"))
        assert nb("06 12345678") in content and "+31612345678" not in content

    def test_dashboard_members_list(self, owner_client, shop, henk, astrid):
        content = text(owner_client.get(f"/dashboard/{shop.slug}/members/"))
        assert nb("06 12345678") in content and "+31612345678" not in content
        assert nb("+46 70 123 45 67") in content

    def test_dashboard_member(self, owner_client, shop, henk):
        content = text(owner_client.get(f"/dashboard/{shop.slug}/members/{henk.card_number}/"))
        assert nb("06 12345678") in content and "+31612345678" not in content

    def test_a_swedish_shop_shows_swedish_numbers_nationally(self, client):
        from tests.factories import StaffMemberFactory, UserFactory

        shop = ShopFactory(country="SE", currency="SEK")
        MembershipFactory(shop=shop, name="Astrid Berg", phone="+46701234567")
        user = UserFactory()
        StaffMemberFactory(shop=shop, user=user)
        client.force_login(user)
        assert nb("070-123 45 67") in text(client.get(f"/counter/{shop.slug}/", {"q": "Astrid"}))


@pytest.mark.django_db
class TestApiAnswersE164:
    def test_enrol_and_look_up_answer_e164(self, client, shop):
        _key, raw = api_key_create(shop=shop, name="till-1")
        headers = {"Authorization": f"Api-Key {raw}"}
        response = client.post("/api/v1/members/", json.dumps({
            "name": "Henk", "phone": "06 1234 5678"}), content_type="application/json",
            headers=headers)
        assert response.status_code == 201, response.content
        assert response.json()["phone"] == "+31612345678"
        response = client.get("/api/v1/members/", {"q": "06 1234 5678"}, headers=headers)
        assert [row["phone"] for row in response.json()["results"]] == ["+31612345678"]

    def test_an_impossible_number_is_a_400_with_our_message(self, client, shop):
        _key, raw = api_key_create(shop=shop, name="till-1")
        response = client.post("/api/v1/members/", json.dumps({
            "name": "Henk", "phone": "06 1234"}), content_type="application/json",
            headers={"Authorization": f"Api-Key {raw}"})
        assert response.status_code == 400
        assert response.json()["error"] == {
            "code": "invalid", "message": NOT_CALLABLE, "field": "phone"}
        assert Membership.objects.count() == 0
