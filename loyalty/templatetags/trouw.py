"""Template filters for money and points, formatted for the active language, and the plugged-in
links that apply to a shop."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils import formats, translation

register = template.Library()

SYMBOLS = {"EUR": "€", "SEK": "kr"}


@register.filter
def money(amount, currency: str = "EUR") -> str:
    """€ 27,50 in Dutch, €27.50 in English, 27,50 kr in Swedish (and for SEK everywhere)."""
    if amount in (None, ""):
        return ""
    value = formats.number_format(Decimal(amount), decimal_pos=2, use_l10n=True,
                                  force_grouping=True)
    symbol = SYMBOLS.get(currency, currency)
    if currency == "SEK" or translation.get_language() == "sv":
        return f"{value}\u00a0{symbol}"
    if translation.get_language() == "nl":
        return f"{symbol}\u00a0{value}"
    return f"{symbol}{value}"


@register.filter
def points(value) -> str:
    """A whole number of points with the language's thousands separator."""
    if value in (None, ""):
        return ""
    return formats.number_format(int(value), use_l10n=True, force_grouping=True)


@register.filter
def phone(value, country: str = "NL") -> str:
    """A stored (E.164) phone number as people in the shop's country write it: national format
    for numbers of that country (06 12345678), international for the others (+46 70 123 45 67).
    The groups are joined with no-break spaces: a number never wraps in the middle."""
    if not value:
        return ""
    import phonenumbers

    try:
        number = phonenumbers.parse(value, country or None)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_possible_number(number):
        return value
    if phonenumbers.region_code_for_number(number) == country:
        shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    else:
        shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return shown.replace(" ", "\u00a0")


@register.filter
def bonus_parts(purchase) -> str:
    """What a purchase's bonuses gave, for its line in the history: "of which +270 for Double
    Tuesday and +67 for Zilver"; "" when only the rate applied."""
    from django.utils.translation import gettext as _

    parts = (getattr(purchase, "earn_detail", None) or {}).get("parts") or []
    if not parts:
        return ""
    words = [(_("+%(points)s for %(name)s") if part.get("name") else
              _("+%(points)s for your level")) % {
        "points": points(part["points"]), "name": part.get("name", "")} for part in parts]
    listed = words[0] if len(words) == 1 else _("%(first)s and %(last)s") % {
        "first": ", ".join(words[:-1]), "last": words[-1]}
    return _("of which %(parts)s") % {"parts": listed}


@register.filter
def links_for_shop(links, shop) -> list[tuple[str, str]]:
    """The (URL name, label) pairs of ``links`` (``TROUW_PORTAL_LINKS``) that apply to ``shop``:
    a link without a third element always, one with it while that field of the shop is true
    (a misspelt field fails loudly rather than hiding the link)."""
    shown = []
    for link in links:
        name, label, *flag = link
        if not flag or getattr(shop, flag[0]):
            shown.append((name, label))
    return shown
