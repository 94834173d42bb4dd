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
