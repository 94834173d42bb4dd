"""Forms of the customer side."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _


class JoinForm(forms.Form):
    """The public page's join form. The birthday is optional and promises nothing unless the
    shop gives a birthday gift (``birthday_gift``, see ``members.selectors.shop_birthday_gift``);
    the privacy statement is linked next to the consent box (``privacy_url``)."""

    name = forms.CharField(label=_("Your name"), max_length=150,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(label=_("E-mail address"), required=False,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(label=_("Phone number"), max_length=32, required=False,
                            widget=forms.TextInput(attrs={"inputmode": "tel",
                                                          "autocomplete": "tel"}))
    birthday = forms.DateField(
        label=_("Birthday (optional)"), required=False,
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"},
                               format="%Y-%m-%d"),
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

    def __init__(self, *args, signed_in: bool, privacy_url: str = "",
                 birthday_gift: str | None = None, stamp_card: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if signed_in:
            del self.fields["email"]
            del self.fields["password"]
        elif stamp_card:
            self.fields["password"].help_text = _(
                "With an e-mail address you get a login to see your stamps. "
                "Joining with a phone number only? No password needed.")
        if birthday_gift:
            self.fields["birthday"].help_text = _(
                "On your birthday you get %(gift)s.") % {"gift": birthday_gift} + " " + _(
                "A birthday within the next %(days)s days counts from next year.") % {
                "days": settings.TROUW_BIRTHDAY_NOTICE_DAYS}
        if privacy_url:
            self.fields["marketing_consent"].help_text = format_html(
                '{} <a href="{}">{}</a>',
                _("You can change your mind at any time."),
                privacy_url, _("Privacy statement: what is stored and why"))


class CounterEnrolForm(forms.Form):
    """Enrolment at the counter: short, for a customer standing there. A phone number (or an
    e-mail address) is enough; the name is optional."""

    name = forms.CharField(label=_("Name (optional)"), max_length=150, required=False)
    phone = forms.CharField(label=_("Phone number"), max_length=32, required=False,
                            widget=forms.TextInput(attrs={"inputmode": "tel"}))
    email = forms.EmailField(label=_("E-mail address"), required=False)
    birthday = forms.DateField(label=_("Birthday (optional)"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
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


class BirthdayForm(forms.Form):
    """The member's birthday on the portal: set, changed or removed (left empty)."""

    birthday = forms.DateField(
        label=_("Your birthday"), required=False,
        # ISO, whatever the language: a date input shows nothing of "17-03-1990".
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
    )
