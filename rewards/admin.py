"""Django admin for the operator: the catalogue is editable; vouchers are looked at only."""

from django.contrib import admin

from loyalty.admin import ReadOnlyAdmin

from .models import Reward, RewardSettings, Voucher


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ["name", "shop", "kind", "points_cost", "active", "stock_total",
                    "stock_claimed", "display_order"]
    list_filter = ["kind", "active", "shop"]
    search_fields = ["name", "shop__name"]
    readonly_fields = ["stock_claimed"]


@admin.register(Voucher)
class VoucherAdmin(ReadOnlyAdmin):
    list_display = ["code", "shop", "reward", "membership", "status", "points_spent",
                    "created_at", "expires_at", "used_at"]
    list_filter = ["status", "shop"]
    search_fields = ["code", "membership__card_number", "membership__name"]
    list_select_related = ["shop", "reward", "membership"]


@admin.register(RewardSettings)
class RewardSettingsAdmin(admin.ModelAdmin):
    list_display = ["shop", "expired_vouchers_return_points", "pay_with_points",
                    "pay_with_points_cap"]
