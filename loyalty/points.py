"""How many points an amount earns under a version of the rules: a pure function, shared by the
engine, the rules editor's live example and the portal's "How it works" page."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

# The most points one purchase may earn (a cap or a step may not exceed it either), and the most
# a card may hold: both well inside the database's integer columns, so that no rule and no
# amount can make a write fail half-way instead of being refused with a clear message.
MAX_POINTS_PER_PURCHASE = 100_000_000
MAX_BALANCE = 2_000_000_000
# What the rules editor and program_rules_update accept: points per currency unit, the sign-up
# bonus and the point value up to a million; a pending period up to a year; a stamp card of 2 to
# 50 stamps (the database's rules_stamp_card_size), with a reward named in at most 100 characters.
MAX_RULE_NUMBER = 1_000_000
MAX_PENDING_DAYS = 365
STAMPS_PER_CARD_MIN = 2
STAMPS_PER_CARD_MAX = 50
STAMP_REWARD_MAX_LENGTH = 100


def points_for_amount(*, rules, amount: Decimal) -> int:
    """Whole currency units times the rate (cents rounded down); the highest step reached
    applies, in place of the rate or on top of it; then the cap. Below the minimum: nothing."""
    if amount <= 0 or amount < rules.minimum_amount:
        return 0
    whole_units = int(amount.to_integral_value(rounding=ROUND_FLOOR))
    rate_points = whole_units * rules.points_per_unit
    step_points = None
    for step in sorted(rules.steps or [], key=lambda s: Decimal(str(s["min_amount"]))):
        if amount >= Decimal(str(step["min_amount"])):
            step_points = int(step["points"])
    if step_points is None:
        points = rate_points
    elif rules.steps_replace_rate:
        points = step_points
    else:
        points = rate_points + step_points
    if rules.cap_per_purchase is not None:
        points = min(points, rules.cap_per_purchase)
    return points


def points_as_money(*, rules, points: int) -> Decimal:
    """What ``points`` are worth at the shop's point value, in its currency, to the cent."""
    return (Decimal(points) / Decimal(rules.points_per_currency_value)).quantize(Decimal("0.01"))
