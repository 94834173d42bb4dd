"""The owner's dashboard (loyalty/views/dashboard.py): the program rules editor with its live
example, API keys, and a member's page with the points adjustment."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils.html import escape
from pytest_django.asserts import assertRedirects

from loyalty import services
from loyalty.models import ApiKey, EntryKind, LedgerEntry, ProgramRules
from tests.factories import MembershipFactory
from tests.helpers import signed_in, text

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def program_url(shop) -> str:
    return f"/dashboard/{shop.slug}/program/"


def example_url(shop) -> str:
    return f"/dashboard/{shop.slug}/program/example/"


def keys_url(shop) -> str:
    return f"/dashboard/{shop.slug}/api-keys/"


def revoke_url(shop, key_id) -> str:
    return f"/dashboard/{shop.slug}/api-keys/{key_id}/revoke/"


def member_url(shop, membership) -> str:
    return f"/dashboard/{shop.slug}/members/{membership.card_number}/"


def input_value(content: str, name: str) -> str | None:
    """The value attribute of the input named ``name`` (None when it has none)."""
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', content)
    assert tag, f"no input {name}"
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def rules_post(**changes) -> dict:
    """The rules form as the browser posts it for a points program, with ``changes``; with
    ``preset="steps"`` it has the step rows."""
    preset = changes.pop("preset", "points")
    data = {"preset": preset, "shown": preset, "points_per_unit": "10",
            "minimum_amount": "0.00", "cap_per_purchase": "", "points_per_currency_value": "100",
            "signup_bonus": "0", "pending_days": "0", "example": "27.50"}
    if preset == "steps":
        for row in range(1, 6):
            data[f"step_amount_{row}"] = ""
            data[f"step_points_{row}"] = ""
    data.update({key: str(value) for key, value in changes.items()})
    return data


@pytest.fixture
def saved_rules(shop, owner):
    """Version 2 of the shop's rules (version 1 holds the defaults)."""
    return services.program_rules_update(
        shop=shop, by=owner, points_per_unit=7, steps=[{"min_amount": "50.00", "points": 600}],
        minimum_amount="2.50", cap_per_purchase=900, points_per_currency_value=50,
        signup_bonus=25, pending_days=14)


def versions(shop) -> list[int]:
    return list(ProgramRules.objects.filter(shop=shop).order_by("version")
                .values_list("version", flat=True))


# --- the rules editor ------------------------------------------------------------------------


def test_program_page_shows_the_rules_in_force(owner_client, shop, saved_rules):
    response = owner_client.get(program_url(shop))
    assert response.status_code == 200
    content = text(response)
    assert "version" not in content.lower()
    assert re.search(r'<input[^>]*name="preset"[^>]*value="steps"[^>]*checked', content)
    assert input_value(content, "points_per_unit") == "7"
    assert input_value(content, "minimum_amount") == "2.50"
    assert input_value(content, "cap_per_purchase") == "900"
    assert input_value(content, "points_per_currency_value") == "50"
    assert input_value(content, "signup_bonus") == "25"
    assert input_value(content, "pending_days") == "14"
    assert input_value(content, "step_amount_1") == "50.00"
    assert input_value(content, "step_points_1") == "600"
    assert input_value(content, "step_amount_2") is None
    # The step replaces the rate: the box "on top" is not ticked.
    assert not re.search(r'<input[^>]*name="steps_on_top"[^>]*checked', content)
    # The live example starts at 27.50: 27 × 7 = 189 points.
    assert "A purchase of €27.50 earns <strong>189 points</strong>." in content
    # What customers see: the explanation and the examples.
    assert "from €50.00: 600 points" in content
    assert "You get 25 points when you join." in content


def test_program_page_of_a_new_shop_shows_the_defaults(owner_client, shop):
    content = text(owner_client.get(program_url(shop)))
    assert re.search(r'<input[^>]*name="preset"[^>]*value="points"[^>]*checked', content)
    assert input_value(content, "points_per_unit") == "10"
    assert input_value(content, "points_per_currency_value") == "100"
    assert input_value(content, "pending_days") == "0"
    assert "step_amount_1" not in content  # a points program has no step table
    assert "A purchase of €27.50 earns <strong>270 points</strong>." in content
    assert "version" not in content.lower()


