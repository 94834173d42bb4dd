"""The rules editor in a baker's words (dashboard → Program): the three presets, the stamp card,
labels in the shop's currency, our own messages for every field, and the one preview."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils.html import escape
from pytest_django.asserts import assertRedirects

from loyalty import services
from loyalty.models import ProgramRules
from loyalty.points import points_for_amount
from tests.factories import MembershipFactory, OwnerFactory, ShopFactory, UserFactory
from tests.helpers import signed_in, text
from tests.loyalty.test_views_dashboard_program import (
    example_url,
    input_value,
    program_url,
    rules_post,
    versions,
)

pytestmark = pytest.mark.django_db

DJANGO_DEFAULTS = ("Ensure this value", "Enter a number.", "Enter a whole number.",
                   "This field is required.", "Select a valid choice")


def checked_preset(content: str) -> str | None:
    match = re.search(r'<input[^>]*name="preset"[^>]*value="(\w+)"[^>]*checked', content)
    return match.group(1) if match else None


def in_force(shop) -> ProgramRules:
    shop.refresh_from_db()
    return shop.current_rules


def stamps_post(**changes) -> dict:
    data = {"preset": "stamps", "shown": "stamps", "stamp_minimum": "3.00",
            "stamps_per_card": "10", "stamp_reward": "a free coffee", "signup_bonus": "0",
            "pending_days": "0", "example": "4.50"}
    data.update({key: str(value) for key, value in changes.items()})
    return data


@pytest.fixture
def krona_shop(db):
    shop = ShopFactory(name="Bageri Söder", slug="bageri-soder", currency="SEK", language="en")
    owner = OwnerFactory(shop=shop, user=UserFactory(email="agare@soder.example")).user
    return shop, signed_in(owner)


# --- presets -----------------------------------------------------------------------------------


def test_the_page_offers_three_presets_in_plain_words(owner_client, shop):
    content = text(owner_client.get(program_url(shop)))
    assert "Points for every euro" in content
    assert "Stamp card" in content
    assert "Bigger baskets, more points" in content
    assert "A step table: for example 1,000 points from €20.00 and 2,000 from €30.00." in content
    # Without JavaScript a button applies the choice.
    assert re.search(r'<button[^>]*name="choose"', content)


@pytest.mark.parametrize("how", ["link", "choose-button", "htmx"])
def test_choosing_the_stamp_card_fills_its_form(owner_client, shop, how):
    if how == "link":
        response = owner_client.get(program_url(shop), {"preset": "stamps"})
    else:
        data = rules_post(preset="stamps", choose="1", pending_days="7")
        data["shown"] = "points"
        headers = {"HX-Request": "true"} if how == "htmx" else {}
        response = owner_client.post(program_url(shop), data, headers=headers)
    assert response.status_code == 200
    content = text(response)
    assert checked_preset(content) == "stamps"
    assert input_value(content, "stamp_minimum") == "3.00"
    assert input_value(content, "stamps_per_card") == "10"
    assert input_value(content, "stamp_reward") == "a free coffee"
    assert input_value(content, "signup_bonus") == "0"
    # A stamp card asks only for what it needs.
    for name in ("points_per_unit", "step_amount_1", "cap_per_purchase",
                 "points_per_currency_value"):
        assert f'name="{name}"' not in content
    if how != "link":
        assert input_value(content, "pending_days") == "7"  # the return window carries over
    if how == "htmx":
        assert content.lstrip().startswith('<form id="rules-form"')
        assert "<html" not in content
    assert versions(shop) == []  # choosing saves nothing


def test_choosing_bigger_baskets_fills_the_step_table(owner_client, shop):
    response = owner_client.post(program_url(shop), rules_post(preset="steps", choose="1"))
    content = text(response)
    assert checked_preset(content) == "steps"
    assert [input_value(content, f"step_amount_{n}") for n in (1, 2, 3)] == [
        "20.00", "30.00", None]
    assert [input_value(content, f"step_points_{n}") for n in (1, 2, 3)] == [
        "1000", "2000", None]
    assert input_value(content, "points_per_unit") == "0"
    assert not re.search(r'<input[^>]*name="steps_on_top"[^>]*checked', content)
    # The preview shows the filled rules at once.
    assert "A purchase of €27.50 earns <strong>1,000 points</strong>." in content


def test_choosing_points_from_a_stamp_card_fills_the_rate(owner_client, shop, owner):
    services.program_rules_update(shop=shop, by=owner, program="stamps", stamp_minimum="3.00",
                                  stamps_per_card=8, stamp_reward="a croissant")
    content = text(owner_client.get(program_url(shop), {"preset": "points"}))
    assert checked_preset(content) == "points"
    assert input_value(content, "points_per_unit") == "10"
    assert 'name="stamp_reward"' not in content
    # Back to the kind in force: the saved card, not the preset's defaults.
    content = text(owner_client.get(program_url(shop), {"preset": "stamps"}))
    assert input_value(content, "stamps_per_card") == "8"
    assert input_value(content, "stamp_reward") == "a croissant"


def test_saving_after_picking_another_kind_without_choose_shows_it_first(owner_client, shop):
    """Without JavaScript the owner may pick a radio and press Save at once: the page then
    shows that kind's settings to check, and saves nothing yet."""
    data = rules_post(preset="stamps")
    data["shown"] = "points"
    response = owner_client.post(program_url(shop), data)
    assert response.status_code == 200
    assert input_value(text(response), "stamps_per_card") == "10"
    assert versions(shop) == []


