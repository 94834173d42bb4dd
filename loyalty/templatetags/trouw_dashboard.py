"""Template filters of the owner's dashboard."""

from __future__ import annotations

from django import template

from .trouw import points

register = template.Library()


@register.filter
def points_effect(value, direction: str = "in") -> str:
    """Points as their effect on the cards, signed: ``in`` adds them (+120), ``out`` takes them
    off (−120); a negative amount flips the sign (points returned on a redemption: +40)."""
    if value in (None, ""):
        return ""
    effect = int(value) if direction == "in" else -int(value)
    if effect == 0:
        return points(0)
    return ("+" if effect > 0 else "\u2212") + points(abs(effect))
