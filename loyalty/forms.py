"""Forms of the core's pages. They parse and show input; services decide."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Currency, Language, Shop

COMMON_TIME_ZONES = [
    "Europe/Amsterdam", "Europe/Stockholm", "Europe/Brussels", "Europe/Berlin",
    "Europe/Copenhagen", "Europe/Helsinki", "Europe/London", "Europe/Oslo", "Europe/Paris",
]


def add_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field where it names one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def time_zone_choices():
    rest = sorted(tz for tz in zoneinfo.available_timezones() if tz not in COMMON_TIME_ZONES)
    return [(tz, tz.replace("_", " ")) for tz in COMMON_TIME_ZONES + rest]


class SignupExtraForm(forms.Form):
    """Extra field on allauth's sign-up form."""

    name = forms.CharField(label=_("Your name"), max_length=150)
    field_order = ["name", "email", "password1", "password2"]

    def signup(self, request, user):
        user.name = self.cleaned_data["name"]
        user.save(update_fields=["name"])


class ShopCreateForm(forms.Form):
    name = forms.CharField(label=_("Shop name"), max_length=100)
    slug = forms.SlugField(
        label=_("Web address"), max_length=50,
        help_text=_(
            "Your public page will be /s/<web address>/. Lowercase letters, digits, hyphens."
        ),
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=time_zone_choices)


class ShopSettingsForm(forms.ModelForm):
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=time_zone_choices)
    website = forms.URLField(label=_("website"), required=False, assume_scheme="https")

    class Meta:
        model = Shop
        fields = ["name", "language", "time_zone", "email", "phone", "address", "website", "logo"]

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