def test_saving_the_stamp_preset_stores_a_one_step_card(owner_client, shop, owner):
    response = owner_client.post(program_url(shop), stamps_post(signup_bonus="1",
                                                                pending_days="3"))
    assertRedirects(response, program_url(shop), fetch_redirect_response=False)
    rules = in_force(shop)
    assert rules.program == "stamps"
    assert (rules.stamps_per_card, rules.stamp_reward) == (10, "a free coffee")
    assert rules.points_per_unit == 0
    assert rules.steps == [{"min_amount": "3.00", "points": 1}]
    assert rules.steps_replace_rate is True
    assert (rules.signup_bonus, rules.pending_days, rules.cap_per_purchase) == (1, 3, None)
    # The engine counts a stamp for a purchase from €3.00, one however big.
    card = MembershipFactory(shop=shop)
    for amount in ("2.99", "3.00", "45.00"):
        services.purchase_record(shop=shop, amount=amount, membership_id=card.pk)
    card.refresh_from_db()
    assert card.points_balance == 2

    page = text(owner_client.get(program_url(shop)))
    assert checked_preset(page) == "stamps"
    assert input_value(page, "stamp_minimum") == "3.00"


def test_saving_the_step_preset_as_filled_gives_1000_for_27_50(owner_client, shop):
    """The seed example, typed as an owner would: 1000 points from €20, 2000 from €30, and
    no box to find: €27.50 earns exactly 1000."""
    data = rules_post(preset="steps", points_per_unit="10", step_amount_1="20",
                      step_points_1="1000", step_amount_2="30", step_points_2="2000")
    response = owner_client.post(program_url(shop), data)
    assert response.status_code == 302
    rules = in_force(shop)
    assert rules.steps_replace_rate is True
    assert points_for_amount(rules=rules, amount=Decimal("27.50")) == 1000
    assert points_for_amount(rules=rules, amount=Decimal("30.00")) == 2000
    assert points_for_amount(rules=rules, amount=Decimal("12.50")) == 120


def test_a_points_program_saved_from_a_stamp_card_has_no_card(owner_client, shop, owner):
    services.program_rules_update(shop=shop, by=owner, program="stamps", stamp_minimum="3.00",
                                  stamps_per_card=10, stamp_reward="a free coffee")
    response = owner_client.post(program_url(shop), rules_post(points_per_unit="5"))
    assert response.status_code == 302
    rules = in_force(shop)
    assert (rules.program, rules.stamps_per_card, rules.stamp_reward) == ("points", None, "")
    assert (rules.points_per_unit, rules.steps) == (5, [])


