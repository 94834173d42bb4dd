"""The counter with a queue waiting (loyalty/views/counter.py, members/views/counter.py): a
voucher code typed in the search shows the voucher instead of "no member found", an empty
result offers to enrol what was typed, the enrol form comes filled in (a phone number is
enough), and an undo works with htmx like the other actions."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils.html import escape
from pytest_django.asserts import assertRedirects

from loyalty import services
from loyalty.models import Membership, MembershipSource, Refund
from tests.helpers import balance, text

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def screen_url(shop) -> str:
    return f"/counter/{shop.slug}/"


def enrol_url(shop) -> str:
    return f"/counter/{shop.slug}/enrol/"


def enrol_link(content: str) -> tuple[str, dict]:
    match = re.search(r'<a class="btn btn-big" id="enrol-suggestion" href="([^"]+)">(.*?)</a>',
                      content)
    assert match, "no enrol suggestion"
    href = match.group(1).replace("&amp;", "&")
    return match.group(2), parse_qs(urlsplit(href).query)


# --- a voucher code in the search box ------------------------------------------------------


@pytest.mark.parametrize("typed", ["RQLLC8GM", "rqll-c8gm"])
def test_a_code_while_typed_asks_the_lookup_instead_of_saying_no_member(staff_client, shop,
                                                                        typed):
    response = staff_client.get(screen_url(shop), {"q": typed}, headers=HX)

    assert response.status_code == 200
    content = text(response)
    assert "No member found" not in content
    assert "enrol-suggestion" not in content
    # The core names the rewards app's lookup only by its URL name (in settings).
    match = re.search(r'<div class="panel code-preview" hx-get="([^"]+)" hx-trigger="load"',
                      content)
    assert match
    url = urlsplit(match.group(1).replace("&amp;", "&"))
    assert url.path == f"/counter/{shop.slug}/vouchers/"
    assert parse_qs(url.query) == {"code": [typed], "preview": ["1"]}


def test_a_code_that_is_a_members_name_lists_the_member(staff_client, shop, member):
    member.name = "Annemiek"
    member.save(update_fields=["name"])
    content = text(staff_client.get(screen_url(shop), {"q": "annemiek"}, headers=HX))
    assert "Annemiek" in content
    assert "code-preview" not in content


# --- no result: enrol in one step ----------------------------------------------------------


@pytest.mark.parametrize(("typed", "field"), [
    ("06 1234 5601", "phone"),
    ("+31 6 1234 5601", "phone"),
    ("kees@example.com", "email"),
    ("Kees Smit", "name"),
])
def test_no_result_offers_to_enrol_what_was_typed(staff_client, shop, member, typed, field):
    content = text(staff_client.get(screen_url(shop), {"q": typed}, headers=HX))

    assert escape(f"No member found for “{typed}”.") in content
    label, query = enrol_link(content)
    assert label == escape(f"Enrol {typed}")
    assert query == {field: [typed]}


@pytest.mark.parametrize("typed", ["1234567890123", "12", "%%%"])
def test_no_enrol_suggestion_for_a_card_number_or_noise(staff_client, shop, typed):
    content = text(staff_client.get(screen_url(shop), {"q": typed}, headers=HX))
    assert "No member found" in content
    assert "enrol-suggestion" not in content


def test_the_enrol_form_comes_filled_in_with_the_cursor_in_the_first_empty_field(staff_client,
                                                                               shop):
    content = text(staff_client.get(enrol_url(shop), {"phone": "06 1234 5601"}))
    phone = re.search(r'<input[^>]*name="phone"[^>]*>', content).group(0)
    name = re.search(r'<input[^>]*name="name"[^>]*>', content).group(0)
    assert 'value="06 1234 5601"' in phone
    assert "data-autofocus" in name and "data-autofocus" not in phone
    assert content.count("data-autofocus") == 1

    content = text(staff_client.get(enrol_url(shop), {"name": "Kees Smit"}))
    assert 'value="Kees Smit"' in re.search(r'<input[^>]*name="name"[^>]*>', content).group(0)
    assert "data-autofocus" in re.search(r'<input[^>]*name="phone"[^>]*>', content).group(0)

    content = text(staff_client.get(enrol_url(shop), {"email": "kees@example.com",
                                                      "password": "x"}))
    assert 'value="kees@example.com"' in content
    assert 'name="password"' not in content  # only what the counter may pass on


def test_a_customer_is_enrolled_with_only_a_phone_number(staff_client, shop):
    response = staff_client.post(enrol_url(shop), {"phone": "06 1234 5601"})

    membership = Membership.objects.get(shop=shop)
    assertRedirects(response, f"/counter/{shop.slug}/members/{membership.card_number}/",
                    fetch_redirect_response=False)
    assert membership.name == ""
    assert membership.source == MembershipSource.COUNTER
    page = text(staff_client.get(response["Location"]))
    assert "is a member now. Card number:" in page
    assert re.search(r"<h1>\s*\S", page)  # the heading is not empty: the number stands in
    assert 'id="balance"' in page


def test_an_enrol_error_puts_the_cursor_on_the_field_and_keeps_the_input(staff_client, shop):
    response = staff_client.post(enrol_url(shop), {"name": "Kees", "phone": "06 12ab"})
    assert response.status_code == 400
    content = text(response)
    phone = re.search(r'<input[^>]*name="phone"[^>]*>', content).group(0)
    assert "data-autofocus" in phone
    assert 'value="06 12ab"' in phone
    assert 'value="Kees"' in content
    assert not Membership.objects.exists()


# --- undo with htmx -----------------------------------------------------------------------


@pytest.fixture
def purchase(shop, member, staff_user):
    return services.purchase_record(shop=shop, amount="27.50", membership_id=member.pk,
                                    recorded_by=staff_user, idempotency_key="counter:u1")


def undo_url(shop, purchase) -> str:
    return f"/counter/{shop.slug}/purchases/{purchase.pk}/undo/"


def test_the_undo_form_posts_with_htmx_and_keeps_its_plain_fallback(staff_client, shop, member,
                                                                    purchase):
    content = text(staff_client.get(f"/counter/{shop.slug}/members/{member.card_number}/"))
    form = re.search(r'<form method="post" action="([^"]+)" class="row"\s+hx-post="([^"]+)"',
                     content)
    assert form and form.group(1) == form.group(2) == undo_url(shop, purchase)


def test_undo_with_htmx_reloads_every_panel(staff_client, shop, member, purchase):
    response = staff_client.post(undo_url(shop, purchase), {"reason": "wrong card"}, headers=HX)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "membership-changed"
    assert response["HX-Reswap"] == "none"
    content = text(response)
    assert content.lstrip().startswith('<div id="counter-feedback"')
    assert "Purchase undone: 270 points taken back." in content
    assert balance(member) == 0
    assert Refund.objects.filter(purchase=purchase).count() == 1


@pytest.mark.parametrize(("reason", "message"), [
    ("", "Say why the purchase is undone."),
    ("again", "This purchase has been (partly) refunded already."),
])
def test_a_refused_undo_with_htmx_shows_why_in_the_panel(staff_client, shop, member, purchase,
                                                         reason, message):
    if reason:
        services.purchase_undo(shop=shop, purchase_id=purchase.pk, reason="first",
                               by=purchase.recorded_by)
    response = staff_client.post(undo_url(shop, purchase), {"reason": reason}, headers=HX)

    assert response.status_code == 400
    assert response["HX-Retarget"] == "#panel"
    assert "HX-Trigger" not in response
    content = text(response)
    assert content.lstrip().startswith('<section id="panel"')
    if not reason:  # the undo is still there, opened, with the message by its field
        assert '<details class="undo" open>' in content
        assert escape(message) in re.search(r'id="undo-error" role="alert">(.*?)</div>',
                                            content).group(1)
    else:  # nothing left to undo: the message on top of the panel
        assert "Undo the purchase" not in content
        assert f'<div class="form-errors" role="alert">{escape(message)}</div>' in content
    assert Refund.objects.filter(purchase=purchase).count() == (1 if reason else 0)
