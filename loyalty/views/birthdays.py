"""The owner's birthday gift page: how many points members get and when, in the owner's words
("Members get 250 points from 7 days before their birthday, from 06:00."). Saved as a new
version of the program rules."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .. import selectors, services
from ..access import owner_required
from ..forms import BirthdayGiftForm, add_errors


@owner_required
@require_http_methods(["GET", "POST"])
def birthday_gift(request):
    shop = request.shop
    rules = selectors.program_rules_in_force(shop=shop)
    status = 200
    if request.method == "POST":
        form = BirthdayGiftForm(request.POST)
        if form.is_valid():
            try:
                saved = services.program_rules_update(shop=shop, by=request.user,
                                                      **form.rules_values())
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                if saved.version == rules.version:
                    messages.info(request, _("Nothing changed."))
                else:
                    messages.success(request, _("Birthday gift saved. %(sentence)s") % {
                        "sentence": services.birthday_gift_sentence(shop=shop, rules=saved)})
                return redirect("dashboard:birthday", shop_slug=shop.slug)
        status = 400
    else:
        form = BirthdayGiftForm(BirthdayGiftForm.data_for(rules))
    return render(request, "loyalty/dashboard/birthday.html", {
        "form": form,
        "sentence": services.birthday_gift_sentence(shop=shop, rules=rules),
        "level_lines": services.birthday_gift_by_level_lines(shop=shop, rules=rules),
        "notice_days": settings.TROUW_BIRTHDAY_NOTICE_DAYS,
    }, status=status)
