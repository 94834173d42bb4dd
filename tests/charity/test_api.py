"""The purchase API with the charity program: ``round_up`` or ``donation_amount`` (with an
optional ``donation_currency``) in the body, the answer's ``donation`` and ``earns_points``,
refusals as 400 with nothing written (no purchase, no points, no donation), the idempotent
retry answering the same gift and writing nothing new, and "instead of points"."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from charity.models import Donation, DonationKind
from loyalty.models import IdempotentRequest, LedgerEntry, Purchase
from loyalty.services import api_key_create
from tests.helpers import assert_error

from .conftest import charity_add, program_set

pytestmark = pytest.mark.django_db

PURCHASES = "/api/v1/purchases/"


@pytest.fixture
def api(client, shop):
    raw = api_key_create(shop=shop, name="till")[1]

    def post(key, **body):
        return client.post(PURCHASES, data=json.dumps(body), content_type="application/json",
                           headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": key})
    return post


@pytest.fixture
def hope(shop):
    hope = charity_add(shop, "Hope")
    program_set(shop, default_charity_id=hope.pk)  # 2% of each purchase, round-ups up to €5
    return hope


def nothing_written():
    assert not Purchase.objects.exists()
    assert not LedgerEntry.objects.exists()
    assert not Donation.objects.exists()
    assert not IdempotentRequest.objects.exists()


def test_a_round_up_is_given_and_the_answer_carries_the_donation(api, member, hope):
    response = api("k-1", member=member.card_number, amount="27.40", round_up=True)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["donation"] == {"shop_share": "0.55", "round_up": "0.60", "currency": "EUR",
                                "charity": "Hope", "charities": ["Hope"]}
    assert body["earns_points"] is True and body["points_earned"] == 270
    assert [item["kind"] for item in body["news"]] == ["donation"]
    gifts = {d.kind: d.amount for d in Donation.objects.all()}
    assert gifts == {DonationKind.SHOP_SHARE: Decimal("0.55"),
                     DonationKind.ROUND_UP: Decimal("0.60")}


def test_a_donation_amount_in_the_shops_currency_and_an_exact_amount_not_rounded(api, member,
                                                                                 hope):
    body = api("k-1", member=member.card_number, amount="10.00", donation_amount="2.50",
               donation_currency="eur").json()
    assert (body["donation"]["shop_share"], body["donation"]["round_up"]) == ("0.20", "2.50")
    body = api("k-2", member=member.card_number, amount="10.00", round_up=True).json()
    assert (body["donation"]["shop_share"], body["donation"]["round_up"]) == ("0.20", "0.00")
    assert Donation.objects.filter(kind=DonationKind.ROUND_UP).count() == 1


def test_a_sale_without_a_card_may_round_up_without_a_shop_share(api, hope):
    body = api("k-1", member=None, amount="4.20", round_up=True).json()
    assert body["donation"]["shop_share"] == "0.00"
    assert body["donation"]["round_up"] == "0.80"


def test_the_retry_answers_the_same_donation_and_writes_nothing_new(api, member, hope):
    first = api("k-1", member=member.card_number, amount="27.40", round_up=True)
    again = api("k-1", member=member.card_number, amount="27.40", round_up=True)
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert Donation.objects.count() == 2 and Purchase.objects.count() == 1


@pytest.mark.parametrize(("body", "code", "field", "message"), [
    ({"round_up": True, "amount": "27.40", "donation_amount": "1.00"}, "invalid", "round_up",
     "Round up, or give an amount: not both."),
    ({"donation_amount": "5.01"}, "too_large", "donation_amount",
     "A round-up may be 5.00 EUR at most."),
    ({"donation_amount": "1.00", "donation_currency": "SEK"}, "currency", "donation_currency",
     "This shop works in EUR, not SEK."),
    ({"round_up": True, "donation_currency": "SEK"}, "currency", "donation_currency",
     "This shop works in EUR, not SEK."),
    ({"donation_amount": "abc"}, "invalid", "donation_amount", None),
    ({"donation_amount": "-1.00"}, "invalid", "donation_amount", None),
    ({"round_up": "maybe"}, "invalid", "round_up", None),
])
def test_a_refused_gift_is_400_with_our_message_and_nothing_written(api, member, hope, body,
                                                                    code, field, message):
    response = api("k-bad", member=member.card_number, **{"amount": "27.40", **body})
    error = assert_error(response, 400, code, field)
    if message:
        assert error["message"] == message
    nothing_written()
    member.refresh_from_db()
    assert member.points_balance == 0


def test_a_gift_to_a_shop_without_the_program_is_400_and_nothing_is_written(api, member):
    response = api("k-1", member=member.card_number, amount="27.40", round_up=True)
    error = assert_error(response, 400, "no_donations", "round_up")
    assert error["message"] == "This shop does not take donations."
    nothing_written()
    # The same key, without the gift, is a new request: the refused one left no record.
    body = api("k-1", member=member.card_number, amount="27.40").json()
    assert (body["donation"], body["earns_points"]) == (None, True)


def test_instead_of_points_the_purchase_earns_a_donation_and_no_points(api, shop, member, hope):
    program_set(shop, mode="instead", default_charity_id=hope.pk)
    body = api("k-1", member=member.card_number, amount="27.40", round_up=True).json()
    assert (body["points_earned"], body["balance"], body["earns_points"]) == (0, 0, False)
    assert body["donation"]["shop_share"] == "0.55"
    assert not LedgerEntry.objects.exists()
    program_set(shop, mode="beside", default_charity_id=hope.pk)
    body = api("k-2", member=member.card_number, amount="27.40").json()
    assert (body["points_earned"], body["earns_points"]) == (270, True)


def test_an_even_split_names_every_charity(api, shop, member):
    first, second = charity_add(shop, "Hope"), charity_add(shop, "Clean Sea")
    program_set(shop, split="even", default_charity_id=first.pk)
    body = api("k-1", member=member.card_number, amount="27.40", round_up=True).json()
    assert body["donation"]["charity"] is None
    assert body["donation"]["charities"] == ["Hope", "Clean Sea"]
    assert second.donations.count() == 2


def test_a_round_up_over_a_small_maximum_is_400_and_nothing_written(api, shop, member, hope):
    program_set(shop, round_up_max="0.20", default_charity_id=hope.pk)
    response = api("k-max", member=member.card_number, amount="27.40", round_up=True)
    error = assert_error(response, 400, "too_large", "round_up")
    assert error["message"] == "A round-up may be 0.20 EUR at most."
    nothing_written()


def test_a_member_whose_charity_was_switched_off_gives_to_the_default_through_the_api(
        api, shop, member, hope):
    from charity import services

    resting = charity_add(shop, "Resting")
    services.membership_charity_choose(membership=member, charity_id=resting.pk)
    resting.active = False
    resting.save(update_fields=["active"])
    response = api("k-off", member=member.card_number, amount="27.40", round_up=True)
    assert response.status_code == 201, response.content
    assert response.json()["donation"]["charity"] == "Hope"
    assert set(Donation.objects.values_list("charity", flat=True)) == {hope.pk}
