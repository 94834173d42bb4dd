"""Forms of the core's pages. They parse and show input; services decide."""

from __future__ import annotations

import contextlib
import functools
import importlib.resources
import zoneinfo
from decimal import Decimal
from pathlib import Path

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import ApiKeyScope, Country, Currency, Language, Shop
from .points import MAX_POINTS_PER_PURCHASE

COMMON_TIME_ZONES = [
    "Europe/Amsterdam", "Europe/Stockholm", "Europe/Brussels", "Europe/Berlin",
    "Europe/Copenhagen", "Europe/Helsinki", "Europe/London", "Europe/Oslo", "Europe/Paris",
]
# The world's regions in the time-zone database: a canonical zone is "<region>/<place>".
TIME_ZONE_REGIONS = ("Africa/", "America/", "Antarctica/", "Arctic/", "Asia/", "Atlantic/",
                     "Australia/", "Europe/", "Indian/", "Pacific/")


def add_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field where it names one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _zone_tab_names() -> set[str]:
    """The zones of the tz database's zone.tab: one per country and region, the names people
    know (Europe/Amsterdam, Europe/Stockholm), without the backward-compatibility aliases
    (W-SU, Zulu, US/Eastern, Etc/GMT+1, localtime). From the system's tz database, else from
    the tzdata package."""
    candidates = [Path(path) / "zone.tab" for path in zoneinfo.TZPATH]
    with contextlib.suppress(ModuleNotFoundError):
        candidates.append(importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab"))
    for candidate in candidates:
        with contextlib.suppress(OSError):
            lines = candidate.read_text(encoding="utf-8").splitlines()
            return {line.split("\t")[2] for line in lines
                    if line.strip() and not line.startswith("#")}
    return set()


@functools.cache
def time_zones() -> list[str]:
    """Real, canonical time zones that this machine knows: the likely ones first, then the
    rest by name. Without a zone.tab, a careful filter of the known zones' names."""
    known = zoneinfo.available_timezones()
    listed = _zone_tab_names() & known or {
        tz for tz in known if tz.startswith(TIME_ZONE_REGIONS) and not tz.startswith("Etc/")}
    return [tz for tz in COMMON_TIME_ZONES if tz in known] + sorted(
        listed - set(COMMON_TIME_ZONES))


def time_zone_choices():
    return [(tz, tz.replace("_", " ")) for tz in time_zones()]


class SignupExtraForm(forms.Form):
    """Extra field on allauth's sign-up form."""

    name = forms.CharField(label=_("Your name"), max_length=150)
    field_order = ["name", "email", "password1", "password2"]

    def signup(self, request, user):
        user.name = self.cleaned_data["name"]
        user.save(update_fields=["name"])


SLUG_MESSAGE = _("Use 2–50 lowercase letters, digits and hyphens, such as “bakkerij-noord”.")


class ColorInput(forms.TextInput):
    input_type = "color"


class ShopCreateForm(forms.Form):
    name = forms.CharField(label=_("Shop name"), max_length=100,
                           error_messages={"required": _("Give your shop a name.")})
    slug = forms.SlugField(
        label=_("Web address"), max_length=50, required=False,
        help_text=_(
            "Your public page will be /s/<web address>/. Lowercase letters, digits, hyphens. "
            "Left empty, it is made from the name."
        ),
        error_messages={"invalid": SLUG_MESSAGE, "max_length": SLUG_MESSAGE},
        widget=forms.TextInput(attrs={"data-slug-from": "id_name", "autocapitalize": "none",
                                      "spellcheck": "false", "autocomplete": "off"}),
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    country = forms.ChoiceField(
        label=_("Country"), choices=Country.choices,
        help_text=_("Phone numbers your customers give without a country code are read as "
                    "numbers of this country."),
    )
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=time_zone_choices)


class ShopSettingsForm(forms.ModelForm):
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=time_zone_choices)
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    privacy_url = forms.URLField(
        label=_("Privacy statement (link)"), required=False, assume_scheme="https",
        help_text=_("A link to your own privacy statement. Leave it empty to use the standard "
                    "statement Trouw shows for your shop."),
        error_messages={"invalid": _("Enter the full link, such as "
                                     "https://www.example.nl/privacy.")},
    )

    class Meta:
        model = Shop
        fields = ["name", "language", "country", "time_zone", "brand_color", "email", "phone",
                  "address", "website", "privacy_url", "logo"]
        widgets = {"brand_color": ColorInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.time_zone
        if current and current not in time_zones():  # an alias set before: keep it choosable
            self.fields["time_zone"].choices = [(current, current.replace("_", " ")),
                                                *time_zone_choices()]

    def clean_brand_color(self):
        return (self.cleaned_data.get("brand_color") or "").lower()

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and getattr(logo, "size", 0) > 2 * 1024 * 1024:
            raise forms.ValidationError(_("The logo may be 2 MB at most."))
        return logo


class StaffInviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address of your staff member"))


class InvitationSignupForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=150)
    password = forms.CharField(label=_("Choose a password"), widget=forms.PasswordInput,
                               strip=False)

    def __init__(self, *args, email: str, **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)

    def clean_password(self):
        from django.contrib.auth import password_validation

        from .models import User

        password = self.cleaned_data["password"]
        password_validation.validate_password(
            password, User(email=self.email, name=self.cleaned_data.get("name", ""))
        )
        return password


