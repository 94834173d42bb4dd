"""The counter screen for staff (and owners): find a customer fast, record a purchase, undo one.

Keyboard-first: the search box has focus on load; a scanner's card number + Enter opens the
member; on the member's panel the amount field has focus, and Enter records the purchase.
"""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from .. import selectors, services
from ..access import signed_in_view, staff_required
from ..forms import EarnForm, UndoForm, add_errors

SEARCH_LIMIT = 8
VOUCHER_CODE = re.compile(r"^[A-Za-z0-9]{4}-?[A-Za-z0-9]{4}$")
RECENT_ENTRIES = 5


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
    if query and request.GET.get("go") and not results and VOUCHER_CODE.match(query):
        # Not a member: a scanned or typed voucher code goes to the page that looks codes up.
        return redirect(reverse(settings.TROUW_COUNTER_CODE_LOOKUP, args=[request.shop.slug])
                        + "?" + urlencode({"code": query}))
    context = {"query": query, "results": results[:SEARCH_LIMIT],
               "more": len(results) > SEARCH_LIMIT, "sale_form": EarnForm(
                   initial={"token": uuid.uuid4().hex}, auto_id="sale_%s")}
    template = "loyalty/counter/screen.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context)


def _member_or_404(request, card_number: str):
    membership = selectors.membership_by_card(shop=request.shop, card_number=card_number)
    if membership is None:
        raise Http404("No such member")
    return membership


def _panel_context(request, membership, earn_form=None, last=None):
    return {
        "member": membership,
        "summary": selectors.membership_points_summary(membership=membership),
        "entries": list(selectors.membership_history(membership=membership)[:RECENT_ENTRIES]),
        "undoable": selectors.membership_last_undoable_purchase(membership=membership),
        "earn_form": earn_form or EarnForm(initial={"token": uuid.uuid4().hex}),
        "undo_form": UndoForm(),
        "last": last,
    }


@staff_required
def member(request, card_number: str):
    membership = _member_or_404(request, card_number)
    return render(request, "loyalty/counter/member.html", _panel_context(request, membership))


@staff_required
@require_POST
@vary_on_headers("HX-Request")
def earn(request, card_number: str):
    membership = _member_or_404(request, card_number)
    form = EarnForm(request.POST)
    purchase = None
    if form.is_valid():
        try:
            purchase = services.purchase_record(
                shop=request.shop, amount=form.cleaned_data["amount"],
                membership_id=membership.pk, reference=form.cleaned_data["reference"],
                recorded_by=request.user,
                idempotency_key=f"counter:{form.cleaned_data['token']}",
            )
        except services.DuplicateRequest as duplicate:
            purchase = duplicate.existing  # a double submit: it was recorded once
        except ValidationError as exc:
            add_errors(form, exc)
    if purchase is None:
        context = _panel_context(request, membership, earn_form=form)
        template = "loyalty/counter/member.html"
        return render(request, template + "#panel" if request.htmx else template, context,
                      status=400)
    membership.refresh_from_db(fields=["points_balance"])
    if not request.htmx:
        messages.success(request, _("%(points)s points for %(name)s. New balance: %(balance)s.")
                         % {"points": purchase.points_earned, "name": membership.name,
                            "balance": membership.points_balance})
        return redirect("counter:member", shop_slug=request.shop.slug,
                        card_number=membership.card_number)
    return render(request, "loyalty/counter/member.html#panel",
                  _panel_context(request, membership, last=purchase))


@staff_required
@require_POST
def undo(request, purchase_id: int):
    purchase = selectors.purchases_for_shop(shop=request.shop).filter(pk=purchase_id).first()
    if purchase is None or purchase.membership is None:
        raise Http404("No such purchase")
    form = UndoForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the purchase is undone."))
    else:
        try:
            refund = services.purchase_undo(shop=request.shop, purchase_id=purchase.pk,
                                            reason=form.cleaned_data["reason"], by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Purchase undone: %(points)s points taken back.") % {
                "points": refund.points_reversed})
    return redirect("counter:member", shop_slug=request.shop.slug,
                    card_number=purchase.membership.card_number)


@staff_required
@require_POST
def sale_without_card(request):
    """Record a sale for a customer without a card, so member and non-member spend compare."""
    form = EarnForm(request.POST)
    if form.is_valid():
        try:
            services.purchase_record(
                shop=request.shop, amount=form.cleaned_data["amount"],
                reference=form.cleaned_data["reference"], recorded_by=request.user,
                idempotency_key=f"counter:{form.cleaned_data['token']}",
            )
        except services.DuplicateRequest:
            pass
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("counter:screen", shop_slug=request.shop.slug)
        messages.success(request, _("Sale without card recorded."))
    else:
        messages.error(request, _("Enter an amount, such as 27.50."))
    return redirect("counter:screen", shop_slug=request.shop.slug)
