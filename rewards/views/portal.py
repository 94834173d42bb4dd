"""Rewards on the member portal: what the member can afford, claiming, their vouchers."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from loyalty import selectors as loyalty_selectors
from loyalty.access import member_required

from .. import selectors, services
from .counter import voucher_qr_svg


@member_required
def rewards(request):
    summary = loyalty_selectors.membership_points_summary(membership=request.membership)
    vouchers = list(selectors.vouchers_for_member(membership=request.membership)[:50])
    return render(request, "rewards/portal/rewards.html", {
        "summary": summary,
        "rewards": selectors.rewards_for_member(shop=request.shop,
                                                spendable=summary["spendable"],
                                                level_rank=request.membership.level_rank),
        "open_vouchers": [v for v in vouchers if v.status == "open"],
        "closed_vouchers": [v for v in vouchers if v.status != "open"],
    })


@member_required
@require_POST
def claim(request, reward_id: int):
    try:
        voucher = services.voucher_claim(shop=request.shop, membership_id=request.membership.pk,
                                         reward_id=reward_id, actor_user=request.user)
    except ValidationError as exc:
        if getattr(exc, "error_dict", {}).get("reward", [None])[0] is not None and (
            exc.error_dict["reward"][0].code == "not_found"
        ):
            raise Http404("No such reward") from None
        messages.error(request, " ".join(exc.messages))
        return redirect("portal_rewards", shop_slug=request.shop.slug)
    messages.success(request, _("Here is your voucher. Show it at the counter."))
    return redirect("portal_voucher", shop_slug=request.shop.slug, code=voucher.code)


@member_required
def voucher(request, code: str):
    found = selectors.vouchers_for_member(membership=request.membership).filter(
        code=services.voucher_code_normalize(code)).first()
    if found is None:
        raise Http404("No such voucher")
    return render(request, "rewards/portal/voucher.html", {
        "voucher": found, "code_display": services.voucher_code_display(found.code),
        "qr_svg": mark_safe(voucher_qr_svg(found.code)),  # noqa: S308 - segno output
    })


@member_required
@require_POST
def cancel(request, code: str):
    found = selectors.vouchers_for_member(membership=request.membership).filter(
        code=services.voucher_code_normalize(code)).first()
    if found is None:
        raise Http404("No such voucher")
    try:
        services.voucher_cancel(shop=request.shop, voucher_id=found.pk, by=request.user,
                                membership_id=request.membership.pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, ngettext(
            "Voucher cancelled: your %(points)s point is back.",
            "Voucher cancelled: your %(points)s points are back.",
            found.points_spent) % {"points": found.points_spent})
    return redirect("portal_rewards", shop_slug=request.shop.slug)
