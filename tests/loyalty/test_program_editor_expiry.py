"""The rules editor's expiry part (dashboard → Program): never, N months after earning, or all of a
card's points after N months without a purchase. Before saving, the live preview tells the owner
what the change does (never retroactive), and bad months are refused with our own words."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine
from django.utils.html import escape

from loyalty import selectors, services
from loyalty.models import PointLot
from tests.factories import MembershipFactory
from tests.helpers import text
from tests.loyalty.test_program_editor import DJANGO_DEFAULTS, in_force, stamps_post
from tests.loyalty.test_views_dashboard_program import (
    example_url,
    program_url,
    rules_post,
    versions,
)

pytestmark = pytest.mark.django_db
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")
NOW = dt.datetime(2026, 12, 1, 10, tzinfo=AMS)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def checked_policy(content: str) -> str | None:
    match = re.search(r'<input[^>]*name="expiry_policy"[^>]*value="(\w+)"[^>]*checked', content)
    return match.group(1) if match else None


def effect(content: str) -> str:
    match = re.search(r'<div id="expiry-effect".*?</div>', content, re.S)
    assert match, "no expiry effect shown"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split())


def test_the_page_shows_the_terms_in_force(owner_client, shop):
    services.program_rules_update(shop=shop, by=None, expiry_policy="earned", expiry_months=12)
    content = text(owner_client.get(program_url(shop)))
    assert checked_policy(content) == "earned"
    assert re.search(r'name="expiry_months"[^>]*value="12"', content)
    assert "Points expire 12 months after they are earned." in effect(content)


def test_saving_months_after_earning(owner_client, shop):
    response = owner_client.post(program_url(shop), rules_post(expiry_policy="earned",
                                                               expiry_months="12"))
    assert response.status_code == 302
    rules = in_force(shop)
    assert (rules.expiry_policy, rules.expiry_months) == ("earned", 12)


def test_saving_inactivity_and_back_to_never(owner_client, shop):
    owner_client.post(program_url(shop), rules_post(expiry_policy="inactive",
                                                    expiry_months="6"))
    assert (in_force(shop).expiry_policy, in_force(shop).expiry_months) == ("inactive", 6)
    owner_client.post(program_url(shop), rules_post(expiry_policy="never", expiry_months="6"))
    assert (in_force(shop).expiry_policy, in_force(shop).expiry_months) == ("never", None)


def test_a_form_without_the_expiry_part_keeps_the_terms(owner_client, shop):
    services.program_rules_update(shop=shop, by=None, expiry_policy="earned", expiry_months=12)
    owner_client.post(program_url(shop), rules_post(points_per_unit="20"))
    rules = in_force(shop)
    assert (rules.points_per_unit, rules.expiry_policy, rules.expiry_months) == (20, "earned", 12)


@pytest.mark.parametrize(("months", "message"), [
    ("", "Enter after how many months, from 1 to 120, such as 12."),
    ("0", "Enter a number of months from 1 to 120, such as 12."),
    ("121", "Enter a number of months from 1 to 120, such as 12."),
    ("-3", "Enter a number of months from 1 to 120, such as 12."),
    ("twelve", "Enter a number of months from 1 to 120, such as 12."),
    ("1.5", "Enter a number of months from 1 to 120, such as 12."),
])
def test_bad_months_are_refused_and_nothing_is_saved(owner_client, shop, months, message):
    before = versions(shop)
    response = owner_client.post(program_url(shop), rules_post(expiry_policy="earned",
                                                               expiry_months=months))
    assert response.status_code == 400
    content = text(response)
    assert escape(message) in content
    assert not any(default in content for default in DJANGO_DEFAULTS)
    assert versions(shop) == before


def test_an_unknown_policy_is_refused(owner_client, shop):
    before = versions(shop)
    response = owner_client.post(program_url(shop), rules_post(expiry_policy="sometimes",
                                                               expiry_months="12"))
    assert response.status_code == 400
    assert "Choose when points expire." in text(response)
    assert versions(shop) == before


def test_the_live_preview_shows_the_effect_before_saving(owner_client, shop):
    response = owner_client.get(example_url(shop), rules_post(expiry_policy="earned",
                                                              expiry_months="12"))
    shown = effect(text(response))
    assert "When you save:" in shown
    assert ("No points on cards today are affected; from 1 December, points earned expire 12 "
            "months later.") in shown  # the day in the shop's time zone


def test_the_preview_speaks_the_pages_language(owner_client, shop):
    owner_client.cookies["django_language"] = "nl"
    shown = effect(text(owner_client.get(example_url(shop), rules_post(
        expiry_policy="earned", expiry_months="12"))))
    assert "1 december" in shown  # texts themselves are translated after merging (locale/)
    assert versions(shop) == []  # nothing saved


def test_a_shorter_period_tells_the_owner_old_points_keep_theirs(owner_client, shop):
    services.program_rules_update(shop=shop, by=None, expiry_policy="earned", expiry_months=12)
    shown = effect(text(owner_client.get(example_url(shop), rules_post(
        expiry_policy="earned", expiry_months="6"))))
    assert "points earned expire 6 months later." in shown
    assert "Points earned before keep their 12 months: they are not shortened." in shown
    longer = effect(text(owner_client.get(example_url(shop), rules_post(
        expiry_policy="earned", expiry_months="24"))))
    assert "Points earned before keep their 12 months: they are not lengthened." in longer


def test_turning_inactivity_on_starts_the_clock_today(owner_client, shop):
    services.program_rules_update(shop=shop, by=None, expiry_policy="earned", expiry_months=12)
    shown = effect(text(owner_client.get(example_url(shop), rules_post(
        expiry_policy="inactive", expiry_months="6"))))
    assert "after 6 months without a purchase (every card's clock starts today)" in \
        shown.replace("&#x27;", "'")
    assert ("Points earned before keep the terms they were earned under: points expire 12 "
            "months after they are earned.") in shown


def test_a_bad_month_in_the_preview_says_what_to_fix(owner_client, shop):
    content = text(owner_client.get(example_url(shop), rules_post(expiry_policy="earned",
                                                                  expiry_months="500")))
    assert "Months: Enter a number of months from 1 to 120, such as 12." in content
    assert 'id="expiry-effect"' not in content


def test_the_stamp_card_has_expiry_too(owner_client, shop):
    response = owner_client.post(program_url(shop), stamps_post(expiry_policy="earned",
                                                                expiry_months="3"))
    assert response.status_code == 302
    assert (in_force(shop).expiry_policy, in_force(shop).expiry_months) == ("earned", 3)


def test_the_stamp_cards_preview_speaks_of_stamps(owner_client, shop):
    shown = effect(text(owner_client.get(example_url(shop), stamps_post(
        expiry_policy="earned", expiry_months="3"))))
    assert ("No stamps on cards today are affected; from 1 December, stamps earned expire 3 "
            "months later.") in shown
    assert "point" not in shown.lower()
    assert owner_client.post(program_url(shop), stamps_post(
        expiry_policy="earned", expiry_months="12")).status_code == 302
    shorter = effect(text(owner_client.get(example_url(shop), stamps_post(
        expiry_policy="earned", expiry_months="6"))))
    assert "Stamps earned before keep their 12 months: they are not shortened." in shorter
    switched = effect(text(owner_client.get(example_url(shop), stamps_post(
        expiry_policy="inactive", expiry_months="6"))))
    assert ("Stamps earned before keep the terms they were earned under: stamps expire 12 "
            "months after they are earned.") in switched
    never = effect(text(owner_client.get(example_url(shop), stamps_post(
        expiry_policy="never"))))
    assert "from 1 December, stamps earned never expire." in never
    assert "point" not in (shorter + switched + never).lower()


def test_switching_presets_keeps_the_expiry_typed(owner_client, shop):
    data = rules_post(expiry_policy="inactive", expiry_months="9")
    data.update(preset="stamps", choose="1")
    content = text(owner_client.post(program_url(shop), data))
    assert checked_policy(content) == "inactive"
    assert re.search(r'name="expiry_months"[^>]*value="9"', content)


def test_saving_never_touches_points_on_cards(owner_client, shop):
    services.program_rules_update(shop=shop, by=None, points_per_unit=10,
                                  expiry_policy="earned", expiry_months=12)
    card = MembershipFactory(shop=shop)
    services.purchase_record(shop=shop, amount="10.00", membership_id=card.pk)
    before = PointLot.objects.get(membership=card).expires_at
    owner_client.post(program_url(shop), rules_post(expiry_policy="earned", expiry_months="1"))
    assert PointLot.objects.get(membership=card).expires_at == before
    assert selectors.ledger_mismatches(shop=shop) == []
