"""Forms of the core's pages. They parse and show input; services decide."""

from __future__ import annotations

import contextlib
import functools
import importlib.resources
import re
import zoneinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import ApiKeyScope, Country, Currency, ExpiryPolicy, Language, Shop
from .points import (
    MAX_PENDING_DAYS,
    MAX_POINTS_PER_PURCHASE,
    MAX_RULE_NUMBER,
    STAMP_REWARD_MAX_LENGTH,
    STAMPS_PER_CARD_MAX,
    STAMPS_PER_CARD_MIN,
)
from .services.common import _MONEY_TEXT, MAX_AMOUNT  # the engine's own reading of amounts
from .services.rules import EXPIRY_MONTHS_MAX
from .templatetags.program_rules import money_short
from .templatetags.trouw import money
from .templatetags.trouw import points as points_format

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
    # The customer's own gift with the purchase, when the shop offers one
    # (settings.TROUW_COUNTER_DONATION_OFFER): the purchase's extras, checked by the effect.
    round_up = forms.BooleanField(required=False)
    donation_amount = forms.CharField(required=False, max_length=20)
    # The currency the form showed the gift in (the shop's at render time): a gift in another
    # currency is refused by the effect, nothing written.
    donation_currency = forms.CharField(required=False, max_length=3, widget=forms.HiddenInput)

    def extras(self) -> dict:
        """What the purchase asks of the effects: ``round_up`` or ``donation_amount``, with
        the ``donation_currency`` the form showed them in."""
        extras = {}
        if self.cleaned_data.get("round_up"):
            extras["round_up"] = True
        if donation := self.cleaned_data.get("donation_amount", "").strip():
            extras["donation_amount"] = donation
        if extras and (currency := self.cleaned_data.get("donation_currency", "").strip()):
            extras["donation_currency"] = currency
        return extras


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
PRESETS = ("points", "stamps", "steps")
# "Points for every euro": the currency's unit in words.
CURRENCY_UNITS = {"EUR": _("euro"), "SEK": _("krona")}


