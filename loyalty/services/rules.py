"""A shop's program rules (points per euro, steps, stamp cards): drafts for the live preview and
new versions. Rules are versioned: a purchase keeps the version it earned under."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..models import (
    BirthdayWindow,
    BonusCombine,
    ExpiryPolicy,
    ProgramKind,
    ProgramRules,
    Shop,
    User,
)
from ..points import (
    MAX_EVENT_MULTIPLIER,
    MAX_EVENTS,
    MAX_PENDING_DAYS,
    MAX_POINTS_PER_PURCHASE,
    MAX_RULE_NUMBER,
    STAMP_REWARD_MAX_LENGTH,
    STAMPS_PER_CARD_MAX,
    STAMPS_PER_CARD_MIN,
)
from ..selectors import api_keys_forget
from .common import money_display, money_parse, points_display


def program_rules_current(*, shop: Shop) -> ProgramRules:
    """The shop's rules in force; a shop without any gets version 1 with the defaults.

    Read from ``shop.current_rules``: loaded with the shop (an API key or a staff role selects
    it in the same query), so the hot path does not ask for it again."""
    if shop.current_rules_id is not None:
        return shop.current_rules
    with transaction.atomic():
        # Lock the shop so that two first purchases cannot both create version 1.
        locked = (Shop.objects.select_for_update(of=("self",)).select_related("current_rules")
                  .get(pk=shop.pk))
        rules = locked.current_rules
        if rules is None:
            rules = ProgramRules.objects.create(shop=shop, version=1)
            Shop.objects.filter(pk=shop.pk).update(current_rules=rules)
            api_keys_forget()
    shop.current_rules = rules
    return rules


def _steps_clean(steps) -> list[dict]:
    cleaned = []
    for index, step in enumerate(steps or [], start=1):
        try:
            min_amount = money_parse(step.get("min_amount"), field="steps")
            points = int(step.get("points"))
        except (ValidationError, TypeError, ValueError, AttributeError):
            raise ValidationError({"steps": [_(
                "Step %(n)s: enter an amount above zero and a whole number of points."
            ) % {"n": index}]}) from None
        if points <= 0:
            raise ValidationError({"steps": [_("Step %(n)s: points must be more than zero.") % {
                "n": index}]})
        if points > MAX_POINTS_PER_PURCHASE:
            raise ValidationError({"steps": [_("Step %(n)s: at most %(max)s points.") % {
                "n": index, "max": points_display(MAX_POINTS_PER_PURCHASE)}]})
        cleaned.append({"min_amount": str(min_amount), "points": points})
    amounts = [step["min_amount"] for step in cleaned]
    if len(set(amounts)) != len(amounts):
        raise ValidationError({"steps": [_("Two steps start at the same amount.")]})
    cleaned.sort(key=lambda s: Decimal(s["min_amount"]))
    # A bigger purchase must never earn less: each step gives more than the one below it.
    for lower, higher in zip(cleaned, cleaned[1:], strict=False):
        if higher["points"] <= lower["points"]:
            raise ValidationError({"steps": [_(
                "A higher step must give more points: from %(amount)s it gives %(points)s, "
                "no more than the step below."
            ) % {"amount": money_display(Decimal(higher["min_amount"])),
                 "points": higher["points"]}]})
    return cleaned


RULE_FIELDS = ("program", "stamps_per_card", "stamp_reward", "points_per_unit", "steps",
               "steps_replace_rate", "minimum_amount", "cap_per_purchase",
               "points_per_currency_value", "signup_bonus", "pending_days",
               "birthday_points", "birthday_window", "birthday_days_before",
               "expiry_policy", "expiry_months", "bonus_events", "bonus_combine")
BIRTHDAY_DAYS_BEFORE_MAX = 31
EXPIRY_MONTHS_MAX = 120


def _rule_names_check(fields: dict) -> None:
    unknown = set(fields) - {*RULE_FIELDS, "stamp_minimum"}
    if unknown:
        raise ValidationError(_("Unknown rule settings: %(fields)s") % {
            "fields": ", ".join(sorted(unknown))})


def _program_rules_values(*, current: ProgramRules, fields: dict) -> dict:
    """``fields`` over the rules in force, checked and in the stored shape; refuses bad input.

    A stamp card is stored as a one-step table (``stamp_minimum`` → one stamp, no rate, the step
    replacing the rate), so the engine counts stamps as points; a points program has no card."""
    _rule_names_check(fields)
    values = {name: getattr(current, name) for name in RULE_FIELDS}
    values.update({name: value for name, value in fields.items() if name != "stamp_minimum"})
    if values["program"] not in ProgramKind.values:
        raise ValidationError({"program": [_("Choose points or a stamp card.")]})
    stamps = values["program"] == ProgramKind.STAMPS
    if stamps:
        if fields.get("points_per_unit"):
            raise ValidationError({"points_per_unit": [_(
                "A stamp card gives one stamp per purchase, not points for every amount: "
                "choose a points program for that.")]})
        if "stamp_minimum" in fields:
            values["steps"] = [{"min_amount": fields["stamp_minimum"], "points": 1}]
        elif not current.is_stamp_card and "steps" not in fields:
            raise ValidationError({"stamp_minimum": [_(
                "Enter the smallest purchase that earns a stamp.")]})
        values.update(points_per_unit=0, steps_replace_rate=True, cap_per_purchase=None,
                      minimum_amount=Decimal("0.00"))
    else:
        values.update(stamps_per_card=None, stamp_reward="")
    values["steps"] = _steps_clean(values["steps"])
    values["minimum_amount"] = money_parse(values["minimum_amount"], field="minimum_amount",
                                           allow_zero=True)
    errors = {}
    for name in ("points_per_unit", "points_per_currency_value", "signup_bonus", "pending_days"):
        value = values[name]
        if not isinstance(value, int) or value < 0 or value > MAX_RULE_NUMBER:
            errors[name] = [_("Enter a whole number from 0 to %(max)s.") % {
                "max": points_display(MAX_RULE_NUMBER)}]
    if values["points_per_currency_value"] == 0:
        errors["points_per_currency_value"] = [_("Enter a number above zero.")]
    if values["pending_days"] is not None and isinstance(values["pending_days"], int) and (
        values["pending_days"] > MAX_PENDING_DAYS
    ):
        errors["pending_days"] = [_("At most %(days)s days.") % {"days": MAX_PENDING_DAYS}]
    cap = values["cap_per_purchase"]
    if cap is not None and (not isinstance(cap, int) or cap <= 0):
        errors["cap_per_purchase"] = [_("Enter a number above zero, or leave it empty.")]
    elif cap is not None and cap > MAX_POINTS_PER_PURCHASE:
        errors["cap_per_purchase"] = [_("At most %(max)s points.") % {
            "max": points_display(MAX_POINTS_PER_PURCHASE)}]
    if stamps:
        errors.update(_stamp_card_errors(values))
    errors.update(_birthday_errors(values))
    errors.update(_expiry_errors(values))
    if values["bonus_combine"] not in BonusCombine.values:
        errors["bonus_combine"] = [_("Choose how bonuses combine: stack or best of.")]
    try:
        values["bonus_events"] = bonus_events_clean(values["bonus_events"])
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return values


EVENT_NAME_MAX = 60


class _EventProblem(ValueError):
    """What is wrong with one event, in words ("the last day is before the first.")."""


def bonus_event_clean(event) -> dict:
    """One bonus-point event in the stored shape; a ValidationError saying what to fix (the
    owner's form for one event)."""
    try:
        return _event_clean(event)
    except _EventProblem as problem:
        text = str(problem)
        raise ValidationError(text[:1].upper() + text[1:]) from None


def _event_clean(event) -> dict:
    def refuse(message):
        return _EventProblem(message)

    if not isinstance(event, dict):
        raise refuse(_("it is not valid."))
    name = str(event.get("name") or "").strip()
    if not name or len(name) > EVENT_NAME_MAX:
        raise refuse(_("give it a name of at most %(max)s characters.") % {
            "max": EVENT_NAME_MAX})
    kind = event.get("kind")
    if kind == "multiplier":
        try:
            value = Decimal(str(event.get("value")))
            if not value.is_finite() or value.as_tuple().exponent < -2:
                raise ValueError
        except (ArithmeticError, ValueError):
            raise refuse(_("enter a multiplier such as 2 or 1.5.")) from None
        if not Decimal(1) < value <= MAX_EVENT_MULTIPLIER:
            raise refuse(_("the multiplier must be above 1 and at most %(max)s.") % {
                "max": MAX_EVENT_MULTIPLIER})
        value = str(value.normalize()) if value == value.to_integral() else str(value)
    elif kind == "extra":
        value = event.get("value")
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool) or not (
                0 < value <= MAX_RULE_NUMBER):
            raise refuse(_("enter the extra points as a whole number from 1 to %(max)s.") % {
                "max": points_display(MAX_RULE_NUMBER)})
    else:
        raise refuse(_("choose a multiplier or extra points."))
    days = {}
    for key in ("starts_on", "ends_on"):
        raw = event.get(key) or None
        if raw is not None:
            try:
                days[key] = dt.date.fromisoformat(str(raw))
            except ValueError:
                raise refuse(_("enter dates as YYYY-MM-DD.")) from None
    if len(days) == 2 and days["ends_on"] < days["starts_on"]:
        raise refuse(_("the last day is before the first."))
    weekdays = event.get("weekdays") or []
    if not isinstance(weekdays, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in weekdays):
        raise refuse(_("choose weekdays from Monday to Sunday."))
    hours = {}
    for key in ("from_hour", "to_hour"):
        raw = event.get(key)
        if raw in (None, ""):
            continue
        if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw <= 24:
            raise refuse(_("enter hours from 0 to 24."))
        hours[key] = raw
    if len(hours) == 2 and hours["to_hour"] <= hours["from_hour"]:
        raise refuse(_("the hours must end after they start."))
    categories = event.get("categories") or []
    if not isinstance(categories, list) or not all(
            isinstance(c, str) and 0 < len(c.strip()) <= 100 for c in categories):
        raise refuse(_("product categories are names of at most 100 characters."))
    cleaned = {"name": name, "kind": kind, "value": value}
    cleaned.update({key: day.isoformat() for key, day in days.items()})
    if weekdays:
        cleaned["weekdays"] = sorted(set(weekdays))
    cleaned.update(hours)
    if categories:
        cleaned["categories"] = [c.strip() for c in categories]
    return cleaned