# --- the shop's currency -----------------------------------------------------------------------


def test_a_krona_shop_reads_kronor_everywhere(krona_shop):
    shop, client = krona_shop
    content = text(client.get(program_url(shop)))
    assert "Points for every krona" in content
    assert "Points for every 1\u00a0kr spent" in content
    assert "with 100, 100 points = 1\u00a0kr." in content
    assert "€" not in content
    stamps = text(client.get(program_url(shop), {"preset": "stamps"}))
    assert input_value(stamps, "stamp_minimum") == "30.00"
    assert "€" not in stamps
    steps = text(client.get(program_url(shop), {"preset": "steps"}))
    assert input_value(steps, "step_amount_1") == "200.00"


def test_labels_speak_of_customers_not_of_units_or_versions(owner_client, shop, owner):
    services.program_rules_update(shop=shop, by=owner, points_per_unit=12)
    content = text(owner_client.get(program_url(shop)))
    for jargon in ("whole currency unit", "version", "currency unit"):
        assert jargon not in content.lower()
    assert "Points worth €1" in content
    assert "with 100, 100 points = €1." in content


# --- our own messages, for every field -----------------------------------------------------------

POINTS_ERRORS = [
    ("points_per_unit", "", "Enter the points for every €1, such as 10."),
    ("points_per_unit", "ten", "Enter a whole number of points, such as 10."),
    ("points_per_unit", "2.5", "Enter a whole number of points, such as 10."),
    ("points_per_unit", "0", "Enter at least 1 point for every €1"),
    ("points_per_unit", "-3", "Enter at least 1 point for every €1"),
    ("points_per_unit", "1000001", "At most 1,000,000 points for every €1."),
    ("minimum_amount", "abc", "Enter an amount, such as 5.00, or 0 to count every purchase."),
    ("minimum_amount", "1e2", "Enter an amount, such as 5.00, or 0 to count every purchase."),
    ("minimum_amount", "2.555", "Use at most two decimals, such as 5.00."),
    ("minimum_amount", "-1", "The smallest purchase can't be below €0.00: enter 0 to count "
                             "every purchase."),
    ("minimum_amount", "100000.01", "At most €100,000.00."),
    ("cap_per_purchase", "x", "Enter a whole number of points, such as 500, or leave it empty "
                              "for no limit."),
    ("cap_per_purchase", "0", "Enter at least 1 point, or leave it empty for no limit."),
    ("cap_per_purchase", "100000001", "At most 100,000,000 points for one purchase."),
    ("points_per_currency_value", "", "Enter how many points are worth €1, such as 100."),
    ("points_per_currency_value", "0", "Enter at least 1: that many points are worth €1."),
    ("points_per_currency_value", "lots", "Enter a whole number, such as 100 (then 100 points "
                                          "= €1)."),
    ("points_per_currency_value", "1000001", "At most 1,000,000 points for €1."),
    ("signup_bonus", "-5", "Enter 0 for none, or a number above it."),
    ("signup_bonus", "", "Enter the points for joining, or 0 for none."),
    ("signup_bonus", "fifty", "Enter a whole number of points, such as 50, or 0 for none."),
    ("signup_bonus", "1000001", "At most 1,000,000."),
    ("pending_days", "-1", "Enter 0 for at once, or a number of days."),
    ("pending_days", "", "Enter a number of days, or 0 for at once."),
    ("pending_days", "two weeks", "Enter a whole number of days, such as 14, or 0 for at once."),
    ("pending_days", "366", "At most 365 days (a year)."),
]


@pytest.mark.parametrize(("name", "value", "message"), POINTS_ERRORS,
                         ids=[f"{n}={v!r}" for n, v, _m in POINTS_ERRORS])
