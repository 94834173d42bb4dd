"""Rewards at the counter: use a voucher by its code, redeem a reward for the member at the
counter, take points off a purchase."""

from __future__ import annotations

import re
import uuid

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
from django.views.decorators.vary import vary_on_headers

from loyalty import selectors as loyalty_selectors
from loyalty import services as loyalty_services
from loyalty.access import staff_required
from loyalty.points import points_as_money
from loyalty.templatetags.trouw import money as money_format

from .. import selectors, services
from ..forms import PayWithPointsForm
from ..models import VoucherStatus


@staff_required
@vary_on_headers("HX-Request")
def voucher_lookup(request):
    """Type or scan a code: the voucher, its reward and member show, with “Use” while it is
    open. A used, expired or cancelled voucher shows as a warning (“do not hand out”), and the
    search box keeps the focus for the next scan.

    With ``preview=1`` and htmx it answers the counter's search box while a code is typed: a
    fragment with the voucher (or the word that there is none), always 200."""
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
    if request.htmx and request.GET.get("preview"):
        return render(request, "rewards/counter/voucher.html#preview", context)
    return render(request, "rewards/counter/voucher.html", context,
                  status=404 if error else 200)


@staff_required
@require_POST
def voucher_use(request, code: str):
    """Use a voucher once. Then the empty code box, with the focus, for the next scan (the
    voucher's page would now warn "already used" right after the success); a refusal shows
    the voucher again with its state."""
    lookup = reverse("counter_voucher", args=[request.shop.slug])
    try:
        voucher = services.voucher_use(shop=request.shop, code=code, actor_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(lookup + "?" + urlencode({"code": code}))
    messages.success(request, _("Voucher used: %(reward)s for %(name)s.") % {
        "reward": voucher.reward.name,
        "name": voucher.membership.name or voucher.membership.card_number_display})
    return redirect(lookup)


def _member(request, card_number):
    membership = loyalty_selectors.membership_by_card(shop=request.shop, card_number=card_number)
    if membership is None:
        raise Http404("No such member")
    return membership


def _panel_context(request, membership, **extra) -> dict:
    summary = loyalty_selectors.membership_points_summary(membership=membership)
    rows = selectors.rewards_for_member(shop=request.shop, spendable=summary["spendable"],
                                        level_rank=membership.level_rank)
    return {
        "member": membership,
        "summary": summary,
        "rewards": selectors.rewards_beside_stamp_card(rows=rows, stamps=summary.get("stamps")),
        "open_vouchers": selectors.vouchers_for_member(membership=membership).filter(
            status="open"),
        "settings": services.reward_settings_for(shop=request.shop),
        "pay_form": PayWithPointsForm(),
        **extra,
    }


def _panel(request, membership, status=200, **extra):
    return render(request, "rewards/counter/member_rewards.html",
                  _panel_context(request, membership, **extra), status=status)


@staff_required
def member_rewards(request, card_number: str):
    """The rewards part of the counter's member panel (loaded into it by htmx, and reloaded
    on ``membership-changed``)."""
    return _panel(request, _member(request, card_number))


def _back(request, membership, *, error: str = "", done: str = ""):
    """After a counter action: with htmx, a refusal shows in the rewards panel (nothing
    changed), a success goes out of band into the counter's feedback line, and the event
    ``membership-changed`` makes every panel of the page reload. Without htmx: back to the
    member's page with a message."""
    if request.htmx:
        if error:
            return _panel(request, membership, status=400, error=error)
        response = render(request, "rewards/counter/feedback.html", {"feedback": done})
        response["HX-Trigger"] = "membership-changed"
        response["HX-Reswap"] = "none"
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect("counter:member", shop_slug=request.shop.slug,
                    card_number=membership.card_number)


def _confirm(request, membership, context):
    """Ask before points go: the question, Confirm and Cancel (a page without htmx, the
    rewards panel's content with it). Nothing changes until Confirm."""
    context = {"member": membership, "token": uuid.uuid4().hex, **context}
    template = "rewards/counter/confirm.html"
    return render(request, template + "#confirm" if request.htmx else template, context)


def _token_key(request, prefix: str) -> str | None:
    token = request.POST.get("token", "")
    return f"{prefix}:{token}" if re.fullmatch(r"[0-9a-f]{32}", token) else None


@staff_required
@require_POST
@vary_on_headers("HX-Request")
def member_redeem(request, card_number: str):
    """Redeem a reward for the member at the counter: asks first ("Redeem Free coffee for 500
    points? Sanne keeps 230 points."), then takes the points and uses the voucher at once."""
    membership = _member(request, card_number)
    raw = request.POST.get("reward", "")
    reward_id = int(raw) if raw.isdigit() else 0
    if request.POST.get("confirm") != "1":
        summary = loyalty_selectors.membership_points_summary(membership=membership)
        row = next((row for row in selectors.rewards_for_member(
            shop=request.shop, spendable=summary["spendable"],
            level_rank=membership.level_rank) if row["reward"].pk == reward_id), None)
        if row is None:
            return _back(request, membership, error=_("No such reward at this shop."))
        if row["unavailable"]:
            return _back(request, membership, error=row["unavailable"])
        if not row["affordable"]:
            return _back(request, membership, error=_(
                "Not enough points: %(spendable)s can be spent, %(points)s asked.") % {
                "spendable": summary["spendable"], "points": row["reward"].points_cost})
        return _confirm(request, membership, {
            "action": "redeem", "reward": row["reward"], "points": row["reward"].points_cost,
            "keeps": summary["balance"] - row["reward"].points_cost})
    try:
        voucher = services.reward_redeem_at_counter(
            shop=request.shop, membership_id=membership.pk, reward_id=reward_id,
            by=request.user, idempotency_key=_token_key(request, "counter-redeem"))
    except loyalty_services.DuplicateRequest as duplicate:
        voucher = duplicate.existing  # a double tap on Confirm: redeemed once
    except ValidationError as exc:
        return _back(request, membership, error=" ".join(exc.messages))
    return _back(request, membership, done=ngettext(
        "%(reward)s redeemed: %(points)s point taken off.",
        "%(reward)s redeemed: %(points)s points taken off.",
        voucher.points_spent) % {"reward": voucher.reward.name,
                                 "points": voucher.points_spent})


@staff_required
@require_POST
@vary_on_headers("HX-Request")
def member_pay_with_points(request, card_number: str):
    """Take points off the purchase as money: asks first ("Take 250 points (€2.50) off the
    purchase? Sanne keeps 250 points."), then takes them."""
    membership = _member(request, card_number)
    form = PayWithPointsForm(request.POST)
    if not form.is_valid():
        return _back(request, membership, error=_("Enter a whole number of points above zero."))
    wanted = form.cleaned_data["points"]
    if request.POST.get("confirm") != "1":
        summary = loyalty_selectors.membership_points_summary(membership=membership)
        if wanted > summary["spendable"]:
            return _back(request, membership, error=_(
                "Not enough points: %(spendable)s can be spent, %(points)s asked.") % {
                "spendable": summary["spendable"], "points": wanted})
        return _confirm(request, membership, {
            "action": "pay", "points": wanted, "keeps": summary["balance"] - wanted,
            "money": points_as_money(rules=summary["rules"], points=wanted),
            "currency": summary["currency"]})
    try:
        _entry, money = services.points_pay(
            shop=request.shop, membership_id=membership.pk, points=wanted, by=request.user,
            idempotency_key=_token_key(request, "counter-pay"))
    except loyalty_services.DuplicateRequest as duplicate:  # a double tap on Confirm: once
        money = points_as_money(rules=loyalty_services.program_rules_current(shop=request.shop),
                                points=-duplicate.existing.points)
    except ValidationError as exc:
        return _back(request, membership, error=" ".join(exc.messages))
    return _back(request, membership, done=_("Take %(money)s off the purchase.") % {
        "money": money_format(money, request.shop.currency)})


def voucher_qr_svg(code: str) -> str:
    return segno.make(code, error="m").svg_inline(scale=6, border=2, dark="#111827",
                                                  light="#ffffff", svgclass="card-qr",
                                                  omitsize=True)
