"""The counter's search box in Chromium: a voucher code is recognised while it is typed (and
opened when a scanner sends it with Enter), a used voucher is a warning that cannot be mistaken
for success, and an empty result enrols the customer in one step."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from playwright.sync_api import expect

from loyalty.models import Membership, MembershipSource
from loyalty.services import purchase_record
from rewards import services as reward_services
from rewards.models import RewardKind
from tests.browser.conftest import SCREENSHOT_DIR
from tests.browser.helpers import PHONE, sign_in
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    ShopFactory,
    StaffMemberFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser


def snap(page, name: str) -> None:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOT_DIR / f"{name}.png", full_page=True, caret="initial")


@pytest.fixture
def counter(db):
    shop = ShopFactory(name="De Gouden Korst", slug="gouden-korst", language="en",
                       time_zone="Europe/Amsterdam")
    staff_user = UserFactory(email="daan@goudenkorst.example", name="Daan")
    StaffMemberFactory(shop=shop, user=staff_user)
    sanne = MembershipFactory(shop=shop, name="Sanne Visser")
    purchase_record(shop=shop, amount="50.00", membership_id=sanne.pk)
    coffee = reward_services.reward_create(shop=shop, name="Free coffee", points_cost=100,
                                           kind=RewardKind.FREE_PRODUCT, product_name="Coffee")
    vouchers = [reward_services.voucher_claim(shop=shop, membership_id=sanne.pk,
                                              reward_id=coffee.pk) for _ in range(2)]
    return {"shop": shop, "staff": staff_user, "sanne": sanne, "open": vouchers[0],
            "used": vouchers[1]}


def signed_in_counter(new_page, counter, **options):
    page = new_page(**options)
    sign_in(page, counter["staff"].email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/counter/gouden-korst/$"))
    return page


def dashed(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


@pytest.mark.django_db(transaction=True)
def test_a_voucher_code_shows_while_typed_and_opens_when_scanned(new_page, counter,
                                                                console_errors):
    page = signed_in_counter(new_page, counter)
    search = page.get_by_label("Phone, e-mail, card number or name")
    code = counter["open"].code

    # Typed by hand, slowly: the results show the voucher, never "No member found".
    # No wait for one particular response: htmx drops the answers to keystrokes overtaken by
    # later ones (hx-sync), so on a busy machine the one waited for may never arrive; what the
    # results end up showing is what counts.
    search.press_sequentially(code.lower(), delay=60)
    preview = page.locator("#results .voucher-preview")
    expect(preview).to_contain_text("Free coffee", timeout=15_000)
    expect(preview).to_contain_text("For Sanne Visser")
    expect(preview).to_contain_text("Open, valid until")
    expect(page.locator("#results")).not_to_contain_text("No member found")
    expect(search).to_be_focused()

    # Scanned: the whole code at once and Enter opens the voucher to use it.
    page.goto("/counter/gouden-korst/")
    expect(search).to_be_focused()  # where the scanner types (trouw.js focuses it on load)
    page.keyboard.type(dashed(code))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/counter/gouden-korst/vouchers/\?code="))
    expect(page.get_by_role("heading", name="Free coffee")).to_be_visible()
    expect(page.get_by_role("button", name="Use")).to_be_focused()
    assert console_errors == []


@pytest.mark.django_db(transaction=True)
def test_a_used_voucher_is_a_warning_with_the_shops_time(new_page, counter, console_errors):
    # 08:44 UTC on 1 December is 09:44 in Amsterdam.
    with time_machine.travel(dt.datetime(2025, 12, 1, 8, 44, tzinfo=dt.UTC), tick=False):
        reward_services.voucher_use(shop=counter["shop"], code=counter["used"].code,
                                    actor_user=counter["staff"])
    page = signed_in_counter(new_page, counter)
    search = page.get_by_label("Phone, e-mail, card number or name")
    code = counter["used"].code
    warning_text = "Already used on 1 December 2025 at 09:44 by Daan — do not hand out."

    search.press_sequentially(code, delay=40)  # no wait for one response, as above
    warning = page.locator("#results .voucher-status")
    expect(warning).to_have_text(warning_text, timeout=15_000)
    expect(warning).to_have_attribute("role", "alert")
    expect(page.locator("#results .message-success")).to_have_count(0)
    expect(search).to_be_focused()
    # Amber, not the green of success.
    colour = warning.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(254, 243, 199)", colour
    snap(page, "counter-voucher-warning-typed")

    # Scanned, with Enter: the voucher's page warns the same way, focus in the code box.
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/vouchers/\?code="))
    expect(page.locator(".voucher-status")).to_have_text(warning_text)
    expect(page.get_by_role("button", name="Use")).to_have_count(0)
    expect(page.get_by_label("Voucher code")).to_be_focused()
    snap(page, "counter-voucher-warning")

    phone = signed_in_counter(new_page, counter, **PHONE)
    phone.goto(f"/counter/gouden-korst/vouchers/?code={code}")
    expect(phone.locator(".voucher-status")).to_have_text(warning_text)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    snap(phone, "counter-voucher-warning-phone")
    assert console_errors == []


@pytest.mark.django_db(transaction=True)
def test_no_result_enrols_the_typed_phone_number_in_one_step(new_page, counter,
                                                             console_errors):
    page = signed_in_counter(new_page, counter)
    search = page.get_by_label("Phone, e-mail, card number or name")
    with page.expect_response(lambda r: "5601" in r.url and r.request.headers.get(
            "hx-request") == "true"):
        search.press_sequentially("06 1234 5601", delay=30)
    expect(page.locator("#results")).to_contain_text("No member found for “06 1234 5601”.")
    enrol = page.get_by_role("link", name="Enrol 06 1234 5601")
    expect(enrol).to_be_visible()
    enrol.click()

    expect(page).to_have_url(re.compile(r"/counter/gouden-korst/enrol/\?phone="))
    expect(page.get_by_label("Phone number")).to_have_value("06 1234 5601")
    # The cursor is in the first empty field: the (optional) name.
    expect(page.get_by_label("Name (optional)")).to_be_focused()
    snap(page, "counter-enrol-prefilled")
    # Only the phone number: enrolled, on the member's page, ready for the sale.
    page.get_by_role("button", name="Enrol").click()
    expect(page).to_have_url(re.compile(r"/counter/gouden-korst/members/\d+/$"))
    membership = Membership.objects.get(shop=counter["shop"], source=MembershipSource.COUNTER)
    assert membership.name == ""
    assert membership.phone.endswith("612345601")
    expect(page.get_by_role("heading", level=1)).not_to_be_empty()
    expect(page.get_by_label("Amount (EUR)")).to_be_focused()

    phone = signed_in_counter(new_page, counter, **PHONE)
    phone.goto("/counter/gouden-korst/enrol/?email=kees%40example.com")
    expect(phone.get_by_label("E-mail address")).to_have_value("kees@example.com")
    expect(phone.get_by_label("Name (optional)")).to_be_focused()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    snap(phone, "counter-enrol-phone")
    assert console_errors == []
