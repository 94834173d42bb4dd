"""The owner's badge form: only the chosen template's parameters. The form reads what was sent;
the service (``services.badge_create`` / ``badge_update``) decides, with our own messages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import BUILTIN_ICONS, TEMPLATE_PARAMETERS, Badge, BadgeTemplate

PARAMETER_LABELS = {
    BadgeTemplate.VISITS: _("Number of visits (purchases on different days)"),
    BadgeTemplate.WEEK_STREAK: _("Weeks in a row with a visit"),
    BadgeTemplate.WEEKDAYS: _("Different weekdays (1 to 7)"),
    BadgeTemplate.CATEGORIES: _("Different product categories"),
    BadgeTemplate.REFERRALS: _("Friends referred"),
}


class BadgeForm(forms.Form):
    name = forms.CharField(label=_("Name"), required=False,
                           help_text=_("What the customer reads, e.g. “Regular”."))
    icon = forms.ChoiceField(
        label=_("Icon"), required=False, widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose one of the icons shown.")},
        choices=[("", _("My own (upload below)")), *BUILTIN_ICONS.items()])
    icon_upload = forms.FileField(
        label=_("Your own icon"), required=False,
        help_text=_("An SVG or PNG of at most 100 KB; square looks best."),
        error_messages={"invalid": _("No file arrived: choose the icon again."),
                        "empty": _("That file is empty: choose another icon."),
                        "missing": _("No file arrived: choose the icon again.")})
    count = forms.CharField(label=_("How many"), required=False,
                            widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    amount = forms.CharField(label=_("Amount to spend"), required=False,
                             widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    days = forms.CharField(label=_("Days the challenge runs"), required=False,
                           widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    starts_on = forms.DateField(label=_("Starts on"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                error_messages={"invalid": _(
                                    "Enter the start as a date, e.g. 2026-12-01.")})
    hidden = forms.BooleanField(label=_("Hidden until earned (a surprise)"), required=False)
    bonus_points = forms.CharField(label=_("Bonus points"), required=False, initial="0",
                                   widget=forms.TextInput(attrs={"inputmode": "numeric"}),
                                   help_text=_("Pending like the points of the purchase that "
                                               "earns the badge. 0 for none."))
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, template: str, currency: str, badge: Badge | None = None,
                 **kwargs):
        if badge is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": badge.name, "icon": badge.icon, "count": badge.count or "",
                "amount": badge.amount if badge.amount is not None else "",
                "days": badge.days or "", "starts_on": badge.starts_on,
                "hidden": badge.hidden, "bonus_points": badge.bonus_points,
                "active": badge.active,
            }
        super().__init__(*args, **kwargs)
        self.template = template
        needs = TEMPLATE_PARAMETERS[template]
        for part in ("count", "amount", "days", "starts_on", "hidden"):
            if part not in needs and not (part == "hidden" and "starts_on" in needs):
                del self.fields[part]
        if "count" in self.fields:
            self.fields["count"].label = PARAMETER_LABELS[template]
        if "amount" in self.fields:
            self.fields["amount"].label = _("Amount to spend (%(currency)s)") % {
                "currency": currency}
            if template == BadgeTemplate.SPEND_TOTAL:
                self.fields["amount"].help_text = _("In total, net of refunds.")
            else:
                self.fields["amount"].help_text = _(
                    "Within the challenge's days, net of refunds.")

    def badge_values(self) -> dict:
        data = self.cleaned_data
        values = {
            "name": data.get("name", ""), "icon": data.get("icon", ""),
            "icon_upload": data.get("icon_upload") or None,
            "bonus_points": data.get("bonus_points", ""), "active": data.get("active", False),
        }
        for part in ("count", "amount", "days", "starts_on", "hidden"):
            if part in self.fields:
                values[part] = data.get(part)
        return values
