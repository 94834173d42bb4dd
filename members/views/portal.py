"""The member portal: a customer's cards, points, history and the shop's rules, on their phone."""

from __future__ import annotations

import segno
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from loyalty import events, selectors
from loyalty.access import member_required, signed_in_view

from .. import selectors as member_selectors
from .. import services as member_services
from .. import theme
from ..forms import BirthdayForm

HISTORY_PAGE_SIZE = 15
EXPIRING_SHOWN = 3  # the soonest batches of points that will expire


def card_qr_svg(card_number: str) -> str:
    """The card number as an SVG QR code, for the counter's scanner."""
    qr = segno.make(card_number, error="m")
    return qr.svg_inline(scale=6, border=2, dark="#111827", light="#ffffff",
                         svgclass="card-qr", omitsize=True)


@signed_in_view
def index(request):
    memberships = list(request.user.memberships.select_related("shop__current_rules")
                       .order_by("shop__name"))
    if len(memberships) == 1:
        return redirect("portal:card", shop_slug=memberships[0].shop.slug)
    # A person has a handful of cards: two small queries each is fine here.
    cards = [{"membership": m, "summary": selectors.membership_points_summary(membership=m),
              **theme.theme_context(m.shop)} for m in memberships]
    return render(request, "members/portal/index.html", {"cards": cards})


@member_required
def card(request):
    membership = request.membership
    history = Paginator(selectors.membership_history(membership=membership), HISTORY_PAGE_SIZE)
    return render(request, "members/portal/card.html", {
        **theme.theme_context(request.shop),
        "membership": membership,
        "summary": selectors.membership_points_summary(membership=membership),
        "expiring": selectors.points_expiring(membership=membership)[:EXPIRING_SHOWN],
        "page": history.get_page(request.GET.get("page")),
        "qr_svg": mark_safe(card_qr_svg(membership.card_number)),  # noqa: S308 - segno output
    })


@member_required
def how_it_works(request):
    summary = selectors.membership_points_summary(membership=request.membership)
    rules = summary["rules"]
    return render(request, "members/portal/how_it_works.html", {
        **theme.theme_context(request.shop),
        "rules": rules, "examples": selectors.rules_examples(rules=rules),
        "program_sentence": selectors.program_sentence(rules=rules,
                                                       currency=request.shop.currency),
        "stamps": summary["stamps"],
        "bonus_events": events.events_shown(rules=rules),
        "birthday_gift": member_selectors.shop_birthday_gift(shop=request.shop,
                                                             membership=request.membership),
    })


@member_required
@require_http_methods(["GET", "POST"])
def birthday(request):
    """The member sets, changes or removes their birthday, and is told what it means: the gift
    it brings, and that a birthday too close now counts from next year."""
    membership = request.membership
    form = BirthdayForm(request.POST or None, initial={"birthday": membership.birthday})
    if request.method == "POST" and form.is_valid():
        try:
            changed = member_services.member_birthday_set(
                membership=membership, birthday=form.cleaned_data["birthday"])
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                for message in field_errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            if changed:
                notice = member_selectors.birthday_notice(
                    shop=request.shop, membership=membership, birthday=membership.birthday,
                    set_at=membership.birthday_set_at)
                messages.success(request, _("Your birthday is saved.") if membership.birthday
                                 else _("Your birthday is removed."))
                if notice:
                    messages.warning(request, notice)
            return redirect("portal:card", shop_slug=request.shop.slug)
    return render(request, "members/portal/birthday.html", {
        **theme.theme_context(request.shop),
        "membership": membership, "form": form,
        "gift": member_selectors.shop_birthday_gift(shop=request.shop, membership=membership),
        "notice_days": settings.TROUW_BIRTHDAY_NOTICE_DAYS,
    })
