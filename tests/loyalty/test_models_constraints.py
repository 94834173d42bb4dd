"""The database itself refuses bad rows, whatever code path writes them.

Services check these rules first and answer with friendly messages; the constraints here are the
last line of defence (races, the admin, raw queryset updates, future code). Each refusal happens
inside ``transaction.atomic()`` so the test's own transaction stays usable, and each test checks
that the refused row did not land.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty.models import (
    InvitationStatus,
    Membership,
    Shop,
    StaffInvitation,
    StaffMember,
    StaffRole,
    User,
)
from members.services import card_number_new
from tests.factories import (
    MembershipFactory,
    ShopFactory,
    StaffInvitationFactory,
    StaffMemberFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _membership(shop, **fields):
    """A Membership saved straight through the ORM, bypassing every service check."""
    values = {"shop": shop, "card_number": card_number_new(), "name": "Sanne Visser"}
    values.update(fields)
    return Membership.objects.create(**values)


# --- Membership ---------------------------------------------------------------------------------


class TestMembershipBalance:
    def test_a_positive_or_zero_balance_is_stored(self, member):
        Membership.objects.filter(pk=member.pk).update(points_balance=0)
        Membership.objects.filter(pk=member.pk).update(points_balance=120)
        member.refresh_from_db()
        assert member.points_balance == 120

    def test_a_negative_balance_is_refused(self, member):
        Membership.objects.filter(pk=member.pk).update(points_balance=5)
        with pytest.raises(IntegrityError), transaction.atomic():
            Membership.objects.filter(pk=member.pk).update(points_balance=-1)
        member.refresh_from_db()
        assert member.points_balance == 5


class TestMembershipContact:
    def test_neither_email_nor_phone_is_refused(self, shop):
        with pytest.raises(IntegrityError), transaction.atomic():
            _membership(shop, email="", phone="")
        assert Membership.objects.count() == 0

    def test_email_only_is_enough(self, shop):
        _membership(shop, email="sanne@example.com", phone="")
        assert Membership.objects.filter(shop=shop, email="sanne@example.com").count() == 1

    def test_phone_only_is_enough(self, shop):
        _membership(shop, email="", phone="+31612345678")
        assert Membership.objects.filter(shop=shop, phone="+31612345678").count() == 1

    def test_blanking_the_last_contact_detail_is_refused(self, shop):
        membership = _membership(shop, email="sanne@example.com", phone="")
        with pytest.raises(IntegrityError), transaction.atomic():
            Membership.objects.filter(pk=membership.pk).update(email="")
        membership.refresh_from_db()
        assert membership.email == "sanne@example.com"


class TestMembershipEmailUniquePerShop:
    def test_same_email_in_another_case_at_the_same_shop_is_refused(self, shop):
        _membership(shop, email="sanne@example.com", phone="")
        with pytest.raises(IntegrityError), transaction.atomic():
            _membership(shop, email="Sanne@Example.COM", phone="")
        assert Membership.objects.filter(shop=shop).count() == 1

    def test_same_email_at_another_shop_is_allowed(self, shop, other_shop):
        _membership(shop, email="sanne@example.com", phone="")
        _membership(other_shop, email="SANNE@example.com", phone="")
        assert Membership.objects.filter(email__iexact="sanne@example.com").count() == 2

    def test_several_members_without_email_at_one_shop_are_allowed(self, shop):
        _membership(shop, email="", phone="+31611111111")
        _membership(shop, email="", phone="+31622222222")
        assert Membership.objects.filter(shop=shop, email="").count() == 2


class TestMembershipPhoneUniquePerShop:
    def test_same_phone_at_the_same_shop_is_refused(self, shop):
        _membership(shop, email="", phone="+31612345678")
        with pytest.raises(IntegrityError), transaction.atomic():
            _membership(shop, email="other@example.com", phone="+31612345678")
        assert Membership.objects.filter(shop=shop).count() == 1

    def test_same_phone_at_another_shop_is_allowed(self, shop, other_shop):
        _membership(shop, email="", phone="+31612345678")
        _membership(other_shop, email="", phone="+31612345678")
        assert Membership.objects.filter(phone="+31612345678").count() == 2

    def test_several_members_without_phone_at_one_shop_are_allowed(self, shop):
        _membership(shop, email="a@example.com", phone="")
        _membership(shop, email="b@example.com", phone="")
        assert Membership.objects.filter(shop=shop, phone="").count() == 2


class TestMembershipOnePerUserPerShop:
    def test_two_cards_for_one_user_at_one_shop_are_refused(self, shop):
        user = UserFactory()
        _membership(shop, user=user, email="a@example.com")
        with pytest.raises(IntegrityError), transaction.atomic():
            _membership(shop, user=user, email="b@example.com")
        assert Membership.objects.filter(shop=shop, user=user).count() == 1

    def test_one_user_may_have_cards_at_two_shops(self, shop, other_shop):
        user = UserFactory()
        _membership(shop, user=user, email="a@example.com")
        _membership(other_shop, user=user, email="a@example.com")
        assert Membership.objects.filter(user=user).count() == 2

    def test_many_cards_without_a_login_at_one_shop_are_allowed(self, shop):
        _membership(shop, user=None, email="a@example.com")
        _membership(shop, user=None, email="b@example.com")
        assert Membership.objects.filter(shop=shop, user__isnull=True).count() == 2


class TestCardNumberUnique:
    def test_duplicate_card_number_is_refused_even_across_shops(self, shop, other_shop):
        number = card_number_new()
        _membership(shop, card_number=number, email="a@example.com")
        with pytest.raises(IntegrityError), transaction.atomic():
            _membership(other_shop, card_number=number, email="b@example.com")
        assert Membership.objects.filter(card_number=number).count() == 1


# --- StaffMember --------------------------------------------------------------------------------


class TestStaffMember:
    def test_two_roles_for_one_user_at_one_shop_are_refused(self, shop):
        user = UserFactory()
        StaffMemberFactory(shop=shop, user=user, role=StaffRole.STAFF)
        with pytest.raises(IntegrityError), transaction.atomic():
            StaffMember.objects.create(shop=shop, user=user, role=StaffRole.OWNER)
        assert StaffMember.objects.filter(shop=shop, user=user).count() == 1

    def test_one_user_may_work_at_two_shops(self, shop, other_shop):
        user = UserFactory()
        StaffMemberFactory(shop=shop, user=user)
        StaffMemberFactory(shop=other_shop, user=user)
        assert StaffMember.objects.filter(user=user).count() == 2

    def test_an_unknown_role_is_refused(self, shop):
        user = UserFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            StaffMember.objects.create(shop=shop, user=user, role="manager")
        assert not StaffMember.objects.filter(user=user).exists()


# --- Shop ---------------------------------------------------------------------------------------


class TestShop:
    def test_an_unknown_currency_is_refused(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            Shop.objects.create(name="Dollar Deli", slug="dollar-deli", currency="USD",
                                language="en")
        assert not Shop.objects.filter(slug="dollar-deli").exists()

    def test_an_unknown_language_is_refused(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            Shop.objects.create(name="Bäckerei", slug="baeckerei", currency="EUR", language="de")
        assert not Shop.objects.filter(slug="baeckerei").exists()

    def test_changing_the_currency_to_an_unknown_one_is_refused(self, shop):
        with pytest.raises(IntegrityError), transaction.atomic():
            Shop.objects.filter(pk=shop.pk).update(currency="GBP")
        shop.refresh_from_db()
        assert shop.currency == "EUR"

    def test_known_currencies_and_languages_are_stored(self):
        ShopFactory(slug="kr-shop", currency="SEK", language="sv")
        assert Shop.objects.filter(slug="kr-shop", currency="SEK", language="sv").exists()


# --- StaffInvitation ----------------------------------------------------------------------------


class TestStaffInvitation:
    def test_two_pending_invitations_for_one_email_in_any_case_are_refused(self, shop):
        StaffInvitationFactory(shop=shop, email="daan@example.com")
        with pytest.raises(IntegrityError), transaction.atomic():
            StaffInvitationFactory(shop=shop, email="Daan@Example.com")
        assert StaffInvitation.objects.filter(shop=shop).count() == 1

    def test_pending_invitations_for_one_email_at_two_shops_are_allowed(self, shop, other_shop):
        StaffInvitationFactory(shop=shop, email="daan@example.com")
        StaffInvitationFactory(shop=other_shop, email="daan@example.com")
        assert StaffInvitation.objects.filter(email="daan@example.com").count() == 2

    def test_an_accepted_and_a_pending_invitation_for_one_email_are_allowed(self, shop):
        StaffInvitationFactory(
            shop=shop, email="daan@example.com", status=InvitationStatus.ACCEPTED,
            accepted_at=timezone.now(),
        )
        StaffInvitationFactory(shop=shop, email="daan@example.com")
        assert sorted(
            StaffInvitation.objects.filter(shop=shop).values_list("status", flat=True)
        ) == ["accepted", "pending"]

    def test_revoked_and_expired_invitations_do_not_block_a_pending_one(self, shop):
        StaffInvitationFactory(shop=shop, email="daan@example.com",
                               status=InvitationStatus.REVOKED)
        StaffInvitationFactory(shop=shop, email="daan@example.com",
                               status=InvitationStatus.EXPIRED)
        StaffInvitationFactory(shop=shop, email="daan@example.com")
        assert StaffInvitation.objects.filter(shop=shop).count() == 3

    def test_an_accepted_invitation_without_accepted_at_is_refused(self, shop):
        with pytest.raises(IntegrityError), transaction.atomic():
            StaffInvitationFactory(shop=shop, email="daan@example.com",
                                   status=InvitationStatus.ACCEPTED, accepted_at=None)
        assert StaffInvitation.objects.count() == 0

    def test_marking_accepted_without_a_time_is_refused(self, shop):
        invitation = StaffInvitationFactory(shop=shop)
        with pytest.raises(IntegrityError), transaction.atomic():
            StaffInvitation.objects.filter(pk=invitation.pk).update(
                status=InvitationStatus.ACCEPTED
            )
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.PENDING

    def test_an_unknown_status_is_refused(self, shop):
        invitation = StaffInvitationFactory(shop=shop)
        with pytest.raises(IntegrityError), transaction.atomic():
            StaffInvitation.objects.filter(pk=invitation.pk).update(status="lost")
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.PENDING


# --- User ---------------------------------------------------------------------------------------


class TestUserEmail:
    def test_an_email_differing_only_in_case_is_refused(self):
        User.objects.create(email="Anna@Example.com")
        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.create(email="anna@example.com")
        assert User.objects.filter(email__iexact="anna@example.com").count() == 1

    def test_the_exact_same_email_is_refused(self):
        User.objects.create(email="anna@example.com")
        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.create(email="anna@example.com")
        assert User.objects.filter(email__iexact="anna@example.com").count() == 1

    def test_create_user_stores_the_address_in_lower_case(self):
        user = User.objects.create_user(email="Anna@Example.COM", password="x-y-z-12345")
        assert user.email == "anna@example.com"
        assert User.objects.get(pk=user.pk).email == "anna@example.com"


def test_membership_factory_rows_pass_every_constraint(shop):
    """The shared factory builds valid rows, so other tests start from a legal state."""
    MembershipFactory.create_batch(3, shop=shop)
    assert Membership.objects.filter(shop=shop).count() == 3