def bonus_events_clean(events) -> list[dict]:
    """The rules' bonus-point events checked and in the stored shape (see
    ``ProgramRules.bonus_events``); a ValidationError on ``bonus_events`` names the event."""
    if not isinstance(events, list | tuple):
        raise ValidationError({"bonus_events": [_("The events are not valid.")]})
    if len(events) > MAX_EVENTS:
        raise ValidationError({"bonus_events": [_("At most %(max)s events at once.") % {
            "max": MAX_EVENTS}]})
    cleaned = []
    for n, event in enumerate(events, start=1):
        try:
            cleaned.append(_event_clean(event))
        except _EventProblem as problem:
            raise ValidationError({"bonus_events": [_("Event %(n)s: %(problem)s") % {
                "n": n, "problem": str(problem)}]}) from None
    names = [event["name"].casefold() for event in cleaned]
    if len(set(names)) != len(names):
        raise ValidationError({"bonus_events": [_("Two events have the same name.")]})
    return cleaned


def _birthday_errors(values: dict) -> dict:
    """The birthday gift: points (0: none from the program), and when it arrives."""
    errors = {}
    points = values["birthday_points"]
    if not isinstance(points, int) or points < 0 or points > MAX_POINTS_PER_PURCHASE:
        errors["birthday_points"] = [_("Enter a whole number from 0 to %(max)s.") % {
            "max": points_display(MAX_POINTS_PER_PURCHASE)}]
    if values["birthday_window"] not in BirthdayWindow.values:
        errors["birthday_window"] = [_("Choose when the birthday gift arrives.")]
    days = values["birthday_days_before"]
    if values["birthday_window"] == BirthdayWindow.DAYS_BEFORE:
        if not isinstance(days, int) or not 1 <= days <= BIRTHDAY_DAYS_BEFORE_MAX:
            errors["birthday_days_before"] = [_("Enter 1 to %(max)s days.") % {
                "max": BIRTHDAY_DAYS_BEFORE_MAX}]
    else:
        values["birthday_days_before"] = 0
    return errors


