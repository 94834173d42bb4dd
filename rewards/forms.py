"""Forms of the rewards pages. They parse input; rewards.services decides."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from loyalty.selectors import program_sentence
from loyalty.services import money_display, money_parse
from loyalty.templatetags.trouw import SYMBOLS, money

from .models import LimitPeriod, Reward, RewardKind, RewardSettings
from .selectors import level_names
from .services import reward_value_errors

# Each kind's value has its own input (amount off and gift voucher both store an amount), so
# the form works without JavaScript: every kind's part is on the page, and only the chosen
# kind's part is read. Input name → the reward's field.
KIND_INPUTS = {
    RewardKind.AMOUNT_OFF: {"amount_off_value": "value_amount"},
    RewardKind.PERCENT_OFF: {"percent_off_value": "value_percent"},
    RewardKind.FREE_PRODUCT: {"free_product_name": "product_name"},
    RewardKind.GIFT_VOUCHER: {"gift_voucher_value": "value_amount"},
    RewardKind.PERK: {},
}
KIND_LABELS = {
    RewardKind.AMOUNT_OFF: _("Amount off"),
    RewardKind.PERCENT_OFF: _("Percentage off"),
    RewardKind.FREE_PRODUCT: _("Free product"),
    RewardKind.GIFT_VOUCHER: _("Gift voucher"),
    RewardKind.PERK: _("Custom perk"),
}


def _whole(label, *, invalid, required: bool, required_message=None, **kwargs):
    """An integer input that only parses; rewards.services checks the range, in words."""
    messages = {"invalid": invalid}
    if required_message:
        messages["required"] = required_message
    return forms.IntegerField(
        label=label, required=required, error_messages=messages,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": "1"}), **kwargs)


class RewardForm(forms.ModelForm):
    """The reward as the owner describes it. Parses input; rewards.services decides."""

    kind = forms.ChoiceField(
        label=_("What does the customer get?"), widget=forms.RadioSelect,
        choices=[(kind, KIND_LABELS[kind]) for kind in RewardKind.values],
        error_messages={"required": _("Choose what the customer gets."),
                        "invalid_choice": _("Choose one of the kinds of reward.")})
    amount_off_value = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    percent_off_value = _whole(_("Percentage off"), required=False,
                               invalid=_("Enter the percentage as a whole number, e.g. 10."),
                               help_text=_("From 1 to 100, taken off the purchase."))
    free_product_name = forms.CharField(
        label=_("Which product?"), required=False,
        widget=forms.TextInput(attrs={"maxlength": 100}),
        help_text=_("What the customer gets for free, e.g. “a coffee” or “a croissant”."))
    gift_voucher_value = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    name = forms.CharField(
        label=_("Name"), widget=forms.TextInput(attrs={"maxlength": 100}),
        help_text=_("What your customers see in the list of rewards."),
        error_messages={"required": _("Give the reward a name, e.g. “Free coffee”.")})
    description = forms.CharField(
        label=_("Description (optional)"), required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 1000}),
        help_text=_("Shown to your customers with the reward: conditions, sizes, when."))
    points_cost = _whole(_("Cost in points"), required=True,
                         invalid=_("Enter the cost as a whole number of points, e.g. 500."),
                         required_message=_("Enter how many points the reward costs."))
    image = forms.ImageField(
        label=_("Photo (optional)"), required=False, widget=forms.ClearableFileInput,
        help_text=_("JPEG, PNG, WebP or GIF, at most 2 MB."),
        error_messages={
            "invalid_image": _("Upload a JPEG, PNG, WebP or GIF image."),
            "invalid": _("Upload a JPEG, PNG, WebP or GIF image."),
            "empty": _("That file is empty: choose another image."),
            "missing": _("No file arrived: choose the image again."),
            "contradiction": _("Either choose a new image or remove the current one, not both."),
        })
    active = forms.BooleanField(
        label=_("Customers can claim it"), required=False,
        help_text=_("Switch it off to hide it from your customers without deleting it."))
    available_from = forms.DateTimeField(
        label=_("Available from (optional)"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": _("Enter a date and time, or leave it empty.")})
    available_until = forms.DateTimeField(
        label=_("Available until (optional)"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave both empty to offer it from now on, with no end."),
        error_messages={"invalid": _("Enter a date and time, or leave it empty.")})
    stock_total = _whole(_("How many you have (optional)"), required=False,
                         invalid=_("Enter the stock as a whole number, e.g. 25, or leave it "
                                   "empty."),
                         help_text=_("Leave empty for no limit. A cancelled or expired voucher "
                                     "gives its item back."))
    limit_per_member = _whole(_("Limit per customer (optional)"), required=False,
                              invalid=_("Enter the limit as a whole number, e.g. 1, or leave "
                                        "it empty."),
                              help_text=_("How often one customer may claim it. Leave empty "
                                          "for no limit."))
    limit_period = forms.ChoiceField(
        label=_("The limit counts"),
        choices=[(LimitPeriod.MONTH, _("per month")), (LimitPeriod.EVER, _("in total"))],
        initial=LimitPeriod.EVER,
        error_messages={"required": _("Choose “per month” or “in total”."),
                        "invalid_choice": _("Choose “per month” or “in total”.")})
    voucher_valid_days = _whole(
        _("Days the voucher stays valid"), required=True,
        invalid=_("Enter the days as a whole number, e.g. 30."),
        required_message=_("Enter how many days the customer has to use the voucher."),
        help_text=_("From the moment the customer claims it."))
    min_tier_level = forms.TypedChoiceField(
        label=_("Who can claim it"), required=False, coerce=int, empty_value=None,
        help_text=_("Members below the level see the reward and from which level it is."),
        error_messages={"invalid_choice": _("Choose one of your levels, or everyone.")})

    class Meta:
        model = Reward
        # min_tier_level only when the shop has levels (settings.TROUW_LEVEL_NAMES): without
        # them the input is left out, and saving the form leaves the field as it is.
        fields = ["kind", "name", "description", "points_cost", "image", "active",
                  "available_from", "available_until", "stock_total", "limit_per_member",
                  "limit_period", "voucher_valid_days", "min_tier_level"]

    def __init__(self, *args, shop, rules=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop = shop
        symbol = SYMBOLS.get(shop.currency, shop.currency)
        self.fields["amount_off_value"].label = _("Amount off (%(currency)s)") % {
            "currency": symbol}
        self.fields["amount_off_value"].help_text = _(
            "Taken off the purchase at the counter, e.g. %(example)s.") % {
            "example": money(Decimal("5.00"), shop.currency)}
        self.fields["gift_voucher_value"].label = _("Value of the voucher (%(currency)s)") % {
            "currency": symbol}
        self.fields["gift_voucher_value"].help_text = _(
            "What the customer can spend with it, e.g. %(example)s.") % {
            "example": money(Decimal("10.00"), shop.currency)}
        for name in ("amount_off_value", "gift_voucher_value"):
            self.fields[name].widget.attrs["placeholder"] = money_display(Decimal("5.00"))
        if rules is not None:
            if rules.is_stamp_card:
                self.fields["points_cost"].label = _("Cost in stamps")
            self.fields["points_cost"].help_text = _("Your program: %(sentence)s") % {
                "sentence": program_sentence(rules=rules, currency=shop.currency)}
        self._min_level_choices()
        if self.instance.pk is None:
            # A new reward starts from the model's defaults (ModelForm leaves them out).
            for name in ("active", "limit_period", "voucher_valid_days"):
                self.initial.setdefault(name, Reward._meta.get_field(name).default)
        else:
            for kind, inputs in KIND_INPUTS.items():
                if kind == self.instance.kind:
                    for input_name, field in inputs.items():
                        value = getattr(self.instance, field)
                        if field == "value_amount" and value is not None:
                            value = money_display(value)
                        self.initial[input_name] = value

    def _min_level_choices(self) -> None:
        """"Everyone", "Brons and up", … by the shop's level names; no input without levels."""
        names = level_names(shop=self.shop)
        if not names:
            del self.fields["min_tier_level"]
            return
        choices = [("", _("Everyone"))] + [
            (rank, _("%(level)s and up") % {"level": name})
            for rank, name in sorted(names.items())]
        current = self.instance.min_tier_level
        if current and current not in names:
            # Its level was removed since: kept (and shown) until the owner picks another.
            choices.append((current, _("Level %(rank)s and up (no longer one of your levels)")
                            % {"rank": current}))
        field = self.fields["min_tier_level"]
        field.choices = choices
        if not self.shop.levels_enabled:
            field.help_text = _("Your levels are switched off: while they are, nobody can "
                                "claim a reward kept for a level.")

    def kind_parts(self):
        """Each kind with its own inputs: a fieldset per kind in the template."""
        return [{"kind": kind, "label": KIND_LABELS[kind],
                 "fields": [self[name] for name in KIND_INPUTS[kind]]}
                for kind in RewardKind.values]

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        # The parts of the other kinds are ignored, bad input in them too.
        for other, inputs in KIND_INPUTS.items():
            if other != kind:
                for name in inputs:
                    self.errors.pop(name, None)
                    data.pop(name, None)
        if kind == RewardKind.PERK and not (data.get("description") or "").strip() and (
                "description" not in self.errors):
            self.add_error("description", _("Say what the customer gets with this perk."))
        if kind in KIND_INPUTS and self.errors:
            # The service will not be asked: say now what the kind's value lacks as well.
            self._kind_value_check(kind, data)
        return data

    def _kind_value_check(self, kind: str, data: dict) -> None:
        values = {}
        for name, field in KIND_INPUTS[kind].items():
            if name in self.errors:
                return
            values[field] = data.get(name)
        if "value_amount" in values:
            values["value_amount"] = (values["value_amount"] or "").strip() or None
        if values.get("value_amount") is not None:
            try:
                values["value_amount"] = money_parse(values["value_amount"],
                                                     field="value_amount")
            except ValidationError as exc:
                self.add_service_errors(exc)
                return
        errors = reward_value_errors(kind=kind, **values)
        if errors:
            self.add_service_errors(ValidationError(errors))

    def reward_values(self) -> dict:
        """What to hand to rewards.services: the chosen kind's value, the others emptied."""
        data = self.cleaned_data
        values = {name: data[name] for name in self._meta.fields if name in data}
        values.update(value_amount=None, value_percent=None, product_name="")
        for input_name, field in KIND_INPUTS[data["kind"]].items():
            value = data.get(input_name)
            if field == "value_amount":
                value = (value or "").strip() or None
            values[field] = value
        if "image" not in self.changed_data or values.get("image") is None:
            values.pop("image", None)  # unchanged
        elif values["image"] is False:
            values["image"] = ""  # "Clear" ticked
        return values

    def add_service_errors(self, exc: ValidationError) -> None:
        """A service's errors on the inputs they are about (a value on its kind's input)."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        inputs = {field: name for name, field in KIND_INPUTS.get(
            self.cleaned_data.get("kind"), {}).items()}
        for field, errors in exc.error_dict.items():
            name = inputs.get(field, field)
            self.add_error(name if name in self.fields else None, errors)

    def _post_clean(self):
        # The service validates the reward (the same rules as the API); the form only parses.
        pass


class RewardSettingsForm(forms.ModelForm):
    class Meta:
        model = RewardSettings
        fields = ["expired_vouchers_return_points", "pay_with_points", "pay_with_points_cap",
                  "birthday_reward"]
        help_texts = {
            "expired_vouchers_return_points": _(
                "Either way the reward's stock comes back: the item was never handed out."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this shop's rewards; the service checks it again.
        field = self.fields["birthday_reward"]
        field.queryset = Reward.objects.for_shop(self.instance.shop).order_by(
            "display_order", "pk")
        field.empty_label = _("No voucher, only the birthday points")
        field.error_messages["invalid_choice"] = _("Choose one of your rewards, or none.")


class PayWithPointsForm(forms.Form):
    points = forms.IntegerField(label=_("Points to take off"), min_value=1)


class VoucherCodeForm(forms.Form):
    code = forms.CharField(label=_("Voucher code"), max_length=20)
