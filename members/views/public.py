"""A shop's public page, where customers join."""

from __future__ import annotations

from allauth.account.utils import complete_signup, setup_user_email
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from loyalty.access import activate_language_unless_chosen, public_view
from loyalty.adapters import QUIET_ATTR
from loyalty.forms import add_errors
from loyalty.models import Membership, Shop

from .. import services
from ..forms import JoinForm

JOINED_SESSION_KEY = "members_joined"
JOINED_PAGE_MAX_AGE_SECONDS = 30 * 60  # long enough to note the number; not for the next visitor


@public_view
@require_http_methods(["GET", "POST"])
def shop_page(request, shop_slug: str):
    shop = get_object_or_404(Shop, slug=shop_slug)
    activate_language_unless_chosen(request, shop.language)
    user = request.user if request.user.is_authenticated else None
    existing = Membership.objects.filter(shop=shop, user=user).first() if user else None
    form = JoinForm(request.POST or None, signed_in=user is not None,
                    initial={"name": user.name} if user else None)
    if request.method == "POST" and existing is None and form.is_valid():
        try:
            membership, new_user = services.member_join_public(
                shop=shop, user=user, language=request.LANGUAGE_CODE, **form.cleaned_data
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            portal_url = reverse("portal:card", args=[shop.slug])
            if new_user is not None:
                setattr(request, QUIET_ATTR, True)  # our welcome says it; allauth's would repeat
                setup_user_email(request, new_user, [])
                messages.success(request, _("Welcome to %(shop)s! Here is your card.") % {
                    "shop": shop.name})
                return complete_signup(
                    request, new_user, settings.ACCOUNT_EMAIL_VERIFICATION, portal_url
                )
            if user is not None:
                messages.success(request, _("Welcome to %(shop)s! Here is your card.") % {
                    "shop": shop.name})
                return redirect(portal_url)
            # Phone only, no login: the card number is shown on a page of its own (POST,
            # redirect, GET), so a refresh shows it again instead of sending the form twice.
            request.session[JOINED_SESSION_KEY] = {
                "shop_id": shop.pk, "membership_id": membership.pk,
                "at": int(timezone.now().timestamp()),
            }
            return redirect("shop_joined", shop_slug=shop.slug)
    status = 400 if request.method == "POST" and existing is None else 200
    return render(request, "members/shop_page.html", {
        "shop": shop, "form": form, "existing": existing,
    }, status=status)


@public_view
@require_GET
def joined(request, shop_slug: str):
    """The card number of the customer who just joined with a phone number only. Only the
    browser that joined sees it, for a while; anyone else is sent to the join form."""
    shop = get_object_or_404(Shop, slug=shop_slug)
    activate_language_unless_chosen(request, shop.language)
    joined_here = request.session.get(JOINED_SESSION_KEY) or {}
    fresh = timezone.now().timestamp() - joined_here.get("at", 0) <= JOINED_PAGE_MAX_AGE_SECONDS
    membership = None
    if joined_here.get("shop_id") == shop.pk and fresh:
        membership = Membership.objects.filter(
            shop=shop, pk=joined_here.get("membership_id"), user=None).first()
    if membership is None:
        return redirect("shop_page", shop_slug=shop.slug)
    return render(request, "members/joined_without_login.html",
                  {"shop": shop, "membership": membership})