def _expiry_errors(values: dict) -> dict:
    """When points expire: never, or after a number of months (from earning, or without a
    purchase)."""
    errors = {}
    if values["expiry_policy"] not in ExpiryPolicy.values:
        errors["expiry_policy"] = [_("Choose when points expire.")]
    elif values["expiry_policy"] == ExpiryPolicy.NEVER:
        values["expiry_months"] = None
    else:
        months = values["expiry_months"]
        if not isinstance(months, int) or not 1 <= months <= EXPIRY_MONTHS_MAX:
            errors["expiry_months"] = [_("Enter 1 to %(max)s months.") % {
                "max": EXPIRY_MONTHS_MAX}]
    return errors


def _stamp_card_errors(values: dict) -> dict:
    errors = {}
    if len(values["steps"]) != 1 or values["steps"][0]["points"] != 1:
        errors["steps"] = [_("A stamp card has one stamp per purchase: give only the smallest "
                             "purchase that earns it.")]
    size = values["stamps_per_card"]
    if not isinstance(size, int) or not STAMPS_PER_CARD_MIN <= size <= STAMPS_PER_CARD_MAX:
        errors["stamps_per_card"] = [_("A full card has %(min)s to %(max)s stamps.") % {
            "min": STAMPS_PER_CARD_MIN, "max": STAMPS_PER_CARD_MAX}]
    elif isinstance(values["signup_bonus"], int) and values["signup_bonus"] >= size:
        errors["signup_bonus"] = [_("A new card can start with at most %(max)s stamps, one "
                                    "less than a full card.") % {"max": size - 1}]
    reward = str(values["stamp_reward"] or "").strip()
    if not reward:
        errors["stamp_reward"] = [_("Say what a full card gives, such as “a free coffee”.")]
    elif len(reward) > STAMP_REWARD_MAX_LENGTH:
        errors["stamp_reward"] = [_("Keep it to %(max)s characters or fewer.") % {
            "max": STAMP_REWARD_MAX_LENGTH}]
    values["stamp_reward"] = reward
    return errors


