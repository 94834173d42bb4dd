"""The charity at the counter: the earn form's round-up (one tap, or an amount up to the
maximum), what the answer says was given, refusals at the field with nothing written, the
undo giving the round-up back, the member's charity picked and changed in its panel, and a
shop giving "instead of points"."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages

from charity.models import CharityChoice, Donation, DonationKind
from loyalty.models import LedgerEntry, Purchase
from tests.helpers import text

from .conftest import charity_add, program_set

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def member_url(shop, membership, tail=""):
    return f"/counter/{shop.slug}/members/{membership.card_number}/{tail}"


def token_of(content: str) -> str:
    return re.search(r'name="token" value="([0-9a-f]{32})"', content).group(1)


def earn(client, shop, membership, htmx=True, **fields):
    token = token_of(text(client.get(member_url(shop, membership))))
    return client.post(member_url(shop, membership, "earn/"),
                       {"amount": "27.50", "reference": "", "token": token, **fields},
                       headers=HX if htmx else {})


@pytest.fixture
def hope(shop):
    hope = charity_add(shop, "Hope")
    program_set(shop, default_charity_id=hope.pk)  # 2% of each purchase, round-ups up to €5
    shop.refresh_from_db()
    return hope


def nothing_written(membership):
    membership.refresh_from_db()
    assert membership.points_balance == 0
    assert not Purchase.objects.filter(membership=membership).exists()
    assert not LedgerEntry.objects.filter(membership=membership).exists()
    assert not Donation.objects.exists()


# --- the offer -------------------------------------------------------------------------------


def test_without_the_program_the_earn_form_offers_no_round_up(staff_client, shop, member):
    charity_add(shop, "Hope")  # a charity, but the program is off
    content = text(staff_client.get(member_url(shop, member)))
    assert 'name="round_up"' not in content
    assert "donation-offer" not in content
    panel = text(staff_client.get(member_url(shop, member, "charity/")))
    assert '<section id="member-charity" hidden></section>' in panel


def test_the_earn_form_offers_the_round_up_and_an_amount_up_to_the_maximum(
        staff_client, shop, member, hope):
    content = text(staff_client.get(member_url(shop, member)))
    assert 'type="checkbox" name="round_up"' in content
    assert "Round up to the next whole amount for Hope (an exact amount is not rounded)" in content
    assert "or add an amount (at most €5.00)" in content
    # The words follow the amount as it is typed (htmx asks the offer for them).
    assert f'hx-get="{member_url(shop, member, "donation-offer/")}"' in content


def test_the_offer_follows_the_amount_typed_and_does_not_round_an_exact_one(
        staff_client, shop, member, hope):
    url = member_url(shop, member, "donation-offer/")
    words = text(staff_client.get(url, {"amount": "27.50"}, headers=HX))
    assert words.startswith('<span id="donation-offer-words">')
    assert "Round up to €28.00 (+€0.50 for Hope)" in words
    assert "nothing to round up" in text(staff_client.get(url, {"amount": "28.00"}, headers=HX))
    assert "next whole amount" in text(staff_client.get(url, {"amount": "abc"}, headers=HX))


# --- earn with a gift ------------------------------------------------------------------------


def test_a_round_up_says_what_was_given_apart_from_the_points(staff_client, shop, member, hope):
    response = earn(staff_client, shop, member, round_up="on")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "membership-changed"  # the panels (balance too) reload
    content = text(response)
    assert "+270 points for €27.50." in content
    news = re.search(r'<p class="counter-news counter-news-donation">(.*?)</p>', content, re.S)
    assert news, content
    assert "€0.50 round-up and €0.55 from the shop to Hope." in news.group(1)
    assert "message-warning" not in content and "message-error" not in content
    gifts = {d.kind: d.amount for d in Donation.objects.filter(purchase__membership=member)}
    assert gifts == {DonationKind.ROUND_UP: Decimal("0.50"),
                     DonationKind.SHOP_SHARE: Decimal("0.55")}
    member.refresh_from_db()
    assert member.points_balance == 270


def test_an_amount_given_is_the_customers_own_and_an_exact_purchase_is_not_rounded(
        staff_client, shop, member, hope):
    content = text(earn(staff_client, shop, member, donation_amount="2.00"))
    assert "€2.00 from the customer and €0.55 from the shop to Hope." in content
    content = text(earn(staff_client, shop, member, amount="28.00", round_up="on"))
    assert "€0.56 from the shop to Hope." in content and "round-up" not in content
    assert Donation.objects.filter(kind=DonationKind.ROUND_UP).count() == 1


def test_without_htmx_the_gift_is_a_message_of_its_own(staff_client, shop, member, hope):
    response = earn(staff_client, shop, member, htmx=False, round_up="on")
    assert response.status_code == 302
    said = [(str(m), m.tags) for m in get_messages(response.wsgi_request)]
    assert ("€0.50 round-up and €0.55 from the shop to Hope.", "news success") in said


def refused_at_the_gift(response) -> tuple[str, str]:
    """A refused gift: the panel again (400, retargeted), the page and the gift field's error."""
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#panel"
    content = text(response)
    error = re.search(r'<div class="field-errors" id="round-up-error" role="alert">(.*?)</div>',
                      content, re.S)
    assert error, content
    return content, error.group(1)


