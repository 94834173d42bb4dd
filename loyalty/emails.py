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
from django.utils import timezone, translation

from .models import InvitationStatus, OutboxMessage, StaffInvitation

_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


@dataclass
class Email:
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)


def absolute(path: str) -> str:
    """A link for an e-mail: the site's address (settings.TROUW_BASE_URL) and ``path``; a
    ``path`` that is a full address already (files on another host) is left as it is."""
    if path.startswith(("http://", "https://")):
        return path
    return settings.TROUW_BASE_URL.rstrip("/") + "/" + path.lstrip("/")


def unsubscribe_url(message: OutboxMessage) -> str:
    """The one-click unsubscribe link of a marketing e-mail: a signed token naming the card
    (loyalty.services.consent), on the members app's page (settings.TROUW_UNSUBSCRIBE_URL)."""
    from .services.consent import unsubscribe_token

    return absolute(reverse(settings.TROUW_UNSUBSCRIBE_URL,
                            args=[unsubscribe_token(membership_id=message.membership_id)]))


def compose(message: OutboxMessage, *, template: str, context: dict) -> Email:
    """Render ``<template>_subject.txt``, ``<template>.txt`` and ``<template>.html`` in the
    message's language. The HTML extends ``loyalty/email/base.html`` (the shop's logo or name
    on its colour, the footer with the unsubscribe link of a marketing e-mail) and has its CSS
    inlined. A marketing e-mail (its kind says so) gets the unsubscribe link in the footer and
    in the ``List-Unsubscribe`` headers (RFC 8058: one click, a POST from the mail program)."""
    from .services.outbox import is_marketing

    shop = message.shop
    headers: dict[str, str] = {}
    extra: dict = {}
    if is_marketing(message.kind) and message.membership_id:
        link = unsubscribe_url(message)
        extra["unsubscribe_url"] = link
        headers["List-Unsubscribe"] = f"<{link}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    with translation.override(message.language or shop.language), \
            timezone.override(shop.time_zone):
        full = {"shop": shop, "message": message, "membership": message.membership,
                "brand_color": shop.brand_color,
                "logo_url": absolute(shop.logo.url) if shop.logo else "",
                "site_url": absolute("/"), **extra, **context}
        subject = " ".join(render_to_string(f"{template}_subject.txt", full).split())
        text = render_to_string(f"{template}.txt", full).strip() + "\n"
        if extra.get("unsubscribe_url"):
            with_footer = render_to_string("loyalty/email/unsubscribe_footer.txt", full).strip()
            text += "\n-- \n" + with_footer + "\n"
        html = _INLINER.inline(render_to_string(f"{template}.html", full))
    return Email(subject=subject, text=text, html=html, headers=headers)


# --- The core's own kinds -----------------------------------------------------------------------


def staff_invitation(message: OutboxMessage) -> Email | None:
    """The invitation to a shop's team, with its signed link. Nothing to send for an
    invitation that was accepted, withdrawn or has expired before the message went out."""
    from .services.staff import staff_invitation_token

    invitation = (StaffInvitation.objects.select_related("shop", "invited_by")
                  .filter(pk=message.context.get("invitation_id"), shop=message.shop,
                          status=InvitationStatus.PENDING, expires_at__gt=timezone.now())
                  .first())
    if invitation is None:
        return None
    link = absolute(reverse("staff_invitation_accept",
                            args=[staff_invitation_token(invitation)]))
    return compose(message, template="loyalty/email/staff_invitation",
                   context={"invitation": invitation, "link": link})


def staff_invitation_sent(message: OutboxMessage) -> None:
    """After the invitation went out: the team page shows when."""
    StaffInvitation.objects.filter(pk=message.context.get("invitation_id"),
                                   shop=message.shop).update(sent_at=message.sent_at)


# --- Birthday gifts (loyalty/services/birthdays.py) ---


def birthday(message: OutboxMessage) -> Email | None:
    """The birthday e-mail: the points given and what other apps added (a voucher's name and
    code, the gift's ``extras``). Nothing to send for a card that is gone."""
    if message.membership is None:
        return None
    context = message.context or {}
    return compose(message, template="loyalty/email/birthday", context={
        "points": int(context.get("points") or 0),
        "stamps": bool(message.shop.current_rules and message.shop.current_rules.is_stamp_card),
        "extras": [extra for extra in context.get("extras") or [] if isinstance(extra, dict)],
        "portal_url": absolute(reverse("portal:card", args=[message.shop.slug])),
    })


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