def test_saving_changed_rules_makes_a_new_version(owner_client, shop, owner, saved_rules):
    data = rules_post(preset="steps", points_per_unit=5, step_amount_1="20",
                      step_points_1="300", step_amount_2="40.00", step_points_2="700",
                      signup_bonus=100, pending_days=30, cap_per_purchase=2000,
                      steps_on_top="on")
    response = owner_client.post(program_url(shop), data)
    assertRedirects(response, program_url(shop), fetch_redirect_response=False)
    assert messages_of(response) == [
        "New rules saved: they apply from the next purchase. Points already earned stay as "
        "they are."]
    assert versions(shop) == [1, 2, 3]
    rules = ProgramRules.objects.get(shop=shop, version=3)
    assert rules.points_per_unit == 5
    assert rules.steps == [{"min_amount": "20.00", "points": 300},
                           {"min_amount": "40.00", "points": 700}]
    assert rules.steps_replace_rate is False  # "on top" was ticked
    assert (rules.signup_bonus, rules.pending_days, rules.cap_per_purchase) == (100, 30, 2000)
    assert rules.created_by == owner
    saved_rules.refresh_from_db()
    assert saved_rules.points_per_unit == 7  # the old version is untouched

    page = text(owner_client.get(program_url(shop)))
    assert "New rules saved" in page
    assert input_value(page, "points_per_unit") == "5"
    assert re.search(r'<input[^>]*name="steps_on_top"[^>]*checked', page)


def test_saving_unchanged_rules_makes_no_version(owner_client, shop, saved_rules):
    content = text(owner_client.get(program_url(shop)))
    data = rules_post(preset="steps", points_per_unit=7, minimum_amount="2.50",
                      cap_per_purchase=900, points_per_currency_value=50, signup_bonus=25,
                      pending_days=14, step_amount_1="50.00", step_points_1="600")
    assert all(input_value(content, k) in (v, None) for k, v in data.items()
               if k not in ("example", "preset", "shown"))
    response = owner_client.post(program_url(shop), data)
    assertRedirects(response, program_url(shop), fetch_redirect_response=False)
    assert messages_of(response) == ["Nothing changed."]
    assert versions(shop) == [1, 2]


def test_saving_the_defaults_of_a_new_shop_says_nothing_changed(owner_client, shop):
    """A shop that never saved rules runs on the defaults; posting them unchanged must not
    announce new rules."""
    response = owner_client.post(program_url(shop), rules_post())
    assert response.status_code == 302
    assert messages_of(response) == ["Nothing changed."]
    rules = services.program_rules_current(shop=shop)
    assert (rules.points_per_unit, rules.steps, rules.signup_bonus) == (10, [], 0)


INVALID = [
    ({"preset": "steps", "step_amount_1": "20.00"},
     "Enter the points for a purchase from €20.00."),
    ({"preset": "steps", "step_points_2": "300"},
     "Enter the amount from which a purchase earns 300 points."),
    ({"points_per_unit": "-1"},
     "Enter at least 1 point for every €1 (for no points on small purchases, choose "
     "“Bigger baskets, more points”)."),
    ({"pending_days": "400"}, "At most 365 days (a year)."),
    ({"points_per_currency_value": "0"}, "Enter at least 1: that many points are worth €1."),
    ({"minimum_amount": "abc"}, "Enter an amount, such as 5.00, or 0 to count every purchase."),
    ({"preset": "steps", "step_amount_1": "20", "step_points_1": "300",
      "step_amount_2": "20.00", "step_points_2": "400"},
     "The step above already starts at €20.00: give each step its own amount."),
]


@pytest.mark.parametrize(("changes", "message"), INVALID,
                         ids=["amount-without-points", "points-without-amount", "negative-rate",
                              "pending-400", "zero-point-value", "bad-minimum", "twin-steps"])
def test_invalid_rules_are_refused(owner_client, shop, saved_rules, changes, message):
    response = owner_client.post(program_url(shop), rules_post(**changes))
    assert response.status_code == 400
    content = text(response)
    assert escape(message) in content
    assert 'role="alert"' in content
    assert versions(shop) == [1, 2]
    # What was typed stays in the form, to be corrected.
    for name, value in changes.items():
        if name != "preset":
            assert input_value(content, name) == value


# --- the live preview ------------------------------------------------------------------------