@pytest.mark.parametrize(("fields", "message"), [
    ({"donation_amount": "5.01"}, "A round-up may be 5.00 EUR at most."),
    ({"donation_amount": "abc"}, None),
    ({"donation_amount": "1.00", "round_up": "on"}, "Round up, or give an amount: not both."),
])
def test_a_refused_gift_is_said_at_its_field_and_nothing_is_written(
        staff_client, shop, member, hope, fields, message):
    content, error = refused_at_the_gift(earn(staff_client, shop, member, **fields))
    if message:
        assert message in error
    assert 'aria-describedby="round-up-error"' in content
    assert 'value="27.50"' in content  # what was typed is kept
    nothing_written(member)


def test_a_round_up_over_a_small_maximum_is_refused_at_the_counter_and_nothing_written(
        staff_client, shop, member, hope):
    program_set(shop, round_up_max="0.20", default_charity_id=hope.pk)
    response = earn(staff_client, shop, member, round_up="on", donation_currency="EUR")
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#panel"
    assert "A round-up may be 0.20 EUR at most." in text(response)
    nothing_written(member)


def test_the_earn_form_sends_the_currency_it_shows_the_gift_in(staff_client, shop, member,
                                                               hope):
    content = text(staff_client.get(member_url(shop, member)))
    assert '<input type="hidden" name="donation_currency" value="EUR">' in content
    response = earn(staff_client, shop, member, round_up="on", donation_currency="EUR")
    assert response.status_code == 200
    assert Donation.objects.filter(kind=DonationKind.ROUND_UP).get().currency == "EUR"


@pytest.mark.parametrize("fields", [
    {"round_up": "on", "donation_currency": "SEK"},
    {"donation_amount": "1.00", "donation_currency": "SEK"},
])
def test_a_gift_in_another_currency_is_refused_and_the_panel_stays_current(
        staff_client, shop, member, hope, fields):
    response = earn(staff_client, shop, member, **fields)
    content, error = refused_at_the_gift(response)
    assert "This shop works in EUR, not SEK." in error
    assert 'value="27.50"' in content  # what was typed is kept
    # The panel is the card as it is now: the shop's currency offered again, a fresh token.
    assert '<input type="hidden" name="donation_currency" value="EUR">' in content
    assert "HX-Trigger" not in response
    nothing_written(member)


def test_a_gift_in_another_currency_leaves_earlier_purchases_as_they_were(
        staff_client, shop, member, hope):
    earn(staff_client, shop, member, round_up="on")
    before = list(Donation.objects.values_list("pk", flat=True))
    response = earn(staff_client, shop, member, amount="10.20", round_up="on",
                    donation_currency="sek")
    assert response.status_code == 400
    assert "This shop works in EUR, not sek." in text(response)
    member.refresh_from_db()
    assert member.points_balance == 270
    assert Purchase.objects.filter(membership=member).count() == 1
    assert list(Donation.objects.values_list("pk", flat=True)) == before
    assert "270" in text(response)  # the balance shown is the card's


def test_a_tampered_currency_is_said_at_the_gift_and_nothing_is_written(
        staff_client, shop, member, hope):
    response = earn(staff_client, shop, member, round_up="on", donation_currency="EURO")
    assert response.status_code == 400
    error = re.search(r'<div class="field-errors" id="round-up-error" role="alert">(.*?)</div>',
                      text(response), re.S)
    assert error and "at most 3 characters" in error.group(1)
    nothing_written(member)


def test_a_gift_refused_because_the_program_went_off_writes_nothing(staff_client, shop, member,
                                                                    hope):
    token = token_of(text(staff_client.get(member_url(shop, member))))
    program_set(shop, enabled=False)
    response = staff_client.post(member_url(shop, member, "earn/"),
                                 {"amount": "27.50", "token": token, "round_up": "on"},
                                 headers=HX)
    assert response.status_code == 400
    assert "This shop does not take donations." in text(response)
    nothing_written(member)


