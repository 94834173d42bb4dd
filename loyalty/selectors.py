"""Core read operations. Everything that reads shop data takes the shop and filters on it."""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet

from .models import InvitationStatus, Membership, Shop, StaffInvitation, StaffMember, StaffRole


def shops_for_user(*, user, roles=(StaffRole.OWNER, StaffRole.STAFF)) -> QuerySet[Shop]:
    return Shop.objects.for_user_role(user, roles).order_by("name")


def staff_for_shop(*, shop: Shop) -> QuerySet[StaffMember]:
    return StaffMember.objects.filter(shop=shop).select_related("user").order_by(
        "-is_active", "role", "user__name", "user__email"
    )


def invitations_pending_for_shop(*, shop: Shop) -> QuerySet[StaffInvitation]:
    return StaffInvitation.objects.filter(shop=shop, status=InvitationStatus.PENDING)


def digits_only(value: str) -> str:
    return re.sub(r"\D", "", value)


def membership_search(*, shop: Shop, query: str) -> QuerySet[Membership]:
    """Find members of ``shop`` by card number, phone, e-mail or name.

    A whole card number (as a scanner types it, with or without spaces) is an exact match; phone
    numbers match on their last nine digits, so 06 1234 5678 finds +31 6 12345678.
    """
    query = (query or "").strip()
    members = Membership.objects.for_shop(shop)
    if not query:
        return members.none()
    digits = digits_only(query)
    condition = Q(name__icontains=query) | Q(email__icontains=query)
    if digits and len(digits) >= 4 and not re.search(r"[A-Za-z@]", query):
        condition |= Q(card_number=digits) | Q(phone__endswith=digits[-9:])
    return members.filter(condition).order_by("name")


def shop_overview(*, shop: Shop) -> dict:
    return {
        "member_count": Membership.objects.for_shop(shop).count(),
        "staff_count": StaffMember.objects.filter(shop=shop, is_active=True).count(),
        "recent_members": list(Membership.objects.for_shop(shop).order_by("-joined_at")[:5]),
    }
