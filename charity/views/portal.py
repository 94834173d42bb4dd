"""The member's charity pages in the portal: pick a charity, "My impact" (what my purchases,
round-ups and points gave, per charity and per month), the printable yearly summary, and
giving points (a confirm step first: the member cannot undo it)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from loyalty.access import member_required
from loyalty.services import DuplicateRequest, membership_spendable_points

from .. import selectors, services
from ..models import ChoiceSource, ProgramMode, Split


def _error_messages(error: ValidationError) -> list[str]:
    if hasattr(error, "message_dict"):
        return [message for messages_ in error.message_dict.values() for message in messages_]
    return list(error.messages)


def _what_applies(*, program, charities, choice) -> dict:
    """Where the member's gifts go now: the chosen charity while it is active, else the
    shop's default or an even split over the active charities (the services' rule)."""
    if choice is not None and choice.charity.active:
        return {"chosen": choice.charity, "inactive_choice": None, "default": None,
                "even_split": False}
    default = next((c for c in charities if c.is_default), None)
    even = program.split == Split.EVEN or default is None
    return {"chosen": None, "inactive_choice": choice.charity if choice else None,
            "default": None if even else default, "even_split": even}


def _program_context(request) -> dict:
    program = selectors.program_for(shop=request.shop)
    enabled = bool(program and program.enabled)
    return {"program": program, "program_on": enabled,
            "instead_of_points": enabled and program.mode == ProgramMode.INSTEAD}


@member_required
@require_http_methods(["GET", "POST"])
def charity(request):
    """GET: the shop's active charities and the member's choice. POST: choose one (from now
    on; past donations keep theirs)."""
    context = _program_context(request)
    membership = request.membership
    errors = []
    if request.method == "POST":
        if not context["program_on"]:
            errors = [_("This shop has no charity program at the moment.")]
        else:
            try:
                chosen = services.membership_charity_choose(
                    membership=membership, charity_id=request.POST.get("charity"),
                    source=ChoiceSource.PORTAL)
            except ValidationError as error:
                errors = _error_messages(error)
            else:
                messages.success(request, _(
                    "Thank you. From now on your donations go to %(name)s.") % {
                    "name": chosen.charity.name})
                return redirect("portal_charity", shop_slug=request.shop.slug)
    charities = (list(selectors.charities_for_shop(shop=request.shop, active_only=True))
                 if context["program_on"] else [])
    choice = selectors.membership_charity_choice(membership=membership)
    applies = (_what_applies(program=context["program"], charities=charities, choice=choice)
               if context["program_on"] else {})
    return render(request, "charity/portal/charity.html", {
        **context, "membership": membership, "charities": charities, "applies": applies,
        "errors": errors,
    }, status=400 if errors else 200)


@member_required
@require_GET
def impact(request):
    """What the member's purchases, round-ups and points gave, per charity and per month."""
    context = _program_context(request)
    membership = request.membership
    program = context["program"]
    can_give = bool(context["program_on"] and program.points_per_unit)
    applies = (_what_applies(
        program=program, choice=selectors.membership_charity_choice(membership=membership),
        charities=list(selectors.charities_for_shop(shop=request.shop, active_only=True)))
        if context["program_on"] else {})
    return render(request, "charity/portal/impact.html", {
        **context, "membership": membership, "applies": applies,
        "impact": selectors.membership_impact_detail(membership=membership),
        "years": selectors.membership_impact_years(membership=membership),
        "can_give": can_give,
        "spendable": membership_spendable_points(membership=membership) if can_give else 0,
        "hundred_worth": (services.money_round(Decimal(100) / program.points_per_unit,
                                               request.shop.currency) if can_give else None),
    })


@member_required
@require_GET
def impact_year(request, year: int):
    """The member's yearly summary, printable (its own print stylesheet)."""
    if not 2000 <= year <= 2999:
        raise Http404("No such year")
    membership = request.membership
    return render(request, "charity/portal/impact_year.html", {
        "membership": membership, "year": year,
        "impact": selectors.membership_impact_detail(membership=membership, year=year),
    })


@member_required
@require_http_methods(["GET", "POST"])
def points_give(request):
    """GET (from the impact page's form): what the points would give, to confirm. POST: give
    them, through the same service as every gift of points; then the impact page."""
    context = _program_context(request)
    membership = request.membership
    if request.method == "POST":
        # The confirm form's token: a second click (or a resent form) gives once.
        token = (request.POST.get("token") or "")[:64]
        points = _whole_number(request.POST.get("points"))
        try:
            lines = services.points_donate(
                shop=request.shop, membership_id=membership.pk, points=points,
                by=request.user,
                idempotency_key=f"portal:{membership.pk}:{token}" if token else None)
        except DuplicateRequest:
            return redirect("portal_impact", shop_slug=request.shop.slug)
        except ValidationError as error:
            return _give_refused(request, context, error)
        messages.success(request, _(
            "Thank you: your %(points)s points became a donation to %(names)s.") % {
            "points": number_format(points, force_grouping=True),
            "names": ", ".join(line.charity.name for line in lines)})
        return redirect("portal_impact", shop_slug=request.shop.slug)
    try:
        quote = services.points_donation_quote(shop=request.shop, membership=membership,
                                               points=request.GET.get("points", ""))
    except ValidationError as error:
        return _give_refused(request, context, error)
    return render(request, "charity/portal/give.html", {
        **context, "membership": membership, "quote": quote, "errors": [],
        "token": uuid.uuid4().hex})


def _whole_number(value):
    """A form's whole number of points as an int; anything else as it came (the service
    refuses it in words)."""
    value = (value or "").strip()
    return int(value) if value.isdigit() else value


def _give_refused(request, context, error: ValidationError):
    return render(request, "charity/portal/give.html", {
        **context, "membership": request.membership, "quote": None,
        "errors": _error_messages(error)}, status=400)
