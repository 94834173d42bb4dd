"""Django admin for the operator: programs and tiers editable; states and the log read-only
(levels change through tiers.services only)."""

from django.contrib import admin

from loyalty.admin import ReadOnlyAdmin

from .models import LevelChange, Tier, TierProgram, TierState


@admin.register(TierProgram)
class TierProgramAdmin(admin.ModelAdmin):
    list_display = ["shop", "enabled", "measure", "period", "downgrade", "grace_days"]
    list_filter = ["enabled", "measure", "period"]


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["name", "shop", "threshold", "multiplier", "birthday_points", "colour"]
    list_filter = ["shop"]


@admin.register(TierState)
class TierStateAdmin(ReadOnlyAdmin):
    list_display = ["membership", "shop", "tier", "reached_at", "holds_until", "override_until"]
    list_select_related = ["membership", "shop", "tier"]


@admin.register(LevelChange)
class LevelChangeAdmin(ReadOnlyAdmin):
    list_display = ["membership", "shop", "from_name", "to_name", "reason", "created_at"]
    list_filter = ["reason", "shop"]
    list_select_related = ["membership", "shop"]
