"""Who may open what. Every view declares its audience with one of these decorators.

The shop of a request is resolved once, here, from the ``shop_slug`` URL argument together with
the user's role, in one query; a shop the user has no role at is a 404 (we do not confirm that it
exists). Views then reach shop data only through ``request.shop``.

``tests/test_isolation.py`` walks every URL pattern and fails for a view that declares no audience.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.utils import timezone, translation

from .models import Membership, StaffMember, StaffRole

AUDIENCE_ATTR = "trouw_audience"


class Audience:
    PUBLIC = "public"  # anyone, signed in or not
    SIGNED_IN = "signed_in"  # any signed-in user; shows only that user's own things
    OWNER = "owner"  # the shop's owners
    STAFF = "staff"  # the shop's staff and owners (the counter)
    MEMBER = "member"  # the signed-in member of the shop (the portal)
    API = "api"  # a till or webshop with the shop's API key (loyalty.api.ShopApiView)


def _mark(view, audience: str):
    setattr(view, AUDIENCE_ATTR, audience)
    return view


def public_view(view):
    return _mark(view, Audience.PUBLIC)


def signed_in_view(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return _mark(wrapper, Audience.SIGNED_IN)


def _staff_view(roles: tuple[str, ...], audience: str):
    def decorator(view):
        @wraps(view)
        def wrapper(request, shop_slug: str, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            staff_member = (
                StaffMember.objects.select_related("shop__current_rules")
                .filter(shop__slug=shop_slug, user=request.user, is_active=True, role__in=roles)
                .first()
            )
            if staff_member is None:
                raise Http404("No such shop for this user")
            request.shop = staff_member.shop
            request.staff_member = staff_member
            timezone.activate(staff_member.shop.time_zone)
            return view(request, *args, **kwargs)

        return _mark(wrapper, audience)

    return decorator


owner_required = _staff_view((StaffRole.OWNER,), Audience.OWNER)
staff_required = _staff_view((StaffRole.OWNER, StaffRole.STAFF), Audience.STAFF)


def member_required(view):
    """The portal: the signed-in user's own card at the shop in the URL."""

    @wraps(view)
    def wrapper(request, shop_slug: str, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = (
            Membership.objects.select_related("shop__current_rules")
            .filter(shop__slug=shop_slug, user=request.user)
            .first()
        )
        if membership is None:
            raise Http404("No membership at this shop")
        request.shop = membership.shop
        request.membership = membership
        timezone.activate(membership.shop.time_zone)
        activate_language_unless_chosen(request, membership.language)
        return view(request, *args, **kwargs)

    return _mark(wrapper, Audience.MEMBER)


def activate_language_unless_chosen(request, language: str) -> None:
    """Use ``language`` (the shop's or the member's) unless the visitor picked one explicitly."""
    from django.conf import settings

    if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME):
        return
    translation.activate(language)
    request.LANGUAGE_CODE = language