class MoneyField(forms.CharField):
    """An amount as people type it: 27.50 or 27,50, plain digits, at most two decimals, up to
    the engine's largest amount. Each form passes messages that say what the amount is for
    (codes: required, invalid, decimals, negative, zero, too_large)."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def __init__(self, *, allow_zero: bool = False, **kwargs):
        self.allow_zero = allow_zero
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            amount = Decimal(text.replace(",", ".")) if _MONEY_TEXT.fullmatch(text) else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if amount.as_tuple().exponent < -2:
            raise ValidationError(self.error_messages["decimals"], code="decimals")
        if amount < 0:
            raise ValidationError(self.error_messages["negative"], code="negative")
        if amount == 0 and not self.allow_zero:
            raise ValidationError(self.error_messages["zero"], code="zero")
        if amount > MAX_AMOUNT:
            raise ValidationError(self.error_messages["too_large"], code="too_large")
        return amount.quantize(Decimal("0.01"))


class WholeNumberField(forms.IntegerField):
    """A whole number as people type it: 1000, or grouped as 1.000, 1,000 or 1 000. (Django's
    IntegerField reads the Dutch "1.000" as 1.) Messages: required, invalid, min_value,
    max_value."""

    widget = forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})
    _WHOLE = re.compile(r"[+-]?(?:[0-9]+|[0-9]{1,3}(?:[.,\s\u00a0\u202f][0-9]{3})+)")

    def to_python(self, value):
        text = str(value).strip() if value is not None else ""
        if text in self.empty_values:
            return None
        if not self._WHOLE.fullmatch(text):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return int(re.sub(r"[.,\s\u00a0\u202f]", "", text))

    def widget_attrs(self, widget):
        return {}  # no min/max attributes: the browser must not overrule our messages


def _amount_example(amount: str) -> str:
    """An example amount for a message, as the language writes it (3,00 in Dutch)."""
    return formats.number_format(Decimal(amount), decimal_pos=2)


class ProgramRulesForm(forms.Form):
    """The earn rules as an owner thinks of them: first the kind of program (a preset: points
    for every euro, a stamp card, or bigger baskets with a step table), then only that kind's
    settings, in the shop's currency, with our own messages. ``rules_values()`` gives
    program_rules_update's keyword arguments.

    ``shown`` is the kind whose fields the page showed: a browser without JavaScript that picks
    another kind and presses Save is shown that kind's fields instead of saving."""

    def __init__(self, data=None, *, currency: str = "EUR", **kwargs):
        super().__init__(data, **kwargs)
        self.currency = currency
        preset = (data or {}).get("preset") if data is not None else self.initial.get("preset")
        self.preset_name = preset if preset in PRESETS else "points"
        self.fields.update(self._build_fields())

    # --- presets ------------------------------------------------------------------------------

    @staticmethod
    def preset_for(rules) -> str:
        if rules.is_stamp_card:
            return "stamps"
        return "steps" if rules.steps else "points"

    @classmethod
    def data_for(cls, rules) -> dict:
        """The form as filled with ``rules`` (what the page shows for the rules in force)."""
        preset = cls.preset_for(rules)
        data = {"preset": preset, "shown": preset, "signup_bonus": str(rules.signup_bonus),
                "pending_days": str(rules.pending_days), **cls.expiry_data(rules)}
        if preset == "stamps":
            data.update(stamp_minimum=f"{rules.stamp_minimum:.2f}",
                        stamps_per_card=str(rules.stamps_per_card or ""),
                        stamp_reward=rules.stamp_reward)
            return data
        data.update(points_per_unit=str(rules.points_per_unit),
                    minimum_amount=f"{Decimal(rules.minimum_amount):.2f}",
                    cap_per_purchase="" if rules.cap_per_purchase is None
                    else str(rules.cap_per_purchase),
                    points_per_currency_value=str(rules.points_per_currency_value))
        if preset == "steps":
            for row, step in enumerate(rules.steps, start=1):
                data[f"step_amount_{row}"] = str(step["min_amount"])
                data[f"step_points_{row}"] = str(step["points"])
            if not rules.steps_replace_rate:
                data["steps_on_top"] = "on"
        return data

    @staticmethod
    def expiry_data(rules) -> dict:
        """The expiry fields as ``rules`` fill them."""
        return {"expiry_policy": rules.expiry_policy,
                "expiry_months": str(rules.expiry_months or "")}

    @classmethod
    def preset_data(cls, preset: str, *, currency: str, pending_days: int = 0,
                    points_per_currency_value: int = 100, expiry: dict | None = None) -> dict:
        """The form as a preset fills it. Amounts suit the currency (a stamp from €3.00 or from
        30 kr); the return window, the point value and the expiry are the shop's, kept across
        presets."""
        scale = 10 if currency == "SEK" else 1
        data = {"preset": preset, "shown": preset, "signup_bonus": "0",
                "pending_days": str(pending_days), **(expiry or {})}
        if preset == "stamps":
            data.update(stamp_minimum=f"{3 * scale}.00", stamps_per_card="10",
                        stamp_reward=gettext("a free coffee"))
            return data
        data.update(points_per_unit="10" if preset == "points" else "0", minimum_amount="0.00",
                    cap_per_purchase="", points_per_currency_value=str(points_per_currency_value))
        if preset == "steps":
            data.update(step_amount_1=f"{20 * scale}.00", step_points_1="1000",
                        step_amount_2=f"{30 * scale}.00", step_points_2="2000")
        return data

    def preset_options(self) -> list[tuple]:
        """(radio, description) for each kind of program, in the shop's currency."""
        scale = 10 if self.currency == "SEK" else 1
        descriptions = {
            "points": _("Every purchase earns points by its amount: for example 10 points for "
                        "every %(unit)s; customers spend them on rewards.") % {
                "unit": money_short(1, self.currency)},
            "stamps": _("Every purchase of at least %(amount)s is a stamp; a full card "
                        "(for example 10 stamps) gives a reward, such as a free coffee.") % {
                "amount": money(3 * scale, self.currency)},
            "steps": _("A step table: for example %(low_points)s points from %(low)s and "
                       "%(high_points)s from %(high)s.") % {
                "low_points": points_format(1000), "low": money(20 * scale, self.currency),
                "high_points": points_format(2000), "high": money(30 * scale, self.currency)},
        }
        return [(radio, descriptions[radio.data["value"]]) for radio in self["preset"]]

    # --- fields -------------------------------------------------------------------------------

    def _build_fields(self) -> dict:
        currency, preset = self.currency, self.preset_name
        unit = money_short(1, currency)
        zero = money(0, currency)
        too_large = _("At most %(max)s.") % {"max": money(MAX_AMOUNT, currency)}
        decimals = _("Use at most two decimals, such as %(example)s.")
        stamps = preset == "stamps"
        fields = {
            "preset": forms.ChoiceField(
                label=_("How do your customers collect?"), widget=forms.RadioSelect,
                choices=[("points", _("Points for every %(unit)s") % {
                    "unit": CURRENCY_UNITS.get(currency, currency)}),
                         ("stamps", _("Stamp card")),
                         ("steps", _("Bigger baskets, more points"))],
                error_messages={"required": _("Choose one of the three kinds of program."),
                                "invalid_choice": _("Choose one of the three kinds of program.")}),
        }
        if stamps:
            example = _amount_example("30.00" if currency == "SEK" else "3.00")
            fields["stamp_minimum"] = MoneyField(
                label=_("Smallest purchase for a stamp"),
                help_text=_("Every purchase of at least this amount earns one stamp, however "
                            "big it is."),
                error_messages={
                    "required": _("Enter the smallest purchase that earns a stamp, such as "
                                  "%(example)s.") % {"example": example},
                    "invalid": _("Enter an amount, such as %(example)s.") % {"example": example},
                    "decimals": decimals % {"example": example},
                    "negative": _("Enter an amount above %(zero)s, such as %(example)s: every "
                                  "purchase of at least this much earns a stamp.") % {
                        "zero": zero, "example": example},
                    "zero": _("Enter an amount above %(zero)s, such as %(example)s: every "
                              "purchase of at least this much earns a stamp.") % {
                        "zero": zero, "example": example},
                    "too_large": too_large})
            fields["stamps_per_card"] = WholeNumberField(
                label=_("Stamps for a full card"),
                help_text=_("From %(min)s to %(max)s.") % {"min": STAMPS_PER_CARD_MIN,
                                                           "max": STAMPS_PER_CARD_MAX},
                min_value=STAMPS_PER_CARD_MIN, max_value=STAMPS_PER_CARD_MAX,
                error_messages={
                    "required": _("Enter how many stamps fill a card, such as 10."),
                    "invalid": _("Enter a whole number of stamps, such as 10."),
                    "min_value": _("A card needs at least %(min)s stamps.") % {
                        "min": STAMPS_PER_CARD_MIN},
                    "max_value": _("A card holds at most %(max)s stamps.") % {
                        "max": STAMPS_PER_CARD_MAX}})
            fields["stamp_reward"] = forms.CharField(
                label=_("A full card gives"), max_length=STAMP_REWARD_MAX_LENGTH,
                help_text=_("In your customers' words, such as “a free coffee” or “a loaf of "
                            "your choice”."),
                error_messages={
                    "required": _("Say what a full card gives, such as “a free coffee”."),
                    "max_length": _("Keep it to %(max)s characters or fewer.") % {
                        "max": STAMP_REWARD_MAX_LENGTH}})
        else:
            if preset == "steps":
                rate_label = _("Points for every %(unit)s below the first step") % {"unit": unit}
                rate_help = _("0: smaller purchases earn nothing. A purchase that reaches a step "
                              "earns the step's points instead.")
                rate_min = 0
            else:
                rate_label = _("Points for every %(unit)s spent") % {"unit": unit}
                rate_help = _("Cents don't count: %(amount)s counts as %(whole)s.") % {
                    "amount": money(Decimal("27.50"), currency),
                    "whole": money_short(27, currency)}
                rate_min = 1
            fields["points_per_unit"] = WholeNumberField(
                label=rate_label, help_text=rate_help, min_value=rate_min,
                max_value=MAX_RULE_NUMBER,
                error_messages={
                    "required": _("Enter the points for every %(unit)s, such as 10.") % {
                        "unit": unit},
                    "invalid": _("Enter a whole number of points, such as 10."),
                    "min_value": (_("Points can't be negative: enter 0 or more.") if rate_min == 0
                                  else _("Enter at least 1 point for every %(unit)s (for no "
                                         "points on small purchases, choose “Bigger baskets, "
                                         "more points”).") % {"unit": unit}),
                    "max_value": _("At most %(max)s points for every %(unit)s.") % {
                        "max": points_format(MAX_RULE_NUMBER), "unit": unit}})
            if preset == "steps":
                for row in range(1, STEP_ROWS + 1):
                    fields.update(self._step_fields(row, unit=unit, zero=zero,
                                                    too_large=too_large, decimals=decimals))
                fields["steps_on_top"] = forms.BooleanField(
                    label=_("Also give the points for every %(unit)s on top of a step's "
                            "points") % {"unit": unit}, required=False,
                    help_text=_("Left off, a purchase that reaches a step earns the step's "
                                "points only."))
            fields["minimum_amount"] = MoneyField(
                label=_("Smallest purchase that earns points"), allow_zero=True, required=False,
                help_text=_("%(zero)s: every purchase earns points.") % {"zero": zero},
                error_messages={
                    "invalid": _("Enter an amount, such as 5.00, or 0 to count every "
                                 "purchase."),
                    "decimals": decimals % {"example": _amount_example("5.00")},
                    "negative": _("The smallest purchase can't be below %(zero)s: enter 0 to "
                                  "count every purchase.") % {"zero": zero},
                    "too_large": too_large})
            fields["cap_per_purchase"] = WholeNumberField(
                label=_("Most points for one purchase (optional)"), required=False,
                help_text=_("Leave it empty for no limit."),
                min_value=1, max_value=MAX_POINTS_PER_PURCHASE,
                error_messages={
                    "invalid": _("Enter a whole number of points, such as 500, or leave it "
                                 "empty for no limit."),
                    "min_value": _("Enter at least 1 point, or leave it empty for no limit."),
                    "max_value": _("At most %(max)s points for one purchase.") % {
                        "max": points_format(MAX_POINTS_PER_PURCHASE)}})
            fields["points_per_currency_value"] = WholeNumberField(
                label=_("Points worth %(unit)s") % {"unit": unit},
                help_text=_("What points are worth when customers see them as money or pay "
                            "with them: with 100, 100 points = %(unit)s.") % {"unit": unit},
                min_value=1, max_value=MAX_RULE_NUMBER,
                error_messages={
                    "required": _("Enter how many points are worth %(unit)s, such as 100.") % {
                        "unit": unit},
                    "invalid": _("Enter a whole number, such as 100 (then 100 points = "
                                 "%(unit)s).") % {"unit": unit},
                    "min_value": _("Enter at least 1: that many points are worth %(unit)s.") % {
                        "unit": unit},
                    "max_value": _("At most %(max)s points for %(unit)s.") % {
                        "max": points_format(MAX_RULE_NUMBER), "unit": unit}})
        fields["signup_bonus"] = WholeNumberField(
            label=_("Stamps for joining") if stamps else _("Points for joining"),
            help_text=(_("A new card starts with this many stamps. 0: none.") if stamps
                       else _("Given once, when a customer joins. 0: none.")),
            min_value=0, max_value=MAX_RULE_NUMBER,
            error_messages={
                "required": (_("Enter the stamps for joining, or 0 for none.") if stamps
                             else _("Enter the points for joining, or 0 for none.")),
                "invalid": (_("Enter a whole number of stamps, such as 1, or 0 for none.")
                            if stamps else
                            _("Enter a whole number of points, such as 50, or 0 for none.")),
                "min_value": _("Enter 0 for none, or a number above it."),
                "max_value": _("At most %(max)s.") % {"max": points_format(MAX_RULE_NUMBER)}})
        fields["pending_days"] = WholeNumberField(
            label=_("Days before new stamps count") if stamps
            else _("Days before new points can be spent"),
            help_text=(_("Your return window: a stamp counts towards a full card after this "
                         "many days. 0: at once.") if stamps else
                       _("Your return window: the points of a purchase can be spent after this "
                         "many days. 0: at once.")),
            min_value=0, max_value=MAX_PENDING_DAYS,
            error_messages={
                "required": _("Enter a number of days, or 0 for at once."),
                "invalid": _("Enter a whole number of days, such as 14, or 0 for at once."),
                "min_value": _("Enter 0 for at once, or a number of days."),
                "max_value": _("At most %(max)s days (a year).") % {"max": MAX_PENDING_DAYS}})
        fields.update(self._expiry_fields(stamps))
        return fields

    @staticmethod
    def _expiry_fields(stamps: bool) -> dict:
        choose = _("Choose when stamps expire.") if stamps else _("Choose when points expire.")
        months = _("Enter a number of months from 1 to %(max)s, such as 12.") % {
            "max": EXPIRY_MONTHS_MAX}
        return {
            "expiry_policy": forms.ChoiceField(
                label=_("Do stamps expire?") if stamps else _("Do points expire?"),
                widget=forms.RadioSelect, required=False,  # not sent: the terms stay
                choices=[(ExpiryPolicy.NEVER, _("Never")),
                         (ExpiryPolicy.AFTER_EARNING, _("Some months after they are earned")),
                         (ExpiryPolicy.INACTIVITY,
                          _("All of a card's, after some months without a purchase"))],
                error_messages={"required": choose, "invalid_choice": choose}),
            "expiry_months": WholeNumberField(
                label=_("Months"), required=False, min_value=1, max_value=EXPIRY_MONTHS_MAX,
                help_text=_("From 1 to %(max)s. Points already on cards keep the terms they "
                            "were earned under.") % {"max": EXPIRY_MONTHS_MAX},
                error_messages={"invalid": months, "min_value": months, "max_value": months}),
        }

    @staticmethod
    def _step_fields(row: int, *, unit, zero, too_large, decimals) -> dict:
        not_above_zero = _("A step starts above %(zero)s; for points on every purchase, use the "
                           "points for every %(unit)s.") % {"zero": zero, "unit": unit}
        return {
            f"step_amount_{row}": MoneyField(
                label=_("From a purchase of (step %(n)s)") % {"n": row}, required=False,
                error_messages={"invalid": _("Enter an amount, such as 20.00."),
                                "decimals": decimals % {"example": _amount_example("20.00")},
                                "negative": not_above_zero, "zero": not_above_zero,
                                "too_large": too_large}),
            f"step_points_{row}": WholeNumberField(
                label=_("Points (step %(n)s)") % {"n": row}, required=False,
                min_value=1, max_value=MAX_POINTS_PER_PURCHASE,
                error_messages={
                    "invalid": _("Enter a whole number of points, such as 1000."),
                    "min_value": _("A step gives at least 1 point."),
                    "max_value": _("At most %(max)s points for one purchase.") % {
                        "max": points_format(MAX_POINTS_PER_PURCHASE)}}),
        }

    def step_rows(self):
        return [(self[f"step_amount_{row}"], self[f"step_points_{row}"])
                for row in range(1, STEP_ROWS + 1)] if self.preset_name == "steps" else []

    # --- checks across fields -----------------------------------------------------------------

    def clean(self):
        data = super().clean()
        if self.preset_name == "stamps":
            size, bonus = data.get("stamps_per_card"), data.get("signup_bonus")
            if size and bonus is not None and bonus >= size:
                self.add_error("signup_bonus", _(
                    "A new card can start with at most %(max)s stamps, one less than a full "
                    "card.") % {"max": size - 1})
            reward = (data.get("stamp_reward") or "").strip()
            if "stamp_reward" in data and not reward:
                self.add_error("stamp_reward",
                               _("Say what a full card gives, such as “a free coffee”."))
        elif self.preset_name == "steps":
            data["steps"] = self._steps_clean(data)
        policy = data.get("expiry_policy")
        if policy == ExpiryPolicy.NEVER:
            data["expiry_months"] = None
        elif policy and "expiry_months" not in self.errors and not data.get("expiry_months"):
            self.add_error("expiry_months", _(
                "Enter after how many months, from 1 to %(max)s, such as 12.") % {
                "max": EXPIRY_MONTHS_MAX})
        return data

    def _steps_clean(self, data) -> list[dict]:
        """The filled rows as steps, in the order typed; each problem on the row it is in."""
        currency = self.currency
        rows = []
        for row in range(1, STEP_ROWS + 1):
            amount_name, points_name = f"step_amount_{row}", f"step_points_{row}"
            if amount_name in self.errors or points_name in self.errors:
                rows.append(None)
                continue
            amount, points = data.get(amount_name), data.get(points_name)
            if amount is None and points is None:
                continue
            if amount is None:
                self.add_error(amount_name, _(
                    "Enter the amount from which a purchase earns %(points)s points.") % {
                    "points": points_format(points)})
            elif points is None:
                self.add_error(points_name, _(
                    "Enter the points for a purchase from %(amount)s.") % {
                    "amount": money(amount, currency)})
            else:
                rows.append((row, amount, points))
                continue
            rows.append(None)
        filled = [r for r in rows if r is not None]
        if not rows:
            self.add_error("step_amount_1", _(
                "Add at least one step, such as %(points)s points from %(amount)s.") % {
                "points": points_format(1000),
                "amount": money(200 if currency == "SEK" else 20, currency)})
        for (_row, low, low_points), (row, amount, points) in zip(filled, filled[1:],
                                                                   strict=False):
            if amount == low:
                self.add_error(f"step_amount_{row}", _(
                    "The step above already starts at %(amount)s: give each step its own "
                    "amount.") % {"amount": money(amount, currency)})
            elif amount < low:
                self.add_error(f"step_amount_{row}", _(
                    "Put the steps from the smallest amount to the largest: this one "
                    "(%(amount)s) is below the step above it (%(low)s).") % {
                    "amount": money(amount, currency), "low": money(low, currency)})
            elif points <= low_points:
                self.add_error(f"step_points_{row}", _(
                    "A bigger purchase must earn more: from %(amount)s give more than the "
                    "%(points)s points of the step from %(low)s.") % {
                    "amount": money(amount, currency), "points": points_format(low_points),
                    "low": money(low, currency)})
        cap = data.get("cap_per_purchase")
        if filled and cap is not None and cap < filled[0][2]:
            self.add_error("cap_per_purchase", _(
                "This is below the %(points)s points of the first step: raise it, or leave it "
                "empty for no limit.") % {"points": points_format(filled[0][2])})
        return [{"min_amount": str(amount), "points": points} for _row, amount, points in filled]

    def rules_values(self) -> dict:
        """The keyword arguments of services.program_rules_update for a valid form."""
        data = self.cleaned_data
        shared = {"signup_bonus": data["signup_bonus"], "pending_days": data["pending_days"]}
        if data.get("expiry_policy"):  # a form without the expiry part keeps the terms
            shared.update(expiry_policy=data["expiry_policy"],
                          expiry_months=data["expiry_months"])
        if self.preset_name == "stamps":
            return {"program": "stamps", "stamp_minimum": str(data["stamp_minimum"]),
                    "stamps_per_card": data["stamps_per_card"],
                    "stamp_reward": data["stamp_reward"].strip(), **shared}
        steps = data.get("steps", []) if self.preset_name == "steps" else []
        return {"program": "points", "points_per_unit": data["points_per_unit"],
                "steps": steps, "steps_replace_rate": not data.get("steps_on_top", False),
                "minimum_amount": data["minimum_amount"] or Decimal("0.00"),
                "cap_per_purchase": data["cap_per_purchase"],
                "points_per_currency_value": data["points_per_currency_value"], **shared}


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60,
                           help_text=_("Where it is used, e.g. “till-1” or “webshop”."))
    scope = forms.ChoiceField(label=_("Access"), choices=ApiKeyScope.choices,
                              initial=ApiKeyScope.TILL)


