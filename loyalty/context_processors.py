"""Template context for every page: which front doors the signed-in user has."""

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from .models import StaffRole


def _doors(user) -> dict:
    roles = set(user.shop_roles.filter(is_active=True).values_list("role", flat=True))
    return {
        "dashboard": StaffRole.OWNER in roles,
        "counter": bool(roles),
        "portal": user.memberships.exists(),
    }


def front_doors(request):
    extensions = {
        "dashboard_links": settings.TROUW_DASHBOARD_LINKS,
        "portal_links": settings.TROUW_PORTAL_LINKS,
        "counter_member_panels": settings.TROUW_COUNTER_MEMBER_PANELS,
        "dashboard_member_panels": settings.TROUW_DASHBOARD_MEMBER_PANELS,
    }
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"doors": {}, **extensions}
    return {"doors": SimpleLazyObject(lambda: _doors(user)), **extensions}
