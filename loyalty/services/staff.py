"""Staff: invitations (made, sent, accepted, revoked, expired) and switching a staff member off
or on. An invitation's e-mail is an outbox row written with it (sent after the commit)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import (
    InvitationStatus,
    Shop,
    StaffInvitation,
    StaffMember,
    StaffRole,
    User,
)
from .outbox import outbox_write

INVITATION_SALT = "trouw.staff-invitation"


def staff_invite(*, shop: Shop, email: str, invited_by: User) -> StaffInvitation:
    """Invite ``email`` to the staff of ``shop``; a pending invitation to it is replaced."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": [_("Enter a valid e-mail address.")]}) from None
    if StaffMember.objects.filter(shop=shop, user__email__iexact=email, is_active=True).exists():
        raise ValidationError({"email": [_("%(email)s is already on your team.") % {
            "email": email}]})
    now = timezone.now()
    with transaction.atomic():
        StaffInvitation.objects.filter(
            shop=shop, email__iexact=email, status=InvitationStatus.PENDING
        ).update(status=InvitationStatus.REVOKED)
        invitation = StaffInvitation.objects.create(
            shop=shop, email=email, invited_by=invited_by,
            expires_at=now + dt.timedelta(days=settings.TROUW_INVITATION_MAX_AGE_DAYS),
        )
        outbox_write(shop=shop, kind="staff_invitation", key=f"staff_invitation:{invitation.pk}",
                     to=email, language=shop.language,
                     context={"invitation_id": invitation.pk})
    return invitation


def staff_invitation_token(invitation: StaffInvitation) -> str:
    return signing.dumps({"id": invitation.pk}, salt=INVITATION_SALT, compress=True)


class InvitationInvalid(Exception):
    """The link is wrong, expired, used or revoked; ``str(exc)`` is a message for the invitee."""


def staff_invitation_from_token(token: str) -> StaffInvitation:
    max_age = dt.timedelta(days=settings.TROUW_INVITATION_MAX_AGE_DAYS)
    try:
        payload = signing.loads(token, salt=INVITATION_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise InvitationInvalid(
            _("This invitation has expired. Ask the shop owner to send a new one.")
        ) from None
    except signing.BadSignature:
        raise InvitationInvalid(_("This invitation link is not valid.")) from None
    invitation = (
        StaffInvitation.objects.select_related("shop").filter(pk=payload.get("id")).first()
    )
    if invitation is None:
        raise InvitationInvalid(_("This invitation link is not valid."))
    if invitation.status == InvitationStatus.ACCEPTED:
        raise InvitationInvalid(_("This invitation has already been used. Sign in instead."))
    if invitation.status == InvitationStatus.REVOKED:
        raise InvitationInvalid(_("This invitation was withdrawn by the shop."))
    if invitation.status == InvitationStatus.EXPIRED or invitation.expires_at <= timezone.now():
        raise InvitationInvalid(
            _("This invitation has expired. Ask the shop owner to send a new one.")
        )
    return invitation


def staff_invitation_accept(*, invitation: StaffInvitation, user: User) -> StaffMember:
    """Make ``user`` staff of the invitation's shop. Works once: a second accept fails."""
    if user.email.lower() != invitation.email.lower():
        raise InvitationInvalid(
            _("This invitation was sent to %(email)s. Sign in with that address to accept it.")
            % {"email": invitation.email}
        )
    now = timezone.now()
    with transaction.atomic():
        claimed = StaffInvitation.objects.filter(
            pk=invitation.pk, status=InvitationStatus.PENDING, expires_at__gt=now
        ).update(status=InvitationStatus.ACCEPTED, accepted_at=now, accepted_by=user)
        if claimed != 1:
            raise InvitationInvalid(_("This invitation is no longer valid."))
        staff_member, created = StaffMember.objects.select_for_update().get_or_create(
            shop_id=invitation.shop_id, user=user, defaults={"role": StaffRole.STAFF}
        )
        if not created and not staff_member.is_active:
            staff_member.is_active = True
            staff_member.save(update_fields=["is_active"])
    return staff_member


def staff_invitation_accept_new_user(
    *, invitation: StaffInvitation, name: str, password: str
) -> StaffMember:
    """Create the invitee's login (its e-mail is proven by the link) and accept."""
    from allauth.account.models import EmailAddress

    with transaction.atomic():
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise InvitationInvalid(
                _("An account for %(email)s exists already. Sign in to accept the invitation.")
                % {"email": invitation.email}
            )
        user = User.objects.create_user(email=invitation.email, password=password, name=name)
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        return staff_invitation_accept(invitation=invitation, user=user)


def staff_invitation_revoke(*, shop: Shop, invitation_id: int) -> None:
    updated = StaffInvitation.objects.filter(
        shop=shop, pk=invitation_id, status=InvitationStatus.PENDING
    ).update(status=InvitationStatus.REVOKED)
    if updated != 1:
        raise ValidationError(_("This invitation is no longer pending."))


def staff_invitations_expire(*, now: dt.datetime | None = None) -> int:
    """Mark pending invitations past their date as expired. Safe to run any number of times."""
    now = now or timezone.now()
    return StaffInvitation.objects.filter(
        status=InvitationStatus.PENDING, expires_at__lte=now
    ).update(status=InvitationStatus.EXPIRED)


def staff_set_active(*, shop: Shop, staff_member_id: int, active: bool, acting_user: User) -> (
    StaffMember
):
    """Deactivate or reactivate a staff member. An owner cannot be switched off here."""
    staff_member = StaffMember.objects.filter(shop=shop, pk=staff_member_id).first()
    if staff_member is None:
        raise ValidationError(_("No such staff member at this shop."))
    if staff_member.role == StaffRole.OWNER:
        raise ValidationError(_("An owner cannot be deactivated."))
    if staff_member.user_id == acting_user.pk:
        raise ValidationError(_("You cannot deactivate yourself."))
    StaffMember.objects.filter(pk=staff_member.pk).update(is_active=active)
    staff_member.is_active = active
    return staff_member