def test_the_undo_gives_the_round_up_back_and_says_so(staff_client, shop, member, hope):
    earn(staff_client, shop, member, round_up="on")
    purchase = Purchase.objects.get(membership=member)
    response = staff_client.post(f"/counter/{shop.slug}/purchases/{purchase.pk}/undo/",
                                 {"reason": "wrong card"}, headers=HX)
    content = text(response)
    assert "Purchase undone: 270 points taken back." in content
    assert "The €0.50 round-up goes back to the customer." in content
    assert sum(d.amount for d in Donation.objects.filter(purchase=purchase)) == 0


# --- the member's charity --------------------------------------------------------------------


def test_staff_pick_and_change_the_members_charity_in_its_panel(staff_client, shop, member,
                                                                hope):
    sea = charity_add(shop, "Clean Sea")
    panel = text(staff_client.get(member_url(shop, member, "charity/"), headers=HX))
    assert "Gives to <strong>Hope</strong> until the customer picks one." in panel
    assert f'<option value="{sea.pk}">Clean Sea</option>' in panel
    response = staff_client.post(member_url(shop, member, "charity/choose/"),
                                 {"charity": sea.pk}, headers=HX)
    assert response["HX-Trigger"] == "membership-changed"
    assert "From now on Sanne Visser gives to Clean Sea." in text(response)
    choice = CharityChoice.objects.get(membership=member)
    assert (choice.charity, choice.source) == (sea, "counter")
    panel = text(staff_client.get(member_url(shop, member, "charity/"), headers=HX))
    assert "Gives to <strong>Clean Sea</strong> (the customer's choice)." in panel
    # The earn form's offer and the next purchase follow the new choice.
    assert "for Clean Sea" in text(staff_client.get(member_url(shop, member)))
    assert "to Clean Sea." in text(earn(staff_client, shop, member, round_up="on"))
    assert {d.charity for d in Donation.objects.all()} == {sea}


def test_another_shops_or_an_inactive_charity_is_refused_at_the_counter(
        staff_client, shop, member, hope, other_shop):
    theirs = charity_add(other_shop, "Elsewhere")
    resting = charity_add(shop, "Resting")
    resting.active = False
    resting.save(update_fields=["active"])
    for charity_id, message in ((theirs.pk, "No such charity at this shop."),
                                (resting.pk, "Resting takes no donations at the moment."),
                                ("", "Choose a charity.")):
        response = staff_client.post(member_url(shop, member, "charity/choose/"),
                                     {"charity": charity_id}, headers=HX)
        assert response.status_code == 400
        assert message in text(response)
        assert "HX-Trigger" not in response
    assert not CharityChoice.objects.exists()


# --- instead of points -----------------------------------------------------------------------


def test_a_shop_giving_instead_of_points_earns_a_donation_and_no_points_until_switched_back(
        staff_client, shop, member, hope):
    program_set(shop, mode="instead", default_charity_id=hope.pk)
    shop.refresh_from_db()
    assert shop.earns_points is False
    page = text(staff_client.get(member_url(shop, member)))
    assert page.count("No points: this shop gives to charity.") == 2  # balance and help line
    assert "Record purchase" in page and "Add points" not in page
    content = text(earn(staff_client, shop, member, round_up="on"))
    assert "Purchase of €27.50 recorded. No points: this shop gives to charity." in content
    assert "€0.50 round-up and €0.55 from the shop to Hope." in content
    member.refresh_from_db()
    assert member.points_balance == 0
    assert Purchase.objects.get(membership=member).points_earned == 0
    assert Donation.objects.filter(purchase__membership=member).count() == 2

    program_set(shop, mode="beside", default_charity_id=hope.pk)
    shop.refresh_from_db()
    assert shop.earns_points is True
    assert "+270 points for €27.50." in text(earn(staff_client, shop, member))
    member.refresh_from_db()
    assert member.points_balance == 270
    assert "No points" not in text(staff_client.get(member_url(shop, member)))


def test_switching_the_program_off_gives_points_again(shop, hope):
    program_set(shop, mode="instead", default_charity_id=hope.pk)
    program_set(shop, enabled=False, mode="instead", default_charity_id=hope.pk)
    shop.refresh_from_db()
    assert (shop.charity_enabled, shop.earns_points) == (False, True)
