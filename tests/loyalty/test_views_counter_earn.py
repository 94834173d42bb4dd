"""Earning points at the counter (loyalty/views/counter.py: member, earn, undo, sale without card)
and enrolling a customer there (members/views/counter.py)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from urllib.parse import quote

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape
from pytest_django.asserts import assertRedirects

from loyalty import services
from loyalty.models import (
    EntryKind,
    LedgerEntry,
    Membership,
    MembershipSource,
    PointLot,
    Purchase,
    Refund,
)
from tests.factories import MembershipFactory, StaffMemberFactory
from tests.helpers import text

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def member_url(shop, membership) -> str:
    return f"/counter/{shop.slug}/members/{membership.card_number}/"


def earn_url(shop, membership) -> str:
    return f"/counter/{shop.slug}/members/{membership.card_number}/earn/"


def undo_url(shop, purchase_id) -> str:
    return f"/counter/{shop.slug}/purchases/{purchase_id}/undo/"


def token_of(content: str) -> str:
    """The hidden idempotency token of the earn form on a page."""
    match = re.search(r'<input type="hidden" name="token" value="([0-9a-f]{32})"', content)
    assert match, "no earn token on the page"
    return match.group(1)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def follow_messages(client, response) -> str:
    """The page a redirect leads to, with its flashed messages rendered."""
    assert response.status_code == 302
    return text(client.get(response["Location"]))


def nothing_written(membership, *, balance=0, purchases=0, entries=0):
    membership.refresh_from_db()
    assert membership.points_balance == balance
    assert Purchase.objects.filter(membership=membership).count() == purchases
    assert LedgerEntry.objects.filter(membership=membership).count() == entries


@pytest.fixture
def sanne(member):
    """The ``member`` fixture (Sanne Visser, a login) with a Dutch mobile number."""
    member.phone = "+31612345678"
    member.save(update_fields=["phone"])
    return member


@pytest.fixture
def elsewhere(other_shop):
    return MembershipFactory(shop=other_shop, name="Sanne Zuid", email="sanne@zuid.example",
                             phone="+46701234567")


# --- the member's page -----------------------------------------------------------------------


def test_member_page_shows_balance_and_an_earn_form_ready_to_type(staff_client, shop, sanne,
                                                                  owner):
    services.points_credit(shop=shop, membership_id=sanne.pk, points=1250,
                           kind=EntryKind.ADJUSTMENT, note="opening balance", actor_user=owner)
    response = staff_client.get(member_url(shop, sanne))
    assert response.status_code == 200
    content = text(response)
    assert re.search(r'id="balance">\s*1,250\s*<', content)
    assert "€12.50" in content  # 1,250 points at the default 100 points per €1
    assert f'action="/counter/{shop.slug}/members/{sanne.card_number}/earn/"' in content
    assert len(token_of(content)) == 32
    amount_input = re.search(r'<input[^>]*name="amount"[^>]*>', content, re.S).group(0)
    assert "data-autofocus" in amount_input
    assert 'inputmode="decimal"' in amount_input
    # The next-customer search on this page must not steal the focus.
    assert content.count("data-autofocus") == 1
    assert "Adjustment: opening balance" in content


def test_each_render_has_a_fresh_token(staff_client, shop, sanne):
    first = token_of(text(staff_client.get(member_url(shop, sanne))))
    second = token_of(text(staff_client.get(member_url(shop, sanne))))
    assert first != second


# --- earn ------------------------------------------------------------------------------------


def test_earn_redirects_to_the_member_with_a_message(staff_client, shop, sanne, staff_user):
    token = token_of(text(staff_client.get(member_url(shop, sanne))))
    response = staff_client.post(earn_url(shop, sanne),
                                 {"amount": "27.50", "reference": "R-1001", "token": token})
    assertRedirects(response, member_url(shop, sanne), fetch_redirect_response=False)
    assert messages_of(response) == ["270 points for Sanne Visser. New balance: 270."]

    sanne.refresh_from_db()
    assert sanne.points_balance == 270
    purchase = Purchase.objects.get(membership=sanne)
    assert (purchase.amount, purchase.points_earned, purchase.reference) == (
        Decimal("27.50"), 270, "R-1001")
    assert purchase.recorded_by == staff_user
    assert purchase.shop == shop
    entry = LedgerEntry.objects.get(membership=sanne)
    assert (entry.kind, entry.points, entry.purchase_id) == (EntryKind.EARN, 270, purchase.pk)
    page = follow_messages(staff_client, response)
    assert "270 points for Sanne Visser. New balance: 270." in page
    assert re.search(r'id="balance">\s*270\s*<', page)
    assert "Purchase of €27.50" in page


def test_earn_uses_the_shops_rules(staff_client, shop, sanne, owner):
    services.program_rules_update(shop=shop, by=owner, points_per_unit=5)
    token = token_of(text(staff_client.get(member_url(shop, sanne))))
    response = staff_client.post(earn_url(shop, sanne), {"amount": "27.50", "token": token})
    assert response.status_code == 302
    sanne.refresh_from_db()
    assert sanne.points_balance == 135  # 27 whole euros × 5


def test_earn_with_htmx_says_it_out_of_band_and_every_panel_reloads(staff_client, shop, sanne):
    token = token_of(text(staff_client.get(member_url(shop, sanne))))
    response = staff_client.post(earn_url(shop, sanne), {"amount": "27.50", "token": token},
                                 headers=HX)
    assert response.status_code == 200
    # The event on which the core's panel and every other app's panel reload ...
    assert response["HX-Trigger"] == "membership-changed"
    # ... and nothing else is swapped but the feedback line, out of band.
    assert response["HX-Reswap"] == "none"
    content = text(response)
    assert "<html" not in content
    assert content.lstrip().startswith('<div id="counter-feedback"')
    assert 'hx-swap-oob="true"' in content
    assert "+270 points for €27.50." in content
    assert 'id="panel"' not in content
    assert "HX-Request" in response["Vary"]
    sanne.refresh_from_db()
    assert sanne.points_balance == 270


def test_the_panel_reloads_current_and_leaves_the_focus_alone(staff_client, shop, sanne):
    """What the panel loads on "membership-changed": the new balance, the purchase, a fresh
    token, and no autofocus (the focus goes to the next customer's search, not the amount)."""
    token = token_of(text(staff_client.get(member_url(shop, sanne))))
    staff_client.post(earn_url(shop, sanne), {"amount": "27.50", "token": token}, headers=HX)

    response = staff_client.get(member_url(shop, sanne), headers=HX)

    assert response.status_code == 200
    content = text(response)
    assert content.lstrip().startswith('<section id="panel"')
    assert "<html" not in content
    assert 'hx-trigger="membership-changed from:body"' in content
    assert re.search(r'id="balance">\s*270\s*<', content)
    assert "Purchase of €27.50" in content
    assert token_of(content) != token
    assert "data-autofocus" not in content
    assert "HX-Request" in response["Vary"]


def test_the_member_page_reloads_other_apps_panels_when_the_card_changed(staff_client, shop,
                                                                         sanne):
    content = text(staff_client.get(member_url(shop, sanne)))
    panel = re.search(r'<div class="counter-plugin"[^>]*>', content).group(0)
    assert f'hx-get="/counter/{shop.slug}/members/{sanne.card_number}/rewards/"' in panel
    assert 'hx-trigger="load, membership-changed from:body"' in panel
    assert 'hx-swap="innerHTML"' in panel  # the wrapper stays, and keeps listening
    assert '<div id="counter-feedback"' in content


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_the_same_token_twice_records_one_purchase(staff_client, shop, sanne, headers):
    token = token_of(text(staff_client.get(member_url(shop, sanne))))
    data = {"amount": "27.50", "token": token}
    first = staff_client.post(earn_url(shop, sanne), data, headers=headers)
    second = staff_client.post(earn_url(shop, sanne), data, headers=headers)
    assert first.status_code == second.status_code
    assert first.status_code in (200, 302)
    assert Purchase.objects.filter(shop=shop).count() == 1
    assert LedgerEntry.objects.filter(membership=sanne).count() == 1
    sanne.refresh_from_db()
    assert sanne.points_balance == 270


def test_two_tokens_record_two_purchases(staff_client, shop, sanne):
    for _ in range(2):
        token = token_of(text(staff_client.get(member_url(shop, sanne))))
        staff_client.post(earn_url(shop, sanne), {"amount": "10", "token": token})
    sanne.refresh_from_db()
    assert sanne.points_balance == 200
    assert Purchase.objects.filter(membership=sanne).count() == 2


BAD_AMOUNTS = [
    ("-1", "The amount must be more than zero."),
    ("0", "The amount must be more than zero."),
    ("abc", "Enter an amount, such as 27.50."),
    ("1.234", "Use at most two decimals."),
    ("", "This field is required."),
    ("1_0", "Enter an amount, such as 27.50."),
    ("1e2", "Enter an amount, such as 27.50."),
    ("\u0661\u0662", "Enter an amount, such as 27.50."),
]


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS, ids=[a or "empty" for a, _ in
                                                                  BAD_AMOUNTS])
