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
from django.urls import reverse
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


# --- Birthday gifts (loyalty/services/birthdays.py) ---


def birthday(message: OutboxMessage) -> Email | None:
    """The birthday e-mail: the points given and what other apps added (a voucher's name and
    code, the gift's ``extras``). Nothing to send for a card that is gone."""
    if message.membership is None:
        return None
    context = message.context or {}
    return compose(message, template="loyalty/email/birthday", context={
        "points": int(context.get("points") or 0),
        "extras": [extra for extra in context.get("extras") or [] if isinstance(extra, dict)],
        "portal_url": absolute(reverse("portal:card", args=[message.shop.slug])),
    })
