"""The owner's catalogue: rewards, their order and activity, and the shop's reward settings."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from loyalty import selectors as loyalty_selectors
from loyalty import services as loyalty_services
from loyalty.access import owner_required
from loyalty.forms import add_errors

from .. import selectors, services
from ..forms import RewardForm, RewardSettingsForm
from ..models import Reward


@owner_required
@require_http_methods(["GET", "POST"])
def catalogue(request):
    settings_row = services.reward_settings_for(shop=request.shop)
    settings_form = RewardSettingsForm(request.POST or None, instance=settings_row)
    if request.method == "POST" and settings_form.is_valid():
        try:
            services.reward_settings_update(shop=request.shop, **settings_form.cleaned_data)
        except ValidationError as exc:
            add_errors(settings_form, exc)
        else:
            messages.success(request, _("Reward settings saved."))
            return redirect("rewards_catalogue", shop_slug=request.shop.slug)
    rewards = list(selectors.rewards_for_catalogue(shop=request.shop))
    if any(reward.min_tier_level for reward in rewards):
        names = selectors.level_names(shop=request.shop)
        for reward in rewards:
            reward.min_level_words = selectors.min_level_words(rank=reward.min_tier_level,
                                                               names=names)
    return render(request, "rewards/dashboard/catalogue.html", {
        "rewards": rewards,
        "settings_form": settings_form,
    }, status=400 if settings_form.is_bound and settings_form.errors else 200)


def _reward_form_page(request, reward: Reward | None):
    form = RewardForm(request.POST or None, request.FILES or None, instance=reward,
                      shop=request.shop,
                      rules=loyalty_services.program_rules_current(shop=request.shop))
    if request.method == "POST" and form.is_valid():
        values = form.reward_values()
        try:
            if reward is None:
                saved = services.reward_create(shop=request.shop, **values)
            else:
                saved = services.reward_update(shop=request.shop, reward_id=reward.pk, **values)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("“%(name)s” is saved.") % {"name": saved.name})
            return redirect("rewards_catalogue", shop_slug=request.shop.slug)
    return render(request, "rewards/dashboard/reward_form.html", {
        "form": form, "reward": reward,
    }, status=400 if form.is_bound and form.errors else 200)


@owner_required
@require_http_methods(["GET", "POST"])
def reward_create(request):
    return _reward_form_page(request, None)


@owner_required
@require_http_methods(["GET", "POST"])
def reward_edit(request, reward_id: int):
    reward = Reward.objects.for_shop(request.shop).filter(pk=reward_id).first()
    if reward is None:
        raise Http404("No such reward")
    return _reward_form_page(request, reward)


@owner_required
@require_http_methods(["GET", "POST"])
def reward_delete(request, reward_id: int):
    """Asks first (a page of its own, so it works without JavaScript), then deletes — or says
    why it cannot (vouchers point at the reward) and offers to switch it off instead."""
    reward = selectors.rewards_for_catalogue(shop=request.shop).filter(pk=reward_id).first()
    if reward is None:
        raise Http404("No such reward")
    refusal = None
    if request.method == "POST":
        try:
            services.reward_delete(shop=request.shop, reward_id=reward.pk)
        except ValidationError as exc:
            if getattr(exc, "code", None) == "not_found":
                raise Http404("No such reward") from None
            refusal = " ".join(exc.messages)
        else:
            messages.success(request, _("“%(name)s” is deleted.") % {"name": reward.name})
            return redirect("rewards_catalogue", shop_slug=request.shop.slug)
    claims = reward.vouchers.count()
    return render(request, "rewards/dashboard/reward_delete.html", {
        "reward": reward, "claims": claims, "refusal": refusal,
    }, status=409 if refusal else 200)


@owner_required
@require_POST
def reward_move(request, reward_id: int):
    try:
        services.reward_move(shop=request.shop, reward_id=reward_id,
                             up=request.POST.get("direction") == "up")
    except ValidationError as exc:
        if getattr(exc, "code", None) == "not_found":
            raise Http404("No such reward") from None
        raise
    return redirect("rewards_catalogue", shop_slug=request.shop.slug)


@owner_required
@require_POST
def reward_toggle(request, reward_id: int):
    reward = Reward.objects.for_shop(request.shop).filter(pk=reward_id).first()
    if reward is None:
        raise Http404("No such reward")
    services.reward_update(shop=request.shop, reward_id=reward.pk, active=not reward.active)
    if reward.active:
        messages.success(request, _("“%(name)s” is switched off: your customers no longer see "
                                    "it.") % {"name": reward.name})
    else:
        messages.success(request, _("“%(name)s” is switched on: your customers can claim it.")
                         % {"name": reward.name})
    return redirect("rewards_catalogue", shop_slug=request.shop.slug)


@owner_required
@require_POST
def voucher_cancel(request, voucher_id: int):
    voucher = selectors.vouchers_for_shop(shop=request.shop).filter(pk=voucher_id).first()
    if voucher is None:
        raise Http404("No such voucher")
    try:
        services.voucher_cancel(shop=request.shop, voucher_id=voucher.pk, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, ngettext(
            "Voucher cancelled: %(points)s point returned.",
            "Voucher cancelled: %(points)s points returned.",
            voucher.points_spent) % {"points": voucher.points_spent})
    return redirect("dashboard:member", shop_slug=request.shop.slug,
                    card_number=voucher.membership.card_number)


@owner_required
def member_vouchers(request, card_number: str):
    """The vouchers part of the dashboard's member page (loaded into it by htmx)."""
    membership = loyalty_selectors.membership_by_card(shop=request.shop, card_number=card_number)
    if membership is None:
        raise Http404("No such member")
    return render(request, "rewards/dashboard/member_vouchers.html", {
        "member": membership,
        "vouchers": selectors.vouchers_for_member(membership=membership)[:50],
    })
