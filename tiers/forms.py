"""Forms of the levels pages. They parse and show input; ``tiers.services`` decides."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from .models import MAX_GRACE_DAYS, MAX_TIERS, Downgrade, Measure, Period

TIER_FIELDS = ("id", "name", "colour", "threshold", "multiplier", "perks", "birthday_points")
EMPTY_ROWS = 2  # rows for new levels below the existing ones


class ProgramForm(forms.Form):
    enabled = forms.BooleanField(label=_("Levels on"), required=False)
    measure = forms.ChoiceField(label=_("What counts towards a level"), choices=Measure.choices)
    period = forms.ChoiceField(label=_("Over which time"), choices=Period.choices)
    downgrade = forms.ChoiceField(label=_("At re-evaluation, a level goes down"),
                                  choices=Downgrade.choices)
    grace_days = forms.IntegerField(
        label=_("Grace days"), min_value=0, max_value=MAX_GRACE_DAYS, initial=0,
        help_text=_("Days after the re-evaluation date before a level goes down."),
        error_messages={"invalid": _("Grace days are a whole number from 0 to 365."),
                        "min_value": _("Grace days are a whole number from 0 to 365."),
                        "max_value": _("Grace days are a whole number from 0 to 365.")})


def tier_rows_from(data) -> list[dict]:
    """The level rows the page sent (``tiers-N-name`` …): rows left empty and rows ticked
    "remove" are left out."""
    try:
        total = min(int(data.get("tiers-TOTAL", 0)), MAX_TIERS + EMPTY_ROWS + 5)
    except (TypeError, ValueError):
        total = 0
    rows = []
    for index in range(total):
        row = {name: (data.get(f"tiers-{index}-{name}") or "").strip() for name in TIER_FIELDS}
        if data.get(f"tiers-{index}-remove"):
            continue
        if not row["id"] and not row["name"] and not row["threshold"]:
            continue
        if row["id"] and not row["id"].isdigit():
            row["id"] = ""
        rows.append(row)
    return rows


def tier_rows_for_page(tiers, submitted: list[dict] | None = None) -> list[dict]:
    """The rows to show: what was sent (after a refusal or for the preview), else the saved
    tiers; then empty rows for new levels (up to the limit). Numbers as the active language
    writes them (1,25 in Dutch), which the services read back."""
    if submitted is not None:
        rows = [dict(row) for row in submitted]
    else:
        rows = [{"id": str(t.pk), "name": t.name, "colour": t.colour,
                 "threshold": _plain(t.threshold),
                 "multiplier": formats.localize_input(t.multiplier), "perks": t.perks,
                 "birthday_points": "" if t.birthday_points is None else str(t.birthday_points)}
                for t in tiers]
    free = max(0, min(EMPTY_ROWS, MAX_TIERS - len(rows)))
    rows += [{"id": "", "name": "", "colour": "#b08d57", "threshold": "",
              "multiplier": formats.localize_input(Decimal("1.00")), "perks": "",
              "birthday_points": ""} for _ in range(free)]
    for index, row in enumerate(rows):
        row["index"] = index
    return rows


def _plain(threshold) -> str:
    """500 for 500.00 (points, visits), 42.50 for money (42,50 in Dutch)."""
    if threshold == threshold.to_integral_value():
        return str(int(threshold))
    return formats.localize_input(threshold.quantize(Decimal("0.01")))


class ManualLevelForm(forms.Form):
    """The owner's level for one card: a level (or none), a reason and an end date."""

    tier = forms.TypedChoiceField(label=_("Level"), coerce=int, empty_value=None,
                                  required=False)
    reason = forms.CharField(label=_("Why"), max_length=200)
    until = forms.DateField(label=_("Until"),
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                            help_text=_("On this day the member goes back to the level they "
                                        "earn."))

    def __init__(self, *args, tiers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = [("", _("No level")), *[(t.pk, t.name) for t in tiers]]