def test_live_example_uses_the_rules_being_edited(owner_client, shop, saved_rules):
    response = owner_client.get(example_url(shop), rules_post(points_per_unit=5,
                                                               example="27.50"))
    assert response.status_code == 200
    content = text(response)
    assert content.lstrip().startswith('<p id="example"')
    assert "<html" not in content
    assert "A purchase of €27.50 earns <strong>135 points</strong>." in content
    assert versions(shop) == [1, 2]  # nothing saved


@pytest.mark.parametrize(("changes", "expected"), [
    ({"preset": "steps", "step_amount_1": "20", "step_points_1": "300"}, 300),
    ({"preset": "steps", "step_amount_1": "20", "step_points_1": "300", "steps_on_top": "on"},
     570),
    ({"cap_per_purchase": "100"}, 100),
    ({"minimum_amount": "30"}, 0),
])
def test_live_example_applies_steps_cap_and_minimum(owner_client, shop, changes, expected):
    response = owner_client.get(example_url(shop), rules_post(**changes))
    assert f"A purchase of €27.50 earns <strong>{expected} points</strong>." in text(response)


@pytest.mark.parametrize(("amount", "message"), [
    ("abc", "Enter an amount, such as 27.50."),
    ("", "Enter an amount, such as 27.50."),
    ("-3", "The amount must be more than zero."),
    ("1.234", "Use at most two decimals."),
])
def test_live_example_explains_a_bad_amount(owner_client, shop, amount, message):
    response = owner_client.get(example_url(shop), rules_post(example=amount))
    assert response.status_code == 200
    content = text(response)
    assert content.lstrip().startswith('<p id="example"')
    assert f'<span class="field-errors">{escape(message)}</span>' in content
    assert "earns" not in content


def test_live_example_with_invalid_rules_says_what_to_fix(owner_client, shop):
    response = owner_client.get(example_url(shop), rules_post(pending_days="400"))
    content = text(response)
    assert "Fix this to see what your customers get:" in content
    assert "Days before new points can be spent: At most 365 days (a year)." in content
    assert "earns" not in content


def test_live_example_accepts_a_comma(owner_client, shop):
    response = owner_client.get(example_url(shop), rules_post(example="27,50"))
    assert "A purchase of €27.50 earns <strong>270 points</strong>." in text(response)


# --- API keys --------------------------------------------------------------------------------


def api_get(raw_key: str, card_number: str):
    return Client().get(f"/api/v1/members/{card_number}/",
                        headers={"Authorization": f"Api-Key {raw_key}"})


def raw_key_on(content: str) -> str | None:
    match = re.search(r'<code class="mono" id="new-key">([^<]+)</code>', content)
    return match.group(1) if match else None


def test_a_new_key_is_shown_once_and_works(owner_client, shop, owner, member):
    response = owner_client.post(keys_url(shop), {"name": "till-1", "scope": "till"},
                                 follow=True)
    # Post/redirect/get: a reload after creating a key cannot create a second one.
    assert response.redirect_chain == [(keys_url(shop), 302)]
    content = text(response)
    raw_key = raw_key_on(content)
    assert raw_key and raw_key.startswith("trw_")
    assert "Copy it now: it is shown only this once." in content
    key = ApiKey.objects.get(shop=shop)
    assert (key.name, key.scope, key.created_by, key.revoked_at) == ("till-1", "till", owner,
                                                                     None)
    assert raw_key.startswith(key.prefix)
    assert raw_key not in (key.key_hash, key.prefix)  # only a hash is stored

    api = api_get(raw_key, member.card_number)
    assert api.status_code == 200
    assert api.json()["card_number"] == member.card_number
    assert api.json()["name"] == "Sanne Visser"

    reloaded = text(owner_client.get(keys_url(shop)))
    assert raw_key not in reloaded
    assert raw_key_on(reloaded) is None
    assert "till-1" in reloaded
    assert f"{key.prefix}…" in reloaded


def test_a_key_without_a_name_is_refused(owner_client, shop):
    response = owner_client.post(keys_url(shop), {"name": "", "scope": "till"})
    assert response.status_code == 400
    assert "This field is required." in text(response)
    assert raw_key_on(text(response)) is None
    assert not ApiKey.objects.exists()


def test_a_key_with_an_unknown_scope_is_refused(owner_client, shop):
    response = owner_client.post(keys_url(shop), {"name": "till-1", "scope": "root"})
    assert response.status_code == 400
    assert not ApiKey.objects.exists()


