"""members.services: card numbers, enrolment, and joining from the public page (phone numbers:
tests/members/test_phone_numbers.py)."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from loyalty.models import Membership, MembershipSource, User
from members import services
from members.services import (
    card_number_is_valid,
    card_number_new,
    luhn_check_digit,
    member_enrol,
    member_join_public,
)
from tests.factories import PASSWORD, MembershipFactory, UserFactory


def _counts():
    return Membership.objects.count(), User.objects.count()


# --- card numbers -------------------------------------------------------------------------------


class TestCardNumber:
    def test_a_new_number_has_13_digits_no_leading_zero_and_a_valid_check_digit(self):
        for _ in range(500):
            number = card_number_new()
            assert len(number) == 13
            assert number.isdigit()
            assert number[0] != "0"
            assert card_number_is_valid(number)
            assert luhn_check_digit(number[:-1]) == number[-1]

    def test_many_draws_are_unique(self):
        numbers = [card_number_new() for _ in range(5000)]
        assert len(set(numbers)) == len(numbers)

    def test_a_leading_zero_is_replaced(self):
        with mock.patch.object(services.secrets, "choice", return_value="0"):
            number = card_number_new()
        assert number[0] != "0"
        assert number[1:12] == "0" * 11
        assert card_number_is_valid(number)

    def test_known_luhn_examples(self):
        # 7992739871 → check digit 3 is the textbook example; 4222222222222 is a 13-digit
        # Luhn-valid test card number.
        assert luhn_check_digit("7992739871") == "3"
        assert luhn_check_digit("422222222222") == "2"
        assert card_number_is_valid("4222222222222")

    def test_a_new_number_passes_an_independent_luhn_check(self):
        for _ in range(200):
            digits = [int(c) for c in reversed(card_number_new())]
            total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
            assert total % 10 == 0

    def test_every_single_digit_typo_is_caught(self):
        number = card_number_new()
        for position in range(13):
            for digit in "0123456789":
                if digit == number[position]:
                    continue
                typo = number[:position] + digit + number[position + 1:]
                assert not card_number_is_valid(typo), (number, typo)

    def test_swapping_two_neighbouring_digits_is_caught(self):
        assert not card_number_is_valid("2422222222222")  # 4222222222222 with 4 and 2 swapped

    @pytest.mark.parametrize("number", [
        "", "400666666666", "40066666666666", "4006 6666 6666 6", "400666666666a", "abcdefghijklm",
    ])
    def test_wrong_length_or_non_digits_are_invalid(self, number):
        assert not card_number_is_valid(number)


# --- member_enrol -------------------------------------------------------------------------------


@pytest.mark.django_db
class TestMemberEnrol:
    def test_gives_a_card_with_the_details(self, shop):
        membership = member_enrol(
            shop=shop, name="  Sanne Visser ", email=" Sanne@Example.com ",
            phone="06 1234 5678", birthday=dt.date(1991, 4, 12),
            source=MembershipSource.COUNTER,
        )

        stored = Membership.objects.get(pk=membership.pk)
        assert stored.shop == shop
        assert stored.user is None
        assert stored.name == "Sanne Visser"
        assert stored.email == "sanne@example.com"
        assert stored.phone == "+31612345678"  # E.164, read as a number of the shop's country
        assert stored.birthday == dt.date(1991, 4, 12)
        assert stored.source == MembershipSource.COUNTER
        assert stored.points_balance == 0
        assert card_number_is_valid(stored.card_number)

    def test_the_language_defaults_to_the_shops(self, shop):
        assert shop.language == "nl"
        membership = member_enrol(shop=shop, name="Sanne", email="sanne@example.com")
        assert Membership.objects.get(pk=membership.pk).language == "nl"

    def test_a_chosen_language_is_kept(self, shop):
        membership = member_enrol(shop=shop, name="Sanne", email="sanne@example.com",
                                  language="sv")
        assert Membership.objects.get(pk=membership.pk).language == "sv"

    def test_an_unknown_language_is_refused(self, shop):
        with pytest.raises(ValidationError) as exc:
            member_enrol(shop=shop, name="Sanne", email="sanne@example.com", language="de")
        assert exc.value.message_dict == {"language": ["Unknown language “de”."]}
        assert Membership.objects.count() == 0

    def test_consent_is_recorded_with_its_time(self, shop):
        before = timezone.now()
        membership = member_enrol(shop=shop, name="Sanne", email="sanne@example.com",
                                  marketing_consent=True)
        stored = Membership.objects.get(pk=membership.pk)
        assert stored.marketing_consent is True
        assert before <= stored.marketing_consent_at <= timezone.now()

    def test_without_consent_there_is_no_consent_time(self, shop):
        membership = member_enrol(shop=shop, name="Sanne", email="sanne@example.com")
        stored = Membership.objects.get(pk=membership.pk)
        assert stored.marketing_consent is False
        assert stored.marketing_consent_at is None

    def test_email_only_and_phone_only_are_both_enough(self, shop):
        by_mail = member_enrol(shop=shop, name="Sanne", email="sanne@example.com")
        by_phone = member_enrol(shop=shop, name="Henk", phone="+31 6 8765 4321")
        assert (by_mail.email, by_mail.phone) == ("sanne@example.com", "")
        assert (by_phone.email, by_phone.phone) == ("", "+31687654321")

    @pytest.mark.parametrize("name", ["", "   ", None])
    def test_a_name_is_optional(self, shop, name):
        """A phone number (or an e-mail address) is enough for a card, at the counter too."""
        membership = member_enrol(shop=shop, name=name, phone="+31 6 1234 5678")
        assert membership.name == ""
        assert Membership.objects.count() == 1

    def test_a_name_longer_than_150_characters_is_refused(self, shop):
        with pytest.raises(ValidationError) as exc:
            member_enrol(shop=shop, name="x" * 151, email="sanne@example.com")
        assert exc.value.message_dict == {"name": ["The name may be 150 characters at most."]}
        assert Membership.objects.count() == 0

    def test_an_email_or_a_phone_is_required(self, shop):
        with pytest.raises(ValidationError) as exc:
            member_enrol(shop=shop, name="Sanne", email="  ", phone="")
        assert exc.value.message_dict == {
            "email": ["Enter an e-mail address or a phone number."]}
        assert Membership.objects.count() == 0

    @pytest.mark.parametrize("email", ["sanne", "sanne@", "sanne@example", "sanne visser@x.nl"])
    def test_an_invalid_email_is_refused(self, shop, email):
        with pytest.raises(ValidationError) as exc:
            member_enrol(shop=shop, name="Sanne", email=email)
        assert exc.value.message_dict == {"email": ["Enter a valid e-mail address."]}
        assert Membership.objects.count() == 0

    def test_an_invalid_phone_is_refused_even_with_a_good_email(self, shop):
        with pytest.raises(ValidationError) as exc:
            member_enrol(shop=shop, name="Sanne", email="sanne@example.com", phone="bel me")
        assert exc.value.message_dict == {"phone": ["Enter a phone number with digits only."]}
        assert Membership.objects.count() == 0

    def test_all_problems_are_reported_together(self, shop):
        with pytest.raises(ValidationError) as exc:
            member_enrol(shop=shop, name="x" * 151, email="nope", phone="12",
                         birthday=dt.date(1850, 1, 1))
        assert set(exc.value.message_dict) == {"name", "email", "phone", "birthday"}
        assert Membership.objects.count() == 0

    def test_a_birthday_in_the_future_is_refused(self, shop):
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        with pytest.raises(ValidationError) as exc:
            member_enrol(shop=shop, name="Sanne", email="sanne@example.com", birthday=tomorrow)
        assert exc.value.message_dict == {"birthday": ["The birthday cannot be in the future."]}
        assert Membership.objects.count() == 0

    def test_a_birthday_before_1900_is_refused(self, shop):
        with pytest.raises(ValidationError) as exc:
            member_enrol(shop=shop, name="Sanne", email="sanne@example.com",
                         birthday=dt.date(1899, 12, 31))
        assert exc.value.message_dict == {"birthday": ["Enter a birthday after 1900."]}
        assert Membership.objects.count() == 0

    @pytest.mark.parametrize("birthday", [dt.date(1900, 1, 1), "today"])
    def test_birthdays_at_the_edges_are_accepted(self, shop, birthday):
        birthday = timezone.localdate() if birthday == "today" else birthday
        membership = member_enrol(shop=shop, name="Sanne", email="sanne@example.com",
                                  birthday=birthday)
        assert Membership.objects.get(pk=membership.pk).birthday == birthday

    def test_a_duplicate_email_in_another_case_is_refused(self, shop):
        member_enrol(shop=shop, name="Sanne", email="sanne@example.com")
        before = _counts()

        with pytest.raises(ValidationError) as exc:
            member_enrol(shop=shop, name="Sanne V.", email="SANNE@Example.com",
                         phone="0612345678")

        assert exc.value.message_dict == {
            "email": ["There is already a member with this e-mail address at Bakkerij Noord."]}
        assert _counts() == before

    def test_a_duplicate_email_stored_with_capitals_names_the_email_field(self, shop):
        """A row may keep capitals (edited in the admin, where e-mail is editable); the
        duplicate check finds it case-insensitively, and must then name the e-mail field."""
        MembershipFactory(shop=shop, email="Sanne@Example.com", phone="")
        before = _counts()

        with pytest.raises(ValidationError) as exc:
            member_enrol(shop=shop, name="Sanne", email="sanne@example.com")

        assert exc.value.message_dict == {
            "email": ["There is already a member with this e-mail address at Bakkerij Noord."]}
        assert _counts() == before

    def test_a_duplicate_phone_is_refused(self, shop):
        member_enrol(shop=shop, name="Henk", phone="06 1234 5678")
        before = _counts()

        with pytest.raises(ValidationError) as exc:
            member_enrol(shop=shop, name="Ingrid", email="ingrid@example.com",
                         phone="06-12345678")

        assert exc.value.message_dict == {
            "phone": ["There is already a member with this phone number at Bakkerij Noord."]}
        assert _counts() == before

    def test_the_same_person_can_join_another_shop(self, shop, other_shop):
        here = member_enrol(shop=shop, name="Sanne", email="sanne@example.com",
                            phone="0612345678")
        there = member_enrol(shop=other_shop, name="Sanne", email="sanne@example.com",
                             phone="0612345678")
        assert here.card_number != there.card_number
        assert Membership.objects.filter(email="sanne@example.com").count() == 2

    def test_a_user_cannot_have_two_cards_at_one_shop(self, shop):
        user = UserFactory(email="sanne@example.com")
        member_enrol(shop=shop, user=user, name="Sanne", email="sanne@example.com")
        before = _counts()

        with pytest.raises(ValidationError) as exc:
            member_enrol(shop=shop, user=user, name="Sanne", email="sanne.work@example.com",
                         phone="0687654321")

        assert exc.value.messages == ["You are already a member of Bakkerij Noord."]
        assert _counts() == before

    def test_a_user_can_have_cards_at_two_shops(self, shop, other_shop):
        user = UserFactory(email="sanne@example.com")
        member_enrol(shop=shop, user=user, name="Sanne", email="sanne@example.com")
        member_enrol(shop=other_shop, user=user, name="Sanne", email="sanne@example.com")
        assert Membership.objects.filter(user=user).count() == 2

    def test_a_card_number_collision_draws_again(self, shop):
        taken = MembershipFactory(shop=shop).card_number
        fresh = card_number_new()
        with mock.patch.object(services, "card_number_new", side_effect=[taken, fresh]):
            membership = member_enrol(shop=shop, name="Sanne", email="sanne@example.com")
        assert membership.card_number == fresh
        assert Membership.objects.filter(card_number=taken).count() == 1

    def test_endless_collisions_give_up_without_a_row(self, shop):
        taken = MembershipFactory(shop=shop).card_number
        before = _counts()
        with (
            mock.patch.object(services, "card_number_new", return_value=taken),
            pytest.raises(RuntimeError, match="Could not draw a free card number"),
        ):
            member_enrol(shop=shop, name="Sanne", email="sanne@example.com")
        assert _counts() == before


# --- member_join_public -------------------------------------------------------------------------


@pytest.mark.django_db
class TestMemberJoinPublic:
    def test_a_signed_in_user_joins_with_their_login_email(self, shop):
        user = UserFactory(email="sanne@example.com", name="Sanne Visser")
        users_before = User.objects.count()

        membership, new_user = member_join_public(
            shop=shop, user=user, name="", email="someone.else@example.com",
            phone="0612345678",
        )

        assert new_user is None
        stored = Membership.objects.get(pk=membership.pk)
        assert stored.user == user
        assert stored.email == "sanne@example.com"
        assert stored.name == "Sanne Visser"
        assert stored.phone == "+31612345678"
        assert User.objects.count() == users_before

    def test_a_signed_in_user_who_is_already_a_member_is_refused(self, shop, member):
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            member_join_public(shop=shop, user=member.user, name="Sanne")
        assert exc.value.messages == ["You are already a member of Bakkerij Noord."]
        assert _counts() == before

    def test_a_visitor_with_email_and_password_gets_a_login(self, shop):
        users_before = User.objects.count()

        membership, new_user = member_join_public(
            shop=shop, user=None, name="Lotte de Vries", email=" Lotte@Example.com ",
            password=PASSWORD, marketing_consent=True,
        )

        assert User.objects.count() == users_before + 1
        stored_user = User.objects.get(pk=new_user.pk)
        assert stored_user.email == "lotte@example.com"
        assert stored_user.name == "Lotte de Vries"
        assert stored_user.check_password(PASSWORD)
        stored = Membership.objects.get(pk=membership.pk)
        assert stored.user == stored_user
        assert stored.email == "lotte@example.com"
        assert stored.marketing_consent is True
        assert stored.source == MembershipSource.PUBLIC_PAGE

    def test_a_visitor_whose_email_has_a_login_is_told_to_sign_in(self, shop):
        UserFactory(email="lotte@example.com")
        before = _counts()

        with pytest.raises(ValidationError) as exc:
            member_join_public(shop=shop, user=None, name="Lotte", email="LOTTE@example.com",
                               password=PASSWORD)

        assert exc.value.message_dict == {"email": [
            "You already have a Trouw login with this address. Sign in first, then join."]}
        assert _counts() == before

    def test_a_visitor_without_a_password_is_refused(self, shop):
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            member_join_public(shop=shop, user=None, name="Lotte", email="lotte@example.com")
        assert exc.value.message_dict == {
            "password": ["Choose a password for your member portal."]}
        assert _counts() == before

    def test_a_weak_password_is_refused(self, shop):
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            member_join_public(shop=shop, user=None, name="Lotte", email="lotte@example.com",
                               password="12345678")
        assert list(exc.value.message_dict) == ["password"]
        messages = exc.value.message_dict["password"]
        assert "This password is too common." in messages
        assert "This password is entirely numeric." in messages
        assert _counts() == before

    def test_a_password_like_the_email_is_refused(self, shop):
        with pytest.raises(ValidationError) as exc:
            member_join_public(shop=shop, user=None, name="Lotte",
                               email="lotte.devries@example.com", password="lotte.devries")
        assert list(exc.value.message_dict) == ["password"]
        assert _counts() == (0, 0)

    def test_a_visitor_whose_email_is_a_member_already_gets_no_login(self, shop):
        member_enrol(shop=shop, name="Lotte", email="lotte@example.com")
        before = _counts()

        with pytest.raises(ValidationError) as exc:
            member_join_public(shop=shop, user=None, name="Lotte", email="lotte@example.com",
                               password=PASSWORD)

        assert exc.value.message_dict == {
            "email": ["There is already a member with this e-mail address at Bakkerij Noord."]}
        assert _counts() == before
        assert not User.objects.filter(email="lotte@example.com").exists()

    def test_a_visitor_with_bad_details_gets_no_login(self, shop):
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            member_join_public(shop=shop, user=None, name="x" * 151, email="lotte@example.com",
                               password=PASSWORD)
        assert exc.value.message_dict == {"name": ["The name may be 150 characters at most."]}
        assert _counts() == before

    def test_a_phone_only_visitor_gets_a_card_and_no_login(self, shop):
        users_before = User.objects.count()

        membership, new_user = member_join_public(
            shop=shop, user=None, name="Henk", phone="+31 6 1234 5678", password="ignored",
        )

        assert new_user is None
        stored = Membership.objects.get(pk=membership.pk)
        assert stored.user is None
        assert (stored.email, stored.phone) == ("", "+31612345678")
        assert User.objects.count() == users_before

    def test_a_visitor_with_neither_email_nor_phone_is_refused(self, shop):
        with pytest.raises(ValidationError) as exc:
            member_join_public(shop=shop, user=None, name="Henk")
        assert exc.value.message_dict == {
            "email": ["Enter an e-mail address or a phone number."]}
        assert _counts() == (0, 0)
