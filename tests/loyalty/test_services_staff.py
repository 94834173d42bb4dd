"""Staff: invitations by e-mail (signed, expiring, single-use links), accepting them, and
switching staff members off and on. Also the Celery tasks that expire invitations, and the
invitation's e-mail through the outbox."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail, signing
from django.core.exceptions import ValidationError
from django.utils import timezone

from loyalty import tasks
from loyalty.models import (
    InvitationStatus,
    OutboxMessage,
    OutboxStatus,
    StaffInvitation,
    StaffMember,
    StaffRole,
    User,
)
from loyalty.services import (
    INVITATION_SALT,
    InvitationInvalid,
    staff_invitation_accept,
    staff_invitation_accept_new_user,
    staff_invitation_from_token,
    staff_invitation_revoke,
    staff_invitation_token,
    staff_invitations_expire,
    staff_invite,
    staff_set_active,
)
from tests.factories import PASSWORD, StaffInvitationFactory, StaffMemberFactory, UserFactory

pytestmark = pytest.mark.django_db

INVITE_LINK = re.compile(re.escape(settings.TROUW_BASE_URL.rstrip("/")) + r"/invite/([^/\s]+)/")


def _statuses(shop):
    return dict(StaffInvitation.objects.filter(shop=shop).values_list("pk", "status"))


# --- staff_invite -------------------------------------------------------------------------------


class TestStaffInvite:
    def test_creates_a_pending_invitation(self, shop, owner):
        before = timezone.now()
        invitation = staff_invite(shop=shop, email="  Daan@Example.com ", invited_by=owner)

        stored = StaffInvitation.objects.get(pk=invitation.pk)
        assert stored.shop == shop
        assert stored.email == "daan@example.com"
        assert stored.invited_by == owner
        assert stored.status == InvitationStatus.PENDING
        assert stored.sent_at is None
        max_age = dt.timedelta(days=settings.TROUW_INVITATION_MAX_AGE_DAYS)
        assert before + max_age <= stored.expires_at <= timezone.now() + max_age

    def test_sends_exactly_one_email_with_the_link_after_commit(
        self, shop, owner, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            invitation = staff_invite(shop=shop, email="daan@example.com", invited_by=owner)
            assert mail.outbox == []  # nothing leaves before the transaction commits

        assert len(callbacks) == 1
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == ["daan@example.com"]
        assert shop.name in message.subject
        match = INVITE_LINK.search(message.body)
        assert match is not None, message.body
        assert staff_invitation_from_token(match.group(1)).pk == invitation.pk
        invitation.refresh_from_db()
        assert invitation.sent_at is not None

    def test_nothing_is_sent_when_the_transaction_does_not_commit(self, shop, owner):
        # Inside the test's transaction on_commit callbacks never run: no e-mail.
        staff_invite(shop=shop, email="daan@example.com", invited_by=owner)
        assert mail.outbox == []

    @pytest.mark.parametrize("email", ["", "daan", "daan@", "@example.com", "daan @example.com"])
    def test_an_invalid_email_is_refused(self, shop, owner, email):
        with pytest.raises(ValidationError) as exc:
            staff_invite(shop=shop, email=email, invited_by=owner)
        assert exc.value.message_dict == {"email": ["Enter a valid e-mail address."]}
        assert StaffInvitation.objects.count() == 0

    def test_someone_already_active_on_the_team_is_refused(self, shop, owner, staff_user):
        with pytest.raises(ValidationError) as exc:
            staff_invite(shop=shop, email="STAFF@noord.example", invited_by=owner)
        assert exc.value.message_dict == {
            "email": ["staff@noord.example is already on your team."]}
        assert StaffInvitation.objects.count() == 0

    def test_the_owner_cannot_be_invited_to_their_own_shop(self, shop, owner):
        with pytest.raises(ValidationError) as exc:
            staff_invite(shop=shop, email=owner.email, invited_by=owner)
        assert list(exc.value.message_dict) == ["email"]
        assert StaffInvitation.objects.count() == 0

    def test_a_deactivated_staff_member_can_be_invited_back(self, shop, owner):
        StaffMemberFactory(shop=shop, user=UserFactory(email="daan@example.com"),
                           is_active=False)
        invitation = staff_invite(shop=shop, email="daan@example.com", invited_by=owner)
        assert invitation.status == InvitationStatus.PENDING

    def test_staff_of_another_shop_can_be_invited(self, shop, owner, other_shop):
        StaffMemberFactory(shop=other_shop, user=UserFactory(email="daan@example.com"))
        invitation = staff_invite(shop=shop, email="daan@example.com", invited_by=owner)
        assert invitation.shop == shop

    def test_inviting_again_revokes_the_earlier_pending_invitation(self, shop, owner):
        first = staff_invite(shop=shop, email="daan@example.com", invited_by=owner)
        second = staff_invite(shop=shop, email="Daan@Example.com", invited_by=owner)

        assert first.pk != second.pk
        assert _statuses(shop) == {
            first.pk: InvitationStatus.REVOKED, second.pk: InvitationStatus.PENDING}

    def test_only_the_replacement_invitation_is_mailed(
        self, shop, owner, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            first = staff_invite(shop=shop, email="daan@example.com", invited_by=owner)
            second = staff_invite(shop=shop, email="daan@example.com", invited_by=owner)

        assert len(mail.outbox) == 1
        token = INVITE_LINK.search(mail.outbox[0].body).group(1)
        assert staff_invitation_from_token(token).pk == second.pk
        first.refresh_from_db()
        assert first.sent_at is None

    def test_a_pending_invitation_at_another_shop_is_left_alone(
        self, shop, owner, other_shop
    ):
        elsewhere = StaffInvitationFactory(shop=other_shop, email="daan@example.com")
        staff_invite(shop=shop, email="daan@example.com", invited_by=owner)
        elsewhere.refresh_from_db()
        assert elsewhere.status == InvitationStatus.PENDING


# --- staff_invitation_from_token ----------------------------------------------------------------


class TestInvitationFromToken:
    def test_a_valid_token_gives_the_invitation(self, shop):
        invitation = StaffInvitationFactory(shop=shop)
        found = staff_invitation_from_token(staff_invitation_token(invitation))
        assert found.pk == invitation.pk
        assert found.shop == shop

    def test_a_tampered_token_is_refused(self, shop):
        token = staff_invitation_token(StaffInvitationFactory(shop=shop))
        tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
        with pytest.raises(InvitationInvalid) as exc:
            staff_invitation_from_token(tampered)
        assert str(exc.value) == "This invitation link is not valid."

    def test_a_payload_swapped_under_another_signature_is_refused(self, shop):
        mine = staff_invitation_token(StaffInvitationFactory(shop=shop))
        theirs = staff_invitation_token(StaffInvitationFactory(shop=shop))
        payload_of_theirs, signature_of_mine = theirs.rsplit(":", 1)[0], mine.rsplit(":", 1)[1]
        with pytest.raises(InvitationInvalid) as exc:
            staff_invitation_from_token(f"{payload_of_theirs}:{signature_of_mine}")
        assert str(exc.value) == "This invitation link is not valid."

    def test_a_token_for_another_invitation_id_signed_without_the_key_is_refused(self, shop):
        invitation = StaffInvitationFactory(shop=shop)
        forged = signing.dumps({"id": invitation.pk}, key="not-our-key", salt=INVITATION_SALT)
        with pytest.raises(InvitationInvalid) as exc:
            staff_invitation_from_token(forged)
        assert str(exc.value) == "This invitation link is not valid."

    def test_a_token_signed_for_another_purpose_is_refused(self, shop):
        invitation = StaffInvitationFactory(shop=shop)
        other_salt = signing.dumps({"id": invitation.pk}, salt="something-else")
        with pytest.raises(InvitationInvalid) as exc:
            staff_invitation_from_token(other_salt)
        assert str(exc.value) == "This invitation link is not valid."

    def test_garbage_is_refused(self):
        with pytest.raises(InvitationInvalid) as exc:
            staff_invitation_from_token("hello")
        assert str(exc.value) == "This invitation link is not valid."

    def test_a_token_of_a_deleted_invitation_is_refused(self, shop):
        invitation = StaffInvitationFactory(shop=shop)
        token = staff_invitation_token(invitation)
        invitation.delete()
        with pytest.raises(InvitationInvalid) as exc:
            staff_invitation_from_token(token)
        assert str(exc.value) == "This invitation link is not valid."

    def test_an_expired_token_is_refused(self, shop, owner):
        invitation = staff_invite(shop=shop, email="daan@example.com", invited_by=owner)
        token = staff_invitation_token(invitation)
        later = timezone.now() + dt.timedelta(
            days=settings.TROUW_INVITATION_MAX_AGE_DAYS, minutes=1)
        with time_machine.travel(later, tick=False), pytest.raises(InvitationInvalid) as exc:
            staff_invitation_from_token(token)
        assert str(exc.value) == (
            "This invitation has expired. Ask the shop owner to send a new one.")

    def test_a_token_is_still_good_just_before_it_expires(self, shop, owner):
        invitation = staff_invite(shop=shop, email="daan@example.com", invited_by=owner)
        token = staff_invitation_token(invitation)
        almost = timezone.now() + dt.timedelta(
            days=settings.TROUW_INVITATION_MAX_AGE_DAYS) - dt.timedelta(minutes=5)
        with time_machine.travel(almost, tick=False):
            assert staff_invitation_from_token(token).pk == invitation.pk

    def test_an_invitation_past_its_expiry_date_is_refused_even_with_a_fresh_token(self, shop):
        invitation = StaffInvitationFactory(
            shop=shop, expires_at=timezone.now() - dt.timedelta(minutes=1))
        with pytest.raises(InvitationInvalid) as exc:
            staff_invitation_from_token(staff_invitation_token(invitation))
        assert str(exc.value) == (
            "This invitation has expired. Ask the shop owner to send a new one.")

    def test_an_invitation_marked_expired_is_refused(self, shop):
        invitation = StaffInvitationFactory(shop=shop, status=InvitationStatus.EXPIRED)
        with pytest.raises(InvitationInvalid) as exc:
            staff_invitation_from_token(staff_invitation_token(invitation))
        assert str(exc.value) == (
            "This invitation has expired. Ask the shop owner to send a new one.")

    def test_a_revoked_invitation_is_refused(self, shop):
        invitation = StaffInvitationFactory(shop=shop, status=InvitationStatus.REVOKED)
        with pytest.raises(InvitationInvalid) as exc:
            staff_invitation_from_token(staff_invitation_token(invitation))
        assert str(exc.value) == "This invitation was withdrawn by the shop."

    def test_an_accepted_invitation_is_refused(self, shop):
        invitation = StaffInvitationFactory(
            shop=shop, status=InvitationStatus.ACCEPTED, accepted_at=timezone.now())
        with pytest.raises(InvitationInvalid) as exc:
            staff_invitation_from_token(staff_invitation_token(invitation))
        assert str(exc.value) == "This invitation has already been used. Sign in instead."


# --- staff_invitation_accept --------------------------------------------------------------------


class TestInvitationAccept:
    def test_makes_the_user_staff(self, shop):
        invitation = StaffInvitationFactory(shop=shop, email="daan@example.com")
        user = UserFactory(email="daan@example.com")

        staff_member = staff_invitation_accept(invitation=invitation, user=user)

        stored = StaffMember.objects.get(shop=shop, user=user)
        assert stored.pk == staff_member.pk
        assert stored.role == StaffRole.STAFF
        assert stored.is_active is True
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.ACCEPTED
        assert invitation.accepted_by == user
        assert invitation.accepted_at is not None

    def test_the_email_comparison_ignores_case(self, shop):
        invitation = StaffInvitationFactory(shop=shop, email="Daan@Example.com")
        user = UserFactory(email="daan@example.com")
        staff_invitation_accept(invitation=invitation, user=user)
        assert StaffMember.objects.filter(shop=shop, user=user).count() == 1

    def test_a_user_with_another_email_is_refused(self, shop):
        invitation = StaffInvitationFactory(shop=shop, email="daan@example.com")
        intruder = UserFactory(email="mallory@example.com")

        with pytest.raises(InvitationInvalid) as exc:
            staff_invitation_accept(invitation=invitation, user=intruder)

        assert str(exc.value) == (
            "This invitation was sent to daan@example.com. "
            "Sign in with that address to accept it.")
        assert not StaffMember.objects.filter(user=intruder).exists()
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.PENDING

    def test_a_second_accept_is_refused_and_adds_no_row(self, shop):
        invitation = StaffInvitationFactory(shop=shop, email="daan@example.com")
        user = UserFactory(email="daan@example.com")
        staff_invitation_accept(invitation=invitation, user=user)

        with pytest.raises(InvitationInvalid) as exc:
            staff_invitation_accept(invitation=invitation, user=user)

        assert str(exc.value) == "This invitation is no longer valid."
        assert StaffMember.objects.filter(shop=shop, user=user).count() == 1

    def test_a_revoked_invitation_cannot_be_accepted(self, shop):
        invitation = StaffInvitationFactory(shop=shop, email="daan@example.com")
        user = UserFactory(email="daan@example.com")
        staff_invitation_revoke(shop=shop, invitation_id=invitation.pk)

        with pytest.raises(InvitationInvalid) as exc:
            staff_invitation_accept(invitation=invitation, user=user)

        assert str(exc.value) == "This invitation is no longer valid."
        assert not StaffMember.objects.filter(user=user).exists()
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.REVOKED

    def test_an_invitation_past_its_date_cannot_be_accepted(self, shop):
        invitation = StaffInvitationFactory(
            shop=shop, email="daan@example.com",
            expires_at=timezone.now() - dt.timedelta(seconds=1))
        user = UserFactory(email="daan@example.com")
        with pytest.raises(InvitationInvalid):
            staff_invitation_accept(invitation=invitation, user=user)
        assert not StaffMember.objects.filter(user=user).exists()
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.PENDING

    def test_reactivates_a_deactivated_staff_member(self, shop):
        user = UserFactory(email="daan@example.com")
        old = StaffMemberFactory(shop=shop, user=user, is_active=False)
        invitation = StaffInvitationFactory(shop=shop, email="daan@example.com")

        staff_member = staff_invitation_accept(invitation=invitation, user=user)

        assert staff_member.pk == old.pk
        assert StaffMember.objects.filter(shop=shop, user=user).count() == 1
        old.refresh_from_db()
        assert old.is_active is True
        assert old.role == StaffRole.STAFF


# --- staff_invitation_accept_new_user -----------------------------------------------------------


class TestInvitationAcceptNewUser:
    def test_creates_a_login_with_a_verified_address_and_makes_it_staff(self, shop):
        invitation = StaffInvitationFactory(shop=shop, email="daan@example.com")

        staff_member = staff_invitation_accept_new_user(
            invitation=invitation, name="Daan Bakker", password=PASSWORD)

        user = User.objects.get(email="daan@example.com")
        assert user.name == "Daan Bakker"
        assert user.check_password(PASSWORD)
        assert staff_member.user == user
        assert staff_member.role == StaffRole.STAFF
        address = EmailAddress.objects.get(user=user)
        assert (address.email, address.verified, address.primary) == (
            "daan@example.com", True, True)
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.ACCEPTED
        assert invitation.accepted_by == user

    def test_refuses_when_an_account_exists_already(self, shop):
        UserFactory(email="daan@example.com")
        invitation = StaffInvitationFactory(shop=shop, email="Daan@Example.com")
        users_before = User.objects.count()

        with pytest.raises(InvitationInvalid) as exc:
            staff_invitation_accept_new_user(
                invitation=invitation, name="Daan", password=PASSWORD)

        assert str(exc.value) == (
            "An account for Daan@Example.com exists already. "
            "Sign in to accept the invitation.")
        assert User.objects.count() == users_before
        assert not StaffMember.objects.filter(shop=shop).exists()
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.PENDING

    def test_a_revoked_invitation_creates_no_login(self, shop):
        invitation = StaffInvitationFactory(
            shop=shop, email="daan@example.com", status=InvitationStatus.REVOKED)

        with pytest.raises(InvitationInvalid):
            staff_invitation_accept_new_user(
                invitation=invitation, name="Daan", password=PASSWORD)

        assert not User.objects.filter(email="daan@example.com").exists()
        assert not EmailAddress.objects.filter(email="daan@example.com").exists()
        assert not StaffMember.objects.filter(shop=shop).exists()


# --- staff_invitation_revoke --------------------------------------------------------------------


class TestInvitationRevoke:
    def test_revokes_a_pending_invitation(self, shop):
        invitation = StaffInvitationFactory(shop=shop)
        staff_invitation_revoke(shop=shop, invitation_id=invitation.pk)
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.REVOKED

    def test_another_shops_invitation_cannot_be_revoked(self, shop, other_shop):
        theirs = StaffInvitationFactory(shop=other_shop)

        with pytest.raises(ValidationError) as exc:
            staff_invitation_revoke(shop=shop, invitation_id=theirs.pk)

        assert exc.value.messages == ["This invitation is no longer pending."]
        theirs.refresh_from_db()
        assert theirs.status == InvitationStatus.PENDING

    @pytest.mark.parametrize("status", [InvitationStatus.REVOKED, InvitationStatus.EXPIRED])
    def test_a_finished_invitation_cannot_be_revoked(self, shop, status):
        invitation = StaffInvitationFactory(shop=shop, status=status)
        with pytest.raises(ValidationError) as exc:
            staff_invitation_revoke(shop=shop, invitation_id=invitation.pk)
        assert exc.value.messages == ["This invitation is no longer pending."]
        invitation.refresh_from_db()
        assert invitation.status == status

    def test_an_accepted_invitation_stays_accepted(self, shop):
        invitation = StaffInvitationFactory(
            shop=shop, status=InvitationStatus.ACCEPTED, accepted_at=timezone.now())
        with pytest.raises(ValidationError):
            staff_invitation_revoke(shop=shop, invitation_id=invitation.pk)
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.ACCEPTED

    def test_an_unknown_id_is_refused(self, shop):
        with pytest.raises(ValidationError) as exc:
            staff_invitation_revoke(shop=shop, invitation_id=987654)
        assert exc.value.messages == ["This invitation is no longer pending."]


# --- staff_set_active ---------------------------------------------------------------------------


class TestStaffSetActive:
    def test_deactivates_and_reactivates_a_staff_member(self, shop, owner, staff_user):
        staff_member = StaffMember.objects.get(shop=shop, user=staff_user)

        result = staff_set_active(
            shop=shop, staff_member_id=staff_member.pk, active=False, acting_user=owner)
        assert result.is_active is False
        staff_member.refresh_from_db()
        assert staff_member.is_active is False

        result = staff_set_active(
            shop=shop, staff_member_id=staff_member.pk, active=True, acting_user=owner)
        assert result.is_active is True
        staff_member.refresh_from_db()
        assert staff_member.is_active is True
        assert StaffMember.objects.filter(shop=shop, user=staff_user).count() == 1

    def test_an_owner_cannot_be_deactivated(self, shop, owner):
        co_owner = StaffMemberFactory(shop=shop, role=StaffRole.OWNER)
        with pytest.raises(ValidationError) as exc:
            staff_set_active(
                shop=shop, staff_member_id=co_owner.pk, active=False, acting_user=owner)
        assert exc.value.messages == ["An owner cannot be deactivated."]
        co_owner.refresh_from_db()
        assert co_owner.is_active is True

    def test_an_owner_cannot_deactivate_themselves(self, shop, owner):
        own_role = StaffMember.objects.get(shop=shop, user=owner)
        with pytest.raises(ValidationError) as exc:
            staff_set_active(
                shop=shop, staff_member_id=own_role.pk, active=False, acting_user=owner)
        assert exc.value.messages == ["An owner cannot be deactivated."]
        own_role.refresh_from_db()
        assert own_role.is_active is True

    def test_a_staff_member_cannot_deactivate_themselves(self, shop, staff_user):
        own_role = StaffMember.objects.get(shop=shop, user=staff_user)
        with pytest.raises(ValidationError) as exc:
            staff_set_active(
                shop=shop, staff_member_id=own_role.pk, active=False, acting_user=staff_user)
        assert exc.value.messages == ["You cannot deactivate yourself."]
        own_role.refresh_from_db()
        assert own_role.is_active is True

    def test_a_staff_member_of_another_shop_is_refused(self, shop, owner, other_shop):
        theirs = StaffMemberFactory(shop=other_shop)
        with pytest.raises(ValidationError) as exc:
            staff_set_active(
                shop=shop, staff_member_id=theirs.pk, active=False, acting_user=owner)
        assert exc.value.messages == ["No such staff member at this shop."]
        theirs.refresh_from_db()
        assert theirs.is_active is True


# --- staff_invitations_expire -------------------------------------------------------------------


class TestInvitationsExpire:
    def test_marks_only_past_due_pending_invitations_and_is_idempotent(self, shop, other_shop):
        now = timezone.now()
        past = now - dt.timedelta(hours=1)
        due = StaffInvitationFactory(shop=shop, expires_at=past)
        due_elsewhere = StaffInvitationFactory(shop=other_shop, expires_at=past)
        future = StaffInvitationFactory(shop=shop, expires_at=now + dt.timedelta(days=1))
        revoked = StaffInvitationFactory(
            shop=shop, expires_at=past, status=InvitationStatus.REVOKED)
        accepted = StaffInvitationFactory(
            shop=shop, expires_at=past, status=InvitationStatus.ACCEPTED, accepted_at=past)

        assert staff_invitations_expire() == 2

        status = dict(StaffInvitation.objects.values_list("pk", "status"))
        assert status == {
            due.pk: InvitationStatus.EXPIRED,
            due_elsewhere.pk: InvitationStatus.EXPIRED,
            future.pk: InvitationStatus.PENDING,
            revoked.pk: InvitationStatus.REVOKED,
            accepted.pk: InvitationStatus.ACCEPTED,
        }
        assert staff_invitations_expire() == 0
        assert dict(StaffInvitation.objects.values_list("pk", "status")) == status

    def test_takes_the_moment_to_compare_with(self, shop):
        soon = StaffInvitationFactory(shop=shop, expires_at=timezone.now() + dt.timedelta(days=2))
        assert staff_invitations_expire(now=timezone.now() + dt.timedelta(days=1)) == 0
        assert staff_invitations_expire(now=timezone.now() + dt.timedelta(days=3)) == 1
        soon.refresh_from_db()
        assert soon.status == InvitationStatus.EXPIRED

    def test_the_celery_task_expires_too(self, shop):
        due = StaffInvitationFactory(shop=shop, expires_at=timezone.now() - dt.timedelta(1))
        assert tasks.staff_invitations_expire() == 1
        assert tasks.staff_invitations_expire() == 0
        due.refresh_from_db()
        assert due.status == InvitationStatus.EXPIRED


# --- the invitation's e-mail, sent by the outbox ------------------------------------------------


def _invitation_message(invitation):
    return OutboxMessage.objects.get(key=f"staff_invitation:{invitation.pk}")


class TestInvitationSendTask:
    def test_the_invitation_writes_one_outbox_row(self, shop, owner):
        invitation = staff_invite(shop=shop, email="daan@example.com", invited_by=owner)
        message = _invitation_message(invitation)
        assert (message.kind, message.to, message.language, message.status) == (
            "staff_invitation", "daan@example.com", shop.language, OutboxStatus.PENDING)
        assert message.context == {"invitation_id": invitation.pk}
        assert message.membership is None

    def test_sends_once_even_when_run_twice(self, shop, owner):
        invitation = staff_invite(shop=shop, email="daan@example.com", invited_by=owner)
        message = _invitation_message(invitation)

        assert tasks.outbox_send(message.pk) == OutboxStatus.SENT
        assert tasks.outbox_send(message.pk) is None

        assert len(mail.outbox) == 1
        sent = mail.outbox[0]
        assert sent.to == ["daan@example.com"]
        token = INVITE_LINK.search(sent.body).group(1)
        assert staff_invitation_from_token(token).pk == invitation.pk
        html = sent.alternatives[0][0]
        assert f"/invite/{token}/" in html and "<style" not in html
        invitation.refresh_from_db()
        assert invitation.sent_at is not None
        assert _invitation_message(invitation).status == OutboxStatus.SENT

    def test_sends_nothing_for_a_revoked_invitation(self, shop, owner):
        invitation = staff_invite(shop=shop, email="daan@example.com", invited_by=owner)
        staff_invitation_revoke(shop=shop, invitation_id=invitation.pk)
        assert tasks.outbox_send(_invitation_message(invitation).pk) == OutboxStatus.SKIPPED
        assert mail.outbox == []
        invitation.refresh_from_db()
        assert invitation.sent_at is None

    def test_sends_nothing_for_an_accepted_invitation(self, shop, owner):
        invitation = staff_invite(shop=shop, email="daan@example.com", invited_by=owner)
        staff_invitation_accept(invitation=invitation, user=UserFactory(email="daan@example.com"))
        assert tasks.outbox_send(_invitation_message(invitation).pk) == OutboxStatus.SKIPPED
        assert mail.outbox == []

    def test_sends_nothing_for_an_invitation_past_its_date(self, shop, owner):
        invitation = staff_invite(shop=shop, email="daan@example.com", invited_by=owner)
        StaffInvitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - dt.timedelta(minutes=1))
        assert tasks.outbox_send(_invitation_message(invitation).pk) == OutboxStatus.SKIPPED
        assert mail.outbox == []

    def test_sends_nothing_for_a_deleted_message(self, shop):
        assert tasks.outbox_send(999_999) is None
        assert mail.outbox == []

    def test_through_delay_in_eager_mode(self, shop, owner):
        invitation = staff_invite(shop=shop, email="daan@example.com", invited_by=owner)
        message = _invitation_message(invitation)
        tasks.outbox_send.delay(message.pk)
        tasks.outbox_send.delay(message.pk)
        assert len(mail.outbox) == 1

    def test_the_staff_service_no_longer_imports_the_tasks(self):
        import inspect

        from loyalty.services import staff

        assert "tasks" not in inspect.getsource(staff)