def test_a_bad_amount_with_htmx_shows_the_error_in_the_panel(staff_client, shop, sanne, amount,
                                                             message):
    token = token_of(text(staff_client.get(member_url(shop, sanne))))
    response = staff_client.post(earn_url(shop, sanne), {"amount": amount, "token": token},
                                 headers=HX)
    assert response.status_code == 400
    content = text(response)
    assert content.lstrip().startswith('<section id="panel"')
    assert "<html" not in content
    error = re.search(r'<div class="field-errors" id="amount-error" role="alert">(.*?)</div>',
                      content, re.S)
    assert error, content
    assert escape(message) in error.group(1)
    assert 'aria-invalid="true"' in content
    nothing_written(sanne)


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS, ids=[a or "empty" for a, _ in
                                                                  BAD_AMOUNTS])
def test_a_bad_amount_without_htmx_shows_the_page_with_the_error(staff_client, shop, sanne,
                                                                 amount, message):
    token = token_of(text(staff_client.get(member_url(shop, sanne))))
    response = staff_client.post(earn_url(shop, sanne), {"amount": amount, "token": token})
    assert response.status_code == 400
    content = text(response)
    assert "<html" in content
    panel = content[content.index('<section id="panel"'):]
    assert escape(message) in panel
    # What was typed stays in the field, to be corrected.
    assert f'value="{escape(amount)}"' in panel
    nothing_written(sanne)


