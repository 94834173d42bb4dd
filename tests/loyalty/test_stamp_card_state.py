"""The stamp card's state as the portal, the counter and the public page show it."""

from __future__ import annotations

import pytest

from loyalty.models import ProgramKind, ProgramRules
from loyalty.selectors import stamp_card_state

CARD = ProgramRules(version=1, program=ProgramKind.STAMPS, stamps_per_card=10,
                    stamp_reward="a free coffee", points_per_unit=0,
                    steps=[{"min_amount": "3.00", "points": 1}])


def test_a_points_program_has_no_stamp_card():
    assert stamp_card_state(rules=ProgramRules(version=1), balance=70, spendable=70) is None


@pytest.mark.parametrize(("balance", "spendable", "filled", "full_cards"), [
    (0, 0, 0, 0),
    (7, 7, 7, 0),
    (10, 10, 10, 1),   # exactly full: the full card, not an empty next one
    (11, 11, 1, 1),    # a full card to hand out and one stamp on the next
    (20, 20, 10, 2),
    (10, 8, 10, 0),    # two of the stamps are pending: nothing to hand out yet
])
def test_stamps_on_the_card_and_full_cards(balance, spendable, filled, full_cards):
    state = stamp_card_state(rules=CARD, balance=balance, spendable=spendable)
    assert (state["filled"], state["full_cards"], state["total"]) == (filled, full_cards, 10)
    assert state["boxes"] == [True] * filled + [False] * (10 - filled)
    assert state["reward"] == "a free coffee"
