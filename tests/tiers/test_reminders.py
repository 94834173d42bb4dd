"""The e-mail 30 days before a level's date when the card would go down then: marketing
(consent only), once per card and date, checked again when it is sent."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine

from loyalty.models import OutboxMessage
from loyalty.services import purchase_record
from tests.factories import MembershipFactory
from tiers import emails, services

from .conftest import levels_set

pytestmark = pytest.mark.django_db
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")


def at(*args):
    return dt.datetime(*args, tzinfo=AMS)


@pytest.fixture
def zilver_2026(shop):
    """Cards that reached Zilver in 2026 (it holds through 2027), with and without consent."""
    with time_machine.travel(at(2026, 1, 2, 9), tick=False):
        levels_set(shop, period="year")
    cards = {
        "anna": MembershipFactory(shop=shop, name="Anna", email="anna@example.com",
                                  marketing_consent=True),
        "bram": MembershipFactory(shop=shop, name="Bram", email="bram@example.com",
                                  marketing_consent=False),
        "cor": MembershipFactory(shop=shop, name="Cor", email="cor@example.com",
                                 marketing_consent=True),
    }
    with time_machine.travel(at(2026, 6, 1, 12), tick=False):
        for card in cards.values():
            purchase_record(shop=shop, amount="60.00", membership_id=card.pk)
    with time_machine.travel(at(2027, 11, 1, 12), tick=False):
        purchase_record(shop=shop, amount="50.00", membership_id=cards["cor"].pk)  # keeps it
    shop.refresh_from_db()
    return cards


def test_written_30_days_before_for_who_would_go_down_with_consent(shop, zilver_2026):
    assert services.level_reminders_write(shop=shop, now=at(2027, 12, 1, 0, 30)) == 0
    assert services.level_reminders_write(shop=shop, now=at(2027, 12, 2, 0, 30)) == 1
    message = OutboxMessage.objects.get()
    assert (message.kind, message.to) == ("level_ending", "anna@example.com")
    assert message.key == f"level_ending:{zilver_2026['anna'].pk}:2028-01-01"
    # Again the next day: no second e-mail.
    assert services.level_reminders_write(shop=shop, now=at(2027, 12, 3, 0, 30)) == 0
    assert OutboxMessage.objects.count() == 1

    with time_machine.travel(at(2027, 12, 2, 9), tick=False):
        email = emails.level_ending(message)
    assert email is not None
    said = ("Your level Zilver at Bakkerij Noord ends on 1 January 2028 unless you earn 500 "
            "points more.")
    assert said in email.text and said in email.html
    assert email.subject == "Your level Zilver ends on 1 January"
    assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_nothing_to_send_once_the_level_is_safe(shop, zilver_2026):
    services.level_reminders_write(shop=shop, now=at(2027, 12, 2, 0, 30))
    message = OutboxMessage.objects.get()
    with time_machine.travel(at(2027, 12, 5, 12), tick=False):
        purchase_record(shop=shop, amount="50.00", membership_id=zilver_2026["anna"].pk)
        assert emails.level_ending(message) is None