def test_a_missing_token_is_refused(staff_client, shop, sanne):
    response = staff_client.post(earn_url(shop, sanne), {"amount": "27.50"}, headers=HX)
    assert response.status_code == 400
    nothing_written(sanne)


def test_earn_for_a_member_of_another_shop_is_404(staff_client, shop, sanne, elsewhere):
    response = staff_client.post(earn_url(shop, elsewhere),
                                 {"amount": "27.50", "token": "a" * 32})
    assert response.status_code == 404
    assert staff_client.get(member_url(shop, elsewhere)).status_code == 404
    nothing_written(elsewhere)
    assert Purchase.objects.count() == 0


def test_earn_refuses_get(staff_client, shop, sanne):
    assert staff_client.get(earn_url(shop, sanne)).status_code == 405


# --- undo ------------------------------------------------------------------------------------


@pytest.fixture
def purchase(shop, sanne, staff_user):
    return services.purchase_record(shop=shop, amount="27.50", membership_id=sanne.pk,
                                    recorded_by=staff_user, idempotency_key="counter:t1")


def test_the_last_purchase_can_be_undone_from_the_panel(staff_client, shop, sanne, purchase):
    content = text(staff_client.get(member_url(shop, sanne)))
    assert f'action="{undo_url(shop, purchase.pk)}"' in content
    assert "Undo the purchase of €27.50" in content


