"""E-mails of the rewards app: a voucher issued (transactional) and the reminder a few days
before an open voucher expires (marketing: only with consent, with a one-click unsubscribe).
Renderers for the outbox (settings.TROUW_EMAIL_KINDS)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from loyalty.emails import Email, absolute, compose
from loyalty.models import OutboxMessage

from .models import Voucher, VoucherStatus
from .services import voucher_code_display


def _open_voucher(message: OutboxMessage) -> Voucher | None:
    return (Voucher.objects.select_related("reward")
            .filter(pk=message.context.get("voucher_id"), shop=message.shop,
                    membership_id=message.membership_id, status=VoucherStatus.OPEN,
                    expires_at__gt=timezone.now()).first())


def _context(message: OutboxMessage, voucher: Voucher) -> dict:
    membership = message.membership
    link = (absolute(reverse("portal_rewards", args=[message.shop.slug]))
            if membership and membership.user_id else "")
    return {"voucher": voucher, "reward": voucher.reward, "link": link,
            "code": voucher_code_display(voucher.code)}


def voucher_issued(message: OutboxMessage) -> Email | None:
    """The voucher's code and until when it is valid. Nothing to send for a voucher already
    used, cancelled or expired (e.g. handed out at the counter at once)."""
    voucher = _open_voucher(message)
    if voucher is None:
        return None
    return compose(message, template="rewards/email/voucher_issued",
                   context=_context(message, voucher))


def voucher_expiring(message: OutboxMessage) -> Email | None:
    """'Your voucher expires on …': only while it is still open and not past its date."""
    voucher = _open_voucher(message)
    if voucher is None:
        return None
    return compose(message, template="rewards/email/voucher_expiring",
                   context=_context(message, voucher))
