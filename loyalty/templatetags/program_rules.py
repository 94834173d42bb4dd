"""Filters for the program's rules in words: whole amounts as a price sign says them."""

from __future__ import annotations

import re
from decimal import Decimal

from django import template

from .trouw import money

register = template.Library()

_ZERO_CENTS = re.compile(r"[.,]00(?!\d)")


@register.filter
def money_short(amount, currency: str = "EUR") -> str:
    """€1, €20 and 1 kr for whole amounts (as in "100 points = €1"); other amounts as money."""
    if amount in (None, ""):
        return ""
    text = money(amount, currency)
    value = Decimal(amount)
    return _ZERO_CENTS.sub("", text, count=1) if value == value.to_integral_value() else text