def test_undo_within_ten_minutes_refunds(staff_client, shop, sanne, purchase, staff_user):
    response = staff_client.post(undo_url(shop, purchase.pk), {"reason": "wrong card"})
    assertRedirects(response, member_url(shop, sanne), fetch_redirect_response=False)
    assert messages_of(response) == ["Purchase undone: 270 points taken back."]

    sanne.refresh_from_db()
    assert sanne.points_balance == 0
    refund = Refund.objects.get(purchase=purchase)
    assert refund.amount == Decimal("27.50")
    assert refund.points_reversed == 270
    assert refund.recorded_by == staff_user
    assert "wrong card" in refund.reason
    purchase.refresh_from_db()
    assert purchase.refunded_amount == Decimal("27.50")
    reversal = LedgerEntry.objects.get(membership=sanne, kind=EntryKind.REVERSAL)
    assert reversal.points == -270
    assert sum(PointLot.objects.filter(membership=sanne).values_list("remaining", flat=True)) == 0

    page = follow_messages(staff_client, response)
    assert "Purchase undone: 270 points taken back." in page
    assert "Refund of €27.50" in page
    assert "Undo the purchase" not in page  # nothing left to undo


def test_undo_twice_is_refused_the_second_time(staff_client, shop, sanne, purchase):
    follow_messages(staff_client, staff_client.post(undo_url(shop, purchase.pk),
                                                    {"reason": "wrong card"}))
    response = staff_client.post(undo_url(shop, purchase.pk), {"reason": "again"})
    assert response.status_code == 302
    assert messages_of(response) == ["This purchase has been (partly) refunded already."]
    assert Refund.objects.filter(purchase=purchase).count() == 1
    sanne.refresh_from_db()
    assert sanne.points_balance == 0


@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "blank"])
def test_undo_without_a_reason_changes_nothing(staff_client, shop, sanne, purchase, reason):
    response = staff_client.post(undo_url(shop, purchase.pk), {"reason": reason})
    assertRedirects(response, member_url(shop, sanne), fetch_redirect_response=False)
    assert messages_of(response) == ["Say why the purchase is undone."]
    assert not Refund.objects.exists()
    sanne.refresh_from_db()
    assert sanne.points_balance == 270
    purchase.refresh_from_db()
    assert purchase.refunded_amount == 0


def test_undo_after_ten_minutes_is_refused(staff_client, shop, sanne, staff_user):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        purchase = services.purchase_record(shop=shop, amount="27.50", membership_id=sanne.pk,
                                            recorded_by=staff_user, idempotency_key="counter:t2")
    with time_machine.travel(start + dt.timedelta(minutes=10, seconds=1), tick=False):
        page = text(staff_client.get(member_url(shop, sanne)))
        assert "Undo the purchase" not in page
        response = staff_client.post(undo_url(shop, purchase.pk), {"reason": "wrong card"})
    assert response.status_code == 302
    assert messages_of(response) == [
        "A purchase can be undone within 10 minutes only. Record a refund instead."]
    assert not Refund.objects.exists()
    sanne.refresh_from_db()
    assert sanne.points_balance == 270


def test_undo_just_inside_ten_minutes_works(staff_client, shop, sanne, staff_user):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        purchase = services.purchase_record(shop=shop, amount="27.50", membership_id=sanne.pk,
                                            recorded_by=staff_user, idempotency_key="counter:t3")
    with time_machine.travel(start + dt.timedelta(minutes=9, seconds=59), tick=False):
        response = staff_client.post(undo_url(shop, purchase.pk), {"reason": "wrong card"})
    assert messages_of(response) == ["Purchase undone: 270 points taken back."]
    sanne.refresh_from_db()
    assert sanne.points_balance == 0


