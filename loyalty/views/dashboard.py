"""The owner dashboard: create and configure shops, manage staff, see members."""

from __future__ import annotations

import segno
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from .. import selectors, services
from ..access import owner_required, signed_in_view
from ..forms import (
    PRESETS,
    AdjustForm,
    ApiKeyForm,
    ProgramRulesForm,
    ShopCreateForm,
    ShopSettingsForm,
    StaffInviteForm,
    add_errors,
)
from ..models import ExpiryPolicy, StaffRole
from ..points import MAX_PENDING_DAYS, MAX_RULE_NUMBER, points_for_amount
from ..services.rules import EXPIRY_MONTHS_MAX


@signed_in_view
def index(request):
    shops = list(selectors.shops_for_user(user=request.user, roles=[StaffRole.OWNER]))
    if not shops:
        return redirect("dashboard:shop_create")
    if len(shops) == 1:
        return redirect("dashboard:overview", shop_slug=shops[0].slug)
    return render(request, "loyalty/dashboard/index.html", {"shops": shops})


@signed_in_view
@require_http_methods(["GET", "POST"])
def shop_create(request):
    form = ShopCreateForm(request.POST or None, initial={
        "language": request.LANGUAGE_CODE if request.LANGUAGE_CODE in ("en", "nl", "sv") else "en",
        "currency": "SEK" if request.LANGUAGE_CODE == "sv" else "EUR",
        "time_zone": "Europe/Stockholm" if request.LANGUAGE_CODE == "sv" else "Europe/Amsterdam",
        "country": "SE" if request.LANGUAGE_CODE == "sv" else "NL",
    })
    if request.method == "POST" and form.is_valid():
        try:
            shop = services.shop_create(owner=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("%(shop)s is ready. Welcome to your dashboard.") % {
                "shop": shop.name})
            return redirect("dashboard:overview", shop_slug=shop.slug)
    return render(request, "loyalty/dashboard/shop_create.html", {"form": form},
                  status=400 if form.is_bound and form.errors else 200)


@owner_required
def overview(request):
    shop = request.shop
    context = selectors.shop_overview(shop=shop)
    context["public_url"] = request.build_absolute_uri(f"/s/{shop.slug}/")
    return render(request, "loyalty/dashboard/overview.html", context)


@owner_required
@require_http_methods(["GET", "POST"])
def shop_settings(request):
    form = ShopSettingsForm(request.POST or None, request.FILES or None, instance=request.shop)
    if request.method == "POST" and form.is_valid():
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.shop_update(shop=request.shop, **changed)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Your shop's details are saved."))
            return redirect("dashboard:settings", shop_slug=request.shop.slug)
    return render(request, "loyalty/dashboard/settings.html", {"form": form},
                  status=400 if form.is_bound and form.errors else 200)


def _staff_page(request, form=None, status=200):
    return render(request, "loyalty/dashboard/staff.html", {
        "staff": selectors.staff_for_shop(shop=request.shop),
        "invitations": selectors.invitations_pending_for_shop(shop=request.shop),
        "form": form or StaffInviteForm(),
    }, status=status)


@owner_required
def staff(request):
    return _staff_page(request)


@owner_required
@require_POST
def staff_invite(request):
    form = StaffInviteForm(request.POST)
    if form.is_valid():
        try:
            invitation = services.staff_invite(
                shop=request.shop, email=form.cleaned_data["email"], invited_by=request.user
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {
                "email": invitation.email})
            return redirect("dashboard:staff", shop_slug=request.shop.slug)
    return _staff_page(request, form=form, status=400)


@owner_required
@require_POST
def staff_invitation_revoke(request, invitation_id: int):
    try:
        services.staff_invitation_revoke(shop=request.shop, invitation_id=invitation_id)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The invitation is withdrawn."))
    return redirect("dashboard:staff", shop_slug=request.shop.slug)


