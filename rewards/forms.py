"""Forms of the rewards pages. They parse input; rewards.services decides."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Reward, RewardSettings


class RewardForm(forms.ModelForm):
    class Meta:
        model = Reward
        fields = ["kind", "name", "description", "points_cost", "value_amount", "value_percent",
                  "product_name", "image", "active", "available_from", "available_until",
                  "stock_total", "limit_per_member", "limit_period", "voucher_valid_days",
                  "min_tier_level"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "available_from": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "available_until": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }
        help_texts = {
            # Stored now so the catalogue is ready; nothing checks it until tiers exist.
            "min_tier_level": _("Not used yet: it applies once tiers are enabled. Then members "
                                "below this tier level cannot claim the reward."),
        }

    def _post_clean(self):
        # The service validates the reward (the same rules as the API); the form only parses.
        pass


class RewardSettingsForm(forms.ModelForm):
    class Meta:
        model = RewardSettings
        fields = ["expired_vouchers_return_points", "pay_with_points", "pay_with_points_cap"]
        help_texts = {
            "expired_vouchers_return_points": _(
                "Either way the reward's stock comes back: the item was never handed out."),
        }


class PayWithPointsForm(forms.Form):
    points = forms.IntegerField(label=_("Points to take off"), min_value=1)


class VoucherCodeForm(forms.Form):
    code = forms.CharField(label=_("Voucher code"), max_length=20)
