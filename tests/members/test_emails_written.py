"""Enrolment writes the welcome e-mail (transactional, once per card) and records a given
marketing consent as a ConsentChange."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from loyalty.models import ConsentChange, ConsentSource, MembershipSource, OutboxMessage
from members.services import member_enrol

pytestmark = pytest.mark.django_db


def test_a_member_with_an_email_gets_a_welcome_in_their_language(shop):
    membership = member_enrol(shop=shop, name="Ann", email="Ann@Example.com", language="sv")
    message = OutboxMessage.objects.get()
    assert (message.kind, message.key, message.to, message.language, message.membership_id) == (
        "welcome", f"welcome:{membership.pk}", "ann@example.com", "sv", membership.pk)


def test_a_member_with_only_a_phone_number_gets_none(shop):
    member_enrol(shop=shop, name="Bo", phone="0612345678")
    assert not OutboxMessage.objects.exists()


def test_the_welcome_is_transactional_it_needs_no_consent(shop):
    member_enrol(shop=shop, name="Ann", email="ann@example.com", marketing_consent=False)
    assert OutboxMessage.objects.filter(kind="welcome").count() == 1


def test_a_refused_enrolment_writes_nothing(shop):
    member_enrol(shop=shop, name="Ann", email="ann@example.com")
    with pytest.raises(ValidationError):
        member_enrol(shop=shop, name="Ann again", email="ann@example.com")
    assert OutboxMessage.objects.count() == 1


@pytest.mark.parametrize(("source", "consent_source"), [
    (MembershipSource.PUBLIC_PAGE, ConsentSource.ENROLMENT),
    (MembershipSource.COUNTER, ConsentSource.COUNTER),
])
def test_consent_on_joining_is_recorded_with_its_time(shop, source, consent_source):
    membership = member_enrol(shop=shop, name="Ann", email="ann@example.com",
                              marketing_consent=True, source=source)
    membership.refresh_from_db()
    assert membership.marketing_consent is True and membership.marketing_consent_at is not None
    change = ConsentChange.objects.get(membership=membership)
    assert (change.marketing, change.source) == (True, consent_source)


def test_no_consent_on_joining_records_no_change(shop):
    membership = member_enrol(shop=shop, name="Ann", email="ann@example.com")
    membership.refresh_from_db()
    assert membership.marketing_consent is False
    assert not ConsentChange.objects.exists()
