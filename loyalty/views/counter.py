"""The counter screen for staff (and owners): find a customer fast, record a purchase, undo one,
hand out a full stamp card.

Keyboard-first: the search box has focus on load; a scanner's card number + Enter opens the
member; on the member's panel the amount field has focus, and Enter records the purchase. After
an action the focus goes to the "Next customer" field, for the next scan.

The member page's panels stay in step the htmx way: an action's answer carries the event
``membership-changed`` (``HX-Trigger``) and every panel that shows the card's state reloads on
it — the core's panel and the panels of other apps (``TROUW_COUNTER_MEMBER_PANELS``) alike. What
the action says ("+270 points for €27.50") goes out of band into ``#counter-feedback``, which no
reload touches; any app's panel may put its own message there the same way.
"""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from .. import selectors, services
from ..access import signed_in_view, staff_required
from ..forms import EarnForm, UndoForm, add_errors
from ..templatetags.trouw import money, points

SEARCH_LIMIT = 8
VOUCHER_CODE = re.compile(r"^[A-Za-z0-9]{4}-?[A-Za-z0-9]{4}$")
PHONE_LIKE = re.compile(r"^\+?[\d\s\-().]+$")
RECENT_ENTRIES = 5
MEMBERSHIP_CHANGED = "membership-changed"


@signed_in_view
def index(request):
    shops = list(selectors.shops_for_user(user=request.user))
    if len(shops) == 1:
        return redirect("counter:screen", shop_slug=shops[0].slug)
    return render(request, "loyalty/counter/index.html", {"shops": shops})


def _enrol_prefill(query: str) -> dict | None:
    """What an empty search suggests enrolling: the typed phone number, e-mail or name."""
    if "@" in query:
        return {"email": query}
    digits = selectors.digits_only(query)
    if PHONE_LIKE.match(query):
        # A 13-digit number without 0 or + in front is a card number, not a phone number.
        if 6 <= len(digits) <= 15 and not (len(digits) == 13 and query[0] not in "0+"):
            return {"phone": query}
        return None
    if any(ch.isalpha() for ch in query):
        return {"name": query}
    return None


def _sale_form(data=None):
    return EarnForm(data, initial={"token": uuid.uuid4().hex}, auto_id="sale_%s")


@staff_required
@vary_on_headers("HX-Request")
def screen(request):
    """One search box. A scanner types a whole card number and Enter: that opens the member."""
    query = request.GET.get("q", "").strip()
    results = list(selectors.membership_search(shop=request.shop, query=query)[: SEARCH_LIMIT + 1])
    exact = [m for m in results if m.card_number == selectors.digits_only(query)]
    if query and request.GET.get("go") and (exact or len(results) == 1):
        target = exact[0] if exact else results[0]
        return redirect("counter:member", shop_slug=request.shop.slug,
                        card_number=target.card_number)
    code_lookup = reverse(settings.TROUW_COUNTER_CODE_LOOKUP, args=[request.shop.slug])
    if query and request.GET.get("go") and not results and VOUCHER_CODE.match(query):
        # Not a member: a scanned or typed voucher code goes to the page that looks codes up.
        return redirect(code_lookup + "?" + urlencode({"code": query}))
    return _screen_render(request, query=query, results=results, sale_form=_sale_form(),
                          code_lookup=code_lookup)


def _screen_render(request, *, query, results, sale_form, code_lookup, status=200):
    voucher_like = bool(query and not results and VOUCHER_CODE.match(query))
    prefill = _enrol_prefill(query) if query and not results and not voucher_like else None
    context = {
        "query": query, "results": results[:SEARCH_LIMIT], "more": len(results) > SEARCH_LIMIT,
        "sale_form": sale_form, "sale_open": sale_form.is_bound,
        # While a voucher code is typed, the results show the voucher (the lookup named in
        # settings answers with a fragment) instead of "no member found".
        "code_preview_url": (code_lookup + "?" + urlencode({"code": query, "preview": "1"})
                             if voucher_like else ""),
        "enrol_query": urlencode(prefill) if prefill else "",
    }
    template = "loyalty/counter/screen.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context, status=status)


def _member_or_404(request, card_number: str):
    membership = selectors.membership_by_card(shop=request.shop, card_number=card_number)
    if membership is None:
        raise Http404("No such member")
    return membership


def _donation_offer(membership, amount=None) -> dict | None:
    """What the earn form offers beside the amount (settings.TROUW_COUNTER_DONATION_OFFER:
    the round-up for the shop's charity), or None."""
    path = getattr(settings, "TROUW_COUNTER_DONATION_OFFER", None)
    return import_string(path)(membership=membership, amount=amount) if path else None


