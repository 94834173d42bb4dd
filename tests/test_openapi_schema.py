"""The OpenAPI schema (/api/schema/) says what the API answers: every status an operation can
give, errors in the one error shape, and the real shape of every body.

The schema listed only the success of each operation, and documented the two lists as arrays
while they answer ``{"results": [...]}``. Here the schema is read as served, and real answers
of each operation — successes and errors — are validated against it strictly (no property
the schema does not name). tests/test_schemathesis.py fuzzes the same against a live server."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from charity import services as charity_services
from loyalty.models import ApiKeyScope
from loyalty.services import api_key_create, purchase_record
from rewards import services as reward_services
from rewards.models import RewardKind
from tests.factories import MembershipFactory, ShopFactory

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("get", "/api/v1/members/"): {"200", "400", "401", "406"},
    ("post", "/api/v1/members/"): {"201", "400", "401", "406", "409", "415"},
    ("get", "/api/v1/members/{card_number}/"): {"200", "401", "404", "406"},
    # The earn is served without DRF's content negotiation: it always answers JSON (no 406).
    ("post", "/api/v1/purchases/"): {"201", "400", "401", "404", "409", "415"},
    ("post", "/api/v1/purchases/{purchase_id}/refunds/"): {"201", "400", "401", "404", "406",
                                                           "409", "415"},
    ("post", "/api/v1/redemptions/"): {"201", "400", "401", "404", "406", "409", "415"},
    ("get", "/api/v1/rewards/"): {"200", "401", "406"},
    ("post", "/api/v1/rewards/"): {"201", "400", "401", "403", "406", "415"},
    ("get", "/api/v1/rewards/{reward_id}/"): {"200", "401", "404", "406"},
    ("patch", "/api/v1/rewards/{reward_id}/"): {"200", "400", "401", "403", "404", "406",
                                                "415"},
    ("post", "/api/v1/vouchers/{code}/use"): {"200", "401", "404", "406", "409"},
}


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


# --- What the schema says ----------------------------------------------------------------------


def test_every_operation_lists_every_status_it_can_answer(schema):
    found = {(method, path): set(operation["responses"])
             for method, path, operation in _operations(schema)}

    assert found == OPERATIONS


def test_every_error_has_the_error_shape_and_says_when(schema):
    for method, path, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            content = response["content"]
            assert list(content) == ["application/json"], (method, path, status)
            assert content["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}, (method, path, status)
            assert len(response["description"]) > 20, (method, path, status)


def test_the_error_shape(schema):
    components = schema["components"]["schemas"]
    error = components["Error"]
    assert error["required"] == ["error"]
    assert error["properties"]["error"] == {"$ref": "#/components/schemas/ErrorDetail"}
    detail = components["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message", "field"}
    assert detail["properties"]["field"]["nullable"] is True
    assert detail["properties"]["code"]["type"] == "string"


def test_the_lists_are_objects_with_results(schema):
    for path, item in (("/api/v1/members/", "MemberOutput"),
                       ("/api/v1/rewards/", "RewardOutput")):
        ref = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"]["$ref"]
        body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert body["type"] == "object"
        assert body["required"] == ["results"]
        assert body["properties"]["results"]["type"] == "array"
        assert body["properties"]["results"]["items"] == {
            "$ref": f"#/components/schemas/{item}"}


def test_operation_ids_are_stable(schema):
    ids = sorted(operation["operationId"] for _m, _p, operation in _operations(schema))

    assert ids == sorted([
        "v1_members_list", "v1_members_create", "v1_members_retrieve", "v1_purchases_create",
        "v1_purchases_refunds_create", "v1_redemptions_create", "v1_rewards_list",
        "v1_rewards_create", "v1_rewards_retrieve", "v1_rewards_partial_update",
        "v1_vouchers_use_create",
    ])


def test_the_search_says_how_long_q_must_be(schema):
    (q,) = schema["paths"]["/api/v1/members/"]["get"]["parameters"]

    assert q["name"] == "q" and q["required"] is True
    assert q["schema"]["minLength"] == 3


# --- Real answers against the schema -----------------------------------------------------------


def _json_schema(node):
    """OpenAPI 3.0's schema objects as JSON Schema: ``nullable`` as a null type; every object
    closed (``additionalProperties: false``), so that a property the schema does not name fails."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    elif node.get("type") == "object" and "properties" in node:
        node.setdefault("additionalProperties", False)
    return node


