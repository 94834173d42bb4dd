"""The rules editor in Chromium: choosing a preset fills the form at once (htmx) and saving
gives the expected rules; typing a rate or a step updates the explanation, the examples and
"Try an amount" together, and they agree. Screenshots of each preset at phone and desktop
width; the page never scrolls sideways on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from loyalty.models import Shop
from tests.browser.helpers import PHONE, sign_in
from tests.factories import PASSWORD, OwnerFactory, ShopFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bakery(db):
    shop = ShopFactory(name="De Gouden Korst", slug="gouden-korst", language="en")
    owner = OwnerFactory(shop=shop, user=UserFactory(email="anneke@goudenkorst.example")).user
    return shop, owner


def open_editor(new_page, owner, **context):
    page = new_page(**context)
    sign_in(page, owner.email, PASSWORD)
    page.goto("/dashboard/gouden-korst/program/")
    return page


def rules_in_force(shop):
    return Shop.objects.select_related("current_rules").get(pk=shop.pk).current_rules


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_presets_fill_the_form_and_save_the_expected_rules(bakery, new_page, console_errors):
    shop, owner = bakery
    page = open_editor(new_page, owner)
    expect(page.get_by_role("button", name="Choose")).to_be_hidden()  # JS: no button needed
    url = page.url

    page.get_by_label("Stamp card").check()
    expect(page.get_by_label("Smallest purchase for a stamp")).to_have_value("3.00")
    expect(page.get_by_label("Stamps for a full card")).to_have_value("10")
    expect(page.get_by_label("A full card gives")).to_have_value("a free coffee")
    expect(page.locator("#preview")).to_contain_text("10 stamps: a free coffee.")
    assert page.url == url  # swapped in place
    page.get_by_label("Stamps for a full card").fill("8")
    page.get_by_label("A full card gives").fill("a free croissant")
    page.get_by_role("button", name="Save rules").click()
    expect(page.locator(".message")).to_contain_text("New rules saved")
    rules = rules_in_force(shop)
    assert (rules.program, rules.stamps_per_card, rules.stamp_reward) == (
        "stamps", 8, "a free croissant")
    assert rules.steps == [{"min_amount": "3.00", "points": 1}]
    assert rules.points_per_unit == 0

    page.get_by_label("Bigger baskets, more points").check()
    expect(page.locator("#id_step_amount_1")).to_have_value("20.00")
    expect(page.locator("#id_step_points_1")).to_have_value("1000")
    expect(page.locator("#id_step_amount_2")).to_have_value("30.00")
    expect(page.locator("#id_step_points_2")).to_have_value("2000")
    page.get_by_role("button", name="Save rules").click()
    expect(page.locator(".message")).to_contain_text("New rules saved")
    rules = rules_in_force(shop)
    assert rules.program == "points" and rules.stamps_per_card is None
    assert rules.steps == [{"min_amount": "20.00", "points": 1000},
                           {"min_amount": "30.00", "points": 2000}]
    assert rules.steps_replace_rate is True

    page.get_by_label("Points for every euro").check()
    expect(page.get_by_label("Points for every €1 spent")).to_have_value("10")
    expect(page.locator("#id_step_amount_1")).to_have_count(0)
    page.get_by_role("button", name="Save rules").click()
    expect(page.locator(".message")).to_contain_text("New rules saved")
    rules = rules_in_force(shop)
    assert (rules.program, rules.points_per_unit, rules.steps) == ("points", 10, [])
    assert console_errors == []


def test_choosing_a_preset_works_without_javascript(bakery, new_page):
    shop, owner = bakery
    page = open_editor(new_page, owner, java_script_enabled=False)
    page.get_by_label("Stamp card").check()
    page.get_by_role("button", name="Choose").click()
    expect(page.get_by_label("Stamps for a full card")).to_have_value("10")
    page.get_by_role("button", name="Save rules").click()
    expect(page.locator(".message")).to_contain_text("New rules saved")
    assert rules_in_force(shop).is_stamp_card


def _preview_parts(page):
    return (page.locator("#example"), page.locator("#preview ul.rules"),
            page.locator("#preview table.examples"))


def test_typing_updates_the_whole_preview_and_it_agrees(bakery, new_page, console_errors):
    shop, owner = bakery
    page = open_editor(new_page, owner)
    example, explanation, examples = _preview_parts(page)
    expect(example).to_have_text("A purchase of €27.50 earns 270 points.")

    page.get_by_label("Points for every €1 spent").fill("3")
    expect(example).to_have_text("A purchase of €27.50 earns 81 points.")
    expect(explanation).to_contain_text("You get 3 points for every €1.00 you spend")
    expect(examples.locator("tr", has_text="€27.50")).to_contain_text("81")

    page.get_by_label("Try an amount (EUR)").fill("12.50")
    expect(example).to_have_text("A purchase of €12.50 earns 36 points.")
    expect(examples.locator("tr", has_text="€12.50")).to_contain_text("36")

    # A step (the rate stays for smaller purchases): explanation, table and example at once.
    page.get_by_label("Bigger baskets, more points").check()
    page.get_by_label("Points for every €1 below the first step").fill("3")
    page.locator("#id_step_amount_1").fill("10")
    page.locator("#id_step_points_1").fill("500")
    expect(example).to_have_text("A purchase of €12.50 earns 500 points.")
    expect(explanation).to_contain_text("from €10.00: 500 points")
    expect(examples.locator("tr", has_text="€12.50")).to_contain_text("500")
    expect(examples.locator("tr", has_text="€5.00")).to_contain_text("15")

    # A bad value: the preview says what to fix instead of showing stale numbers.
    page.locator("#id_step_points_2").fill("300")
    page.locator("#id_step_amount_2").fill("20")
    expect(page.locator("#preview")).to_contain_text("A bigger purchase must earn more")
    expect(example).to_have_count(0)
    assert rules_in_force(shop) is None  # nothing saved while typing
    assert console_errors == []


def test_the_stamp_preview_speaks_of_stamps(bakery, new_page):
    shop, owner = bakery
    page = open_editor(new_page, owner)
    # A preset swaps in a new form: its fields are wired up by htmx in the same task as the
    # swap (settle delay 0), so the first keystroke after it already updates the preview.
    page.evaluate("""() => document.body.addEventListener("htmx:afterSwap", () =>
        queueMicrotask(() => {
            const preview = document.getElementById("preview");
            window.previewWired = !!(preview && (preview["htmx-internal-data"] || {}).initHash);
        }))""")
    page.get_by_label("Stamp card").check()
    expect(page.get_by_label("Smallest purchase for a stamp")).to_be_visible()
    assert page.evaluate("window.previewWired") is True
    example, explanation, examples = _preview_parts(page)
    expect(example).to_have_text("€27.50: 1 stamp.")  # the amount tried stays
    page.get_by_label("Try an amount (EUR)").fill("4.50")
    expect(example).to_have_text("€4.50: 1 stamp.")
    expect(page.locator(".sample-card")).to_contain_text("7 of 10 stamps")
    page.get_by_label("Smallest purchase for a stamp").fill("5")
    expect(example).to_have_text("€4.50: no stamp (a stamp needs at least €5.00).")
    expect(explanation).to_contain_text("Collect a stamp with every purchase from €5.00.")
    expect(examples.locator("tr", has_text="€4.50")).to_contain_text("no stamp")


@pytest.mark.parametrize("preset", ["points", "stamps", "steps"])
def test_screenshots_of_each_preset(bakery, new_page, screenshot, preset):
    shop, owner = bakery
    for size, context in (("desktop", {}), ("phone", PHONE)):
        page = open_editor(new_page, owner, **context)
        page.goto(f"/dashboard/gouden-korst/program/?preset={preset}")
        expect(page.locator("#preview")).to_be_visible()
        no_sideways_scroll(page)
        screenshot(page, f"program-{preset}-{size}")
