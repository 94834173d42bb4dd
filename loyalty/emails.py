"""E-mails: what the outbox sends, composed in the member's language with the shop's name, logo
and colour — an HTML part with its CSS inlined (css-inline: mail clients drop <style> blocks)
and a plain-text part.

Each kind's renderer (settings.TROUW_EMAIL_KINDS) takes the outbox message and returns an
``Email``, or None when there is nothing to send any more (the points already gone). Renderers
of the core's kinds live here; the apps' own kinds live in their apps."""

from __future__ import annotations

from dataclasses import dataclass, field

import css_inline
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from .models import OutboxMessage

_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


@dataclass
class Email:
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)


def absolute(path: str) -> str:
    """A link for an e-mail: the site's address (settings.TROUW_BASE_URL) and ``path``."""
    return settings.TROUW_BASE_URL.rstrip("/") + path


def compose(message: OutboxMessage, *, template: str, context: dict) -> Email:
    """Render ``<template>_subject.txt``, ``<template>.txt`` and ``<template>.html`` in the
    message's language. The HTML extends ``loyalty/email/base.html`` (the shop's header and
    colour, the footer with the unsubscribe link of a marketing e-mail)."""
    shop = message.shop
    with translation.override(message.language or shop.language):
        full = {"shop": shop, "message": message, "membership": message.membership,
                "brand_color": shop.brand_color, **context}
        subject = " ".join(render_to_string(f"{template}_subject.txt", full).split())
        text = render_to_string(f"{template}.txt", full).strip() + "\n"
        html = _INLINER.inline(render_to_string(f"{template}.html", full))
    return Email(subject=subject, text=text, html=html)


# --- Points expiry (services.expiry) ----------------------------------------------------------


def points_expiring(message: OutboxMessage) -> Email | None:
    """"120 points expire on 1 March": sent 30 and 7 days before. None when the batch is gone by
    send time (spent, expired, or — under months-without-a-purchase terms — moved by a
    purchase since): only members who can still act get it."""
    import datetime as dt

    from django.urls import reverse

    from . import selectors

    membership = message.membership
    try:
        day = dt.date.fromisoformat(message.context["expires_on"])
    except (KeyError, TypeError, ValueError):
        return None
    if membership is None:
        return None
    left = {batch["on"]: batch["points"]
            for batch in selectors.points_expiring(membership=membership)}.get(day, 0)
    if left <= 0:
        return None
    return compose(message, template="loyalty/email/points_expiring", context={
        "points": left, "expires_on": day,
        "days_left": (day - selectors.shop_today(shop=message.shop)).days,
        "portal_url": absolute(reverse("portal:card", args=[message.shop.slug])),
    })