def test_a_revoked_key_is_refused_by_the_api(owner_client, shop, member):
    raw_key = raw_key_on(text(owner_client.post(keys_url(shop), {"name": "till-1",
                                                                 "scope": "till"}, follow=True)))
    key = ApiKey.objects.get(shop=shop)
    assert api_get(raw_key, member.card_number).status_code == 200

    response = owner_client.post(revoke_url(shop, key.pk))
    assertRedirects(response, keys_url(shop), fetch_redirect_response=False)
    assert messages_of(response) == [
        "The key is revoked: tills using it are refused within a few seconds."]
    key.refresh_from_db()
    assert key.revoked_at is not None

    refused = api_get(raw_key, member.card_number)
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "This API key is not valid or was revoked."
    page = text(owner_client.get(keys_url(shop)))
    assert "Revoked" in page
    assert revoke_url(shop, key.pk) not in page


def test_revoking_another_shops_key_changes_nothing(owner_client, shop, other_shop, member):
    theirs, raw_key = services.api_key_create(shop=other_shop, name="their till")
    theirs_member = MembershipFactory(shop=other_shop)
    response = owner_client.post(revoke_url(shop, theirs.pk))
    assertRedirects(response, keys_url(shop), fetch_redirect_response=False)
    assert messages_of(response) == ["This key is revoked already, or is not yours."]
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert api_get(raw_key, theirs_member.card_number).status_code == 200


def test_a_key_only_sees_its_own_shop(owner_client, shop, other_shop, member):
    raw_key = raw_key_on(text(owner_client.post(keys_url(shop), {"name": "till-1",
                                                                 "scope": "till"}, follow=True)))
    theirs = MembershipFactory(shop=other_shop)
    assert api_get(raw_key, theirs.card_number).status_code == 404


def test_revoke_by_get_only_asks(owner_client, shop):
    """GET shows the confirmation (tests/loyalty/test_views_dashboard_api_keys.py); it never
    revokes."""
    key, _raw = services.api_key_create(shop=shop, name="till-1")
    assert owner_client.get(revoke_url(shop, key.pk)).status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is None


# --- a member's page and adjustments ---------------------------------------------------------


def test_member_page_shows_details_balance_and_history(owner_client, shop, member, owner):
    services.purchase_record(shop=shop, amount="27.50", membership_id=member.pk)
    services.points_credit(shop=shop, membership_id=member.pk, points=30,
                           kind=EntryKind.ADJUSTMENT, note="birthday", actor_user=owner)
    response = owner_client.get(member_url(shop, member))
    assert response.status_code == 200
    content = text(response)
    assert "Sanne Visser" in content
    assert member.card_number_display in content
    assert re.search(r'<div class="balance">\s*300\s*</div>', content)
    assert "€3.00" in content
    assert "Purchase of €27.50" in content
    assert "Adjustment: birthday" in content
    assert 'name="points"' in content and 'name="reason"' in content


def test_member_page_history_is_paginated(owner_client, shop, member, owner):
    for n in range(30):
        services.points_credit(shop=shop, membership_id=member.pk, points=1,
                               kind=EntryKind.ADJUSTMENT, note=f"note-{n:02d}", actor_user=owner)
    first = text(owner_client.get(member_url(shop, member)))
    assert first.count('class="entry entry-adjust"') == 25
    assert 'href="?page=2"' in first
    second = text(owner_client.get(member_url(shop, member), {"page": 2}))
    assert second.count('class="entry entry-adjust"') == 5


def test_adjust_up_with_a_reason(owner_client, shop, member, owner):
    response = owner_client.post(member_url(shop, member), {"points": "100",
                                                            "reason": "lost card"})
    assertRedirects(response, member_url(shop, member), fetch_redirect_response=False)
    assert messages_of(response) == ["Points adjusted."]
    entry = LedgerEntry.objects.get(membership=member)
    assert (entry.kind, entry.points, entry.note, entry.actor_user) == (
        EntryKind.ADJUSTMENT, 100, "lost card", owner)
    assert entry.kind == "adjust"
    member.refresh_from_db()
    assert member.points_balance == 100
    page = text(owner_client.get(member_url(shop, member)))
    assert "Adjustment: lost card" in page


