"""Reads of the customer side: what a shop's public page and privacy statement tell."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy as _

from loyalty.models import Shop

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


def shop_birthday_gift(*, shop: Shop) -> str | None:
    """What a member gets from ``shop`` on their birthday, in words, or None.

    No shop has a birthday gift yet (that comes with a later issue), so this is None and the
    pages promise nothing: the birthday field stays optional and neutral. Once a shop can set a
    gift, return its description here and the join form and the privacy statement say it."""
    return None


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
