"""The owner's bonus-point events page: double-points days, happy hours, extra points on some
products, each with its dates, weekdays and hours on the shop's clock, and how bonuses combine.
Every change is a new version of the program rules, so a purchase keeps the events it earned
under."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .. import events, selectors, services
from ..access import owner_required
from ..forms import BonusCombineForm, BonusEventForm, add_errors


def _page(request, *, rules, form, combine_form, editing=None, status=200):
    return render(request, "loyalty/dashboard/bonus_events.html", {
        "shown": events.events_shown(rules=rules, include_ended=True),
        "form": form, "combine_form": combine_form, "editing": editing,
    }, status=status)


@owner_required
@require_http_methods(["GET", "POST"])
def bonus_events(request):
    shop = request.shop
    rules = selectors.program_rules_in_force(shop=shop)
    current = list(rules.bonus_events or [])
    combine_form = BonusCombineForm(initial={"bonus_combine": rules.bonus_combine})
    if request.method == "GET":
        editing = next((e for e in current if e["name"] == request.GET.get("edit")), None)
        form = BonusEventForm(initial=BonusEventForm.data_for(editing) if editing
                              else {"kind": "multiplier"})
        return _page(request, rules=rules, form=form, combine_form=combine_form,
                     editing=editing and editing["name"])

    action = request.POST.get("action")
    form = BonusEventForm()
    if action == "remove":
        name = request.POST.get("name", "")
        kept = [e for e in current if e["name"] != name]
        if len(kept) != len(current):
            services.program_rules_update(shop=shop, by=request.user, bonus_events=kept)
            messages.success(request, _("“%(name)s” is removed: it gives no more bonus points "
                                        "from now on.") % {"name": name})
        return redirect("dashboard:bonus_events", shop_slug=shop.slug)
    if action == "combine":
        combine_form = BonusCombineForm(request.POST)
        if combine_form.is_valid():
            services.program_rules_update(shop=shop, by=request.user,
                                          bonus_combine=combine_form.cleaned_data["bonus_combine"])
            messages.success(request, _("Saved: how bonuses combine."))
            return redirect("dashboard:bonus_events", shop_slug=shop.slug)
        return _page(request, rules=rules, form=form, combine_form=combine_form, status=400)
    form = BonusEventForm(request.POST)
    if form.is_valid():
        event = form.event()
        original = form.cleaned_data["original_name"]
        if original and any(e["name"] == original for e in current):
            updated = [event if e["name"] == original else e for e in current]
        else:
            updated = [*current, event]
        try:
            services.bonus_event_clean(event)
            saved = services.program_rules_update(shop=shop, by=request.user,
                                                  bonus_events=updated)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            shown = next(s for s in events.events_shown(rules=saved, include_ended=True)
                         if s.event["name"] == event["name"])
            messages.success(request, _("Saved: %(name)s, %(sentence)s.") % {
                "name": event["name"], "sentence": shown.sentence})
            return redirect("dashboard:bonus_events", shop_slug=shop.slug)
    return _page(request, rules=rules, form=form, combine_form=combine_form,
                 editing=form.data.get("original_name") or None, status=400)
