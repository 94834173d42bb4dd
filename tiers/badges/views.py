"""Badges' pages: the owner's list and form (dashboard → Badges) and the member's
achievements (portal)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from loyalty.access import member_required, owner_required
from loyalty.forms import add_errors

from . import selectors, services
from .forms import BadgeForm
from .models import BUILTIN_ICONS, TEMPLATE_PARAMETERS, Badge, BadgeTemplate


def _icons():
    return [{"key": key, "label": label, "url": static(f"tiers/badges/{key}.svg")}
            for key, label in BUILTIN_ICONS.items()]


@owner_required
@require_http_methods(["GET"])
def badges_list(request):
    badges = [
        {"badge": badge, "icon": selectors.badge_icon_url(badge),
         "sentence": selectors.badge_sentence(badge, request.shop.currency)}
        for badge in selectors.badges_for_owner(shop=request.shop)
    ]
    return render(request, "tiers/badges/dashboard/list.html", {
        "badges": badges, "templates": BadgeTemplate.choices,
    })


def _form_page(request, *, template: str, badge: Badge | None):
    form = BadgeForm(request.POST or None, request.FILES or None, template=template,
                     currency=request.shop.currency, badge=badge)
    if request.method == "POST" and form.is_valid():
        try:
            if badge is None:
                saved = services.badge_create(shop=request.shop, template=template,
                                              **form.badge_values())
            else:
                saved = services.badge_update(shop=request.shop, badge_id=badge.pk,
                                              **form.badge_values())
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("“%(name)s” is saved.") % {"name": saved.name})
            return redirect("badges_list", shop_slug=request.shop.slug)
    return render(request, "tiers/badges/dashboard/form.html", {
        "form": form, "badge": badge, "template": template,
        "template_label": BadgeTemplate(template).label, "icons": _icons(),
        "current_icon": selectors.badge_icon_url(badge) if badge else None,
    }, status=400 if form.is_bound and form.errors else 200)


@owner_required
@require_http_methods(["GET", "POST"])
def badge_create(request):
    template = request.GET.get("template", "")
    if template not in TEMPLATE_PARAMETERS:
        return render(request, "tiers/badges/dashboard/choose.html", {
            "templates": BadgeTemplate.choices,
        }, status=400 if template else 200)
    return _form_page(request, template=template, badge=None)


@owner_required
@require_http_methods(["GET", "POST"])
def badge_edit(request, badge_id: int):
    badge = Badge.objects.for_shop(request.shop).filter(pk=badge_id).first()
    if badge is None:
        raise Http404("No such badge")
    return _form_page(request, template=badge.template, badge=badge)


@owner_required
@require_POST
def badge_toggle(request, badge_id: int):
    badge = Badge.objects.for_shop(request.shop).filter(pk=badge_id).first()
    if badge is None:
        raise Http404("No such badge")
    services.badge_set_active(shop=request.shop, badge_id=badge.pk, active=not badge.active)
    if badge.active:
        messages.success(request, _("“%(name)s” is switched off: nobody earns it any more, "
                                    "who earned it keeps it.") % {"name": badge.name})
    else:
        messages.success(request, _("“%(name)s” is switched on.") % {"name": badge.name})
    return redirect("badges_list", shop_slug=request.shop.slug)


@member_required
@require_http_methods(["GET"])
def achievements(request):
    return render(request, "tiers/badges/portal/achievements.html", {
        **selectors.achievements(membership=request.membership),
        "chart": selectors.points_chart(membership=request.membership),
    })