def assert_request_matches(schema, method: str, path: str, body: dict) -> None:
    """A request's body as the schema documents it (strictly: no property it does not name)."""
    body_schema = schema["paths"][path][method]["requestBody"]["content"]["application/json"][
        "schema"]
    root = {**_json_schema(copy.deepcopy(body_schema)),
            "components": _json_schema(copy.deepcopy(schema["components"]))}
    jsonschema.validate(body, root)


def assert_matches(schema, method: str, path: str, response) -> None:
    documented = schema["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in documented, (method, path, status, response.content[:300])
    assert response["Content-Type"] == "application/json"
    body_schema = documented[status]["content"]["application/json"]["schema"]
    root = {**_json_schema(copy.deepcopy(body_schema)),
            "components": _json_schema(copy.deepcopy(schema["components"]))}
    jsonschema.validate(json.loads(response.content), root)


@pytest.fixture
def api(client, schema):
    shop = ShopFactory(slug="schema-bakkerij")
    member = MembershipFactory(shop=shop, email="anna@example.com", phone="")
    purchase = purchase_record(shop=shop, amount="80.00", membership_id=member.pk)
    reward = reward_services.reward_create(shop=shop, kind=RewardKind.FREE_PRODUCT,
                                           name="Gratis koffie", points_cost=100,
                                           product_name="Koffie")
    manage = api_key_create(shop=shop, name="manage", scope=ApiKeyScope.MANAGE)[1]
    till = api_key_create(shop=shop, name="till")[1]

    def call(method, template, path, body=None, *, key=manage, idempotency_key=None,
             content_type="application/json", accept=None):
        headers = {"Authorization": f"Api-Key {key}"} if key else {}
        if accept:
            headers["Accept"] = accept
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if method == "get":
            response = client.get(path, headers=headers)
        else:
            response = getattr(client, method)(
                path, data=json.dumps(body) if body is not None else "",
                content_type=content_type, headers=headers)
        assert_matches(schema, method, template, response)
        return response

    call.member, call.purchase, call.reward, call.till = member, purchase, reward, till
    return call


def test_the_members_answers_match_the_schema(api):
    card = api.member.card_number
    assert api("get", "/api/v1/members/", "/api/v1/members/?q=anna").status_code == 200
    assert api("get", "/api/v1/members/", "/api/v1/members/?q=an").status_code == 400
    assert api("get", "/api/v1/members/", "/api/v1/members/?q=anna", key=None
               ).status_code == 401
    assert api("post", "/api/v1/members/", "/api/v1/members/",
               {"name": "Bo", "email": "bo@example.com"}).status_code == 201
    assert api("post", "/api/v1/members/", "/api/v1/members/",
               {"name": "Bo", "email": "bo@example.com"}).status_code == 409
    assert api("post", "/api/v1/members/", "/api/v1/members/", {"name": ""}).status_code == 400
    assert api("post", "/api/v1/members/", "/api/v1/members/", {"name": "Bo"},
               content_type="text/plain").status_code == 415
    assert api("get", "/api/v1/members/{card_number}/", f"/api/v1/members/{card}/"
               ).status_code == 200
    assert api("get", "/api/v1/members/{card_number}/", "/api/v1/members/000/"
               ).status_code == 404


def test_the_purchase_answers_match_the_schema(api):
    card = api.member.card_number
    path = "/api/v1/purchases/"
    body = {"member": card, "amount": "12.50"}
    assert api("post", path, path, body, idempotency_key="p-1").status_code == 201
    assert api("post", path, path, {"member": None, "amount": "3.00"},
               idempotency_key="p-2").status_code == 201
    assert api("post", path, path, {**body, "amount": "9.99"},
               idempotency_key="p-1").status_code == 409
    assert api("post", path, path, {"member": "000", "amount": "1.00"},
               idempotency_key="p-3").status_code == 404
    assert api("post", path, path, {"amount": "1e3"}, idempotency_key="p-4").status_code == 400
    assert api("post", path, path, body).status_code == 400  # no Idempotency-Key
    assert api("post", path, path, body, key=None, idempotency_key="p-5").status_code == 401

    refunds = "/api/v1/purchases/{purchase_id}/refunds/"
    real = f"/api/v1/purchases/{api.purchase.pk}/refunds/"
    assert api("post", refunds, real, {"amount": "10.00"}, idempotency_key="r-1"
               ).status_code == 201
    assert api("post", refunds, real, {"amount": "999.00"}, idempotency_key="r-2"
               ).status_code == 400
    assert api("post", refunds, "/api/v1/purchases/999999/refunds/", {"amount": "1.00"},
               idempotency_key="r-3").status_code == 404


def test_the_rewards_answers_match_the_schema(api):
    reward = f"/api/v1/rewards/{api.reward.pk}/"
    assert api("get", "/api/v1/rewards/", "/api/v1/rewards/").status_code == 200
    assert api("get", "/api/v1/rewards/", "/api/v1/rewards/", accept="text/html"
               ).status_code == 406
    new = {"kind": "free_product", "name": "Taart", "points_cost": 50, "product_name": "Taart"}
    assert api("post", "/api/v1/rewards/", "/api/v1/rewards/", new).status_code == 201
    assert api("post", "/api/v1/rewards/", "/api/v1/rewards/", new, key=api.till
               ).status_code == 403
    assert api("get", "/api/v1/rewards/{reward_id}/", reward).status_code == 200
    assert api("get", "/api/v1/rewards/{reward_id}/", "/api/v1/rewards/999999/"
               ).status_code == 404
    assert api("patch", "/api/v1/rewards/{reward_id}/", reward, {"points_cost": 120}
               ).status_code == 200
    assert api("patch", "/api/v1/rewards/{reward_id}/", reward, {"points_cost": -1}
               ).status_code == 400

    redemptions = "/api/v1/redemptions/"
    claim = {"member": api.member.card_number, "reward": api.reward.pk}
    voucher = api("post", redemptions, redemptions, claim, idempotency_key="v-1").json()
    assert api("post", redemptions, redemptions, {**claim, "reward": 999999},
               idempotency_key="v-2").status_code == 404
    use = "/api/v1/vouchers/{code}/use"
    assert api("post", use, f"/api/v1/vouchers/{voucher['code']}/use").status_code == 200
    assert api("post", use, f"/api/v1/vouchers/{voucher['code']}/use").status_code == 409
    assert api("post", use, "/api/v1/vouchers/NOSUCHXX/use").status_code == 404


def test_a_round_up_and_its_donation_answer_match_the_schema(api, schema):
    """With the shop's charity program on, the purchase's body takes a round-up (or a donation
    amount) as documented, and the 201 answer's non-null ``donation`` is as documented."""
    path = "/api/v1/purchases/"
    documented = schema["components"]["schemas"]["PurchaseInput"]["properties"]
    assert (documented["round_up"]["type"], documented["round_up"]["default"]) == (
        "boolean", False)
    for field in ("donation_amount", "donation_currency"):
        assert (documented[field]["type"], documented[field]["nullable"]) == ("string", True)
    assert "charity" in documented["round_up"]["description"]
    assert "charity" in documented["donation_amount"]["description"]
    assert "`donation_amount`" in documented["donation_currency"]["description"]
    donation = schema["components"]["schemas"]["PurchaseOutput"]["properties"]["donation"]
    assert donation["allOf"] == [{"$ref": "#/components/schemas/DonationOutput"}]
    assert donation["nullable"] is True

    shop = api.member.shop
    hope = charity_services.charity_create(shop=shop, name="Hope")
    charity_services.program_configure(shop=shop, data=charity_services.program_input_clean(
        enabled=True, mode="beside", rule_kind="percent", rule_value="2", monthly_cap=None,
        split="default", points_per_unit=None, round_up_max="5.00",
        default_charity_id=hope.pk))  # 2% of each purchase, round-ups up to €5
    card = api.member.card_number
    round_up = {"member": card, "amount": "27.40", "round_up": True}
    given = {"member": card, "amount": "10.00", "donation_amount": "2.50",
             "donation_currency": "EUR"}
    too_much = {"member": card, "amount": "10.00", "donation_amount": "50.00"}
    for body in (round_up, given, too_much):
        assert_request_matches(schema, "post", path, body)

    response = api("post", path, path, round_up, idempotency_key="d-1")
    assert response.status_code == 201, response.content
    assert response.json()["donation"] == {"shop_share": "0.55", "round_up": "0.60",
                                           "currency": "EUR", "charity": "Hope",
                                           "charities": ["Hope"]}
    response = api("post", path, path, given, idempotency_key="d-2")
    assert response.status_code == 201, response.content
    assert response.json()["donation"]["round_up"] == "2.50"
    assert api("post", path, path, too_much, idempotency_key="d-3").status_code == 400
