"""Fixtures for the charity program: a shop with two charities (the first the default) and a
helper to set the program through the services."""

from __future__ import annotations

from charity import services

VALID_RSIN = "111222333"  # 9+8+7+12+10+8+9+6−3 = 66: a multiple of 11
VALID_90_KONTO = "900050-6"


def charity_add(shop, name, **fields):
    return services.charity_create(shop=shop, name=name, **fields)


def program_set(shop, *, enabled=True, mode="beside", rule_kind="percent", rule_value="2",
                monthly_cap=None, split="default", points_per_unit=None, round_up_max="5.00",
                default_charity_id=None):
    data = services.program_input_clean(
        enabled=enabled, mode=mode, rule_kind=rule_kind, rule_value=rule_value,
        monthly_cap=monthly_cap, split=split, points_per_unit=points_per_unit,
        round_up_max=round_up_max, default_charity_id=default_charity_id)
    return services.program_configure(shop=shop, data=data)
