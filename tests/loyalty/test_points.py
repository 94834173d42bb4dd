"""loyalty.points: how many points an amount earns under a version of the rules, and what points
are worth. Pure functions: the rules are unsaved ProgramRules objects, no database."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from loyalty.models import ProgramRules
from loyalty.points import points_as_money, points_for_amount


def _rules(**fields) -> ProgramRules:
    values = {"version": 1, "points_per_unit": 10, "steps": [], "steps_replace_rate": True,
              "minimum_amount": Decimal("0"), "cap_per_purchase": None,
              "points_per_currency_value": 100}
    values.update(fields)
    return ProgramRules(**values)


def _points(rules: ProgramRules, amount: str | Decimal) -> int:
    return points_for_amount(rules=rules, amount=Decimal(amount))


STEPS = [{"min_amount": "20.00", "points": 1000}, {"min_amount": "30.00", "points": 2000}]


# --- The rate ------------------------------------------------------------------------------------


class TestRate:
    @pytest.mark.parametrize(("amount", "points"), [
        ("27.50", 270), ("27.99", 270), ("27.00", 270), ("1.00", 10), ("0.99", 0), ("0.01", 0),
        ("100000.00", 1_000_000),
    ])
    def test_whole_units_times_the_rate_cents_rounded_down(self, amount, points):
        assert _points(_rules(points_per_unit=10), amount) == points

    def test_another_rate(self):
        assert _points(_rules(points_per_unit=3), "27.50") == 81

    def test_a_rate_of_zero_earns_nothing(self):
        assert _points(_rules(points_per_unit=0), "27.50") == 0

    @pytest.mark.parametrize("amount", ["0", "0.00", "-5.00", "-0.01"])
    def test_nothing_for_zero_or_negative_amounts(self, amount):
        assert _points(_rules(), amount) == 0


class TestMinimumAmount:
    @pytest.mark.parametrize(("amount", "points"), [
        ("4.99", 0), ("5.00", 50), ("5.01", 50), ("12.00", 120),
    ])
    def test_below_the_minimum_nothing(self, amount, points):
        assert _points(_rules(minimum_amount=Decimal("5.00")), amount) == points

    def test_the_minimum_also_holds_off_the_steps(self):
        rules = _rules(minimum_amount=Decimal("25.00"), steps=STEPS)
        assert _points(rules, "24.99") == 0
        assert _points(rules, "25.00") == 1000


# --- Steps ---------------------------------------------------------------------------------------


class TestStepsReplaceTheRate:
    @pytest.mark.parametrize(("amount", "points"), [
        ("19.99", 190),   # below the first step: the rate
        ("20.00", 1000),  # the first step, in place of the rate (200)
        ("29.99", 1000),
        ("30.00", 2000),  # the highest step reached
        ("500.00", 2000),  # the step replaces the rate for good: not 5000
    ])
    def test_the_highest_step_reached_applies_in_place_of_the_rate(self, amount, points):
        assert _points(_rules(steps=STEPS, steps_replace_rate=True), amount) == points

    def test_steps_in_any_order(self):
        rules = _rules(steps=list(reversed(STEPS)))
        assert _points(rules, "25.00") == 1000
        assert _points(rules, "35.00") == 2000

    def test_steps_written_as_numbers_work_too(self):
        rules = _rules(steps=[{"min_amount": 20, "points": "1000"}])
        assert _points(rules, "20.00") == 1000

    def test_a_step_worth_less_than_the_rate_makes_a_bigger_purchase_earn_less(self):
        """The documented behaviour ("in place of the rate"): with steps replacing the rate,
        points are NOT monotone in the amount when a step gives fewer points than the rate
        would. The rules editor accepts such steps."""
        rules = _rules(points_per_unit=10, steps=[{"min_amount": "20.00", "points": 100}])
        assert _points(rules, "19.99") == 190
        assert _points(rules, "20.00") == 100
        assert _points(rules, "19.99") > _points(rules, "20.00")

    def test_a_later_step_worth_less_than_an_earlier_one_also_lowers_the_points(self):
        rules = _rules(steps=[{"min_amount": "20.00", "points": 1000},
                              {"min_amount": "30.00", "points": 500}])
        assert _points(rules, "29.99") == 1000
        assert _points(rules, "30.00") == 500


class TestStepsOnTopOfTheRate:
    @pytest.mark.parametrize(("amount", "points"), [
        ("19.99", 190), ("20.00", 200 + 1000), ("29.99", 290 + 1000), ("30.00", 300 + 2000),
        ("500.00", 5000 + 2000),
    ])
    def test_the_rate_plus_the_highest_step(self, amount, points):
        assert _points(_rules(steps=STEPS, steps_replace_rate=False), amount) == points


class TestCap:
    def test_the_cap_limits_the_rate(self):
        rules = _rules(cap_per_purchase=250)
        assert _points(rules, "24.00") == 240
        assert _points(rules, "25.00") == 250
        assert _points(rules, "27.50") == 250

    def test_the_cap_applies_after_the_steps(self):
        rules = _rules(steps=STEPS, steps_replace_rate=False, cap_per_purchase=1500)
        assert _points(rules, "19.99") == 190
        assert _points(rules, "20.00") == 1200
        assert _points(rules, "30.00") == 1500
        assert _points(rules, "500.00") == 1500


# --- Properties ----------------------------------------------------------------------------------

AMOUNTS = st.decimals(min_value=Decimal("-10.00"), max_value=Decimal("100000.00"), places=2,
                      allow_nan=False, allow_infinity=False)
POSITIVE_AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000.00"),
                               places=2, allow_nan=False, allow_infinity=False)
STEP_AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000.00"), places=2,
                           allow_nan=False, allow_infinity=False)


@st.composite
def steps_lists(draw, max_size=4):
    amounts = draw(st.lists(STEP_AMOUNTS, max_size=max_size, unique=True))
    return [{"min_amount": str(amount), "points": draw(st.integers(1, 100_000))}
            for amount in amounts]


@st.composite
def any_rules(draw, *, cap=True, replace=None):
    return _rules(
        points_per_unit=draw(st.integers(0, 1000)),
        minimum_amount=draw(st.decimals(min_value=Decimal("0"), max_value=Decimal("200.00"),
                                        places=2, allow_nan=False, allow_infinity=False)),
        steps=draw(steps_lists()),
        steps_replace_rate=draw(st.booleans()) if replace is None else replace,
        cap_per_purchase=draw(st.none() | st.integers(1, 100_000)) if cap else None,
    )


@st.composite
def monotone_replacing_rules(draw):
    """Steps that replace the rate, each worth at least the rate just below it and at least the
    step before: the condition under which points do not drop as the amount grows."""
    rules = draw(any_rules(cap=False, replace=True))
    steps, floor = [], 0
    for step in sorted(rules.steps, key=lambda s: Decimal(s["min_amount"])):
        whole_units = int(Decimal(step["min_amount"]).to_integral_value(rounding=ROUND_FLOOR))
        floor = max(floor, whole_units * rules.points_per_unit)
        floor = draw(st.integers(floor, floor + 10_000))
        steps.append({"min_amount": step["min_amount"], "points": floor})
    rules.steps = steps
    return rules


@given(rules=any_rules(), amount=AMOUNTS)
def test_points_are_never_negative(rules, amount):
    points = points_for_amount(rules=rules, amount=amount)
    assert isinstance(points, int)
    assert points >= 0


@given(rules=any_rules(), amount=AMOUNTS)
def test_points_never_exceed_the_cap(rules, amount):
    points = points_for_amount(rules=rules, amount=amount)
    if rules.cap_per_purchase is not None:
        assert points <= rules.cap_per_purchase


@given(rules=any_rules(), amount=AMOUNTS)
def test_nothing_below_the_minimum_or_at_zero(rules, amount):
    assume(amount <= 0 or amount < rules.minimum_amount)
    assert points_for_amount(rules=rules, amount=amount) == 0


@given(rules=any_rules(replace=False), a=AMOUNTS, b=AMOUNTS)
def test_monotone_when_steps_add_to_the_rate(rules, a, b):
    """Rate plus step, then the cap (the minimum of two non-decreasing functions). The rules
    editor only saves step tables whose points rise with the amount (program_rules_update
    refuses others), so the drawn table is put in that shape."""
    amounts = sorted((s["min_amount"] for s in rules.steps), key=Decimal)
    points = sorted({s["points"] for s in rules.steps})
    assume(len(points) == len(amounts))
    rules.steps = [{"min_amount": m, "points": p} for m, p in zip(amounts, points, strict=True)]
    low, high = sorted([a, b])
    assert points_for_amount(rules=rules, amount=low) <= points_for_amount(rules=rules, amount=high)


@given(rules=monotone_replacing_rules(), a=AMOUNTS, b=AMOUNTS)
def test_monotone_when_replacing_steps_are_worth_at_least_the_rate(rules, a, b):
    low, high = sorted([a, b])
    assert points_for_amount(rules=rules, amount=low) <= points_for_amount(rules=rules, amount=high)


@given(points_per_unit=st.integers(0, 1000), amount=POSITIVE_AMOUNTS,
       cap=st.none() | st.integers(1, 100_000))
def test_without_steps_it_is_floor_times_rate_then_the_cap(points_per_unit, amount, cap):
    rules = _rules(points_per_unit=points_per_unit, cap_per_purchase=cap)
    expected = int(amount // 1) * points_per_unit
    if cap is not None:
        expected = min(expected, cap)
    assert points_for_amount(rules=rules, amount=amount) == expected


@given(rules=any_rules(), amount=POSITIVE_AMOUNTS)
def test_the_same_amount_always_earns_the_same(rules, amount):
    assert points_for_amount(rules=rules, amount=amount) == points_for_amount(
        rules=rules, amount=Decimal(str(amount)))


# --- points_as_money -----------------------------------------------------------------------------


class TestPointsAsMoney:
    @pytest.mark.parametrize(("points", "per_unit", "money"), [
        (270, 100, "2.70"), (0, 100, "0.00"), (1, 100, "0.01"), (100, 100, "1.00"),
        (12345, 100, "123.45"), (1000, 10, "100.00"), (2, 3, "0.67"), (1, 3, "0.33"),
        (1, 1000, "0.00"), (15, 1000, "0.02"), (-250, 100, "-2.50"),
    ])
    def test_to_the_cent(self, points, per_unit, money):
        value = points_as_money(rules=_rules(points_per_currency_value=per_unit), points=points)
        assert value == Decimal(money)
        assert value.as_tuple().exponent == -2

    @given(points=st.integers(0, 10**9), per_unit=st.integers(1, 10**6))
    def test_within_half_a_cent_and_never_negative(self, points, per_unit):
        value = points_as_money(rules=_rules(points_per_currency_value=per_unit), points=points)
        assert value >= 0
        assert value.as_tuple().exponent == -2
        assert abs(value - Decimal(points) / Decimal(per_unit)) <= Decimal("0.005")
