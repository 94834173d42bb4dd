"""The owner dashboard: create and configure shops, manage staff, see members."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from .. import selectors, services
from ..access import owner_required, signed_in_view
from ..forms import ShopCreateForm, ShopSettingsForm, StaffInviteForm, add_errors
from ..models import StaffRole


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
    return render(request, "loyalty/dashboard/shop_create.html", {"form": form})


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
    return render(request, "loyalty/dashboard/settings.html", {"form": form})


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
