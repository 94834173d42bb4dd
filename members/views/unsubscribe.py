"""The one-click unsubscribe from a marketing e-mail's link: a page with one button (GET), and
the unsubscribe itself (POST) — also the mail program's own one-click POST of RFC 8058, which
has no CSRF token and no cookies. The signed token in the link names the card; it is the only
key, so a bad or tampered one changes nothing."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from loyalty import services as loyalty_services
from loyalty.access import activate_language_unless_chosen, public_view
from loyalty.models import ConsentSource

from .public import _page_context


@csrf_exempt  # the mail program's one-click POST carries no token: the signed link is the key
@public_view
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    membership = loyalty_services.unsubscribe_membership(token=token)
    if membership is None:
        return render(request, "members/unsubscribe_invalid.html", status=400)
    shop = membership.shop
    activate_language_unless_chosen(request, membership.language or shop.language)
    done = False
    if request.method == "POST":
        # Idempotent: a second POST (the member's click after the mail program's) changes and
        # records nothing.
        loyalty_services.membership_marketing_consent_set(
            membership=membership, consent=False, source=ConsentSource.UNSUBSCRIBE)
        done = True
    response = render(request, "members/unsubscribe.html", {
        **_page_context(shop), "membership": membership, "done": done,
        "subscribed": membership.marketing_consent,
    })
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"  # the token stays out of other sites' logs
    return response
