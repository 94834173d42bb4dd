"""loyalty.services.shop_create / shop_update: a shop and its first owner, and its details."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from loyalty.models import Shop, StaffMember, StaffRole
from loyalty.services import RESERVED_SLUGS, shop_create, shop_slug_from_name, shop_update
from tests.factories import ShopFactory, UserFactory

pytestmark = pytest.mark.django_db

SLUG_FORMAT_MESSAGE = (
    "Use 2–50 lowercase letters, digits and hyphens; start and end with a letter or digit."
)


@pytest.fixture
def new_owner(db):
    return UserFactory(email="anneke@example.com")


def _create(owner, **overrides):
    values = {
        "owner": owner, "name": "Bakkerij De Gouden Korst", "slug": "gouden-korst",
        "currency": "EUR", "language": "nl", "time_zone": "Europe/Amsterdam",
    }
    values.update(overrides)
    return shop_create(**values)


def _counts():
    return Shop.objects.count(), StaffMember.objects.count()


# --- shop_create --------------------------------------------------------------------------------


class TestShopCreate:
    def test_creates_the_shop_with_its_owner(self, new_owner):
        shop = _create(
            new_owner, email="hallo@korst.example", phone="+31 20 123 4567",
            address="Westerstraat 112", website="https://korst.example",
        )

        stored = Shop.objects.get(pk=shop.pk)
        assert stored.name == "Bakkerij De Gouden Korst"
        assert stored.slug == "gouden-korst"
        assert stored.currency == "EUR"
        assert stored.language == "nl"
        assert stored.time_zone == "Europe/Amsterdam"
        assert stored.email == "hallo@korst.example"
        assert stored.website == "https://korst.example"
        staff = list(StaffMember.objects.filter(shop=shop))
        assert len(staff) == 1
        assert staff[0].user == new_owner
        assert staff[0].role == StaffRole.OWNER
        assert staff[0].is_active is True

    def test_swedish_shop_in_kronor(self, new_owner):
        shop = _create(new_owner, slug="bageri-sol", currency="SEK", language="sv",
                       time_zone="Europe/Stockholm")
        shop.refresh_from_db()
        assert (shop.currency, shop.language, shop.time_zone) == (
            "SEK", "sv", "Europe/Stockholm")

    def test_name_and_slug_are_trimmed_and_the_slug_lower_cased(self, new_owner):
        shop = _create(new_owner, name="  Gouden Korst  ", slug="  Gouden-Korst ")
        shop.refresh_from_db()
        assert shop.name == "Gouden Korst"
        assert shop.slug == "gouden-korst"

    def test_one_user_can_own_two_shops(self, new_owner):
        _create(new_owner, slug="korst-noord")
        _create(new_owner, slug="korst-zuid")
        assert StaffMember.objects.filter(user=new_owner, role=StaffRole.OWNER).count() == 2

    def test_a_taken_slug_is_refused_and_nothing_is_created(self, new_owner):
        ShopFactory(slug="gouden-korst")
        before = _counts()

        with pytest.raises(ValidationError) as exc:
            _create(new_owner, slug="gouden-korst")

        assert exc.value.message_dict == {"slug": [
            "The web address “gouden-korst” is taken. Try another, such as “gouden-korst-2”."]}
        assert _counts() == before
        assert not StaffMember.objects.filter(user=new_owner).exists()

    def test_a_taken_slug_in_another_case_is_refused(self, new_owner):
        ShopFactory(slug="gouden-korst")
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            _create(new_owner, slug="Gouden-Korst")
        assert exc.value.message_dict == {"slug": [
            "The web address “gouden-korst” is taken. Try another, such as “gouden-korst-2”."]}
        assert _counts() == before

    @pytest.mark.parametrize("slug", ["admin", "shops", "ADMIN", " portal "])
    def test_a_reserved_slug_is_refused(self, new_owner, slug):
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            _create(new_owner, slug=slug)
        word = slug.strip().lower()
        assert exc.value.message_dict == {
            "slug": [f"The web address “{word}” is reserved. Try another."]
        }
        assert _counts() == before

    def test_every_reserved_word_is_refused(self, new_owner):
        for word in sorted(RESERVED_SLUGS):
            with pytest.raises(ValidationError) as exc:
                _create(new_owner, slug=word)
            assert list(exc.value.message_dict) == ["slug"], word
        assert _counts() == (0, 0)

    @pytest.mark.parametrize(
        "slug",
        ["gouden korst", "-gouden-korst", "gouden-korst-", "gouden_korst", "goud€n", "korst!"],
    )
    def test_a_badly_formed_slug_is_refused(self, new_owner, slug):
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            _create(new_owner, slug=slug)
        assert list(exc.value.message_dict) == ["slug"]
        assert SLUG_FORMAT_MESSAGE in exc.value.message_dict["slug"]
        assert _counts() == before

    def test_an_upper_case_slug_is_lower_cased_not_stored_as_typed(self, new_owner):
        """The service lower-cases on purpose; an upper-case slug never reaches the table."""
        shop = _create(new_owner, slug="GOUDEN-KORST")
        assert Shop.objects.get(pk=shop.pk).slug == "gouden-korst"
        assert not Shop.objects.filter(slug="GOUDEN-KORST").exists()

    def test_a_slug_longer_than_50_characters_is_refused(self, new_owner):
        with pytest.raises(ValidationError) as exc:
            _create(new_owner, slug="a" * 51)
        assert list(exc.value.message_dict) == ["slug"]
        assert _counts() == (0, 0)

    def test_an_empty_slug_is_made_from_the_name(self, new_owner):
        shop = _create(new_owner, slug="   ")
        assert Shop.objects.get(pk=shop.pk).slug == "bakkerij-de-gouden-korst"

    def test_a_slug_made_from_a_taken_name_gets_a_number(self, new_owner):
        ShopFactory(slug="bakkerij-de-gouden-korst")
        ShopFactory(slug="bakkerij-de-gouden-korst-2")
        assert _create(new_owner, slug="").slug == "bakkerij-de-gouden-korst-3"
        assert _create(new_owner, slug="").slug == "bakkerij-de-gouden-korst-4"

    def test_a_slug_made_from_a_reserved_word_gets_a_number(self, new_owner):
        assert _create(new_owner, name="Portal", slug="").slug == "portal-2"

    def test_a_name_without_letters_needs_a_slug(self, new_owner):
        with pytest.raises(ValidationError) as exc:
            _create(new_owner, name="!!!", slug="")
        assert exc.value.message_dict == {"slug": [
            "Choose a web address: your shop's name has no letters or digits to make one of."]}
        assert _counts() == (0, 0)

    def test_a_suggested_slug_with_other_errors_names_only_those(self, new_owner):
        ShopFactory(slug="bakkerij-de-gouden-korst")
        with pytest.raises(ValidationError) as exc:
            _create(new_owner, slug="", currency="XYZ")
        assert list(exc.value.message_dict) == ["currency"]

    def test_a_typed_taken_slug_with_other_errors_names_both(self, new_owner):
        ShopFactory(slug="gouden-korst")
        with pytest.raises(ValidationError) as exc:
            _create(new_owner, slug="gouden-korst", currency="XYZ")
        assert sorted(exc.value.message_dict) == ["currency", "slug"]
        assert "“gouden-korst-2”" in exc.value.message_dict["slug"][0]

    @pytest.mark.parametrize(("name", "slug"), [
        ("Bakkerij De Gouden Korst", "bakkerij-de-gouden-korst"),
        ("  Café   Ørsted & Zonen  ", "cafe-orsted-zonen"),
        ("Bageri Sötsak i Malmö", "bageri-sotsak-i-malmo"),
        ("Straße_Nummer 5 -- Köln", "strasse-nummer-5-koln"),
        ("Æbleskiver ♥", "aebleskiver"),
        ("x" * 60, "x" * 50),
        ("a" * 49 + " b", "a" * 49),
    ])
    def test_slug_from_name(self, name, slug):
        assert shop_slug_from_name(name) == slug

    def test_a_long_slug_with_a_number_stays_within_50(self, new_owner):
        ShopFactory(slug="x" * 50)
        shop = _create(new_owner, name="x" * 60, slug="")
        assert shop.slug == "x" * 48 + "-2"

    def test_an_unknown_currency_is_refused(self, new_owner):
        with pytest.raises(ValidationError) as exc:
            _create(new_owner, currency="USD")
        assert exc.value.message_dict == {
            "currency": ["Unknown currency “USD”. Choose one of: EUR, SEK."]
        }
        assert _counts() == (0, 0)

    def test_a_lower_case_currency_is_refused_by_the_service(self, new_owner):
        """Only the management command upper-cases; the service takes the exact code."""
        with pytest.raises(ValidationError) as exc:
            _create(new_owner, currency="eur")
        assert list(exc.value.message_dict) == ["currency"]
        assert _counts() == (0, 0)

    def test_an_unknown_language_is_refused(self, new_owner):
        with pytest.raises(ValidationError) as exc:
            _create(new_owner, language="de")
        assert exc.value.message_dict == {
            "language": ["Unknown language “de”. Choose one of: en, nl, sv."]
        }
        assert _counts() == (0, 0)

    def test_an_unknown_time_zone_is_refused(self, new_owner):
        with pytest.raises(ValidationError) as exc:
            _create(new_owner, time_zone="Mars/Olympus_Mons")
        assert exc.value.message_dict == {
            "time_zone": ["“Mars/Olympus_Mons” is not a known time zone."]
        }
        assert _counts() == (0, 0)

    @pytest.mark.parametrize("name", ["", "   "])
    def test_an_empty_name_is_refused(self, new_owner, name):
        with pytest.raises(ValidationError) as exc:
            _create(new_owner, name=name)
        assert exc.value.message_dict == {"name": ["This field cannot be blank."]}
        assert _counts() == (0, 0)

    def test_a_bad_contact_email_and_website_are_refused(self, new_owner):
        with pytest.raises(ValidationError) as exc:
            _create(new_owner, email="not-an-address", website="korst")
        assert set(exc.value.message_dict) == {"email", "website"}
        assert _counts() == (0, 0)

    def test_every_problem_is_reported_at_once(self, new_owner):
        ShopFactory(slug="gouden-korst")
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            _create(new_owner, name="", currency="USD", language="de", time_zone="Nowhere")
        assert set(exc.value.message_dict) == {
            "name", "slug", "currency", "language", "time_zone"}
        assert _counts() == before


# --- shop_update --------------------------------------------------------------------------------


class TestShopUpdate:
    @pytest.fixture
    def korst(self, new_owner):
        return _create(new_owner)

    def test_changes_the_allowed_fields(self, korst):
        shop_update(
            shop=korst, name="De Gouden Korst", language="en", time_zone="Europe/Stockholm",
            email="info@korst.example", phone="020 1234567", address="Kerkstraat 1",
            website="https://korst.example",
        )
        stored = Shop.objects.get(pk=korst.pk)
        assert stored.name == "De Gouden Korst"
        assert stored.language == "en"
        assert stored.time_zone == "Europe/Stockholm"
        assert stored.email == "info@korst.example"
        assert stored.phone == "020 1234567"
        assert stored.address == "Kerkstraat 1"
        assert stored.website == "https://korst.example"
        assert (stored.slug, stored.currency) == ("gouden-korst", "EUR")

    def test_saves_only_the_fields_it_was_given(self, korst):
        Shop.objects.filter(pk=korst.pk).update(address="Changed elsewhere")
        shop_update(shop=korst, name="De Gouden Korst")
        stored = Shop.objects.get(pk=korst.pk)
        assert stored.name == "De Gouden Korst"
        assert stored.address == "Changed elsewhere"

    def test_the_currency_cannot_be_changed(self, korst):
        with pytest.raises(ValidationError) as exc:
            shop_update(shop=korst, currency="SEK")
        assert exc.value.messages == ["These details cannot be changed: currency"]
        assert Shop.objects.get(pk=korst.pk).currency == "EUR"

    def test_the_slug_cannot_be_changed(self, korst):
        with pytest.raises(ValidationError) as exc:
            shop_update(shop=korst, slug="andere-naam", name="Andere Naam")
        assert exc.value.messages == ["These details cannot be changed: slug"]
        stored = Shop.objects.get(pk=korst.pk)
        assert (stored.slug, stored.name) == ("gouden-korst", "Bakkerij De Gouden Korst")

    def test_several_forbidden_fields_are_all_named(self, korst):
        with pytest.raises(ValidationError) as exc:
            shop_update(shop=korst, slug="x", currency="SEK", created_at=None)
        assert exc.value.messages == [
            "These details cannot be changed: created_at, currency, slug"]

    def test_an_unknown_language_is_refused_and_nothing_saved(self, korst):
        with pytest.raises(ValidationError) as exc:
            shop_update(shop=korst, language="de", name="Nieuwe Naam")
        assert list(exc.value.message_dict) == ["language"]
        stored = Shop.objects.get(pk=korst.pk)
        assert (stored.language, stored.name) == ("nl", "Bakkerij De Gouden Korst")

    def test_an_unknown_time_zone_is_refused_and_nothing_saved(self, korst):
        with pytest.raises(ValidationError) as exc:
            shop_update(shop=korst, time_zone="Europe/Atlantis")
        assert exc.value.message_dict == {
            "time_zone": ["“Europe/Atlantis” is not a known time zone."]}
        assert Shop.objects.get(pk=korst.pk).time_zone == "Europe/Amsterdam"

    def test_an_empty_name_is_refused(self, korst):
        with pytest.raises(ValidationError) as exc:
            shop_update(shop=korst, name="")
        assert exc.value.message_dict == {"name": ["This field cannot be blank."]}
        assert Shop.objects.get(pk=korst.pk).name == "Bakkerij De Gouden Korst"

    def test_a_whitespace_only_name_is_refused(self, korst):
        """shop_create strips the name and refuses a blank one; shop_update must agree."""
        with pytest.raises(ValidationError) as exc:
            shop_update(shop=korst, name="   ")
        assert list(exc.value.message_dict) == ["name"]
        assert Shop.objects.get(pk=korst.pk).name == "Bakkerij De Gouden Korst"
