"""Rewards on a shop's public page: what a customer can save for.

A panel of the public page (``TROUW_PUBLIC_PAGE_PANELS``): the page renders this view in its
own request and includes the fragment; the URL serves the fragment alone too."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from loyalty import selectors as loyalty_selectors
from loyalty.access import activate_language_unless_chosen, public_view
from loyalty.models import Shop

from .. import selectors


@public_view
@require_GET
def public_rewards(request, shop_slug: str):
    shop = get_object_or_404(Shop.objects.select_related("current_rules"), slug=shop_slug)
    activate_language_unless_chosen(request, shop.language)
    rules = loyalty_selectors.program_rules_in_force(shop=shop)
    rows = selectors.rewards_for_member(shop=shop, spendable=0)
    return render(request, "rewards/public/rewards.html", {
        "shop": shop,
        # Only what a new member could save for now: not sold out, not before its window.
        "rewards": [row["reward"] for row in rows if row["unavailable"] is None],
        "stamp_card": rules.is_stamp_card,
    })