def test_undo_of_another_shops_purchase_is_404(staff_client, shop, other_shop, elsewhere):
    theirs = services.purchase_record(shop=other_shop, amount="27.50",
                                      membership_id=elsewhere.pk, idempotency_key="till:1")
    response = staff_client.post(undo_url(shop, theirs.pk), {"reason": "not ours"})
    assert response.status_code == 404
    assert not Refund.objects.exists()
    elsewhere.refresh_from_db()
    assert elsewhere.points_balance == 270


def test_undo_of_an_unknown_purchase_is_404(staff_client, shop):
    assert staff_client.post(undo_url(shop, 999999), {"reason": "x"}).status_code == 404


def test_undo_refuses_get(staff_client, shop, purchase):
    assert staff_client.get(undo_url(shop, purchase.pk)).status_code == 405
    assert not Refund.objects.exists()


# --- sale without card -----------------------------------------------------------------------


def sale_token(client, shop) -> str:
    content = text(client.get(f"/counter/{shop.slug}/"))
    match = re.search(r'<input type="hidden" name="token" value="([0-9a-f]{32})"', content)
    assert match
    return match.group(1)


def test_sale_without_card_records_a_purchase_without_member(staff_client, shop, staff_user):
    token = sale_token(staff_client, shop)
    response = staff_client.post(f"/counter/{shop.slug}/sale/",
                                 {"amount": "12.40", "reference": "R-7", "token": token})
    assertRedirects(response, f"/counter/{shop.slug}/", fetch_redirect_response=False)
    assert messages_of(response) == ["Sale without card recorded."]
    purchase = Purchase.objects.get(shop=shop)
    assert purchase.membership is None
    assert purchase.amount == Decimal("12.40")
    assert purchase.points_earned == 0
    assert purchase.reference == "R-7"
    assert purchase.recorded_by == staff_user
    assert not LedgerEntry.objects.exists()


def test_sale_without_card_twice_with_one_token_is_one_sale(staff_client, shop):
    token = sale_token(staff_client, shop)
    for _ in range(2):
        staff_client.post(f"/counter/{shop.slug}/sale/", {"amount": "12.40", "token": token})
    assert Purchase.objects.filter(shop=shop).count() == 1


@pytest.mark.parametrize(("amount", "message"), [
    ("", "Enter an amount, such as 27.50."),
    ("abc", "Enter an amount, such as 27.50."),
    ("-5", "The amount must be more than zero."),
    ("1.234", "Use at most two decimals."),
], ids=["empty", "abc", "negative", "three-decimals"])
def test_sale_without_card_with_a_bad_amount_keeps_it_and_says_why_next_to_it(
        staff_client, shop, amount, message):
    token = sale_token(staff_client, shop)
    response = staff_client.post(f"/counter/{shop.slug}/sale/", {
        "amount": amount, "reference": "R-8", "token": token})

    assert response.status_code == 400
    content = text(response)
    assert "<details class=\"sale\" open>" in content
    field = re.search(r'<input id="sale_amount"[^>]*>', content, re.S).group(0)
    assert f'value="{escape(amount)}"' in field
    assert 'aria-invalid="true"' in field
    assert "data-autofocus" in field  # the cursor goes back to the amount to correct it
    assert 'value="R-8"' in re.search(r'<input id="sale_reference"[^>]*>', content, re.S).group(0)
    error = re.search(r'<div class="field-errors" id="sale-amount-error" role="alert">(.*?)</div>',
                      content, re.S)
    assert error and escape(message) in error.group(1)
    assert 'class="message message-error"' not in content
    assert token in content  # the same sale, once it is corrected
    counter_q = re.search(r'<input id="counter-q"[^>]*>', content, re.S).group(0)
    assert "data-autofocus" not in counter_q
    assert messages_of(response) == []
    assert not Purchase.objects.exists()

    staff_client.post(f"/counter/{shop.slug}/sale/", {"amount": "12.40", "token": token})
    assert Purchase.objects.get(shop=shop).amount == Decimal("12.40")


