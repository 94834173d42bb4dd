"""loyalty.moments: the core's moments run the effects named in settings.TROUW_EFFECTS, in
order, with the moment's arguments; an unknown moment is a programming error."""

from __future__ import annotations

import pytest

from loyalty import moments

CALLS: list[tuple[str, dict]] = []


def first(**arguments):
    CALLS.append(("first", arguments))


def second(**arguments):
    CALLS.append(("second", arguments))


@pytest.fixture(autouse=True)
def _clear():
    CALLS.clear()


def test_announce_runs_the_effects_of_the_moment_in_order(settings):
    settings.TROUW_EFFECTS = {"birthday": ["tests.loyalty.test_moments.second",
                                           "tests.loyalty.test_moments.first"],
                              "enrolment": ["tests.loyalty.test_moments.first"]}
    moments.announce("birthday", shop="s", gifts=[1, 2])
    assert CALLS == [("second", {"shop": "s", "gifts": [1, 2]}),
                     ("first", {"shop": "s", "gifts": [1, 2]})]


def test_a_moment_without_effects_does_nothing(settings):
    settings.TROUW_EFFECTS = {}
    moments.announce("refund", refund=None)
    assert CALLS == []


def test_an_unknown_moment_is_refused():
    with pytest.raises(ValueError, match="Unknown moment 'tier'"):
        moments.effects("tier")


def test_every_moment_has_its_list_in_settings(settings):
    assert set(settings.TROUW_EFFECTS) == set(moments.MOMENTS)


# --- The moments the core and the apps announce ---------------------------------------------


@pytest.mark.django_db
def test_a_refund_announces_itself_inside_its_transaction(settings):
    from django.core.exceptions import ValidationError

    from loyalty import services
    from loyalty.models import LedgerEntry, Refund
    from tests.factories import MembershipFactory

    member = MembershipFactory()
    purchase = services.purchase_record(shop=member.shop, amount="20.00",
                                        membership_id=member.pk)
    settings.TROUW_EFFECTS = {**settings.TROUW_EFFECTS,
                              "refund": ["tests.loyalty.test_moments.first"]}
    refund = services.purchase_refund(shop=member.shop, purchase_id=purchase.pk, amount="5.00")
    assert [("first", {"refund": refund})] == CALLS

    settings.TROUW_EFFECTS = {**settings.TROUW_EFFECTS,
                              "refund": ["tests.loyalty.test_moments.refusing"]}
    entries = LedgerEntry.objects.count()
    with pytest.raises(ValidationError):
        services.purchase_refund(shop=member.shop, purchase_id=purchase.pk, amount="5.00")
    assert Refund.objects.count() == 1  # the refused one left nothing
    assert LedgerEntry.objects.count() == entries


def refusing(**arguments):
    from django.core.exceptions import ValidationError

    raise ValidationError("the charity app refused")


@pytest.mark.django_db
def test_an_enrolment_announces_itself_and_the_welcome_is_its_effect(settings, shop):
    from loyalty.models import OutboxMessage
    from members.services import member_enrol

    assert settings.TROUW_EFFECTS["enrolment"] == ["members.services.welcome_write"]
    settings.TROUW_EFFECTS = {**settings.TROUW_EFFECTS, "enrolment": [
        "members.services.welcome_write", "tests.loyalty.test_moments.first"]}
    membership = member_enrol(shop=shop, name="Vera", email="vera@example.com")
    assert [("first", {"membership": membership})] == CALLS
    assert OutboxMessage.objects.filter(kind="welcome", membership=membership).exists()
