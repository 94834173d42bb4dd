"""The owner's charity pages: the program's settings, the charities, and the months with
their statements (close a month, mark a statement paid, CSV, printable page)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loyalty import selectors as loyalty_selectors
from loyalty.access import owner_required
from loyalty.forms import add_errors

from .. import selectors, services
from ..forms import CharityForm, ProgramForm, StatementPaidForm
from ..models import Charity, Donation, DonationKind


def _program_initial(program, charities) -> dict:
    default = next((c for c in charities if c.is_default), None)
    initial = {"default_charity": str(default.pk) if default else ""}
    if program is None:
        return {**initial, "enabled": False, "mode": "beside", "rule_kind": "percent",
                "rule_value": "1", "split": "default", "round_up_max": "5.00"}
    return {**initial, "enabled": program.enabled, "mode": program.mode,
            "rule_kind": program.rule_kind, "rule_value": program.rule_value,
            "monthly_cap": program.monthly_cap or "", "split": program.split,
            "points_per_unit": program.points_per_unit or "",
            "round_up_max": program.round_up_max}


@owner_required
@require_http_methods(["GET", "POST"])
def program(request):
    """GET: the program as saved, and the charities. POST: save the settings."""
    shop = request.shop
    charities = list(selectors.charities_for_shop(shop=shop))
    program_row = selectors.program_for(shop=shop)
    form = ProgramForm(request.POST or None, charities=charities,
                       initial=_program_initial(program_row, charities))
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        values["default_charity_id"] = values.pop("default_charity")
        try:
            services.program_configure(shop=shop,
                                       data=services.program_input_clean(**values))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Charity program saved."))
            return redirect("charity_program", shop_slug=shop.slug)
    return render(request, "charity/dashboard/program.html", {
        "form": form, "charities": charities, "program": program_row,
    }, status=400 if form.is_bound and form.errors else 200)


def _charity_page(request, charity: Charity | None):
    initial = {"active": True}
    if charity is not None:
        initial = {name: getattr(charity, name) for name in (
            "name", "description", "website", "registration_kind", "registration_number",
            "active")}
    form = CharityForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        try:
            if charity is None:
                saved = services.charity_create(shop=request.shop, **values)
            else:
                saved = services.charity_update(shop=request.shop, charity_id=charity.pk,
                                                **values)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("“%(name)s” is saved.") % {"name": saved.name})
            return redirect("charity_program", shop_slug=request.shop.slug)
    return render(request, "charity/dashboard/charity_form.html", {
        "form": form, "charity": charity,
    }, status=400 if form.is_bound and form.errors else 200)


@owner_required
@require_http_methods(["GET", "POST"])
def charity_create(request):
    return _charity_page(request, None)


@owner_required
@require_http_methods(["GET", "POST"])
def charity_edit(request, charity_id: int):
    charity = Charity.objects.for_shop(request.shop).filter(pk=charity_id).first()
    if charity is None:
        raise Http404("No such charity")
    return _charity_page(request, charity)


def _month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise Http404("No such month") from None


@owner_required
@require_GET
def months(request):
    """Every month with donations, newest first; which are closed."""
    return render(request, "charity/dashboard/months.html", {
        "months": selectors.months_overview(shop=request.shop),
    })


def _paid_form(statement, data=None) -> StatementPaidForm:
    """Each statement's own form (its own field ids on the page)."""
    return StatementPaidForm(data, prefix=f"statement-{statement.pk}")


def _month_context(shop, month: dt.date, failed_form=None) -> dict:
    program_row = selectors.program_for(shop=shop)
    closed = selectors.month_is_closed(program=program_row, month=month)
    statements = list(selectors.statements_for_month(shop=shop, month=month)) if closed else []
    now = timezone.now()
    for statement in statements:
        statement.payable_on = selectors.statement_payable_on(statement, shop=shop)
        statement.payable_now = now >= statement.payable_from
        statement.paid_form = (failed_form if failed_form is not None
                               and failed_form.prefix == f"statement-{statement.pk}"
                               else _paid_form(statement))
    return {
        "month": month, "closed": closed,
        "totals": [] if closed else selectors.month_totals(shop=shop, month=month),
        "statements": statements,
        "points_gifts": Donation.objects.filter(shop=shop, month=month,
                                                kind=DonationKind.POINTS)
        .select_related("charity", "membership").prefetch_related("reversals"),
    }


