"""How many points an amount earns under a version of the rules: a pure function, shared by the
engine, the rules editor's live example and the portal's "How it works" page."""

from __future__ import annotations

import datetime as dt
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


# --- Bonuses: the card's level and the bonus-point events ----------------------------------

MAX_EVENTS = 20  # bonus-point events a version of the rules may hold
MAX_EVENT_MULTIPLIER = Decimal("10")
LEVEL = "level"
EVENT = "event"


def bonus_event_applies(event: dict, at_local: dt.datetime) -> bool:
    """Whether ``event`` (an item of ``rules.bonus_events``) is on at ``at_local``, the time on
    the shop's clock: within its dates (both included), on one of its weekdays (0 is Monday;
    none: every day) and within its hours (from included, to excluded; none: all day)."""
    day = at_local.date()
    if event.get("starts_on") and day < dt.date.fromisoformat(event["starts_on"]):
        return False
    if event.get("ends_on") and day > dt.date.fromisoformat(event["ends_on"]):
        return False
    if event.get("weekdays") and day.weekday() not in event["weekdays"]:
        return False
    from_hour, to_hour = event.get("from_hour"), event.get("to_hour")
    if from_hour is not None and at_local.hour < from_hour:
        return False
    return not (to_hour is not None and at_local.hour >= to_hour)


def _event_share(event: dict, amount: Decimal, category_amounts: dict[str, Decimal]) -> Decimal:
    """The part of the purchase an event counts on: all of it, or (an event for some product
    categories) the share of the lines in those categories."""
    categories = event.get("categories") or []
    if not categories:
        return Decimal(1)
    wanted = {c.casefold() for c in categories}
    in_them = sum((value for name, value in category_amounts.items()
                   if name.casefold() in wanted), Decimal(0))
    return min(in_them / amount, Decimal(1)) if amount > 0 else Decimal(0)


def points_for_purchase(*, rules, amount: Decimal, at_local: dt.datetime | None = None,
                        level_name: str = "", level_multiplier: Decimal = Decimal(1),
                        category_amounts: dict[str, Decimal] | None = None) -> tuple[int, dict]:
    """The points a purchase earns and how: the rules' points for the amount (the base), then
    the bonuses, each counted on the base — the card's level multiplier (×1.25: a quarter of
    the base more) and the bonus-point events on at ``at_local`` (a multiplier on the base, or
    on the share of it from the event's categories; or fixed extra points). The rules'
    ``bonus_combine`` says whether they all add up ("stack") or only the biggest counts
    ("best"). Returns (points, detail): detail is {} when only the base applies, else
    {"base": …, "parts": [{"source": "level" | "event", "name": …, "points": …}]}, each part
    of a multiplier with its factor as it was then (``"multiplier": "1.25"``)."""
    base = points_for_amount(rules=rules, amount=amount)
    if base <= 0:  # a purchase that earns nothing (below the minimum) earns no bonus either
        return base, {}
    parts = []
    if level_multiplier > 1:
        extra = int((base * (level_multiplier - 1)).to_integral_value(rounding=ROUND_FLOOR))
        if extra > 0:
            parts.append({"source": LEVEL, "name": level_name, "points": extra,
                          "multiplier": str(level_multiplier)})
    if rules.bonus_events and at_local is not None:
        for event in rules.bonus_events:
            if not bonus_event_applies(event, at_local):
                continue
            share = _event_share(event, amount, category_amounts or {})
            if share <= 0:
                continue
            part = {"source": EVENT, "name": event["name"]}
            if event["kind"] == "multiplier":
                part["multiplier"] = str(event["value"])
                extra = int((base * share * (Decimal(part["multiplier"]) - 1))
                            .to_integral_value(rounding=ROUND_FLOOR))
            else:
                extra = int(event["value"])
            if extra > 0:
                parts.append({**part, "points": extra})
    if not parts:
        return base, {}
    if rules.bonus_combine == "best":
        parts = [max(parts, key=lambda part: part["points"])]
    return base + sum(part["points"] for part in parts), {"base": base, "parts": parts}