def program_rules_draft(*, shop: Shop, **fields) -> ProgramRules:
    """The rules that ``fields`` would make, checked like program_rules_update but not saved:
    the rules editor's preview shows exactly what saving would store."""
    current = shop.current_rules or ProgramRules(shop=shop, version=0)  # as in force
    values = _program_rules_values(current=current, fields=fields)
    return ProgramRules(shop=shop, version=current.version, **values)


def program_rules_update(*, shop: Shop, by: User | None, **fields) -> ProgramRules:
    """Save new rules as the next version. Points already earned keep the version they used.

    ``program="stamps"`` with ``stamp_minimum``, ``stamps_per_card`` and ``stamp_reward`` makes a
    stamp card; ``program="points"`` a points program (rate, steps, cap, minimum)."""
    _rule_names_check(fields)
    shop.refresh_from_db(fields=["current_rules"])  # compare with what is in force now
    current = program_rules_current(shop=shop)
    values = _program_rules_values(current=current, fields=fields)
    if all(getattr(current, name) == values[name] for name in RULE_FIELDS) and current.pk:
        return current
    with transaction.atomic():
        # Lock the shop row so two editors cannot both create version n+1.
        Shop.objects.select_for_update().filter(pk=shop.pk).first()
        latest = ProgramRules.objects.filter(shop=shop).order_by("-version").first()
        rules = ProgramRules.objects.create(
            shop=shop, version=(latest.version + 1) if latest else 1, created_by=by, **values
        )
        # The birthday job's mark goes with the old rules (another window, other days due).
        Shop.objects.filter(pk=shop.pk).update(current_rules=rules, birthdays_given_through=None)
        api_keys_forget()  # a key's row holds the rules in force
    shop.current_rules = rules
    return rules