def test_each_points_field_says_what_to_do(owner_client, shop, name, value, message):
    response = owner_client.post(program_url(shop), rules_post(**{name: value}))
    assert response.status_code == 400
    content = text(response)
    assert escape(message) in content
    assert not any(default in content for default in DJANGO_DEFAULTS)
    assert versions(shop) == []


STEP_ERRORS = [
    ({"step_amount_1": "twenty", "step_points_1": "1000"}, "Enter an amount, such as 20.00."),
    ({"step_amount_1": "0", "step_points_1": "1000"},
     "A step starts above €0.00; for points on every purchase, use the points for every €1."),
    ({"step_amount_1": "-20", "step_points_1": "1000"},
     "A step starts above €0.00; for points on every purchase, use the points for every €1."),
    ({"step_amount_1": "20.001", "step_points_1": "1000"},
     "Use at most two decimals, such as 20.00."),
    ({"step_amount_1": "200000", "step_points_1": "1000"}, "At most €100,000.00."),
    ({"step_amount_1": "20", "step_points_1": "0"}, "A step gives at least 1 point."),
    ({"step_amount_1": "20", "step_points_1": "lots"},
     "Enter a whole number of points, such as 1000."),
    ({"step_amount_1": "20", "step_points_1": "100000001"},
     "At most 100,000,000 points for one purchase."),
    ({}, "Add at least one step, such as 1,000 points from €20.00."),
    ({"step_amount_1": "30", "step_points_1": "2000", "step_amount_2": "20",
      "step_points_2": "1000"},
     "Put the steps from the smallest amount to the largest: this one (€20.00) is below the "
     "step above it (€30.00)."),
    ({"step_amount_1": "20", "step_points_1": "1000", "step_amount_2": "20.00",
      "step_points_2": "2000"},
     "The step above already starts at €20.00: give each step its own amount."),
    ({"step_amount_1": "20", "step_points_1": "1000", "step_amount_2": "30",
      "step_points_2": "800"},
     "A bigger purchase must earn more: from €30.00 give more than the 1,000 points of the "
     "step from €20.00."),
    ({"step_amount_1": "20", "step_points_1": "1000", "cap_per_purchase": "500"},
     "This is below the 1,000 points of the first step: raise it, or leave it empty for no "
     "limit."),
    ({"step_amount_1": "20", "step_points_1": "1000", "points_per_unit": "-1"},
     "Points can't be negative: enter 0 or more."),
]


@pytest.mark.parametrize(("changes", "message"), STEP_ERRORS,
                         ids=[m[:30] for _c, m in STEP_ERRORS])
def test_each_step_problem_says_what_to_do(owner_client, shop, changes, message):
    response = owner_client.post(program_url(shop), rules_post(preset="steps", **changes))
    assert response.status_code == 400
    content = text(response)
    assert escape(message) in content
    assert not any(default in content for default in DJANGO_DEFAULTS)
    assert versions(shop) == []


STAMP_ERRORS = [
    ("stamp_minimum", "", "Enter the smallest purchase that earns a stamp, such as 3.00."),
    ("stamp_minimum", "three", "Enter an amount, such as 3.00."),
    ("stamp_minimum", "0", "Enter an amount above €0.00, such as 3.00: every purchase of at "
                           "least this much earns a stamp."),
    ("stamp_minimum", "-3", "Enter an amount above €0.00, such as 3.00"),
    ("stamp_minimum", "3.005", "Use at most two decimals, such as 3.00."),
    ("stamp_minimum", "100001", "At most €100,000.00."),
    ("stamps_per_card", "", "Enter how many stamps fill a card, such as 10."),
    ("stamps_per_card", "ten", "Enter a whole number of stamps, such as 10."),
    ("stamps_per_card", "1", "A card needs at least 2 stamps."),
    ("stamps_per_card", "0", "A card needs at least 2 stamps."),
    ("stamps_per_card", "51", "A card holds at most 50 stamps."),
    ("stamp_reward", "", "Say what a full card gives, such as “a free coffee”."),
    ("stamp_reward", "   ", "Say what a full card gives, such as “a free coffee”."),
    ("stamp_reward", "x" * 101, "Keep it to 100 characters or fewer."),
    ("signup_bonus", "10", "A new card can start with at most 9 stamps, one less than a full "
                           "card."),
    ("signup_bonus", "-1", "Enter 0 for none, or a number above it."),
    ("signup_bonus", "one", "Enter a whole number of stamps, such as 1, or 0 for none."),
    ("pending_days", "400", "At most 365 days (a year)."),
]