class EarnForm(forms.Form):
    amount = forms.CharField(
        label=_("Amount"), max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off",
                                      "placeholder": "27.50"}),
    )
    reference = forms.CharField(label=_("Receipt number (optional)"), max_length=64,
                                required=False,
                                widget=forms.TextInput(attrs={"autocomplete": "off"}))
    # One token per rendered form: a double submit records the purchase once.
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)


class UndoForm(forms.Form):
    reason = forms.CharField(label=_("Why undo it?"), max_length=150)


class AdjustForm(forms.Form):
    points = forms.IntegerField(label=_("Points (negative to take off)"),
                                min_value=-1_000_000, max_value=1_000_000)
    reason = forms.CharField(
        label=_("Reason (for your team only)"), max_length=150,
        help_text=_("Kept in the history for you and your staff. The customer never sees it."),
    )
    customer_note = forms.CharField(
        label=_("Note for the customer (optional)"), max_length=150, required=False,
        help_text=_("What the customer reads in their history. Left empty, they read "
                    "“Adjustment by the shop”."),
    )


STEP_ROWS = 5


class ProgramRulesForm(forms.Form):
    """The earn rules, with the step table as a few fixed rows (empty rows are ignored)."""

    points_per_unit = forms.IntegerField(label=_("Points per whole currency unit"), min_value=0,
                                         max_value=1_000_000)
    steps_replace_rate = forms.BooleanField(
        label=_("A step replaces the rate (off: the step's points come on top)"), required=False
    )
    minimum_amount = forms.DecimalField(label=_("Minimum purchase"), min_value=0,
                                        max_digits=12, decimal_places=2)
    cap_per_purchase = forms.IntegerField(label=_("Most points per purchase (optional)"),
                                          min_value=1, max_value=MAX_POINTS_PER_PURCHASE,
                                          required=False)
    points_per_currency_value = forms.IntegerField(
        label=_("Points worth 1 currency unit"), min_value=1, max_value=1_000_000,
        help_text=_("Used to show points as money, e.g. 100 points = €1."),
    )
    signup_bonus = forms.IntegerField(label=_("Sign-up bonus (points)"), min_value=0,
                                      max_value=1_000_000)
    pending_days = forms.IntegerField(
        label=_("Pending days"), min_value=0, max_value=365,
        help_text=_("Points become spendable after this many days (your return window); "
                    "0 = at once."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for row in range(1, STEP_ROWS + 1):
            self.fields[f"step_amount_{row}"] = forms.DecimalField(
                label=_("From amount"), required=False, min_value=Decimal("0.01"),
                max_digits=12, decimal_places=2)
            self.fields[f"step_points_{row}"] = forms.IntegerField(
                label=_("Points"), required=False, min_value=1, max_value=1_000_000)

    @classmethod
    def initial_from(cls, rules) -> dict:
        initial = {name: getattr(rules, name) for name in (
            "points_per_unit", "steps_replace_rate", "minimum_amount", "cap_per_purchase",
            "points_per_currency_value", "signup_bonus", "pending_days")}
        for row, step in enumerate(rules.steps or [], start=1):
            initial[f"step_amount_{row}"] = step["min_amount"]
            initial[f"step_points_{row}"] = step["points"]
        return initial

    def step_rows(self):
        return [(self[f"step_amount_{row}"], self[f"step_points_{row}"])
                for row in range(1, STEP_ROWS + 1)]

    def clean(self):
        data = super().clean()
        steps = []
        for row in range(1, STEP_ROWS + 1):
            amount, points = data.get(f"step_amount_{row}"), data.get(f"step_points_{row}")
            if amount is None and points is None:
                continue
            if amount is None or points is None:
                raise forms.ValidationError(
                    _("Step %(n)s needs both an amount and points.") % {"n": row})
            steps.append({"min_amount": str(amount), "points": points})
        data["steps"] = steps
        return data

    def rules_values(self) -> dict:
        names = ("points_per_unit", "steps_replace_rate", "minimum_amount", "cap_per_purchase",
                 "points_per_currency_value", "signup_bonus", "pending_days", "steps")
        return {name: self.cleaned_data[name] for name in names}


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60,
                           help_text=_("Where it is used, e.g. “till-1” or “webshop”."))
    scope = forms.ChoiceField(label=_("Access"), choices=ApiKeyScope.choices,
                              initial=ApiKeyScope.TILL)