@owner_required
@require_POST
def staff_set_active(request, staff_id: int):
    active = request.POST.get("active") == "1"
    try:
        staff_member = services.staff_set_active(
            shop=request.shop, staff_member_id=staff_id, active=active, acting_user=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if active:
            messages.success(request, _("%(name)s can use the counter again.") % {
                "name": staff_member.user})
        else:
            messages.success(request, _("%(name)s no longer has access to your shop.") % {
                "name": staff_member.user})
    return redirect("dashboard:staff", shop_slug=request.shop.slug)


@owner_required
@vary_on_headers("HX-Request")
def members(request):
    query = request.GET.get("q", "").strip()
    if query:
        queryset = selectors.membership_search(shop=request.shop, query=query)
    else:
        queryset = request.shop.memberships.order_by("-joined_at")
    page = Paginator(queryset, 25).get_page(request.GET.get("page"))
    template = "loyalty/dashboard/members.html"
    if request.htmx:
        template += "#member-table"
    return render(request, template, {"page": page, "query": query})


# --- Program rules ------------------------------------------------------------------------------


@owner_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def program(request):
    """The rules editor. GET shows the rules in force (or a preset: ``?preset=stamps``); a POST
    with ``choose`` (or another kind picked than the one shown) fills the form with that preset,
    one with ``preview`` shows what the typed rules give; neither saves. An htmx request gets
    only the editor back."""
    shop = request.shop
    current = selectors.program_rules_in_force(shop=shop)
    status = 200
    if request.method == "GET":
        form = ProgramRulesForm(_preset_switch_data(request.GET, current, shop.currency)
                                if request.GET.get("preset") in PRESETS
                                else ProgramRulesForm.data_for(current), currency=shop.currency)
        example_amount = request.GET.get("example")
    elif _preset_switching(request.POST):
        form = ProgramRulesForm(_preset_switch_data(request.POST, current, shop.currency),
                                currency=shop.currency)
        example_amount = request.POST.get("example")
    else:
        form = ProgramRulesForm(request.POST, currency=shop.currency)
        example_amount = request.POST.get("example")
        if "preview" not in request.POST and form.is_valid():
            try:
                rules = services.program_rules_update(shop=shop, by=request.user,
                                                      **form.rules_values())
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                # A shop that never saved rules has unsaved defaults; saving those same
                # defaults stores them as the first version, which changes nothing for anyone.
                unchanged = rules.version == current.version or (
                    current.pk is None and rules.version == 1 and _same_rules(rules, current))
                if not unchanged:
                    messages.success(request, _(
                        "New rules saved: they apply from the next purchase. Points already "
                        "earned stay as they are."))
                else:
                    messages.info(request, _("Nothing changed."))
                return redirect("dashboard:program", shop_slug=shop.slug)
        if "preview" not in request.POST and form.errors:
            status = 400
    template = "loyalty/dashboard/program.html"
    return render(request, template + "#editor" if request.htmx else template, {
        "form": form, **_preview(shop, form, example_amount)}, status=status)


def _preset_switching(data) -> bool:
    preset, shown = data.get("preset"), data.get("shown")
    return "choose" in data or (preset in PRESETS and shown in PRESETS and preset != shown)


def _preset_switch_data(data, current, currency: str) -> dict:
    """The form as the chosen preset fills it; the kind in force comes back as it is saved.
    The shop's return window and point value carry over from what was typed, when sound."""
    preset = data.get("preset")
    if preset not in PRESETS or preset == ProgramRulesForm.preset_for(current):
        return ProgramRulesForm.data_for(current)

    def typed(name, default, top):
        text = str(data.get(name, "")).strip()
        return int(text) if text.isascii() and text.isdigit() and int(text) <= top else default

    expiry = ProgramRulesForm.expiry_data(current)
    if data.get("expiry_policy") in ExpiryPolicy.values:
        expiry = {"expiry_policy": data["expiry_policy"],
                  "expiry_months": str(typed("expiry_months", current.expiry_months or "",
                                             EXPIRY_MONTHS_MAX) or "")}
    return ProgramRulesForm.preset_data(
        preset, currency=currency,
        pending_days=typed("pending_days", current.pending_days, MAX_PENDING_DAYS),
        points_per_currency_value=typed("points_per_currency_value",
                                        current.points_per_currency_value, MAX_RULE_NUMBER)
        or current.points_per_currency_value, expiry=expiry)


def _same_rules(a, b) -> bool:
    return all(getattr(a, name) == getattr(b, name) for name in services.RULE_FIELDS)


def _example(rules, raw_amount):
    try:
        amount = services.money_parse(raw_amount)
    except ValidationError as exc:
        return {"error": " ".join(exc.messages)}
    return {"amount": amount, "points": points_for_amount(rules=rules, amount=amount)}


def _preview(shop, form, raw_amount) -> dict:
    """What the rules being edited (not yet saved) give: the explanation customers read, the
    examples, the amount tried and, for a stamp card, a card part-filled. All of it comes from
    one draft of the rules (services.program_rules_draft, checked like a save), so the screen
    never shows two answers; rules that cannot be saved show what to fix instead."""
    if raw_amount is None:
        raw_amount = {"EUR": "27.50", "SEK": "275.00"}.get(shop.currency, "27.50")
        if form.preset_name == "stamps":
            raw_amount = {"EUR": "4.50", "SEK": "45.00"}.get(shop.currency, "4.50")
    context = {"example_amount": raw_amount, "draft": None, "problems": []}
    if not form.is_valid():
        context["problems"] = [
            f"{form.fields[name].label}: {message}" if name in form.fields else message
            for name, errors in form.errors.items() for message in errors]
        return context
    try:
        draft = services.program_rules_draft(shop=shop, **form.rules_values())
    except ValidationError as exc:
        context["problems"] = exc.messages
        return context
    context.update(draft=draft, examples=selectors.rules_examples(rules=draft),
                   example=_example(draft, raw_amount),
                   expiry_effect=selectors.expiry_change_effect(
                       shop=shop, current=selectors.program_rules_in_force(shop=shop),
                       draft=draft))
    if draft.is_stamp_card:
        size = draft.stamps_per_card
        filled = min(size - 1, max(1, size * 7 // 10))
        context["sample_card"] = selectors.stamp_card_state(rules=draft, balance=filled,
                                                            spendable=filled)
    return context


@owner_required
def program_example(request):
    """The live preview (htmx, on every change): what the rules being edited give."""
    form = ProgramRulesForm(request.GET, currency=request.shop.currency)
    return render(request, "loyalty/dashboard/program.html#preview",
                  {"form": form, **_preview(request.shop, form, request.GET.get("example", ""))})


# --- API keys ----------------------------------------------------------------------------------


@owner_required
@require_http_methods(["GET", "POST"])
def api_keys(request):
    form = ApiKeyForm(request.POST or None)
    # The raw key survives one redirect in the session, so a reload cannot make a second key.
    new_key = request.session.pop("trouw_new_api_key", None)
    if request.method == "POST" and form.is_valid():
        try:
            _key, raw_key = services.api_key_create(
                shop=request.shop, name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"], by=request.user,
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            request.session["trouw_new_api_key"] = raw_key
            return redirect("dashboard:api_keys", shop_slug=request.shop.slug)
    keys = request.shop.api_keys.order_by("revoked_at", "-created_at")
    return render(request, "loyalty/dashboard/api_keys.html", {
        "form": form, "keys": keys, "new_key": new_key,
    }, status=400 if form.is_bound and form.errors else 200)


@owner_required
@require_http_methods(["GET", "POST"])
def api_key_revoke(request, api_key_id: int):
    """GET asks first (tills using the key stop working); POST revokes."""
    if request.method == "GET":
        api_key = request.shop.api_keys.filter(pk=api_key_id).first()
        if api_key is None:
            raise Http404("No such key")
        if api_key.revoked_at is not None:
            messages.info(request, _("“%(name)s” is revoked already.") % {"name": api_key.name})
            return redirect("dashboard:api_keys", shop_slug=request.shop.slug)
        return render(request, "loyalty/dashboard/api_key_revoke.html", {"api_key": api_key})
    try:
        services.api_key_revoke(shop=request.shop, api_key_id=api_key_id)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("The key is revoked: tills using it are refused within a few seconds.")
        )
    return redirect("dashboard:api_keys", shop_slug=request.shop.slug)


# --- Poster and table card ---------------------------------------------------------------------


def join_qr_svg(url: str) -> str:
    """The public page's address as an SVG QR code that scales to its box (print size)."""
    return segno.make(url, error="m").svg_inline(
        scale=4, border=0, dark="#111827", light=None, svgclass="sheet-qr", omitsize=True)


@owner_required
def poster(request, size: str):
    """A printable A4 poster or A6 table card: the shop's name, logo and colour, the program in
    one sentence, and a QR code of the public page where customers join."""
    shop = request.shop
    public_url = settings.TROUW_BASE_URL.rstrip("/") + reverse("shop_page", args=[shop.slug])
    rules = selectors.program_rules_in_force(shop=shop)
    with translation.override(shop.language):  # the sheet speaks the customers' language
        sentence = selectors.program_sentence(rules=rules, currency=shop.currency)
    return render(request, "loyalty/dashboard/poster.html", {
        "size": size,
        "public_url": public_url,
        "public_url_display": public_url.split("://", 1)[-1].rstrip("/"),
        "sentence": sentence,
        "qr_svg": mark_safe(join_qr_svg(public_url)),  # noqa: S308 - segno's own markup
    })


# --- A member ----------------------------------------------------------------------------------


@owner_required
@require_http_methods(["GET", "POST"])
def member_detail(request, card_number: str):
    membership = selectors.membership_by_card(shop=request.shop, card_number=card_number)
    if membership is None:
        raise Http404("No such member")
    form = AdjustForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.points_adjust(shop=request.shop, membership_id=membership.pk,
                                   points=form.cleaned_data["points"],
                                   reason=form.cleaned_data["reason"],
                                   customer_note=form.cleaned_data["customer_note"],
                                   by=request.user)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Points adjusted."))
            return redirect("dashboard:member", shop_slug=request.shop.slug,
                            card_number=membership.card_number)
    page = Paginator(selectors.membership_history(membership=membership), 25).get_page(
        request.GET.get("page"))
    return render(request, "loyalty/dashboard/member.html", {
        "member": membership, "form": form, "page": page,
        "summary": selectors.membership_points_summary(membership=membership),
        "emails": selectors.membership_emails(shop=request.shop, membership=membership),
    }, status=400 if form.is_bound and form.errors else 200)
