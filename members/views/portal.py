"""The member portal: a customer's cards, on their phone."""

from __future__ import annotations

import segno
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe

from loyalty.access import member_required, signed_in_view


def card_qr_svg(card_number: str) -> str:
    """The card number as an SVG QR code, for the counter's scanner."""
    qr = segno.make(card_number, error="m")
    return qr.svg_inline(scale=6, border=2, dark="#111827", light="#ffffff",
                         svgclass="card-qr", omitsize=True)


@signed_in_view
def index(request):
    memberships = list(request.user.memberships.select_related("shop").order_by("shop__name"))
    if len(memberships) == 1:
        return redirect("portal:card", shop_slug=memberships[0].shop.slug)
    return render(request, "members/portal/index.html", {"memberships": memberships})


@member_required
def card(request):
    membership = request.membership
    return render(request, "members/portal/card.html", {
        "membership": membership,
        "qr_svg": mark_safe(card_qr_svg(membership.card_number)),  # noqa: S308 - segno output
    })
