"""The operator's view of the charity app: read-only where the rows are a ledger."""

from django.contrib import admin

from .models import Charity, CharityChoice, CharityProgram, Donation, Statement


@admin.register(Charity)
class CharityAdmin(admin.ModelAdmin):
    list_display = ("name", "shop", "registration_kind", "registration_number", "active",
                    "is_default")
    list_filter = ("active", "registration_kind")
    search_fields = ("name", "shop__name")


@admin.register(CharityProgram)
class CharityProgramAdmin(admin.ModelAdmin):
    list_display = ("shop", "enabled", "mode", "rule_kind", "rule_value", "monthly_cap")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CharityChoice)
class CharityChoiceAdmin(ReadOnlyAdmin):
    list_display = ("membership", "charity", "source", "chosen_at")


@admin.register(Donation)
class DonationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "shop", "charity", "kind", "funded_by", "amount", "currency",
                    "month")
    list_filter = ("kind", "funded_by")


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = ("month", "shop", "charity", "donations_count", "shop_funded",
                    "customer_funded", "closed_at", "paid_on")
