"""Django admin, for the installation's operator (superusers), not for shop owners."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import (
    ApiKey,
    LedgerEntry,
    Membership,
    PointLot,
    ProgramRules,
    Purchase,
    PurchaseItem,
    Refund,
    Shop,
    StaffInvitation,
    StaffMember,
    User,
)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal info"), {"fields": ["name"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups",
                                        "user_permissions"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"],
                             "fields": ["email", "name", "password1", "password2"]})]


class StaffMemberInline(admin.TabularInline):
    model = StaffMember
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "currency", "language", "time_zone", "created_at"]
    list_filter = ["currency", "language"]
    search_fields = ["name", "slug", "email"]
    readonly_fields = ["currency", "created_at"]
    inlines = [StaffMemberInline]

    def get_readonly_fields(self, request, obj=None):
        # The currency is chosen once; points and money recorded in it depend on it.
        return ["created_at"] if obj is None else ["currency", "created_at"]


@admin.register(StaffMember)
class StaffMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "shop", "role", "is_active", "created_at"]
    list_filter = ["role", "is_active"]
    search_fields = ["user__email", "user__name", "shop__name", "shop__slug"]
    autocomplete_fields = ["user", "shop"]


@admin.register(StaffInvitation)
class StaffInvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "shop", "status", "created_at", "sent_at", "expires_at"]
    list_filter = ["status"]
    search_fields = ["email", "shop__name"]
    readonly_fields = ["shop", "email", "invited_by", "status", "created_at", "sent_at",
                       "expires_at", "accepted_at", "accepted_by"]

    def has_add_permission(self, request):
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["name", "card_number", "shop", "email", "phone", "points_balance",
                    "source", "joined_at"]
    list_filter = ["source", "marketing_consent", "shop"]
    search_fields = ["name", "email", "phone", "card_number", "shop__name"]
    list_select_related = ["shop"]
    autocomplete_fields = ["user"]
    # The balance is money-like: it changes only through the points ledger, never by hand.
    readonly_fields = ["shop", "card_number", "points_balance", "source", "joined_at",
                       "marketing_consent_at"]

    def has_add_permission(self, request):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money and ledger rows are looked at here, never written: they change only through the
    services, which keep the ledger, the lots and the balances in step."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProgramRules)
class ProgramRulesAdmin(ReadOnlyAdmin):
    list_display = ["shop", "version", "points_per_unit", "minimum_amount", "cap_per_purchase",
                    "signup_bonus", "pending_days", "created_at"]
    list_filter = ["shop"]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ["name", "shop", "prefix", "scope", "created_at", "revoked_at"]
    list_filter = ["scope", "shop"]
    search_fields = ["name", "prefix", "shop__name"]
    exclude = ["key_hash"]


class PurchaseItemInline(admin.TabularInline):
    model = PurchaseItem
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = ["pk", "shop", "membership", "amount", "currency", "points_earned",
                    "refunded_amount", "reference", "created_at"]
    list_filter = ["shop", "currency"]
    search_fields = ["reference", "membership__card_number", "membership__name"]
    list_select_related = ["shop", "membership"]
    date_hierarchy = "created_at"
    inlines = [PurchaseItemInline]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["pk", "purchase", "amount", "points_reversed", "points_shortfall", "reason",
                    "created_at"]
    search_fields = ["purchase__reference", "reason"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["pk", "shop", "membership", "points", "kind", "reference", "actor",
                    "created_at"]
    list_filter = ["kind", "shop"]
    search_fields = ["membership__card_number", "membership__name", "reference", "note"]
    list_select_related = ["shop", "membership", "actor_user", "actor_api_key"]
    date_hierarchy = "created_at"


@admin.register(PointLot)
class PointLotAdmin(ReadOnlyAdmin):
    list_display = ["pk", "membership", "points", "remaining", "available_at", "expires_at"]
    search_fields = ["membership__card_number"]
    list_select_related = ["membership"]
