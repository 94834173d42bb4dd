"""The levels part of the dashboard's member page (loaded into it by htmx): the card's level,
until when it holds, the owner's manual level, and the log of changes."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from loyalty import selectors as loyalty_selectors
from loyalty.access import owner_required

from .. import selectors, services
from ..forms import ManualLevelForm
from ..models import TierState


@owner_required
@require_http_methods(["GET", "POST"])
def member_level(request, card_number: str):
    membership = loyalty_selectors.membership_by_card(shop=request.shop, card_number=card_number)
    if membership is None:
        raise Http404("No such member")
    tiers = list(selectors.tiers_for_shop(shop=request.shop))
    form = ManualLevelForm(request.POST or None, tiers=tiers)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.level_set_by_owner(
                    shop=request.shop, membership_id=membership.pk,
                    tier_id=form.cleaned_data["tier"], reason=form.cleaned_data["reason"],
                    until=form.cleaned_data["until"], by=request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, _("Level set by hand."))
        else:
            messages.error(request, " ".join(
                f"{form.fields[name].label}: {' '.join(errors)}" if name in form.fields
                else " ".join(errors) for name, errors in form.errors.items()))
        return redirect("dashboard:member", shop_slug=request.shop.slug,
                        card_number=membership.card_number)
    return render(request, "tiers/dashboard/member_level.html", {
        "member": membership, "form": form,
        "levels_on": request.shop.levels_enabled and bool(tiers),
        "state": TierState.objects.filter(membership=membership).select_related("tier").first(),
        "changes": list(selectors.level_changes_for(membership=membership)[:20]),
    })