# --- Birthday gift (loyalty/views/birthdays.py) ---


class BirthdayGiftForm(forms.Form):
    """The owner's birthday gift: points and when they arrive. program_rules_update checks the
    numbers and saves them as a new version of the rules."""

    birthday_points = WholeNumberField(
        label=_("Birthday points"), required=False,
        help_text=_("0 or empty: no points (a voucher alone can still be the gift)."),
        error_messages={"invalid": _("Enter a whole number of points, such as 250.")})
    birthday_window = forms.ChoiceField(
        label=_("When the gift arrives"), widget=forms.RadioSelect,
        choices=[("day", _("On the birthday")),
                 ("before", _("Some days before the birthday")),
                 ("week", _("On the Monday of the birthday week")),
                 ("month", _("On the first day of the birthday month"))],
        error_messages={"invalid_choice": _("Choose when the birthday gift arrives."),
                        "required": _("Choose when the birthday gift arrives.")})
    birthday_days_before = WholeNumberField(
        label=_("Days before the birthday"), required=False,
        help_text=_("1 to 31 days; only with “Some days before the birthday”."),
        error_messages={"invalid": _("Enter a whole number of days, such as 7.")})

    @classmethod
    def data_for(cls, rules) -> dict:
        return {"birthday_points": rules.birthday_points,
                "birthday_window": rules.birthday_window,
                "birthday_days_before": rules.birthday_days_before or ""}

    def rules_values(self) -> dict:
        data = self.cleaned_data
        return {"birthday_points": data["birthday_points"] or 0,
                "birthday_window": data["birthday_window"],
                "birthday_days_before": data["birthday_days_before"] or 0}


