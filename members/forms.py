"""Forms of the customer side."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class JoinForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("E-mail address"), required=False)
    phone = forms.CharField(label=_("Phone number"), max_length=32, required=False)
    birthday = forms.DateField(
        label=_("Birthday (optional)"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("We use it only for a birthday treat."),
    )
    password = forms.CharField(
        label=_("Choose a password"), required=False, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("With an e-mail address you get a login to see your points. "
                    "Joining with a phone number only? No password needed."),
    )
    marketing_consent = forms.BooleanField(
        label=_("Yes, send me news and offers from this shop."), required=False
    )

    def __init__(self, *args, signed_in: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if signed_in:
            del self.fields["email"]
            del self.fields["password"]


class CounterEnrolForm(forms.Form):
    """Enrolment at the counter: short, for a customer standing there. A phone number (or an
    e-mail address) is enough; the name is optional."""

    name = forms.CharField(label=_("Name (optional)"), max_length=150, required=False)
    phone = forms.CharField(label=_("Phone number"), max_length=32, required=False,
                            widget=forms.TextInput(attrs={"inputmode": "tel"}))
    email = forms.EmailField(label=_("E-mail address"), required=False)
    birthday = forms.DateField(label=_("Birthday (optional)"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    marketing_consent = forms.BooleanField(
        label=_("The customer agrees to receive news and offers."), required=False
    )
    PREFILL = ("phone", "email", "name")  # what the counter's empty search may pass on

    def focus_first(self) -> None:
        """Mark the field the cursor starts in: the first with an error, else the first empty
        one (the counter's search may have filled in the phone number, e-mail or name)."""
        if self.is_bound and self.errors:
            names = [name for name in self.fields if name in self.errors]
        else:
            values = self.data if self.is_bound else self.initial
            names = [name for name in ("name", "phone", "email", "birthday")
                     if not values.get(name)]
        if names:
            self.fields[names[0]].widget.attrs["data-autofocus"] = ""
