"""The member's "Levels" page: the current level, the progress to the next one in the member's
terms, what keeps the level, and what each level gives."""

from __future__ import annotations

from django.shortcuts import render

from loyalty import services as loyalty_services
from loyalty.access import member_required

from .. import selectors


def level_context(membership) -> dict:
    """What the levels page and the card's level line show (None parts when levels are off)."""
    overview = selectors.level_overview(membership=membership)
    if overview is None:
        return {"overview": None}
    program, shop = overview["program"], membership.shop
    rows = [{"tier": tier, "from": selectors.measure_words(
        measure=program.measure, value=tier.threshold, currency=shop.currency),
        "current": overview["current"] is not None and tier.id == overview["current"].id,
        "multiplier_extra": tier.multiplier > 1,
        "birthday_gift": loyalty_services.birthday_gift_words(shop=shop, level_rank=tier.rank)
        if tier.birthday_points is not None else None} for tier in program.tiers]
    return {"overview": overview, "rows": rows,
            "keep_sentence": selectors.keep_sentence(overview["keep"])}


@member_required
def levels(request):
    return render(request, "tiers/portal/levels.html", {
        "membership": request.membership, **level_context(request.membership)})
