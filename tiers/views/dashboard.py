"""The owner's "Levels" page: switch levels on, choose what counts and over which time, add,
change and remove levels — always with a preview of what happens to the members first."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from loyalty import selectors as loyalty_selectors
from loyalty.access import owner_required
from loyalty.services.common import points_display

from .. import selectors, services
from ..forms import ProgramForm, tier_rows_for_page, tier_rows_from
from ..models import Downgrade, Measure, Period


def _initial(program) -> dict:
    if program is None:
        return {"enabled": False, "measure": Measure.POINTS, "period": Period.YEAR,
                "downgrade": Downgrade.ONE, "grace_days": 0}
    return {"enabled": program.enabled, "measure": program.measure, "period": program.period,
            "downgrade": program.downgrade, "grace_days": program.grace_days}


@owner_required
@require_http_methods(["GET", "POST"])
def levels(request):
    """GET: the levels as saved. POST: "Preview" shows what the change would do (changing
    nothing); "Save" (offered with the preview) saves it and places the members."""
    shop = request.shop
    program = selectors.program_row_for(shop=shop)
    tiers = list(selectors.tiers_for_shop(shop=shop))
    form = ProgramForm(request.POST or None, initial=_initial(program))
    submitted = tier_rows_from(request.POST) if request.method == "POST" else None
    preview, tier_errors = None, []
    usual = loyalty_selectors.program_rules_in_force(shop=shop).birthday_points
    if request.method == "POST" and form.is_valid():
        try:
            data = services.program_input_clean(tiers=submitted, **form.cleaned_data)
            if request.POST.get("action") == "save":
                counts = services.program_save(shop=shop, data=data, by=request.user)
                messages.success(request, _saved_message(data, counts))
                return redirect("tiers_levels", shop_slug=shop.slug)
            preview = services.program_preview(shop=shop, data=data)
            preview["birthday_lines"] = _birthday_lines(data, usual)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"tiers": exc.messages}
            tier_errors = errors.pop("tiers", [])
            for name, field_errors in errors.items():
                form.add_error(name if name in form.fields else None, field_errors)
    failed = request.method == "POST" and (bool(form.errors) or bool(tier_errors))
    return render(request, "tiers/dashboard/levels.html", {
        "form": form, "rows": tier_rows_for_page(tiers, submitted),
        "tier_errors": tier_errors, "preview": preview,
        "holders": _holders(shop, tiers),
        "program": program,
        "multiplier_example": formats.localize_input(Decimal("1.25")),
        "multiplier_none": formats.localize_input(Decimal("1.00")),
        "usual_birthday_points": points_display(usual),
    }, status=400 if failed else 200)


def _birthday_lines(data, usual: int) -> list[str]:
    """What each level will give on a birthday, for the preview: only when a level has its
    own birthday points (otherwise every level gives the shop's usual gift)."""
    if all(tier.birthday_points is None for tier in data.tiers):
        return []
    lines = []
    for tier in data.tiers:
        points = usual if tier.birthday_points is None else tier.birthday_points
        if not points:
            lines.append(_("%(level)s: no birthday points") % {"level": tier.name})
        else:
            lines.append(ngettext("%(level)s: %(points)s point on their birthday",
                                  "%(level)s: %(points)s points on their birthday", points)
                         % {"level": tier.name, "points": points_display(points)})
    return lines


def _holders(shop, tiers) -> list[tuple]:
    counts = selectors.members_per_tier(shop=shop)
    return [(tier, counts.get(tier.name, 0)) for tier in tiers]


def _saved_message(data, counts) -> str:
    if not data.enabled:
        return _("Levels saved and switched off: no level shows or counts until you switch "
                 "them on again.")
    return " ".join([
        _("Levels saved."),
        ngettext("%(count)s member moved up.", "%(count)s members moved up.",
                 counts["up"]) % {"count": counts["up"]},
        ngettext("%(count)s member keeps a level they would no longer reach, until "
                 "re-evaluation.", "%(count)s members keep a level they would no longer "
                 "reach, until re-evaluation.", counts["down_kept"])
        % {"count": counts["down_kept"]} if counts["down_kept"] else "",
    ]).strip()