# --- enrol at the counter --------------------------------------------------------------------


def enrol_url(shop) -> str:
    return f"/counter/{shop.slug}/enrol/"


def test_enrol_form_is_shown(staff_client, shop):
    response = staff_client.get(enrol_url(shop))
    assert response.status_code == 200
    content = text(response)
    for name in ("name", "phone", "email", "birthday", "marketing_consent"):
        assert f'name="{name}"' in content
    assert "A phone number or an e-mail address is enough; the name is optional." in content


def test_enrol_creates_a_counter_member_and_opens_it(staff_client, shop):
    response = staff_client.post(enrol_url(shop), {"name": "Kees Smit", "phone": "06 1111 2222"})
    membership = Membership.objects.get(shop=shop, name="Kees Smit")
    assertRedirects(response, member_url(shop, membership), fetch_redirect_response=False)
    assert membership.source == MembershipSource.COUNTER
    assert membership.phone == "+31611112222"
    assert membership.user is None
    assert membership.language == shop.language
    assert messages_of(response) == [
        f"Kees Smit is a member now. Card number: {membership.card_number_display}."]
    page = follow_messages(staff_client, response)
    assert "Kees Smit" in page
    assert re.search(r'id="balance">\s*0\s*<', page)


def test_enrol_gives_the_signup_bonus(staff_client, shop, owner):
    services.program_rules_update(shop=shop, by=owner, signup_bonus=50)
    staff_client.post(enrol_url(shop), {"name": "Kees Smit", "email": "kees@example.com"})
    membership = Membership.objects.get(shop=shop, email="kees@example.com")
    assert membership.points_balance == 50
    assert LedgerEntry.objects.get(membership=membership).kind == EntryKind.SIGNUP_BONUS


def test_enrol_with_a_known_phone_number_is_refused(staff_client, shop, sanne):
    response = staff_client.post(enrol_url(shop), {"name": "Sanne V.", "phone": "+31612345678"})
    assert response.status_code == 400
    assert escape("There is already a member with this phone number at Bakkerij Noord.") in text(
        response)
    assert Membership.objects.filter(shop=shop).count() == 1


def test_enrol_without_contact_details_is_refused(staff_client, shop):
    response = staff_client.post(enrol_url(shop), {"name": "Kees Smit"})
    assert response.status_code == 400
    assert "Enter an e-mail address or a phone number." in text(response)
    assert not Membership.objects.filter(shop=shop).exists()


def test_enrol_is_not_for_customers(member_client, shop):
    assert member_client.get(enrol_url(shop)).status_code == 404
    response = member_client.post(enrol_url(shop), {"name": "Kees Smit", "phone": "0611112222"})
    assert response.status_code == 404
    assert not Membership.objects.filter(name="Kees Smit").exists()


def test_enrol_needs_sign_in(client, shop):
    url = enrol_url(shop)
    for response in (client.get(url), client.post(url, {"name": "Kees", "phone": "0611112222"})):
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={quote(url)}"
    assert not Membership.objects.filter(name="Kees").exists()


def test_enrol_at_another_shops_counter_is_404(shop, other_shop):
    client = Client()
    client.force_login(StaffMemberFactory(shop=other_shop).user)
    response = client.post(enrol_url(shop), {"name": "Kees Smit", "phone": "0611112222"})
    assert response.status_code == 404
    assert not Membership.objects.exists()


# --- customers, anonymous --------------------------------------------------------------------


