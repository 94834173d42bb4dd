"""The reminders 30 and 7 days before points expire: written once per card and expiry day by the
day's run (from 09:00 in the shop's time zone), only to members with marketing consent and an
address, and never sent for points already gone (the renderer says None)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine

from loyalty import emails, services
from loyalty.models import OutboxMessage
from tests.factories import MembershipFactory

AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=AMS)


def remind(when):
    with time_machine.travel(when, tick=False):
        return services.points_expiring_remind()


@pytest.fixture
def consenting(shop):
    with time_machine.travel(at(2026, 1, 1, 12), tick=False):
        services.program_rules_update(shop=shop, by=None, points_per_unit=10,
                                      expiry_policy="earned", expiry_months=3)
    card = MembershipFactory(shop=shop, email="anna@example.com", language="nl",
                             marketing_consent=True)
    with time_machine.travel(at(2026, 1, 15, 12), tick=False):  # 100 points, gone 15 April
        services.purchase_record(shop=shop, amount="10.00", membership_id=card.pk)
    return card


def keys() -> list[str]:
    return sorted(OutboxMessage.objects.values_list("key", flat=True))


def test_30_and_7_days_before_once_each(shop, consenting):
    remind(at(2026, 3, 15, 8, 59))  # before 09:00: nothing yet
    remind(at(2026, 3, 14, 12))  # 32 days before: nothing yet
    assert keys() == []
    remind(at(2026, 3, 16, 9, 0))  # 30 days before
    remind(at(2026, 3, 16, 15, 0))  # the same day again
    remind(at(2026, 3, 20, 9, 0))  # a later day: still no second reminder of 30
    assert keys() == [f"points_expiring:{consenting.pk}:2026-04-15:30"]
    message = OutboxMessage.objects.get()
    assert (message.kind, message.to, message.language, message.membership_id) == (
        "points_expiring", "anna@example.com", "nl", consenting.pk)
    assert message.context == {"expires_on": "2026-04-15", "points": 100, "before": 30}

    remind(at(2026, 4, 8, 9, 30))  # 7 days before
    remind(at(2026, 4, 9, 9, 30))
    assert keys() == [f"points_expiring:{consenting.pk}:2026-04-15:30",
                      f"points_expiring:{consenting.pk}:2026-04-15:7"]


def test_only_members_with_consent_and_an_address(shop, consenting):
    no_consent = MembershipFactory(shop=shop, email="bo@example.com", marketing_consent=False)
    phone_only = MembershipFactory(shop=shop, email="", phone="+31612345678",
                                   marketing_consent=True)
    with time_machine.travel(at(2026, 1, 15, 12), tick=False):
        for card in (no_consent, phone_only):
            services.purchase_record(shop=shop, amount="10.00", membership_id=card.pk)
    remind(at(2026, 4, 10, 10))
    assert keys() == [f"points_expiring:{consenting.pk}:2026-04-15:7"]


def test_a_batch_spent_before_the_run_gets_no_reminder(shop, consenting):
    with time_machine.travel(at(2026, 3, 1, 12), tick=False):
        services.points_spend(shop=shop, membership_id=consenting.pk, points=100)
    remind(at(2026, 3, 16, 9, 0))
    assert keys() == []


def test_the_e_mail_says_what_expires_when_in_the_members_language(shop, consenting):
    remind(at(2026, 3, 16, 9, 0))
    message = OutboxMessage.objects.get()
    with time_machine.travel(at(2026, 3, 16, 9, 5), tick=False):
        email = emails.points_expiring(message)
    assert email is not None
    # Dutch dates (the texts themselves are translated after merging: locale/).
    assert email.subject.startswith("100 ") and "15 april" in email.subject
    assert "15 april 2026" in email.text and shop.name in email.text
    assert "/portal/bakkerij-noord/" in email.text
    assert "<style" not in email.html and "15 april 2026" in email.html


def test_nothing_is_sent_for_points_gone_by_send_time(shop, consenting):
    remind(at(2026, 3, 16, 9, 0))
    message = OutboxMessage.objects.get()
    with time_machine.travel(at(2026, 3, 20, 12), tick=False):
        services.points_spend(shop=shop, membership_id=consenting.pk, points=60)
        email = emails.points_expiring(message)
    assert email is not None and email.subject.startswith("40 ")  # what is left, not 100
    with time_machine.travel(at(2026, 3, 21, 12), tick=False):
        services.points_spend(shop=shop, membership_id=consenting.pk, points=40)
        assert emails.points_expiring(message) is None
    with time_machine.travel(at(2026, 4, 15, 0, 30), tick=False):
        assert emails.points_expiring(message) is None


def test_nothing_is_sent_once_the_points_expired(shop, consenting):
    remind(at(2026, 4, 10, 9, 0))
    message = OutboxMessage.objects.get()
    with time_machine.travel(at(2026, 4, 15, 1), tick=False):
        services.points_expire()
        assert emails.points_expiring(message) is None


def test_inactivity_reminders_move_with_a_purchase(shop):
    with time_machine.travel(at(2026, 1, 1, 12), tick=False):
        services.program_rules_update(shop=shop, by=None, points_per_unit=10,
                                      expiry_policy="inactive", expiry_months=2)
    card = MembershipFactory(shop=shop, email="cas@example.com", marketing_consent=True)
    with time_machine.travel(at(2026, 1, 10, 12), tick=False):
        services.purchase_record(shop=shop, amount="10.00", membership_id=card.pk)
    remind(at(2026, 3, 3, 9, 0))  # gone 10 March if nothing is bought
    message = OutboxMessage.objects.get()
    assert message.key == f"points_expiring:{card.pk}:2026-03-10:7"
    with time_machine.travel(at(2026, 3, 4, 12), tick=False):
        services.purchase_record(shop=shop, amount="1.00", membership_id=card.pk)
        assert emails.points_expiring(message) is None  # now they last until 4 May


def test_the_kind_is_marketing_and_registered(settings):
    kind = settings.TROUW_EMAIL_KINDS["points_expiring"]
    assert (kind["render"], kind["marketing"]) == ("loyalty.emails.points_expiring", True)
    assert str(kind["label"]) == "Points expiry reminder"


def test_a_message_without_a_date_renders_nothing(shop, consenting):
    message = OutboxMessage.objects.create(shop=shop, membership=consenting, kind="points_expiring",
                                           key="x", to="anna@example.com", language="nl",
                                           context={})
    assert emails.points_expiring(message) is None
