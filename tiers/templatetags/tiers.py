"""The level on the member's card page (one include line there): rendered in the same
request, no JavaScript needed."""

from __future__ import annotations

from django import template

from ..views.portal import level_context

register = template.Library()


@register.inclusion_tag("tiers/portal/card_level_inner.html")
def level_card(membership):
    return {"membership": membership, **level_context(membership)}