@pytest.mark.parametrize(("name", "value", "message"), STAMP_ERRORS,
                         ids=[f"{n}={v[:8]!r}" for n, v, _m in STAMP_ERRORS])
def test_each_stamp_field_says_what_to_do(owner_client, shop, name, value, message):
    response = owner_client.post(program_url(shop), stamps_post(**{name: value}))
    assert response.status_code == 400
    content = text(response)
    assert escape(message) in content
    assert not any(default in content for default in DJANGO_DEFAULTS)
    assert versions(shop) == []


def test_an_unknown_preset_is_refused_in_words(owner_client, shop):
    response = owner_client.post(program_url(shop), rules_post(preset="lottery"))
    assert response.status_code == 400
    assert "Choose one of the three kinds of program." in text(response)
    assert versions(shop) == []


@pytest.mark.parametrize(("typed", "points"), [("1.000", 1000), ("1,000", 1000),
                                               ("1 000", 1000), ("1000", 1000)])
def test_grouped_thousands_are_read_as_thousands(owner_client, shop, typed, points):
    """A Dutch owner types 1.000 for a thousand: never read as 1 point."""
    owner_client.post(program_url(shop), rules_post(preset="steps", step_amount_1="20",
                                                    step_points_1=typed))
    assert in_force(shop).steps == [
        {"min_amount": "20.00", "points": points}]


# --- the one preview ---------------------------------------------------------------------------


def test_the_stamp_preview_speaks_of_stamps(owner_client, shop):
    content = text(owner_client.get(example_url(shop), stamps_post(example="4.50")))
    assert "€4.50: <strong>1 stamp</strong>." in content
    assert "7 of 10 stamps" in content
    assert "Collect a stamp with every purchase from €3.00." in content
    assert "10 stamps: a free coffee." in content
    assert "<tr><td>€2.50</td><td>no stamp</td></tr>" in content
    assert "<tr><td>€3.00</td><td>1 stamp</td></tr>" in content
    assert "points" not in content.lower()
    below = text(owner_client.get(example_url(shop), stamps_post(example="2.50")))
    assert "€2.50: <strong>no stamp</strong> (a stamp needs at least €3.00)." in below


def test_preview_examples_and_try_an_amount_agree(owner_client, shop):
    """One draft feeds the explanation, the examples and the amount tried."""
    data = rules_post(preset="steps", points_per_unit="0", step_amount_1="20",
                      step_points_1="1000", step_amount_2="30", step_points_2="2000",
                      example="20.00")
    content = text(owner_client.get(example_url(shop), data))
    assert "A purchase of €20.00 earns <strong>1,000 points</strong>." in content
    assert "<tr><td>€20.00</td><td>1,000</td></tr>" in content
    assert "from €20.00: 1,000 points" in content
    assert "<tr><td>€5.00</td><td>0</td></tr>" in content
    assert "0 points for every" not in content  # no rate: no line about one


def test_the_page_preview_shows_the_rules_posted_not_those_in_force(owner_client, shop,
                                                                    owner):
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10)
    response = owner_client.post(program_url(shop), rules_post(points_per_unit="3",
                                                               preview="1"))
    assert response.status_code == 200
    content = text(response)
    assert "A purchase of €27.50 earns <strong>81 points</strong>." in content
    assert "You get 3 points for every €1.00 you spend" in content
    assert "<tr><td>€27.50</td><td>81</td></tr>" in content
    assert "You get 10 points" not in content
    assert in_force(shop).points_per_unit == 10  # not saved


