"""Template filters of the rewards app: a voucher code as people read it."""

from __future__ import annotations

from django import template

from rewards.services import voucher_code_display

register = template.Library()


@register.filter
def voucher_code(code: str) -> str:
    """ABCD2345 → ABCD-2345: the one way a code is shown, on every page."""
    return voucher_code_display(code or "")
