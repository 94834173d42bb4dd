"""A shop's public page, where customers join; the card of a customer who joined with a phone
number only; the shop's standard privacy statement; and the shop's colours (theme.css)."""

from __future__ import annotations

import copy
import logging

from allauth.account.utils import complete_signup, setup_user_email
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from loyalty import events as loyalty_events
from loyalty import selectors as loyalty_selectors
from loyalty.access import activate_language_unless_chosen, public_view
from loyalty.adapters import QUIET_ATTR
from loyalty.forms import add_errors
from loyalty.models import Membership, Shop

from .. import selectors, services, theme
from ..forms import JoinForm
from .portal import card_qr_svg

logger = logging.getLogger(__name__)

JOINED_SESSION_KEY = "members_joined"
JOINED_PAGE_MAX_AGE_SECONDS = 30 * 60  # long enough to note the number; not for the next visitor
# theme.css: a URL with the colour in it (?v=) never changes, so browsers keep it for a year; one
# without (or with an old colour) is checked again after a few minutes.
THEME_MAX_AGE_SECONDS = 365 * 24 * 3600
THEME_SHORT_MAX_AGE_SECONDS = 300


def _shop(shop_slug: str) -> Shop:
    return get_object_or_404(Shop.objects.select_related("current_rules"), slug=shop_slug)


def privacy_url(shop: Shop) -> str:
    """The shop's own privacy statement, or the standard one Trouw shows for the shop."""
    return shop.privacy_url or reverse("shop_privacy", args=[shop.slug])


def public_page_panels(request, shop: Shop) -> list[SafeString]:
    """What other apps show on the public page (``TROUW_PUBLIC_PAGE_PANELS``: URL names, e.g.
    the rewards app's ``public_rewards``), rendered here, in this request.

    Each panel is a public view at its own URL (``/s/<slug>/rewards/``), which serves the
    fragment alone too. The public page resolves that URL and calls its view in-process with a
    GET copy of this request, and puts the HTML into the page: the page is complete without
    JavaScript and without a second round trip, and members, which may not import the rewards
    app, only know the URL name. A panel that does not answer 200 is left out (and logged), so
    a broken plug-in never takes the join form down with it."""
    panels = []
    for name in settings.TROUW_PUBLIC_PAGE_PANELS:
        url = reverse(name, kwargs={"shop_slug": shop.slug})
        match = resolve(url)
        panel_request = copy.copy(request)
        panel_request.method = "GET"
        panel_request.path = panel_request.path_info = url
        panel_request.resolver_match = match
        response = match.func(panel_request, *match.args, **match.kwargs)
        if response.status_code != 200:
            logger.warning("Public page panel %s of shop %s answered %s", name, shop.slug,
                           response.status_code)
            continue
        panels.append(mark_safe(response.content.decode(response.charset)))  # noqa: S308 - our own rendered template
    return panels


def _page_context(shop: Shop) -> dict:
    """What every page of a shop shows to its customers: the colours, the contact details."""
    return {
        "shop": shop,
        **theme.theme_context(shop),
        "website_label": selectors.shop_website_label(shop=shop),
        "address_lines": selectors.shop_address_lines(shop=shop),
        "privacy_url": privacy_url(shop),
    }


@public_view
@require_http_methods(["GET", "POST"])
def shop_page(request, shop_slug: str):
    shop = _shop(shop_slug)
    activate_language_unless_chosen(request, shop.language)
    user = request.user if request.user.is_authenticated else None
    existing = Membership.objects.filter(shop=shop, user=user).first() if user else None
    birthday_gift = selectors.shop_birthday_gift(shop=shop)
    rules = loyalty_selectors.program_rules_in_force(shop=shop)
    form = JoinForm(request.POST or None, signed_in=user is not None,
                    initial={"name": user.name} if user else None,
                    privacy_url=privacy_url(shop), birthday_gift=birthday_gift,
                    stamp_card=rules.is_stamp_card)
    if request.method == "POST" and existing is None and form.is_valid():
        try:
            membership, new_user = services.member_join_public(
                shop=shop, user=user, language=request.LANGUAGE_CODE, **form.cleaned_data
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            portal_url = reverse("portal:card", args=[shop.slug])
            notice = selectors.birthday_notice(shop=shop, birthday=membership.birthday,
                                               set_at=membership.birthday_set_at)
            if notice:
                messages.info(request, notice)
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
    summary = (loyalty_selectors.membership_points_summary(membership=existing)
               if existing else None)
    return render(request, "members/shop_page.html", {
        **_page_context(shop),
        "form": form, "existing": existing, "summary": summary,
        "program_sentence": loyalty_selectors.program_sentence(rules=rules,
                                                               currency=shop.currency),
        # A visitor sees the empty card they would get; a member their own.
        "stamps": summary["stamps"] if summary else loyalty_selectors.stamp_card_state(
            rules=rules, balance=0, spendable=0),
        "birthday_gift": birthday_gift,
        "bonus_events": loyalty_events.events_shown(rules=rules),
        "panels": public_page_panels(request, shop),
    }, status=status)


@public_view
@require_GET
def joined(request, shop_slug: str):
    """The card number of the customer who just joined with a phone number only. Only the
    browser that joined sees it, for a while; anyone else is sent to the join form."""
    shop = _shop(shop_slug)
    activate_language_unless_chosen(request, shop.language)
    joined_here = request.session.get(JOINED_SESSION_KEY) or {}
    fresh = timezone.now().timestamp() - joined_here.get("at", 0) <= JOINED_PAGE_MAX_AGE_SECONDS
    membership = None
    if joined_here.get("shop_id") == shop.pk and fresh:
        membership = Membership.objects.filter(
            shop=shop, pk=joined_here.get("membership_id"), user=None).first()
    if membership is None:
        return redirect("shop_page", shop_slug=shop.slug)
    return render(request, "members/joined_without_login.html", {
        **_page_context(shop),
        "membership": membership,
        "qr_svg": mark_safe(card_qr_svg(membership.card_number)),  # noqa: S308 - segno output
        "stamps": loyalty_selectors.membership_points_summary(membership=membership)["stamps"],
    })


@public_view
@require_GET
def privacy(request, shop_slug: str):
    """The standard privacy statement Trouw shows for a shop. The join form links it unless the
    shop has a statement of its own (``Shop.privacy_url``)."""
    shop = _shop(shop_slug)
    activate_language_unless_chosen(request, shop.language)
    return render(request, "members/privacy.html", {
        **_page_context(shop),
        "authority": selectors.shop_supervisory_authority(shop=shop),
        "birthday_gift": selectors.shop_birthday_gift(shop=shop),
    })


@public_view
@require_GET
def theme_css(request, shop_slug: str):
    """The shop's colours as a stylesheet (the CSP allows no inline styles)."""
    shop = get_object_or_404(Shop.objects.only("slug", "brand_color"), slug=shop_slug)
    css = theme.theme_css(slug=shop.slug, color=shop.brand_color)
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    if request.GET.get("v") == theme.theme_version(slug=shop.slug, color=shop.brand_color):
        patch_cache_control(response, public=True, max_age=THEME_MAX_AGE_SECONDS, immutable=True)
    else:
        patch_cache_control(response, public=True, max_age=THEME_SHORT_MAX_AGE_SECONDS)
    return response
