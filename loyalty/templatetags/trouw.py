"""Template filters for money and points, formatted for the active language."""

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
