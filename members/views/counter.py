"""Enrolling a customer at the counter (staff and owners): a phone number or an e-mail address
is enough. The counter's empty search links here with what was typed filled in."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from loyalty.access import staff_required
from loyalty.forms import add_errors
from loyalty.models import MembershipSource
from loyalty.templatetags.trouw import phone as phone_display

from .. import selectors, services
from ..forms import CounterEnrolForm


@staff_required
@require_http_methods(["GET", "POST"])
def enrol(request):
    if request.method == "POST":
        form = CounterEnrolForm(request.POST)
    else:
        form = CounterEnrolForm(initial={
            name: request.GET[name][:150] for name in CounterEnrolForm.PREFILL
            if request.GET.get(name, "").strip()})
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.member_enrol(
                shop=request.shop, source=MembershipSource.COUNTER, **form.cleaned_data
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            who = membership.name or phone_display(membership.phone, request.shop.country) or (
                membership.email)
            messages.success(request, _("%(name)s is a member now. Card number: %(card)s.") % {
                "name": who, "card": membership.card_number_display})
            notice = selectors.birthday_notice(shop=request.shop, birthday=membership.birthday,
                                               set_at=membership.birthday_set_at)
            if notice:
                messages.info(request, notice)
            return redirect("counter:member", shop_slug=request.shop.slug,
                            card_number=membership.card_number)
    form.focus_first()
    status = 400 if request.method == "POST" else 200
    return render(request, "members/counter_enrol.html", {"form": form}, status=status)