def test_a_failed_save_shows_no_stale_preview(owner_client, shop, owner):
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10)
    content = text(owner_client.post(program_url(shop), rules_post(points_per_unit="-1")))
    assert "Fix this to see what your customers get:" in content
    assert "You get 10 points" not in content
    assert "earns <strong>" not in content


# --- customers see the stamp card in words ------------------------------------------------------


def test_how_it_works_explains_a_stamp_card(member_client, shop, owner):
    services.program_rules_update(shop=shop, by=owner, program="stamps", stamp_minimum="3.00",
                                  stamps_per_card=10, stamp_reward="a free coffee",
                                  signup_bonus=2, pending_days=1)
    content = text(member_client.get(f"/portal/{shop.slug}/how-it-works/"))
    assert "Collect a stamp with every purchase from €3.00." in content
    assert "10 stamps: a free coffee." in content
    assert "You get 2 stamps when you join." in content
    assert "A new stamp counts towards your reward after 1 day." in content
    assert "<tr><td>€2.50</td><td>no stamp</td></tr>" in content
    assert "points" not in content.split("How you save at", 1)[1].lower()


# --- the service ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"stamps_per_card": 1}, "stamps_per_card", "A full card has 2 to 50 stamps."),
    ({"stamps_per_card": 51}, "stamps_per_card", "A full card has 2 to 50 stamps."),
    ({"stamp_reward": "  "}, "stamp_reward", "Say what a full card gives"),
    ({"stamp_reward": "x" * 101}, "stamp_reward", "Keep it to 100 characters or fewer."),
    ({"signup_bonus": 10}, "signup_bonus", "at most 9 stamps"),
    ({"points_per_unit": 10}, "points_per_unit", "A stamp card gives one stamp per purchase"),
    ({"steps": [{"min_amount": "3.00", "points": 2}], "stamp_minimum": None}, "steps",
     "one stamp per purchase"),
    ({"program": "lottery"}, "program", "Choose points or a stamp card."),
])
def test_the_service_refuses_a_bad_stamp_card(shop, owner, fields, field, message):
    values = {"program": "stamps", "stamp_minimum": "3.00", "stamps_per_card": 10,
              "stamp_reward": "a free coffee"}
    values.update(fields)
    if values.get("stamp_minimum") is None:
        values.pop("stamp_minimum")
    with pytest.raises(ValidationError) as caught:
        services.program_rules_update(shop=shop, by=owner, **values)
    assert message in " ".join(caught.value.message_dict[field])
    assert not ProgramRules.objects.filter(shop=shop, program="stamps").exists()


def test_the_service_stores_a_stamp_card_whatever_the_rate_was(shop, owner):
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10, cap_per_purchase=50,
                                  minimum_amount="5.00")
    rules = services.program_rules_update(shop=shop, by=owner, program="stamps",
                                          stamp_minimum="2,50", stamps_per_card=6,
                                          stamp_reward=" a loaf ")
    assert (rules.points_per_unit, rules.cap_per_purchase, rules.minimum_amount) == (
        0, None, Decimal("0.00"))
    assert rules.steps == [{"min_amount": "2.50", "points": 1}]
    assert rules.stamp_reward == "a loaf"
    assert rules.stamp_minimum == Decimal("2.50")


def test_a_draft_saves_nothing(shop):
    draft = services.program_rules_draft(shop=shop, program="stamps", stamp_minimum="3.00",
                                         stamps_per_card=10, stamp_reward="a free coffee")
    assert draft.pk is None and draft.is_stamp_card
    assert not ProgramRules.objects.filter(shop=shop).exists()
    shop.refresh_from_db()
    assert shop.current_rules_id is None


def test_an_example_amount_is_written_as_the_language_writes_it(owner_client, shop):
    owner_client.cookies["django_language"] = "nl"
    response = owner_client.post(program_url(shop), stamps_post(stamp_minimum="3.005"))
    assert response.status_code == 400
    content = text(response)
    assert "3,00" in content.split('id="id_stamp_minimum"')[1][:2000]
    assert "such as 3.00" not in content
