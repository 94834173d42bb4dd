"""Reads of the customer side: what a shop's public page and privacy statement tell."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty import services as loyalty_services
from loyalty.models import Membership, Shop

# Where a member can complain about how their data is handled, by the shop's country.
SUPERVISORY_AUTHORITIES = {
    "NL": ("Autoriteit Persoonsgegevens", "https://autoriteitpersoonsgegevens.nl"),
    "BE": ("Gegevensbeschermingsautoriteit", "https://www.gegevensbeschermingsautoriteit.be"),
    "SE": ("Integritetsskyddsmyndigheten (IMY)", "https://www.imy.se"),
    "DE": ("Bundesbeauftragte für den Datenschutz und die Informationsfreiheit",
           "https://www.bfdi.bund.de"),
    "DK": ("Datatilsynet", "https://www.datatilsynet.dk"),
    "NO": ("Datatilsynet", "https://www.datatilsynet.no"),
    "FI": ("Tietosuojavaltuutetun toimisto", "https://tietosuoja.fi"),
}


def shop_birthday_gift(*, shop: Shop, membership: Membership | None = None) -> str | None:
    """What a member gets from ``shop`` on their birthday, in words ("250 points and a voucher
    for a free coffee"), or None: then the pages promise nothing and the birthday field stays
    optional and neutral. The core's rules give the points (with ``membership``, its level's
    own points when the level has them); other apps add theirs
    (settings.TROUW_BIRTHDAY_GIFT_EXTRAS)."""
    return loyalty_services.birthday_gift_words(
        shop=shop, level_rank=membership.level_rank if membership is not None else None)


def birthday_notice(*, shop: Shop, birthday: dt.date | None,
                    set_at: dt.datetime | None = None,
                    membership: Membership | None = None) -> str | None:
    """What to tell a member who just entered ``birthday``: that the gift starts next year
    when their coming birthday falls within the notice days; None when it counts, or when the
    shop gives no birthday gift (to ``membership``'s level, when given)."""
    if birthday is None or shop_birthday_gift(shop=shop, membership=membership) is None:
        return None
    set_at = set_at or timezone.now()
    counts_from = loyalty_services.birthday_counts_from(shop=shop, birthday=birthday,
                                                        set_at=set_at)
    today = loyalty_services.shop_local_now(shop=shop, now=set_at).date()
    upcoming = loyalty_services.birthday_in_year(birthday, today.year)
    if upcoming < today:
        upcoming = loyalty_services.birthday_in_year(birthday, today.year + 1)
    if counts_from <= upcoming:
        return None
    return _("Your birthday gift starts next year: your birthday is too close now (a "
             "birthday counts when it is entered at least %(days)s days before).") % {
        "days": settings.TROUW_BIRTHDAY_NOTICE_DAYS}


def shop_website_label(*, shop: Shop) -> str:
    """The shop's website as people say it: without https:// and a trailing slash."""
    if not shop.website:
        return ""
    parts = urlsplit(shop.website)
    label = parts.netloc + (parts.path if parts.path != "/" else "")
    return label.removeprefix("www.") if label else shop.website


def shop_address_lines(*, shop: Shop) -> list[str]:
    """The shop's address on separate lines, as on an envelope (it is stored as one line,
    its parts separated by commas or line breaks)."""
    parts = (part.strip() for line in shop.address.splitlines() for part in line.split(","))
    return [part for part in parts if part]


def shop_supervisory_authority(*, shop: Shop) -> dict:
    """The data protection authority of the shop's country: ``name`` and ``url`` (the
    authority of the member's own country is fine too, as the statement says)."""
    name, url = SUPERVISORY_AUTHORITIES.get(
        shop.country, (_("the data protection authority of your country"), ""))
    return {"name": name, "url": url}