def _panel_context(request, membership, earn_form=None, *, autofocus=True, undo_error="",
                   stamp_confirm=False, stamp_error=""):
    summary = selectors.membership_points_summary(membership=membership)
    typed = earn_form["amount"].value() if earn_form is not None and earn_form.is_bound else None
    return {
        "donation_offer": _donation_offer(membership, typed),
        "member": membership,
        "summary": summary,
        "stamps": summary["stamps"],
        "program": selectors.program_sentence(rules=summary["rules"],
                                              currency=summary["currency"]),
        "entries": list(selectors.membership_history(membership=membership)[:RECENT_ENTRIES]),
        "expiring": selectors.points_expiring(membership=membership)[:1],
        "undoable": selectors.membership_last_undoable_purchase(membership=membership),
        "earn_form": earn_form or EarnForm(initial={"token": uuid.uuid4().hex}),
        "undo_form": UndoForm(),
        "undo_error": undo_error,
        "autofocus": autofocus,
        "stamp_token": uuid.uuid4().hex,
        "stamp_confirm": stamp_confirm,
        "stamp_error": stamp_error,
    }


def _panel(request, membership, status=200, **options):
    """The member page, or only its panel for htmx (a reload after ``membership-changed``
    leaves the focus where it is: no autofocus)."""
    template = "loyalty/counter/member.html"
    if request.htmx:
        options.setdefault("autofocus", False)
        template += "#panel"
    return render(request, template, _panel_context(request, membership, **options),
                  status=status)


def _changed(request, message: str, news=()):
    """The answer to an action that changed the card: the message (and a purchase's news,
    each a line of its own) out of band into ``#counter-feedback``, and the event on which
    every panel reloads (nothing else is swapped)."""
    response = render(request, "loyalty/counter/member.html#feedback",
                      {"feedback": message, "news": news, "oob": True})
    response["HX-Trigger"] = MEMBERSHIP_CHANGED
    response["HX-Reswap"] = "none"
    return response


def _retarget(response):
    """A refused action's panel (with the error by its field) replaces the panel. The action
    forms aim at ``#counter-feedback``, so that a success, which swaps nothing but that line,
    leaves the panel (and the focus) to the reload."""
    response["HX-Retarget"] = "#panel"
    response["HX-Reswap"] = "outerHTML"
    return response


@staff_required
@vary_on_headers("HX-Request")
def member(request, card_number: str):
    membership = _member_or_404(request, card_number)
    return _panel(request, membership)


@staff_required
@vary_on_headers("HX-Request")
def donation_offer(request, card_number: str):
    """The round-up's words for the amount being typed ("Round up to €28.00 (+€0.50 for
    KWF)"): the earn form's amount field asks for them as it changes (htmx)."""
    membership = _member_or_404(request, card_number)
    return render(request, "loyalty/counter/member.html#donation-offer-words", {
        "member": membership,
        "donation_offer": _donation_offer(membership, request.GET.get("amount", ""))})


def _earned_message(purchase, stamps: bool, earns_points: bool = True) -> str:
    amount = money(purchase.amount, purchase.currency)
    if not earns_points:  # the shop gives to charity instead (Shop.earns_points)
        return _("Purchase of %(amount)s recorded. No points: this shop gives to charity.") % {
            "amount": amount}
    if stamps:
        said = ngettext("+%(points)s stamp for %(amount)s.", "+%(points)s stamps for %(amount)s.",
                        purchase.points_earned) % {"points": points(purchase.points_earned),
                                                   "amount": amount}
    elif parts := (purchase.earn_detail or {}).get("parts"):
        # What the level's multiplier and the bonus-point events added (Purchase.earn_detail).
        said = _("+%(points)s points for %(amount)s, of which %(parts)s.") % {
            "points": points(purchase.points_earned), "amount": amount,
            "parts": ", ".join(_("+%(points)s for %(name)s") % {
                "points": points(part["points"]), "name": part["name"]} for part in parts)}
    else:
        said = _("+%(points)s points for %(amount)s.") % {
            "points": points(purchase.points_earned), "amount": amount}
    return said


def _news(purchase) -> list[dict]:
    """What the purchase's effects say to the customer ("You reached Zilver!", "New badge:
    Vaste klant"), each with its kind and, when the effect gave one, the level's colour or
    the badge's icon; a double submit's purchase (found again, not recorded) has none."""
    return [{"kind": item.get("kind", ""), "text": str(item["text"]),
             "colour": item.get("colour", ""), "icon": _news_icon(item)}
            for item in getattr(purchase, "news", ())]


def _news_icon(item: dict) -> str:
    """A news item's icon URL: an uploaded file's, or a static path's (resolved here, for the
    page: the earn itself never reads the static files' manifest)."""
    if item.get("icon_url"):
        return item["icon_url"]
    return static(item["icon_static"]) if item.get("icon_static") else ""


