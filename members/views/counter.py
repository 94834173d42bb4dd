"""Enrolling a customer at the counter (staff and owners)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from loyalty.access import staff_required
from loyalty.forms import add_errors
from loyalty.models import MembershipSource

from .. import services
from ..forms import CounterEnrolForm


@staff_required
@require_http_methods(["GET", "POST"])
def enrol(request):
    form = CounterEnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.member_enrol(
                shop=request.shop, source=MembershipSource.COUNTER, **form.cleaned_data
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("%(name)s is a member now. Card number: %(card)s.") % {
                "name": membership.name, "card": membership.card_number_display})
            return redirect("counter:member", shop_slug=request.shop.slug,
                            card_number=membership.card_number)
    status = 400 if request.method == "POST" else 200
    return render(request, "members/counter_enrol.html", {"form": form}, status=status)