def test_customers_and_anonymous_cannot_earn_or_undo(member_client, client, shop, sanne,
                                                     purchase):
    data = {"amount": "100", "token": "b" * 32}
    assert member_client.post(earn_url(shop, sanne), data).status_code == 404
    assert member_client.post(undo_url(shop, purchase.pk), {"reason": "x"}).status_code == 404
    assert member_client.post(f"/counter/{shop.slug}/sale/", data).status_code == 404
    anonymous = Client()
    for url, payload in ((earn_url(shop, sanne), data), (undo_url(shop, purchase.pk),
                                                          {"reason": "x"})):
        response = anonymous.post(url, payload)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    sanne.refresh_from_db()
    assert sanne.points_balance == 270
    assert Purchase.objects.count() == 1
    assert not Refund.objects.exists()


# --- query counts ----------------------------------------------------------------------------


def _fill_shop(shop, *, members: int, entries: int, staff_user):
    """``members`` members named "Klant …" (all found by the search "klant"), the first with
    ``entries`` ledger entries (purchases, and a partial refund after every nine)."""
    people = [MembershipFactory(shop=shop, name=f"Klant {n:03d}") for n in range(members)]
    busy = people[0]
    purchases = []
    for n in range(entries):
        if n % 10 == 9:
            services.purchase_refund(shop=shop, purchase_id=purchases[-1].pk, amount="1.00",
                                     reason="return")
        else:
            purchases.append(services.purchase_record(
                shop=shop, amount=f"{10 + n}.50", membership_id=busy.pk, recorded_by=staff_user,
                idempotency_key=f"fill:{shop.pk}:{n}"))
    assert LedgerEntry.objects.filter(membership=busy).count() == entries
    return busy


def _counter_requests(client, shop, busy, tokens):
    """The measured requests: the search (plain and htmx), the member page, an earn with htmx
    and a plain earn (its redirect)."""
    return {
        "search": lambda: client.get(f"/counter/{shop.slug}/", {"q": "klant"}),
        "search_htmx": lambda: client.get(f"/counter/{shop.slug}/", {"q": "klant"}, headers=HX),
        "member": lambda: client.get(member_url(shop, busy)),
        "earn_htmx": lambda: client.post(earn_url(shop, busy),
                                         {"amount": "27.50", "token": tokens[0]}, headers=HX),
        "earn": lambda: client.post(earn_url(shop, busy),
                                    {"amount": "27.50", "token": tokens[1]}),
    }


def test_counter_pages_run_a_constant_number_of_queries(staff_user, shop, other_shop,
                                                        django_assert_max_num_queries):
    StaffMemberFactory(shop=other_shop, user=staff_user)
    client = Client()
    client.force_login(staff_user)
    small_busy = _fill_shop(shop, members=3, entries=2, staff_user=staff_user)
    large_busy = _fill_shop(other_shop, members=200, entries=300, staff_user=staff_user)
    client.get(f"/counter/{shop.slug}/")  # warm up (session, caches)

    small = {}
    for name, make in _counter_requests(client, shop, small_busy, ("a" * 32, "b" * 32)).items():
        with CaptureQueriesContext(connection) as captured:
            response = make()
        assert response.status_code in (200, 302), (name, response.status_code)
        small[name] = len(captured)

    # 200 members, all matching the search, and a member with 300 entries: no more queries.
    large = {}
    for name, make in _counter_requests(client, other_shop, large_busy,
                                        ("c" * 32, "d" * 32)).items():
        with django_assert_max_num_queries(small[name]) as captured:
            response = make()
        assert response.status_code in (200, 302), (name, response.status_code)
        large[name] = len(captured)
        if name == "search":
            assert "More members match: type a little more." in text(response)
        if name == "member":
            assert len(re.findall(r'<li class="entry ', text(response))) == 5
    print("\ncounter queries, small shop vs 200 members / 300 entries:",
          {name: (small[name], large[name]) for name in small})
    assert large == small
    assert Purchase.objects.filter(membership=large_busy).count() == 272  # 270 + the 2 earns
    large_busy.refresh_from_db()
    assert large_busy.points_balance == LedgerEntry.objects.filter(
        membership=large_busy).aggregate(total=Sum("points"))["total"]
