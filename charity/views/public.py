"""The shop's public impact page (totals per charity, this month and all time: no personal
data) and its panel on the public shop page (``TROUW_PUBLIC_PAGE_PANELS``), a link to it
shown while the program is on."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from loyalty.access import activate_language_unless_chosen, public_view
from loyalty.models import Shop

from .. import selectors
from ..models import ProgramMode


def _shop_and_program(request, shop_slug: str):
    shop = get_object_or_404(Shop, slug=shop_slug)
    activate_language_unless_chosen(request, shop.language)
    program = selectors.program_for(shop=shop) if shop.charity_enabled else None
    return shop, (program if program is not None and program.enabled else None)


@public_view
@require_GET
def impact(request, shop_slug: str):
    shop, program = _shop_and_program(request, shop_slug)
    if program is None:
        raise Http404("The shop has no charity program")
    return render(request, "charity/public/impact.html", {
        "shop": shop, "overview": selectors.shop_impact_overview(shop=shop),
        "instead_of_points": program.mode == ProgramMode.INSTEAD,
    })


@public_view
@require_GET
def impact_panel(request, shop_slug: str):
    """The public page's panel: a link to the impact page while the program is on (nothing
    otherwise)."""
    shop, program = _shop_and_program(request, shop_slug)
    if program is None:
        return HttpResponse("")
    return render(request, "charity/public/panel.html", {
        "shop": shop, "instead_of_points": program.mode == ProgramMode.INSTEAD,
        "charities": list(selectors.charities_for_shop(shop=shop, active_only=True)),
    })
