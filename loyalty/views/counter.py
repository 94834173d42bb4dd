"""The counter screen for staff (and owners): find a customer fast, see their card."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.vary import vary_on_headers

from .. import selectors
from ..access import signed_in_view, staff_required
from ..models import Membership

SEARCH_LIMIT = 8


@signed_in_view
def index(request):
    shops = list(selectors.shops_for_user(user=request.user))
    if len(shops) == 1:
        return redirect("counter:screen", shop_slug=shops[0].slug)
    return render(request, "loyalty/counter/index.html", {"shops": shops})


@staff_required
@vary_on_headers("HX-Request")
def screen(request):
    """One search box. A scanner types a whole card number and Enter: that opens the member."""
    query = request.GET.get("q", "").strip()
    results = list(selectors.membership_search(shop=request.shop, query=query)[: SEARCH_LIMIT + 1])
    exact = [m for m in results if m.card_number == selectors.digits_only(query)]
    if query and request.GET.get("go") and (exact or len(results) == 1):
        target = exact[0] if exact else results[0]
        return redirect("counter:member", shop_slug=request.shop.slug,
                        card_number=target.card_number)
    context = {"query": query, "results": results[:SEARCH_LIMIT],
               "more": len(results) > SEARCH_LIMIT}
    template = "loyalty/counter/screen.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context)


@staff_required
def member(request, card_number: str):
    membership = get_object_or_404(Membership.objects.for_shop(request.shop),
                                   card_number=card_number)
    return render(request, "loyalty/counter/member.html", {"member": membership})
