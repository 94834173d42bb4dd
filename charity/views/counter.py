"""The charity at the counter: the member's charity, shown and changed in a panel of the
counter's member page (settings.TROUW_COUNTER_MEMBER_PANELS), and the round-up the earn form
offers (settings.TROUW_COUNTER_DONATION_OFFER, charity.selectors.counter_donation_offer)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from loyalty import selectors as loyalty_selectors
from loyalty.access import staff_required

from .. import selectors, services
from ..models import ChoiceSource

MEMBERSHIP_CHANGED = "membership-changed"


def _member(request, card_number):
    membership = loyalty_selectors.membership_by_card(shop=request.shop, card_number=card_number)
    if membership is None:
        raise Http404("No such member")
    return membership


def _panel(request, membership, *, status=200, error=""):
    offer = selectors.counter_donation_offer(membership=membership)
    context = {"member": membership, "offer": offer, "error": error,
               "charities": list(selectors.charities_for_shop(shop=request.shop,
                                                              active_only=True)) if offer else []}
    return render(request, "charity/counter/member_charity.html", context, status=status)


@staff_required
@vary_on_headers("HX-Request")
def member_charity(request, card_number: str):
    """The charity panel of the counter's member page (empty while the program is off),
    loaded by htmx and reloaded on ``membership-changed``."""
    return _panel(request, _member(request, card_number))


@staff_required
@require_POST
@vary_on_headers("HX-Request")
def member_charity_choose(request, card_number: str):
    """The customer picks (or changes) their charity at the counter; past donations keep
    theirs. Another shop's, an unknown or an inactive charity is refused, nothing written."""
    membership = _member(request, card_number)
    error = ""
    if selectors.counter_donation_offer(membership=membership) is None:
        error = _("This shop does not take donations.")
    else:
        try:
            choice = services.membership_charity_choose(
                membership=membership, charity_id=request.POST.get("charity") or None,
                source=ChoiceSource.COUNTER)
        except ValidationError as exc:
            error = " ".join(exc.messages)
    if error:
        if request.htmx:
            return _panel(request, membership, status=400, error=error)
        messages.error(request, error)
    else:
        done = _("From now on %(name)s gives to %(charity)s.") % {
            "name": membership.name or membership.card_number_display,
            "charity": choice.charity.name}
        if request.htmx:
            response = render(request, "charity/counter/feedback.html", {"feedback": done})
            response["HX-Trigger"] = MEMBERSHIP_CHANGED
            response["HX-Reswap"] = "none"
            return response
        messages.success(request, done)
    return redirect("counter:member", shop_slug=request.shop.slug,
                    card_number=membership.card_number)