class BonusEventForm(forms.Form):
    """One bonus-point event on the owner's page. The form reads what people type;
    ``services.rules.bonus_events_clean`` decides what is valid and says what to fix."""

    original_name = forms.CharField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=60,
                           help_text=_("What members read, such as “Double points Tuesday”."),
                           error_messages={"required": _("Give the event a name.")})
    kind = forms.ChoiceField(
        label=_("What it gives"), widget=forms.RadioSelect, initial="multiplier",
        choices=[("multiplier", _("A multiplier of the purchase's points")),
                 ("extra", _("Extra points on each purchase"))],
        error_messages={"required": _("Choose a multiplier or extra points."),
                        "invalid_choice": _("Choose a multiplier or extra points.")})
    value = forms.CharField(
        label=_("How much"), max_length=12,
        help_text=_("A multiplier such as 2 (double points) or 1,5; or a number of extra "
                    "points such as 50."),
        error_messages={"required": _("Enter the multiplier or the extra points.")})
    starts_on = forms.DateField(label=_("First day (optional)"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                error_messages={"invalid": _("Enter a valid date.")})
    ends_on = forms.DateField(label=_("Last day (optional)"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                              error_messages={"invalid": _("Enter a valid date.")})
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Only on these days (none: every day)"), required=False, coerce=int,
        widget=forms.CheckboxSelectMultiple,
        choices=[(0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")),
                 (4, _("Friday")), (5, _("Saturday")), (6, _("Sunday"))],
        error_messages={"invalid_choice": _("Choose weekdays from Monday to Sunday.")})
    from_hour = forms.TypedChoiceField(
        label=_("From (optional)"), required=False, coerce=int, empty_value=None,
        choices=[("", "—"), *[(h, f"{h:02d}:00") for h in range(24)]],
        error_messages={"invalid_choice": _("Enter hours from 0 to 24.")})
    to_hour = forms.TypedChoiceField(
        label=_("Until (optional)"), required=False, coerce=int, empty_value=None,
        choices=[("", "—"), *[(h, f"{h:02d}:00") for h in range(1, 25)]],
        error_messages={"invalid_choice": _("Enter hours from 0 to 24.")})
    categories = forms.CharField(
        label=_("Only on these product categories (optional)"), required=False,
        max_length=500,
        help_text=_("Separated by commas, as your till names them, such as “Koffie, Thee”. "
                    "Empty: the whole purchase."))

    @classmethod
    def data_for(cls, event: dict) -> dict:
        value = event["value"]
        return {"original_name": event["name"], "name": event["name"], "kind": event["kind"],
                "value": formats.localize_input(Decimal(str(value))) if event["kind"] ==
                "multiplier" else str(value),
                "starts_on": event.get("starts_on", ""), "ends_on": event.get("ends_on", ""),
                "weekdays": event.get("weekdays", []),
                "from_hour": event.get("from_hour", ""), "to_hour": event.get("to_hour", ""),
                "categories": ", ".join(event.get("categories", []))}

    def event(self) -> dict:
        """The event as the rules store it (before the service's checks)."""
        data = self.cleaned_data
        value = data["value"].strip().replace("\u00a0", "").replace(" ", "")
        if data["kind"] == "multiplier":
            value = value.replace(",", ".")
        return {
            "name": data["name"], "kind": data["kind"], "value": value,
            "starts_on": data["starts_on"].isoformat() if data["starts_on"] else None,
            "ends_on": data["ends_on"].isoformat() if data["ends_on"] else None,
            "weekdays": data["weekdays"], "from_hour": data["from_hour"],
            "to_hour": data["to_hour"],
            "categories": [c.strip() for c in data["categories"].split(",") if c.strip()],
        }


class BonusCombineForm(forms.Form):
    bonus_combine = forms.ChoiceField(
        label=_("When a level and events apply at once"), widget=forms.RadioSelect,
        choices=[("stack", _("Stack: the member gets every bonus")),
                 ("best", _("Best of: only the bonus that gives the most"))],
        error_messages={"required": _("Choose stack or best of."),
                        "invalid_choice": _("Choose stack or best of.")})