@staff_required
@require_POST
@vary_on_headers("HX-Request")
def earn(request, card_number: str):
    membership = _member_or_404(request, card_number)
    form = EarnForm(request.POST)
    purchase = None
    if form.is_valid():
        try:
            purchase = services.purchase_record(
                shop=request.shop, amount=form.cleaned_data["amount"],
                membership_id=membership.pk, reference=form.cleaned_data["reference"],
                recorded_by=request.user,
                idempotency_key=f"counter:{form.cleaned_data['token']}",
                extras=form.extras(),
            )
        except services.DuplicateRequest as duplicate:
            purchase = duplicate.existing  # a double submit: it was recorded once
        except ValidationError as exc:
            add_errors(form, exc)
    if purchase is None:
        return _retarget(_panel(request, membership, status=400, earn_form=form,
                                autofocus=True))
    membership.refresh_from_db(fields=["points_balance"])
    stamps = services.program_rules_current(shop=request.shop).is_stamp_card
    news = _news(purchase)
    if not request.htmx:
        if stamps or not request.shop.earns_points:
            messages.success(request, _earned_message(purchase, stamps,
                                                      request.shop.earns_points))
        else:
            messages.success(request, _(
                "%(points)s points for %(name)s. New balance: %(balance)s.") % {
                "points": purchase.points_earned, "name": membership.name,
                "balance": membership.points_balance})
        for item in news:  # a line each, marked as news (not a warning)
            messages.success(request, item["text"], extra_tags="news")
        return redirect("counter:member", shop_slug=request.shop.slug,
                        card_number=membership.card_number)
    return _changed(request, _earned_message(purchase, stamps, request.shop.earns_points),
                    news)


@staff_required
@require_POST
@vary_on_headers("HX-Request")
def undo(request, purchase_id: int):
    purchase = selectors.purchases_for_shop(shop=request.shop).filter(pk=purchase_id).first()
    if purchase is None or purchase.membership is None:
        raise Http404("No such purchase")
    form = UndoForm(request.POST)
    error, refund = "", None
    if not form.is_valid():
        error = _("Say why the purchase is undone.")
    else:
        try:
            refund = services.purchase_undo(shop=request.shop, purchase_id=purchase.pk,
                                            reason=form.cleaned_data["reason"], by=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
    if refund is not None:
        done = _("Purchase undone: %(points)s points taken back.") % {
            "points": refund.points_reversed}
        # What the refund's effects say (the charity's round-up going back), a line each.
        news = [{"kind": item.get("kind", ""), "text": str(item["text"])}
                for item in getattr(refund, "news", ())]
        if request.htmx:
            return _changed(request, done, news)
        messages.success(request, done)
        for item in news:
            messages.success(request, item["text"], extra_tags="news")
    elif request.htmx:
        return _retarget(_panel(request, purchase.membership, status=400, undo_error=error))
    else:
        messages.error(request, error)
    return redirect("counter:member", shop_slug=request.shop.slug,
                    card_number=purchase.membership.card_number)


@staff_required
@require_POST
@vary_on_headers("HX-Request")
def stamp_card_redeem(request, card_number: str):
    """Hand out a full stamp card. Asks first (a page, or the panel, with Confirm and Cancel,
    changing nothing); the confirmed form's token makes a double tap one hand-out."""
    membership = _member_or_404(request, card_number)
    if request.POST.get("confirm") != "1":
        return _panel(request, membership, stamp_confirm=True)
    token = request.POST.get("token", "")
    try:
        services.stamp_card_redeem(
            shop=request.shop, membership_id=membership.pk, by=request.user,
            idempotency_key=f"stamps:{token}" if re.fullmatch(r"[0-9a-f]{32}", token) else None)
    except services.DuplicateRequest:
        pass  # a double tap: handed out once
    except ValidationError as exc:
        if request.htmx:
            return _retarget(_panel(request, membership, status=400,
                                    stamp_error=" ".join(exc.messages)))
        messages.error(request, " ".join(exc.messages))
        return redirect("counter:member", shop_slug=request.shop.slug,
                        card_number=membership.card_number)
    rules = services.program_rules_current(shop=request.shop)
    done = _("Card handed out: %(reward)s. The stamps are off the card.") % {
        "reward": rules.stamp_reward or _("the reward")}
    if request.htmx:
        return _changed(request, done)
    messages.success(request, done)
    return redirect("counter:member", shop_slug=request.shop.slug,
                    card_number=membership.card_number)


@staff_required
@require_POST
def sale_without_card(request):
    """Record a sale for a customer without a card, so member and non-member spend compare.
    A mistake shows next to the field, with what was typed kept."""
    form = _sale_form(request.POST)
    if form.is_valid():
        try:
            services.purchase_record(
                shop=request.shop, amount=form.cleaned_data["amount"],
                reference=form.cleaned_data["reference"], recorded_by=request.user,
                idempotency_key=f"counter:{form.cleaned_data['token']}",
            )
        except services.DuplicateRequest:
            pass
        except ValidationError as exc:
            add_errors(form, exc)
    elif "amount" in form.errors and not request.POST.get("amount", "").strip():
        form.errors["amount"] = form.error_class([_("Enter an amount, such as 27.50.")])
    if form.errors:
        code_lookup = reverse(settings.TROUW_COUNTER_CODE_LOOKUP, args=[request.shop.slug])
        return _screen_render(request, query="", results=[], sale_form=form,
                              code_lookup=code_lookup, status=400)
    messages.success(request, _("Sale without card recorded."))
    return redirect("counter:screen", shop_slug=request.shop.slug)
