"""Celery tasks of the core: thin, idempotent wrappers around services. They take ids."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from . import services
from .models import InvitationStatus, StaffInvitation


@shared_task
def staff_invitation_send(invitation_id: int) -> bool:
    """E-mail the invitation link. Sends nothing for an invitation that is no longer pending,
    and marks a sent one, so a re-run after success does not mail twice."""
    with transaction.atomic():
        invitation = (
            StaffInvitation.objects.select_for_update(of=("self",))
            .select_related("shop", "invited_by")
            .filter(pk=invitation_id, status=InvitationStatus.PENDING, sent_at__isnull=True,
                    expires_at__gt=timezone.now())
            .first()
        )
        if invitation is None:
            return False
        token = services.staff_invitation_token(invitation)
        link = settings.TROUW_BASE_URL.rstrip("/") + reverse(
            "staff_invitation_accept", args=[token]
        )
        with translation.override(invitation.shop.language):
            context = {"invitation": invitation, "link": link, "shop": invitation.shop}
            subject = render_to_string("loyalty/email/staff_invitation_subject.txt", context)
            body = render_to_string("loyalty/email/staff_invitation_body.txt", context)
        send_mail(" ".join(subject.split()), body, None, [invitation.email])
        StaffInvitation.objects.filter(pk=invitation.pk).update(
            sent_at=timezone.now()
        )
    return True


@shared_task
def staff_invitations_expire() -> int:
    return services.staff_invitations_expire()


@shared_task
def idempotent_requests_prune() -> int:
    return services.idempotent_requests_prune()


# --- Points expiry: hourly in UTC; each shop's local day decides (services.expiry) ---------------


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1500, time_limit=1800)
def points_expire(shop_ids: list[int] | None = None) -> int:
    """Expire the lots whose terms have run out; safe twice (the remaining going to 0)."""
    return sum(row["lots"] for row in services.points_expire(shop_ids=shop_ids))


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=600, time_limit=900)
def points_expiring_remind(shop_ids: list[int] | None = None) -> int:
    """Write the reminders 30 and 7 days before points expire; safe twice (the outbox's keys)."""
    return sum(row["reminders"] for row in services.points_expiring_remind(shop_ids=shop_ids))