def test_adjust_down_within_the_balance(owner_client, shop, member, owner):
    owner_client.post(member_url(shop, member), {"points": "100", "reason": "lost card"})
    response = owner_client.post(member_url(shop, member), {"points": "-40",
                                                            "reason": "typo"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.points_balance == 60
    assert list(LedgerEntry.objects.filter(membership=member).order_by("pk")
                .values_list("kind", "points")) == [("adjust", 100), ("adjust", -40)]


def test_adjust_down_more_than_the_balance_is_refused(owner_client, shop, member, owner):
    owner_client.post(member_url(shop, member), {"points": "100", "reason": "lost card"})
    response = owner_client.post(member_url(shop, member), {"points": "-100000",
                                                            "reason": "oops"})
    assert response.status_code == 400
    assert "Not enough points: 100 can be spent, 100000 asked." in text(response)
    member.refresh_from_db()
    assert member.points_balance == 100
    assert LedgerEntry.objects.filter(membership=member).count() == 1


@pytest.mark.parametrize(("data", "message"), [
    ({"points": "100", "reason": ""}, "This field is required."),
    ({"points": "100"}, "This field is required."),
    ({"points": "0", "reason": "nothing"}, "Enter a whole number of points, not zero."),
    ({"points": "1.5", "reason": "half"}, "Enter a whole number."),
    ({"points": "", "reason": "empty"}, "This field is required."),
])
def test_adjust_with_bad_input_is_refused(owner_client, shop, member, data, message):
    response = owner_client.post(member_url(shop, member), data)
    assert response.status_code == 400
    assert escape(message) in text(response)
    assert not LedgerEntry.objects.filter(membership=member).exists()


def test_member_of_another_shop_is_404(owner_client, shop, other_shop):
    theirs = MembershipFactory(shop=other_shop)
    assert owner_client.get(member_url(shop, theirs)).status_code == 404
    response = owner_client.post(member_url(shop, theirs), {"points": "100", "reason": "x"})
    assert response.status_code == 404
    assert not LedgerEntry.objects.exists()


# --- who may ---------------------------------------------------------------------------------


def _requests(shop, member, key):
    data = rules_post(points_per_unit=99)
    return [
        ("get", program_url(shop), None),
        ("post", program_url(shop), data),
        ("get", example_url(shop) + "?points_per_unit=5&example=27.50", None),
        ("get", keys_url(shop), None),
        ("post", keys_url(shop), {"name": "sneaky", "scope": "manage"}),
        ("post", revoke_url(shop, key.pk), {}),
        ("get", member_url(shop, member), None),
        ("post", member_url(shop, member), {"points": "1000", "reason": "for me"}),
    ]


def _nothing_changed(shop, member, key):
    assert ProgramRules.objects.filter(shop=shop).count() <= 1
    assert not ProgramRules.objects.filter(shop=shop, points_per_unit=99).exists()
    assert list(ApiKey.objects.filter(shop=shop)) == [key]
    key.refresh_from_db()
    assert key.revoked_at is None
    member.refresh_from_db()
    assert member.points_balance == 0
    assert not LedgerEntry.objects.filter(membership=member).exists()


def test_staff_get_404_on_all_of_these(staff_client, shop, member):
    key, _raw = services.api_key_create(shop=shop, name="till-1")
    for method, url, data in _requests(shop, member, key):
        response = getattr(staff_client, method)(url, data) if data is not None else getattr(
            staff_client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)
    _nothing_changed(shop, member, key)


def test_another_shops_owner_gets_404_on_all_of_these(other_owner, shop, member):
    key, _raw = services.api_key_create(shop=shop, name="till-1")
    client = signed_in(other_owner)
    for method, url, data in _requests(shop, member, key):
        response = getattr(client, method)(url, data) if data is not None else getattr(
            client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)
    _nothing_changed(shop, member, key)


def test_members_get_404_and_anonymous_sign_in(member_client, shop, member):
    key, _raw = services.api_key_create(shop=shop, name="till-1")
    anonymous = Client()
    for method, url, data in _requests(shop, member, key):
        response = getattr(member_client, method)(url, data) if data is not None else getattr(
            member_client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)
        response = getattr(anonymous, method)(url, data) if data is not None else getattr(
            anonymous, method)(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"] == f"/accounts/login/?next={quote(url)}"
    _nothing_changed(shop, member, key)
