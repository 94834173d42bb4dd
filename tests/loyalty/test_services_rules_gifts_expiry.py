"""program_rules_update: the birthday gift's points and window, and the expiry policy, are
rules like the others — checked, versioned, and refused with a message on the field."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from loyalty import services
from loyalty.models import BirthdayWindow, ExpiryPolicy
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


def errors_of(excinfo) -> dict:
    return {field: [str(m) for m in messages] for field, messages in
            excinfo.value.message_dict.items()}


def test_a_birthday_gift_and_an_expiry_policy_are_saved_as_a_new_version():
    shop = ShopFactory()
    before = services.program_rules_current(shop=shop)
    rules = services.program_rules_update(
        shop=shop, by=None, birthday_points=250, birthday_window=BirthdayWindow.DAYS_BEFORE,
        birthday_days_before=7, expiry_policy=ExpiryPolicy.AFTER_EARNING, expiry_months=12)
    assert rules.version == before.version + 1
    assert (rules.birthday_points, rules.birthday_window, rules.birthday_days_before) == (
        250, "before", 7)
    assert (rules.expiry_policy, rules.expiry_months) == ("earned", 12)


def test_days_before_count_only_for_that_window_and_months_only_with_expiry():
    shop = ShopFactory()
    rules = services.program_rules_update(
        shop=shop, by=None, birthday_window=BirthdayWindow.WEEK, birthday_days_before=5,
        expiry_policy=ExpiryPolicy.NEVER, expiry_months=6)
    assert rules.birthday_days_before == 0
    assert rules.expiry_months is None


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"birthday_points": -1}, "birthday_points", "Enter a whole number from 0 to"),
    ({"birthday_window": "year"}, "birthday_window", "Choose when the birthday gift arrives."),
    ({"birthday_window": "before", "birthday_days_before": 0}, "birthday_days_before",
     "Enter 1 to 31 days."),
    ({"birthday_window": "before", "birthday_days_before": 32}, "birthday_days_before",
     "Enter 1 to 31 days."),
    ({"expiry_policy": "sometimes"}, "expiry_policy", "Choose when points expire."),
    ({"expiry_policy": "earned", "expiry_months": None}, "expiry_months",
     "Enter 1 to 120 months."),
    ({"expiry_policy": "inactive", "expiry_months": 121}, "expiry_months",
     "Enter 1 to 120 months."),
])
def test_bad_gift_or_expiry_settings_are_refused_and_change_nothing(fields, field, message):
    shop = ShopFactory()
    before = services.program_rules_current(shop=shop)
    with pytest.raises(ValidationError) as excinfo:
        services.program_rules_update(shop=shop, by=None, **fields)
    assert errors_of(excinfo)[field][0].startswith(message)
    assert services.program_rules_current(shop=shop).pk == before.pk
