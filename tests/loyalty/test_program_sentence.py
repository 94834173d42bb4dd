"""The program in one sentence (public page, poster, table card): each kind of program, in the
shop's currency, with whole amounts written as a price sign says them."""

from __future__ import annotations

import pytest
from django.utils import translation

from loyalty.models import ProgramKind, ProgramRules
from loyalty.selectors import program_sentence


def _rules(**fields) -> ProgramRules:
    return ProgramRules(version=1, **fields)


def test_a_rate():
    assert program_sentence(rules=_rules(points_per_unit=10), currency="EUR") == (
        "10 points for every €1 you spend; 100 points are worth €1.")


def test_a_rate_in_a_krona_shop_with_another_point_value():
    sentence = program_sentence(rules=_rules(points_per_unit=1, points_per_currency_value=10),
                                currency="SEK")
    assert sentence == "1 point for every 1\xa0kr you spend; 100 points are worth 10\xa0kr."


def test_steps_that_replace_the_rate_name_the_first_step():
    rules = _rules(points_per_unit=10, steps=[{"min_amount": "20.00", "points": 1000},
                                              {"min_amount": "30.00", "points": 2000}])
    assert program_sentence(rules=rules, currency="EUR") == (
        "Points for every purchase: 1,000 points from €20, more for bigger baskets; "
        "100 points are worth €1.")


def test_steps_on_top_of_a_rate_speak_of_the_rate():
    rules = _rules(points_per_unit=10, steps_replace_rate=False,
                   steps=[{"min_amount": "25.00", "points": 100}])
    assert program_sentence(rules=rules, currency="EUR").startswith("10 points for every €1")


@pytest.mark.parametrize(("reward", "expected"), [
    ("a free coffee", "A stamp for every purchase from €3.50; 10 stamps give a free coffee."),
    ("", "A stamp for every purchase from €3.50; a full card of 10 stamps gives a reward."),
])
def test_a_stamp_card(reward, expected):
    rules = _rules(program=ProgramKind.STAMPS, stamps_per_card=10, stamp_reward=reward,
                   points_per_unit=0, steps=[{"min_amount": "3.50", "points": 1}])
    assert program_sentence(rules=rules, currency="EUR") == expected


def test_numbers_in_the_shops_language():
    rules = _rules(points_per_unit=10, steps=[{"min_amount": "20.00", "points": 1000}])
    with translation.override("nl"):
        sentence = program_sentence(rules=rules, currency="EUR")
    assert "1.000" in sentence
    assert "€\xa020" in sentence
