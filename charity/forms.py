"""The owner's forms of the charity app. They parse input; charity.services decides."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ProgramMode, RegistrationKind, RuleKind, Split


def _text(label, *, required=False, help_text="", **attrs):
    return forms.CharField(label=label, required=required, help_text=help_text,
                           widget=forms.TextInput(attrs={"autocomplete": "off", **attrs}))


class ProgramForm(forms.Form):
    enabled = forms.BooleanField(label=_("The charity program is on"), required=False)
    mode = forms.ChoiceField(label=_("Donations come"), choices=ProgramMode.choices,
                             widget=forms.RadioSelect)
    rule_kind = forms.ChoiceField(label=_("The shop gives"), choices=RuleKind.choices)
    rule_value = _text(_("How much"), required=True, inputmode="decimal", help_text=_(
        "A percentage (0 to 100), or an amount in your currency, such as 0.05."))
    monthly_cap = _text(_("At most per month (optional)"), inputmode="decimal", help_text=_(
        "What the shop gives in a month stops here; leave empty for no cap."))
    split = forms.ChoiceField(label=_("Until a member picks a charity"), choices=Split.choices)
    # Any value reaches the service, which says what is wrong with it in our own words.
    default_charity = forms.CharField(label=_("Default charity"), required=False,
                                      widget=forms.Select())
    points_per_unit = _text(_("Points for 1 unit donated (optional)"), inputmode="numeric",
                            help_text=_("e.g. 100: members give 100 points and you donate "
                                        "1 euro or krona. Empty: members cannot give points."))
    round_up_max = _text(_("Largest round-up"), required=True, inputmode="decimal",
                         help_text=_("The most a customer may add at the counter."))

    def __init__(self, *args, charities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_charity"].widget.choices = [("", _("None"))] + [
            (str(c.pk), c.name) for c in charities if c.active]


class CharityForm(forms.Form):
    name = _text(_("Name"), required=True, maxlength=100)
    description = forms.CharField(label=_("Short description (optional)"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 2, "maxlength": 300}))
    website = forms.URLField(label=_("Website (optional)"), required=False, assume_scheme="https",
                             error_messages={"invalid": _("Enter a web address, such as "
                                                          "https://example.org.")})
    registration_kind = forms.ChoiceField(label=_("Registration"), required=False,
                                          choices=RegistrationKind.choices)
    registration_number = _text(_("Registration number"), maxlength=20, help_text=_(
        "The RSIN of an ANBI (9 digits) or the 90-konto number (such as 900123-4)."))
    logo = forms.FileField(label=_("Logo (optional)"), required=False)
    active = forms.BooleanField(label=_("Takes donations"), required=False, initial=True)


class StatementPaidForm(forms.Form):
    paid_on = forms.DateField(label=_("Paid on"),
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                              error_messages={"required": _("Enter the date it was paid."),
                                              "invalid": _("Enter the date it was paid.")})
    reference = _text(_("Payment reference"), required=True, maxlength=100)
