"""E-mails of the levels app: "Your level ends on … unless you earn …", 30 days before a
level's date (marketing: only with consent, with a one-click unsubscribe). The renderer for
the outbox (settings.TROUW_EMAIL_KINDS)."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import translation

from loyalty.emails import Email, absolute, compose
from loyalty.models import OutboxMessage

from . import selectors
from .models import TierState


def level_ending(message: OutboxMessage) -> Email | None:
    """Checked again when it is sent: nothing when the card no longer holds that level until
    that date (it went up, or the owner set it), or now earns enough to keep it."""
    membership = message.membership
    if membership is None:
        return None
    until = message.context.get("until")
    state = TierState.objects.filter(membership=membership,
                                     tier_id=message.context.get("tier_id")).first()
    if state is None or not until or state.holds_until != dt.date.fromisoformat(until) or (
            state.override_until is not None):
        return None
    membership.shop = message.shop
    with translation.override(message.language or message.shop.language):
        overview = selectors.level_overview(membership=membership)
    if overview is None or overview["current"] is None or not (overview["keep"] or {}).get(
                "left"):
        return None
    link = (absolute(reverse("portal_levels", args=[message.shop.slug]))
            if membership.user_id else "")
    return compose(message, template="tiers/email/level_ending", context={
        "level": overview["current"].name, "until": state.holds_until,
        "left": overview["keep"]["left"], "link": link})
