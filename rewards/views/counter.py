"""Rewards at the counter: use a voucher by its code, redeem a reward for the member at the
counter, take points off a purchase."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from loyalty import selectors as loyalty_selectors
from loyalty.access import staff_required

from .. import selectors, services
from ..forms import PayWithPointsForm
from ..models import VoucherStatus


@staff_required
def voucher_lookup(request):
    """Type or scan a code: the voucher, its reward and member show, with “Use” while it is
    open. A used, expired or cancelled voucher shows its status calmly, and the search box keeps
    the focus for the next scan."""
    code = request.GET.get("code", "").strip()
    voucher, error = None, None
    if code:
        try:
            voucher = services.voucher_find(shop=request.shop, code=code)
        except ValidationError as exc:
            error = " ".join(exc.messages)
    now = timezone.now()
    context = {"code": code, "voucher": voucher, "error": error, "can_use": False}
    if voucher is not None:
        state = voucher.status
        if state == VoucherStatus.OPEN and voucher.expires_at <= now:
            state = VoucherStatus.EXPIRED  # past its date; the hourly task has not closed it yet
        context.update({
            "code": services.voucher_code_display(voucher.code),
            "state": state,
            "can_use": state == VoucherStatus.OPEN,
            "used_today": voucher.used_at is not None and (
                timezone.localdate(voucher.used_at) == timezone.localdate(now)),
            "used_by": selectors.voucher_used_by_name(voucher=voucher),
        })
    return render(request, "rewards/counter/voucher.html", context,
                  status=404 if error else 200)


@staff_required
@require_POST
def voucher_use(request, code: str):
    try:
        voucher = services.voucher_use(shop=request.shop, code=code, actor_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Voucher used: %(reward)s for %(name)s.") % {
            "reward": voucher.reward.name, "name": voucher.membership.name})
    return redirect(reverse("counter_voucher", args=[request.shop.slug]) + "?" + urlencode(
        {"code": code}))


def _member(request, card_number):
    membership = loyalty_selectors.membership_by_card(shop=request.shop, card_number=card_number)
    if membership is None:
        raise Http404("No such member")
    return membership


@staff_required
def member_rewards(request, card_number: str):
    """The rewards part of the counter's member panel (loaded into it by htmx)."""
    membership = _member(request, card_number)
    summary = loyalty_selectors.membership_points_summary(membership=membership)
    return render(request, "rewards/counter/member_rewards.html", {
        "member": membership,
        "rewards": selectors.rewards_for_member(shop=request.shop,
                                                spendable=summary["spendable"]),
        "open_vouchers": selectors.vouchers_for_member(membership=membership).filter(
            status="open"),
        "settings": services.reward_settings_for(shop=request.shop),
        "pay_form": PayWithPointsForm(),
    })


@staff_required
@require_POST
def member_redeem(request, card_number: str):
    membership = _member(request, card_number)
    try:
        voucher = services.reward_redeem_at_counter(
            shop=request.shop, membership_id=membership.pk,
            reward_id=int(request.POST.get("reward", "")) if request.POST.get(
                "reward", "").isdigit() else 0, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, ngettext(
            "%(reward)s redeemed: %(points)s point taken off.",
            "%(reward)s redeemed: %(points)s points taken off.",
            voucher.points_spent) % {"reward": voucher.reward.name,
                                     "points": voucher.points_spent})
    return redirect("counter:member", shop_slug=request.shop.slug,
                    card_number=membership.card_number)


@staff_required
@require_POST
def member_pay_with_points(request, card_number: str):
    membership = _member(request, card_number)
    form = PayWithPointsForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a whole number of points above zero."))
    else:
        try:
            _entry, money = services.points_pay(shop=request.shop, membership_id=membership.pk,
                                                points=form.cleaned_data["points"],
                                                by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Take %(money)s %(currency)s off the purchase.") % {
                "money": money, "currency": request.shop.currency})
    return redirect("counter:member", shop_slug=request.shop.slug,
                    card_number=membership.card_number)


def voucher_qr_svg(code: str) -> str:
    return segno.make(code, error="m").svg_inline(scale=6, border=2, dark="#111827",
                                                  light="#ffffff", svgclass="card-qr",
                                                  omitsize=True)
