"""POST /api/v1/purchases/ and /api/v1/purchases/<id>/refunds/: points, validation, and
Idempotency-Key semantics (replay, reuse, and keys not burnt by failed requests)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from loyalty.models import (
    EntryKind,
    IdempotentRequest,
    LedgerEntry,
    Membership,
    PointLot,
    Purchase,
    PurchaseItem,
    Refund,
)
from loyalty.services import (
    api_key_create,
    points_spend,
    program_rules_current,
    program_rules_update,
    purchase_record,
    shop_update,
)
from tests.factories import MembershipFactory, ShopFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

PURCHASES = "/api/v1/purchases/"


def refunds_url(purchase_id) -> str:
    return f"/api/v1/purchases/{purchase_id}/refunds/"


def counts() -> dict:
    return {
        "purchases": Purchase.objects.count(),
        "items": PurchaseItem.objects.count(),
        "entries": LedgerEntry.objects.count(),
        "lots": PointLot.objects.count(),
        "refunds": Refund.objects.count(),
        "idempotent": IdempotentRequest.objects.count(),
    }


NOTHING = {"purchases": 0, "items": 0, "entries": 0, "lots": 0, "refunds": 0, "idempotent": 0}


@pytest.fixture
def api(client, shop):
    _api_key, raw = api_key_create(shop=shop, name="till-1")
    auth = f"Api-Key {raw}"

    class Api:
        def post(self, path, data, key=None, *, raw_body=None):
            headers = {"Authorization": auth}
            if key is not None:
                headers["Idempotency-Key"] = key
            body = raw_body if raw_body is not None else json.dumps(data)
            return client.post(path, data=body, content_type="application/json",
                               headers=headers)

    return Api()


# --- Earn ----------------------------------------------------------------------------------------


class TestEarn:
    def test_a_purchase_with_a_card_is_201_with_its_points_and_balance(self, api, shop, member):
        response = api.post(PURCHASES, {"member": member.card_number, "amount": "27.50",
                                        "reference": "BON-0042"}, key="till-1-0001")

        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == {"id", "member", "amount", "currency", "reference", "points_earned",
                             "points_available_at", "balance", "rules_version", "created_at",
                             "bonuses", "level", "news", "earns_points", "donation"}
        assert (body["bonuses"], body["level"], body["news"]) == ([], "", [])
        # A shop without the charity program: points, and the donation null (not left out).
        assert (body["earns_points"], body["donation"]) == (True, None)
        purchase = Purchase.objects.get()
        # Default rules: 10 points per whole euro, cents rounded down → 27.50 earns 270.
        assert body["points_earned"] == 270
        assert body["balance"] == 270
        assert body["id"] == purchase.pk
        assert body["member"] == member.card_number
        assert (body["amount"], body["currency"], body["reference"]) == (
            "27.50", "EUR", "BON-0042")
        assert body["rules_version"] == program_rules_current(shop=shop).version

        assert purchase.shop == shop
        assert purchase.membership == member
        assert purchase.amount == Decimal("27.50")
        assert purchase.points_earned == 270
        assert purchase.idempotency_key == "api:till-1-0001"
        assert purchase.api_key.name == "till-1"
        entry = LedgerEntry.objects.get()
        assert (entry.membership, entry.points, entry.kind, entry.purchase) == (
            member, 270, EntryKind.EARN, purchase)
        assert entry.actor_api_key == purchase.api_key
        member.refresh_from_db()
        assert member.points_balance == 270
        assert PointLot.objects.get().remaining == 270

    @pytest.mark.parametrize(("amount", "points"), [
        ("27.50", 270),
        ("27.99", 270),
        ("0.99", 0),
        ("1.00", 10),
        ("100000.00", 1_000_000),  # the largest amount taken
    ])
    def test_points_follow_the_default_rules(self, api, member, amount, points):
        response = api.post(PURCHASES, {"member": member.card_number, "amount": amount},
                            key=f"k-{amount}")

        assert response.status_code == 201, response.content
        assert response.json()["points_earned"] == points
        assert response.json()["balance"] == points

    def test_points_follow_the_shops_own_rules(self, api, shop, member):
        program_rules_update(shop=shop, by=None, points_per_unit=3, cap_per_purchase=50)

        first = api.post(PURCHASES, {"member": member.card_number, "amount": "12.00"}, key="a")
        second = api.post(PURCHASES, {"member": member.card_number, "amount": "40.00"}, key="b")

        assert first.json()["points_earned"] == 36
        assert second.json()["points_earned"] == 50  # capped
        assert second.json()["balance"] == 86
        assert second.json()["rules_version"] == 2

    def test_the_balance_adds_up_over_purchases(self, api, member):
        api.post(PURCHASES, {"member": member.card_number, "amount": "10.00"}, key="one")
        response = api.post(PURCHASES, {"member": member.card_number, "amount": "5.00"},
                            key="two")

        assert response.json()["balance"] == 150
        assert Purchase.objects.count() == 2

    def test_no_card_is_201_with_no_points_and_no_balance(self, api):
        response = api.post(PURCHASES, {"member": None, "amount": "27.50"}, key="anon")

        assert response.status_code == 201, response.content
        body = response.json()
        assert body["member"] is None
        assert body["points_earned"] == 0
        assert body["balance"] is None
        purchase = Purchase.objects.get()
        assert purchase.membership is None
        assert LedgerEntry.objects.count() == 0

    def test_member_left_out_is_a_purchase_without_a_card(self, api):
        response = api.post(PURCHASES, {"amount": "3.00"}, key="anon-2")

        assert response.status_code == 201
        assert (response.json()["member"], response.json()["balance"]) == (None, None)

    def test_a_card_number_with_spaces_is_found(self, api, member):
        card = member.card_number
        response = api.post(PURCHASES, {"member": f"{card[:4]} {card[4:8]} {card[8:]}",
                                        "amount": "2.00"}, key="spaced")

        assert response.status_code == 201
        assert response.json()["member"] == card

    def test_the_currency_may_be_given(self, api, member):
        response = api.post(PURCHASES, {"member": member.card_number, "amount": "2.00",
                                        "currency": "EUR"}, key="eur")

        assert response.status_code == 201
        assert response.json()["currency"] == "EUR"

    def test_a_json_number_amount_is_accepted(self, api, member):
        response = api.post(PURCHASES, {"member": member.card_number, "amount": 27.5},
                            key="number")

        assert response.status_code == 201, response.content
        assert response.json()["amount"] == "27.50"
        assert response.json()["points_earned"] == 270
        assert Purchase.objects.get().amount == Decimal("27.50")

    def test_a_json_integer_amount_is_accepted(self, api, member):
        response = api.post(PURCHASES, {"member": member.card_number, "amount": 12},
                            key="int")

        assert response.status_code == 201, response.content
        assert response.json()["amount"] == "12.00"
        assert response.json()["points_earned"] == 120

    def test_items_are_saved(self, api, member):
        items = [
            {"sku": "BRD-001", "name": "Volkorenbrood", "category": "brood", "quantity": "2",
             "unit_price": "3.25"},
            {"name": "Appeltaart", "category": "gebak", "quantity": "0.5",
             "unit_price": "18.00"},
            {"name": "Koffie", "unit_price": "2.00"},
        ]

        response = api.post(PURCHASES, {"member": member.card_number, "amount": "17.50",
                                        "items": items}, key="items")

        assert response.status_code == 201, response.content
        purchase = Purchase.objects.get()
        saved = sorted(
            purchase.items.values_list("sku", "name", "category", "quantity", "unit_price"),
            key=lambda row: row[1],
        )
        assert saved == [
            ("", "Appeltaart", "gebak", Decimal("0.500"), Decimal("18.00")),
            ("", "Koffie", "", Decimal("1.000"), Decimal("2.00")),
            ("BRD-001", "Volkorenbrood", "brood", Decimal("2.000"), Decimal("3.25")),
        ]

    @pytest.mark.parametrize("item", [
        {"name": "Brood", "quantity": "0", "unit_price": "1.00"},
        {"name": "Brood", "quantity": "-1", "unit_price": "1.00"},
        {"name": "Brood", "quantity": "1", "unit_price": "-1.00"},
        {"name": "Brood", "quantity": "1", "unit_price": "abc"},
        {"name": "   ", "quantity": "1", "unit_price": "1.00"},
    ])
    def test_a_bad_item_is_400_on_items_and_writes_nothing(self, api, member, item):
        response = api.post(PURCHASES, {"member": member.card_number, "amount": "1.00",
                                        "items": [item]}, key="bad-item")

        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert set(error) == {"code", "message", "field"}
        assert error["code"] == "invalid"
        assert error["field"] == "items"
        assert counts() == NOTHING


class TestEarnErrors:
    def test_an_error_in_a_later_item_names_items_in_plain_words(self, api, member):
        items = [{"name": "Brood", "unit_price": "2.00"}, {"name": "Taart"}]  # no unit_price

        response = api.post(PURCHASES, {"member": member.card_number, "amount": "2.00",
                                        "items": items}, key="item-2")

        error = assert_error(response, 400, "invalid", "items")
        # A message for people: not a Python repr of DRF's error structure.
        assert "ErrorDetail" not in error["message"]
        assert not error["message"].startswith("{")
        assert "required" in error["message"]
        assert counts() == NOTHING

    def test_a_body_that_is_not_an_object_is_400_without_a_field(self, api):
        response = api.post(PURCHASES, None, key="list-body", raw_body="[]")

        assert_error(response, 400, "invalid", None)
        assert counts() == NOTHING

    def test_a_missing_idempotency_key_is_400(self, api, member):
        response = api.post(PURCHASES, {"member": member.card_number, "amount": "27.50"})

        assert_error(response, 400, "idempotency_key_missing", "Idempotency-Key")
        assert counts() == NOTHING

    def test_a_blank_idempotency_key_is_400(self, api, member):
        response = api.post(PURCHASES, {"member": member.card_number, "amount": "27.50"},
                            key="   ")

        assert_error(response, 400, "idempotency_key_missing", "Idempotency-Key")
        assert counts() == NOTHING

    def test_a_key_of_100_characters_is_taken(self, api, member):
        key = "k" * 100
        earn = api.post(PURCHASES, {"member": member.card_number, "amount": "27.50"}, key=key)
        assert earn.status_code == 201, earn.content

        refund = api.post(refunds_url(earn.json()["id"]), {"amount": "27.50"}, key="r" * 100)

        assert refund.status_code == 201, refund.content
        assert refund.json()["balance"] == 0
        assert Purchase.objects.get().idempotency_key == f"api:{key}"
        assert Refund.objects.get().idempotency_key.endswith("r" * 100)

    def test_an_overlong_idempotency_key_is_400(self, api, member):
        response = api.post(PURCHASES, {"member": member.card_number, "amount": "27.50"},
                            key="k" * 101)

        assert_error(response, 400, "invalid", "Idempotency-Key")
        assert counts() == NOTHING

    @pytest.mark.parametrize("amount", [
        "-1", "-0.01", "0", "0.00", "abc", "", "  ", "1.234", "0.001", "1e9", "1E9",
        "100000.01", "999999999999", "NaN", "Infinity", "-Infinity",
        "1_000", "1e2", "2E1", "\u0661\u0662", "\uff11\uff12", "1.2.3", "1,2,3", "12 50", "0x10",
        "27.50 EUR", "€27.50", "+-1", ".", ",",
    ])
    def test_a_bad_amount_is_400_on_amount_and_writes_nothing(self, api, member, amount):
        response = api.post(PURCHASES, {"member": member.card_number, "amount": amount},
                            key="bad-amount")

        assert_error(response, 400, "invalid", "amount")
        assert counts() == NOTHING
        member.refresh_from_db()
        assert member.points_balance == 0

    @pytest.mark.parametrize("amount", [None, True, [1], {"value": "1.00"}])
    def test_an_amount_of_the_wrong_json_type_is_400(self, api, member, amount):
        response = api.post(PURCHASES, {"member": member.card_number, "amount": amount},
                            key="bad-type")

        assert_error(response, 400, "invalid", "amount")
        assert counts() == NOTHING

    def test_a_missing_amount_is_400(self, api, member):
        response = api.post(PURCHASES, {"member": member.card_number}, key="no-amount")

        assert_error(response, 400, "invalid", "amount")
        assert counts() == NOTHING

    @pytest.mark.parametrize("currency", ["SEK", "sek", "USD"])
    def test_another_currency_than_the_shops_is_400(self, api, member, currency):
        response = api.post(PURCHASES, {"member": member.card_number, "amount": "27.50",
                                        "currency": currency}, key="sek")

        assert_error(response, 400, "invalid", "currency")
        assert counts() == NOTHING

    def test_an_unknown_card_is_404(self, api, member):
        response = api.post(PURCHASES, {"member": "1234567890128", "amount": "27.50"},
                            key="unknown-card")

        assert_error(response, 404, "member_not_found", "member")
        assert counts() == NOTHING

    def test_an_overlong_reference_is_400(self, api, member):
        response = api.post(PURCHASES, {"member": member.card_number, "amount": "1.00",
                                        "reference": "R" * 65}, key="long-ref")

        assert_error(response, 400, "invalid", "reference")
        assert counts() == NOTHING

    def test_a_body_that_is_not_json_is_400(self, api, member):
        response = api.post(PURCHASES, None, key="not-json", raw_body="amount=27.50")

        assert_error(response, 400, "parse_error", None)
        assert counts() == NOTHING


class TestIdempotency:
    def test_a_replay_answers_the_same_and_writes_nothing(self, api, member):
        body = {"member": member.card_number, "amount": "27.50", "reference": "BON-1",
                "items": [{"name": "Brood", "unit_price": "27.50"}]}
        first = api.post(PURCHASES, body, key="replay-1")
        assert first.status_code == 201
        assert "Idempotent-Replayed" not in first
        after_first = counts()

        second = api.post(PURCHASES, body, key="replay-1")
        third = api.post(PURCHASES, body, key="replay-1")

        for replay in (second, third):
            assert replay.status_code == 201
            assert replay.json() == first.json()
            assert replay.content == first.content  # the stored bytes, not a new rendering
            assert replay["Content-Type"] == first["Content-Type"] == "application/json"
            assert replay["Idempotent-Replayed"] == "true"
        assert counts() == after_first
        assert after_first["purchases"] == after_first["entries"] == 1
        member.refresh_from_db()
        assert member.points_balance == 270

    def test_a_replay_sends_the_first_answer_even_after_the_shop_changed(self, api, shop,
                                                                         member):
        body = {"member": member.card_number, "amount": "27.50"}
        first = api.post(PURCHASES, body, key="replay-tz")
        assert first.json()["points_earned"] == 270
        shop_update(shop=shop, time_zone="America/New_York")
        program_rules_update(shop=shop, by=None, points_per_unit=99)

        replay = api.post(PURCHASES, body, key="replay-tz")

        assert replay.status_code == 201
        assert replay.content == first.content  # its times in the zone of then, its points
        assert replay["Idempotent-Replayed"] == "true"
        assert api.post(PURCHASES, body, key="fresh").json()["created_at"][-6:] in (
            "-05:00", "-04:00")  # a new purchase is answered in the new zone

    def test_a_replay_with_keys_in_another_order_is_a_replay(self, api, member):
        first = api.post(PURCHASES, {"member": member.card_number, "amount": "27.50"},
                         key="order")
        second = api.post(PURCHASES, None, key="order",
                          raw_body=json.dumps({"amount": "27.50",
                                               "member": member.card_number}))

        assert second.status_code == 201
        assert second.json() == first.json()
        assert Purchase.objects.count() == 1

    def test_the_same_key_with_another_body_is_409(self, api, member):
        first = api.post(PURCHASES, {"member": member.card_number, "amount": "27.50"},
                         key="reused")
        assert first.status_code == 201
        after_first = counts()

        response = api.post(PURCHASES, {"member": member.card_number, "amount": "12.00"},
                            key="reused")

        assert_error(response, 409, "idempotency_key_reused", "Idempotency-Key")
        assert counts() == after_first
        member.refresh_from_db()
        assert member.points_balance == 270

    def test_different_keys_are_different_purchases(self, api, member):
        body = {"member": member.card_number, "amount": "10.00"}
        api.post(PURCHASES, body, key="k-a")
        response = api.post(PURCHASES, body, key="k-b")

        assert response.status_code == 201
        assert response.json()["balance"] == 200
        assert Purchase.objects.count() == 2

    def test_keys_are_per_shop(self, client, api, shop, member):
        other = ShopFactory()
        their_member = MembershipFactory(shop=other)
        _k, their_raw = api_key_create(shop=other, name="till-x")

        mine = api.post(PURCHASES, {"member": member.card_number, "amount": "10.00"},
                        key="shared-key")
        theirs = client.post(
            PURCHASES, data=json.dumps({"member": their_member.card_number, "amount": "10.00"}),
            content_type="application/json",
            headers={"Authorization": f"Api-Key {their_raw}", "Idempotency-Key": "shared-key"},
        )

        assert mine.status_code == theirs.status_code == 201
        assert mine.json()["id"] != theirs.json()["id"]
        assert "Idempotent-Replayed" not in theirs
        assert Purchase.objects.filter(shop=other).count() == 1

    @pytest.mark.parametrize("bad_body", [
        {"amount": "abc"},
        {"amount": "-1"},
        {"amount": "27.50", "currency": "SEK"},
        {"amount": "27.50", "member": "1234567890128"},
        {"amount": "27.50", "items": [{"name": "Brood", "quantity": "0", "unit_price": "1"}]},
    ])
    def test_a_failed_request_does_not_burn_the_key(self, api, member, bad_body):
        bad = dict({"member": member.card_number}, **bad_body)
        failed = api.post(PURCHASES, bad, key="retry-me")
        assert failed.status_code in (400, 404)
        assert counts() == NOTHING

        fixed = api.post(PURCHASES, {"member": member.card_number, "amount": "27.50"},
                         key="retry-me")

        assert fixed.status_code == 201, fixed.content
        assert "Idempotent-Replayed" not in fixed
        assert fixed.json()["points_earned"] == 270
        assert Purchase.objects.get().idempotency_key == "api:retry-me"

        replay = api.post(PURCHASES, {"member": member.card_number, "amount": "27.50"},
                          key="retry-me")
        assert replay.json() == fixed.json()
        assert replay["Idempotent-Replayed"] == "true"

    def test_a_replay_of_a_purchase_without_a_card(self, api):
        body = {"member": None, "amount": "9.95"}
        first = api.post(PURCHASES, body, key="anon-replay")
        second = api.post(PURCHASES, body, key="anon-replay")

        assert second.status_code == 201
        assert second.json() == first.json()
        assert second["Idempotent-Replayed"] == "true"
        assert Purchase.objects.count() == 1

    def test_a_key_sent_to_another_endpoint_is_409_and_writes_nothing(self, api, member):
        first = api.post(PURCHASES, {"member": member.card_number, "amount": "27.50"},
                         key="one-key")
        second = api.post(PURCHASES, {"member": member.card_number, "amount": "10.00"},
                          key="two-key")
        purchase_id, other_id = first.json()["id"], second.json()["id"]
        refund = api.post(refunds_url(purchase_id), {"amount": "5.00"}, key="refund-key")
        assert refund.status_code == 201
        before = counts()

        answers = [
            api.post(refunds_url(other_id), {"amount": "5.00"}, key="refund-key"),
            api.post(PURCHASES, {"amount": "5.00"}, key="refund-key"),
            api.post(refunds_url(purchase_id), {"amount": "27.50"}, key="one-key"),
        ]

        for answer in answers:
            assert_error(answer, 409, "idempotency_key_reused", "Idempotency-Key")
        assert counts() == before
        assert Purchase.objects.get(pk=other_id).refunded_amount == 0


class TestNoCard:
    @pytest.mark.parametrize("member_value", [None, "", "   "], ids=["null", "empty", "blank"])
    def test_no_card_is_a_sale_without_a_member(self, api, member_value):
        response = api.post(PURCHASES, {"member": member_value, "amount": "9.95"},
                            key=f"no-card-{member_value!r}")

        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["member"], body["points_earned"], body["balance"]) == (None, 0, None)
        purchase = Purchase.objects.get(pk=body["id"])
        assert purchase.membership is None and purchase.amount == Decimal("9.95")
        assert LedgerEntry.objects.count() == 0


# --- Refunds -------------------------------------------------------------------------------------


@pytest.fixture
def purchase(api, member):
    response = api.post(PURCHASES, {"member": member.card_number, "amount": "27.50"},
                        key="p-1")
    assert response.status_code == 201
    return Purchase.objects.get(pk=response.json()["id"])


class TestRefunds:
    def test_a_partial_refund_reverses_proportional_points(self, api, member, purchase):
        response = api.post(refunds_url(purchase.pk), {"amount": "10.00", "reason": "stale"},
                            key="r-1")

        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == {"id", "purchase", "amount", "points_reversed", "points_shortfall",
                             "balance", "created_at"}
        # 270 points for 27.50; 10.00 back → int(270 × 10 / 27.50) = 98 points back.
        assert body["purchase"] == purchase.pk
        assert body["amount"] == "10.00"
        assert body["points_reversed"] == 98
        assert body["points_shortfall"] == 0
        assert body["balance"] == 270 - 98
        refund = Refund.objects.get()
        assert (refund.id, refund.amount, refund.points_reversed, refund.reason) == (
            body["id"], Decimal("10.00"), 98, "stale")
        reversal = LedgerEntry.objects.get(kind=EntryKind.REVERSAL)
        assert (reversal.points, reversal.refund, reversal.purchase) == (-98, refund, purchase)
        purchase.refresh_from_db()
        assert purchase.refunded_amount == Decimal("10.00")
        member.refresh_from_db()
        assert member.points_balance == 172

    def test_partial_refunds_add_up_to_all_the_points(self, api, member, purchase):
        first = api.post(refunds_url(purchase.pk), {"amount": "10.00"}, key="r-a")
        second = api.post(refunds_url(purchase.pk), {"amount": "17.50"}, key="r-b")

        assert first.json()["points_reversed"] + second.json()["points_reversed"] == 270
        assert second.json()["balance"] == 0
        member.refresh_from_db()
        assert member.points_balance == 0

    def test_a_replay_answers_the_same_and_refunds_once(self, api, member, purchase):
        first = api.post(refunds_url(purchase.pk), {"amount": "10.00"}, key="r-replay")
        after_first = counts()

        second = api.post(refunds_url(purchase.pk), {"amount": "10.00"}, key="r-replay")

        assert second.status_code == 201
        assert second.json() == first.json()
        assert second["Idempotent-Replayed"] == "true"
        assert Refund.objects.count() == 1
        assert counts() == after_first
        member.refresh_from_db()
        assert member.points_balance == 172

    def test_a_replay_of_a_full_refund_answers_the_same_though_nothing_is_left(
        self, api, member, purchase
    ):
        first = api.post(refunds_url(purchase.pk), {"amount": "27.50"}, key="r-all")
        after_first = counts()

        second = api.post(refunds_url(purchase.pk), {"amount": "27.50"}, key="r-all")

        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second["Idempotent-Replayed"] == "true"
        assert counts() == after_first
        other = api.post(refunds_url(purchase.pk), {"amount": "27.50"}, key="r-new")
        assert_error(other, 400, "invalid", "amount")  # a new key: nothing left to refund

    def test_the_same_key_with_another_amount_is_409(self, api, purchase):
        api.post(refunds_url(purchase.pk), {"amount": "10.00"}, key="r-reused")

        response = api.post(refunds_url(purchase.pk), {"amount": "5.00"}, key="r-reused")

        assert_error(response, 409, "idempotency_key_reused", "Idempotency-Key")
        assert Refund.objects.count() == 1

    def test_a_missing_idempotency_key_is_400(self, api, purchase):
        response = api.post(refunds_url(purchase.pk), {"amount": "10.00"})

        assert_error(response, 400, "idempotency_key_missing", "Idempotency-Key")
        assert Refund.objects.count() == 0

    @pytest.mark.parametrize("amount", ["27.51", "30.00", "100000.00"])
    def test_more_than_the_purchase_is_400(self, api, member, purchase, amount):
        before = counts()

        response = api.post(refunds_url(purchase.pk), {"amount": amount}, key="too-much")

        assert_error(response, 400, "invalid", "amount")
        assert counts() == before
        member.refresh_from_db()
        assert member.points_balance == 270

    def test_more_than_what_is_left_is_400(self, api, purchase):
        api.post(refunds_url(purchase.pk), {"amount": "20.00"}, key="most")

        response = api.post(refunds_url(purchase.pk), {"amount": "7.51"}, key="rest")

        assert_error(response, 400, "invalid", "amount")
        assert Refund.objects.count() == 1
        fixed = api.post(refunds_url(purchase.pk), {"amount": "7.50"}, key="rest")
        assert fixed.status_code == 201  # the failed try did not burn the key
        assert Refund.objects.count() == 2

    @pytest.mark.parametrize("amount", ["0", "-1", "abc", "1.001"])
    def test_a_bad_amount_is_400(self, api, purchase, amount):
        response = api.post(refunds_url(purchase.pk), {"amount": amount}, key="bad")

        assert_error(response, 400, "invalid", "amount")
        assert Refund.objects.count() == 0

    def test_another_shops_purchase_is_404(self, api, purchase):
        other = ShopFactory()
        their_member = MembershipFactory(shop=other)
        theirs = purchase_record(shop=other, amount="20.00", membership_id=their_member.pk)
        before = counts()

        response = api.post(refunds_url(theirs.pk), {"amount": "10.00"}, key="steal")

        assert_error(response, 404, "not_found", None)
        assert counts() == before
        their_member.refresh_from_db()
        assert their_member.points_balance == 200
        theirs.refresh_from_db()
        assert theirs.refunded_amount == 0

    def test_an_unknown_purchase_is_404(self, api, purchase):
        response = api.post(refunds_url(purchase.pk + 1000), {"amount": "1.00"}, key="nope")

        assert_error(response, 404, "not_found", None)
        assert Refund.objects.count() == 0

    def test_a_full_refund_after_the_points_were_spent_records_the_shortfall(
        self, api, shop, member, purchase
    ):
        points_spend(shop=shop, membership_id=member.pk, points=200)
        member.refresh_from_db()
        assert member.points_balance == 70

        response = api.post(refunds_url(purchase.pk), {"amount": "27.50"}, key="full")

        assert response.status_code == 201, response.content
        body = response.json()
        assert body["points_reversed"] == 70
        assert body["points_shortfall"] == 200
        assert body["balance"] == 0
        refund = Refund.objects.get()
        assert (refund.points_reversed, refund.points_shortfall) == (70, 200)
        member.refresh_from_db()
        assert member.points_balance == 0
        assert sum(LedgerEntry.objects.filter(membership=member)
                   .values_list("points", flat=True)) == 0

    def test_a_refund_of_a_purchase_without_a_card(self, api):
        response = api.post(PURCHASES, {"member": None, "amount": "10.00"}, key="anon")
        purchase_id = response.json()["id"]

        refund = api.post(refunds_url(purchase_id), {"amount": "10.00"}, key="anon-r")

        assert refund.status_code == 201, refund.content
        assert refund.json()["points_reversed"] == 0
        assert refund.json()["balance"] is None
        assert LedgerEntry.objects.count() == 0

    def test_the_refund_keeps_another_members_points(self, api, shop, member, purchase):
        someone = MembershipFactory(shop=shop)
        api.post(PURCHASES, {"member": someone.card_number, "amount": "5.00"}, key="p-2")

        api.post(refunds_url(purchase.pk), {"amount": "27.50"}, key="full-1")

        assert Membership.objects.get(pk=someone.pk).points_balance == 50
        assert Membership.objects.get(pk=member.pk).points_balance == 0


@pytest.mark.parametrize("zone", ["UTC", "Europe/Amsterdam", "Pacific/Auckland"])
def test_times_are_written_as_drf_writes_them(zone):
    """The earn formats its times itself (cheaper); they must read as DRF's DateTimeField's."""
    import datetime as dt

    from django.utils import timezone
    from rest_framework import serializers

    from loyalty.api import _datetime_out

    drf = serializers.DateTimeField().to_representation
    with timezone.override(zone):
        for value in (timezone.now(), dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC),
                      dt.datetime(2026, 7, 1, 0, 0, 0, 500, tzinfo=dt.UTC)):
            assert _datetime_out(value) == drf(value)


class TestLeanDispatch:
    """The earn skips DRF's request cycle (ShopApiView.lean_methods); every answer must be the
    one DRF's cycle gives for the same request."""

    CASES = {
        "no key": ({}, "application/json", '{"amount": "1.00"}'),
        "wrong keyword": ({"Authorization": "Bearer x"}, "application/json", "{}"),
        "unknown key": ({"Authorization": "Api-Key trw_nope"}, "application/json", "{}"),
        "not json": (None, "text/plain", "amount=1"),
        "broken json": (None, "application/json", '{"amount": '),
        "a list": (None, "application/json", "[]"),
        "no amount": (None, "application/json", "{}"),
        "bad amount": (None, "application/json", '{"amount": "1.234"}'),
        "unknown card": (None, "application/json", '{"member": "1234", "amount": "1"}'),
        "bad item": (None, "application/json",
                     '{"amount": "1", "items": [{"name": "Brood"}]}'),
        "no idempotency key": ("no-key", "application/json", '{"amount": "1"}'),
    }

    @pytest.mark.parametrize("case", CASES)
    def test_errors_match_drf(self, client, shop, monkeypatch, case):
        from loyalty.api import PurchasesView

        _key, raw = api_key_create(shop=shop, name="till-1")
        headers, content_type, body = self.CASES[case]
        if headers is None or headers == "no-key":
            headers = {"Authorization": f"Api-Key {raw}"}
        if case != "no idempotency key":
            headers = dict(headers, **{"Idempotency-Key": "k-1"})

        def send():
            return client.post(PURCHASES, data=body, content_type=content_type,
                               headers=headers)

        lean = send()
        monkeypatch.setattr(PurchasesView, "lean_methods", ())
        drf = send()

        assert lean.status_code == drf.status_code >= 400, lean.content
        assert lean.json() == drf.json()
        assert lean["Content-Type"] == "application/json"
        assert lean.get("WWW-Authenticate") == drf.get("WWW-Authenticate")
        assert counts() == NOTHING

    def test_an_earn_and_its_replay_match_drf(self, client, shop, member, monkeypatch):
        from loyalty.api import PurchasesView

        _key, raw = api_key_create(shop=shop, name="till-1")

        def send(key):
            return client.post(
                PURCHASES, content_type="application/json",
                data=json.dumps({"member": member.card_number, "amount": "27.50"}),
                headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": key})

        lean, lean_replay = send("k-lean"), send("k-lean")
        monkeypatch.setattr(PurchasesView, "lean_methods", ())
        drf, drf_replay = send("k-drf"), send("k-drf")

        assert lean.status_code == drf.status_code == 201
        moving = {"id", "balance", "created_at", "points_available_at"}
        assert {k: v for k, v in lean.json().items() if k not in moving} == {
            k: v for k, v in drf.json().items() if k not in moving}
        assert lean_replay.json() == lean.json() and drf_replay.json() == drf.json()
        assert lean_replay["Idempotent-Replayed"] == drf_replay["Idempotent-Replayed"] == "true"
        assert drf.json()["balance"] == lean.json()["balance"] + 270
