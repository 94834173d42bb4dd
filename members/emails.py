"""E-mails of the members app: the welcome a customer with an e-mail address gets on joining
(transactional). Renderers for the outbox (settings.TROUW_EMAIL_KINDS)."""

from __future__ import annotations

from django.urls import reverse

from loyalty import selectors as loyalty_selectors
from loyalty.emails import Email, absolute, compose
from loyalty.models import OutboxMessage


def welcome(message: OutboxMessage) -> Email | None:
    """Welcome to the program: the card number, what the program gives, where to see it."""
    membership = message.membership
    if membership is None:
        return None
    shop = message.shop
    link = (absolute(reverse("portal:card", args=[shop.slug])) if membership.user_id
            else absolute(reverse("shop_page", args=[shop.slug])))
    rules = shop.current_rules
    from django.utils import translation

    with translation.override(message.language or shop.language):
        sentence = (loyalty_selectors.program_sentence(rules=rules, currency=shop.currency)
                    if rules else "")
    return compose(message, template="members/email/welcome", context={
        "link": link, "has_portal": bool(membership.user_id), "sentence": sentence})
