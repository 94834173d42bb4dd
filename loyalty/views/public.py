"""Pages anyone may open: the landing page, the health check, the invitation link, and the
signed-in user's start page that sends each role to its front door."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .. import selectors, services
from ..access import public_view, signed_in_view
from ..forms import InvitationSignupForm
from ..models import StaffRole, User


@public_view
def home(request):
    if request.user.is_authenticated:
        return redirect("start")
    return render(request, "loyalty/home.html")


@public_view
@never_cache
def healthz(request):
    """200 when the database answers, 503 otherwise: for load balancers and scripts."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": "up"})


@signed_in_view
def start(request):
    """Where sign-in lands: owners on the dashboard, staff at the counter, members on the portal,
    and a new user with nothing yet on creating a shop."""
    user = request.user
    if selectors.shops_for_user(user=user, roles=[StaffRole.OWNER]).exists():
        return redirect("dashboard:index")
    if selectors.shops_for_user(user=user, roles=[StaffRole.STAFF]).exists():
        return redirect("counter:index")
    if user.memberships.exists():
        return redirect("portal:index")
    return redirect("dashboard:shop_create")


@public_view
@require_http_methods(["GET", "POST"])
def staff_invitation_accept(request, token: str):
    try:
        invitation = services.staff_invitation_from_token(token)
    except services.InvitationInvalid as exc:
        return render(request, "loyalty/invitation_invalid.html", {"reason": str(exc)},
                      status=410)
    account_exists = User.objects.filter(email__iexact=invitation.email).exists()
    form = None
    if account_exists:
        if request.method == "POST" and request.user.is_authenticated:
            try:
                services.staff_invitation_accept(invitation=invitation, user=request.user)
            except services.InvitationInvalid as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("Welcome to the team of %(shop)s.") % {
                    "shop": invitation.shop.name})
                return redirect("counter:screen", shop_slug=invitation.shop.slug)
    else:
        form = InvitationSignupForm(request.POST or None, email=invitation.email)
        if request.method == "POST" and form.is_valid():
            try:
                staff_member = services.staff_invitation_accept_new_user(
                    invitation=invitation, name=form.cleaned_data["name"],
                    password=form.cleaned_data["password"],
                )
            except services.InvitationInvalid as exc:
                messages.error(request, str(exc))
            else:
                login(request, staff_member.user,
                      backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, _("Welcome to the team of %(shop)s.") % {
                    "shop": invitation.shop.name})
                return redirect("counter:screen", shop_slug=invitation.shop.slug)
    failed = request.method == "POST"  # a successful POST has redirected above
    return render(request, "loyalty/invitation_accept.html", {
        "invitation": invitation, "form": form, "account_exists": account_exists,
        "signed_in_as_other": request.user.is_authenticated
        and request.user.email.lower() != invitation.email.lower(),
    }, status=400 if failed else 200)


@public_view
def robots_txt(request):
    return HttpResponse("User-agent: *\nDisallow: /dashboard/\nDisallow: /counter/\n"
                        "Disallow: /portal/\n", content_type="text/plain")