@owner_required
@require_GET
def month(request, month: str):
    """One month: its totals per charity from the ledger while it is open, its statements
    once closed."""
    return render(request, "charity/dashboard/month.html",
                  _month_context(request.shop, _month(month)))


@owner_required
@require_POST
def month_close(request, month: str):
    day = _month(month)
    try:
        statements = services.month_close(shop=request.shop, month=day)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, ngettext(
            "%(month)s is closed: %(count)s statement.",
            "%(month)s is closed: %(count)s statements.", len(statements)) % {
            "month": day.strftime("%Y-%m"), "count": len(statements)})
    return redirect("charity_month", shop_slug=request.shop.slug, month=month)


@owner_required
@require_POST
def statement_paid(request, statement_id: int):
    statement = selectors.statement_for_shop(shop=request.shop, statement_id=statement_id)
    if statement is None:
        raise Http404("No such statement")
    form = _paid_form(statement, request.POST)
    if form.is_valid():
        try:
            services.statement_mark_paid(shop=request.shop, statement_id=statement.pk,
                                         **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
    if form.errors:
        context = _month_context(request.shop, statement.month, failed_form=form)
        return render(request, "charity/dashboard/month.html", context, status=400)
    messages.success(request, _("The statement of %(name)s is marked paid.") % {
        "name": statement.charity.name})
    return redirect("charity_month", shop_slug=request.shop.slug,
                    month=statement.month.strftime("%Y-%m"))


@owner_required
@require_GET
def month_csv(request, month: str):
    day = _month(month)
    if not selectors.month_is_closed(program=selectors.program_for(shop=request.shop),
                                     month=day):
        raise Http404("The month is not closed")
    response = HttpResponse(selectors.statements_csv(shop=request.shop, month=day),
                            content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="statements-{request.shop.slug}-{month}.csv"')
    return response


@owner_required
@require_GET
def month_print(request, month: str):
    day = _month(month)
    context = _month_context(request.shop, day)
    if not context["closed"]:
        raise Http404("The month is not closed")
    return render(request, "charity/dashboard/month_print.html", context)


@owner_required
@require_POST
def points_gift_reverse(request, donation_id: int):
    """Take back a member's gift of points: the points return to the card."""
    gift = (Donation.objects.filter(shop=request.shop, pk=donation_id,
                                    kind=DonationKind.POINTS).select_related("membership")
            .first())
    if gift is None:
        raise Http404("No such gift of points")
    try:
        services.points_donation_reverse(shop=request.shop, donation_id=gift.pk,
                                         by=request.user,
                                         reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The gift of points is taken back; the points are on "
                                    "the card again."))
    if request.POST.get("back") == "member":  # from the member's page (``member_panel``)
        return redirect("dashboard:member", shop_slug=request.shop.slug,
                        card_number=gift.membership.card_number)
    return redirect("charity_month", shop_slug=request.shop.slug,
                    month=gift.month.strftime("%Y-%m"))


@owner_required
@require_GET
def member_panel(request, card_number: str):
    """The charity panel of the owner's page of a member (settings
    TROUW_DASHBOARD_MEMBER_PANELS, loaded by htmx): whom the member gives to, their choices,
    what they gave, and their gifts of points, which the owner can take back."""
    membership = loyalty_selectors.membership_by_card(shop=request.shop, card_number=card_number)
    if membership is None:
        raise Http404("No such member")
    return render(request, "charity/dashboard/member_charity.html", {
        "member": membership, **selectors.member_overview(membership=membership)})
