"""The v1 API's front door: API-key authentication, one shop per key, the OpenAPI schema and
docs, and the create_api_key command."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from loyalty.models import ApiKey, IdempotentRequest, LedgerEntry, Purchase, PurchaseItem
from loyalty.services import api_key_create, api_key_revoke
from tests.factories import MembershipFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def _get(client, path, *, authorization=None):
    headers = {"Authorization": authorization} if authorization is not None else {}
    return client.get(path, headers=headers)


def _post(client, path, data, *, authorization=None, idempotency_key=None):
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return client.post(path, data=json.dumps(data), content_type="application/json",
                       headers=headers)


@pytest.fixture
def raw_key(shop):
    _api_key, raw = api_key_create(shop=shop, name="till-1")
    return raw


@pytest.fixture
def other_raw_key(other_shop):
    _api_key, raw = api_key_create(shop=other_shop, name="till-zuid")
    return raw


# --- Authentication ------------------------------------------------------------------------------


class TestAuthentication:
    def test_a_valid_key_is_let_in(self, client, member, raw_key):
        response = _get(client, f"/api/v1/members/{member.card_number}/",
                        authorization=f"Api-Key {raw_key}")
        assert response.status_code == 200
        assert response.json()["card_number"] == member.card_number

    def test_no_authorization_header_is_401_with_www_authenticate(self, client, member):
        response = _get(client, f"/api/v1/members/{member.card_number}/")

        assert_error(response, 401, "unauthorized", None)
        assert response["WWW-Authenticate"] == "Api-Key"

    def test_no_header_on_a_write_is_401_and_writes_nothing(self, client, member):
        response = _post(client, "/api/v1/purchases/",
                         {"member": member.card_number, "amount": "10.00"},
                         idempotency_key="k-1")

        assert_error(response, 401, "unauthorized", None)
        assert response["WWW-Authenticate"] == "Api-Key"
        assert Purchase.objects.count() == 0
        assert IdempotentRequest.objects.count() == 0

    @pytest.mark.parametrize("authorization", [
        "Bearer x",
        "Bearer {key}",  # the right key, the wrong keyword
        "api-key {key}",  # the keyword is case-sensitive
        "Api-Key",
        "Api-Key ",
        "Token {key}",
    ])
    def test_a_wrong_keyword_or_no_key_is_401(self, client, member, raw_key, authorization):
        response = _get(client, f"/api/v1/members/{member.card_number}/",
                        authorization=authorization.format(key=raw_key))

        assert_error(response, 401, "unauthorized", None)
        assert response["WWW-Authenticate"] == "Api-Key"

    def test_an_unknown_key_is_401(self, client, member, raw_key):
        response = _get(client, f"/api/v1/members/{member.card_number}/",
                        authorization="Api-Key trw_this-key-does-not-exist")

        assert_error(response, 401, "unauthorized", None)
        assert response["WWW-Authenticate"] == "Api-Key"

    def test_a_key_with_one_character_changed_is_401(self, client, member, raw_key):
        tampered = raw_key[:-1] + ("A" if raw_key[-1] != "A" else "B")
        response = _get(client, f"/api/v1/members/{member.card_number}/",
                        authorization=f"Api-Key {tampered}")

        assert_error(response, 401, "unauthorized", None)

    def test_a_revoked_key_is_401(self, client, shop, member):
        api_key, raw = api_key_create(shop=shop, name="till-old")
        auth = f"Api-Key {raw}"
        assert _get(client, f"/api/v1/members/{member.card_number}/",
                    authorization=auth).status_code == 200

        api_key_revoke(shop=shop, api_key_id=api_key.pk)

        response = _get(client, f"/api/v1/members/{member.card_number}/", authorization=auth)
        assert_error(response, 401, "unauthorized", None)
        response = _post(client, "/api/v1/purchases/",
                         {"member": member.card_number, "amount": "10.00"},
                         authorization=auth, idempotency_key="after-revoke")
        assert_error(response, 401, "unauthorized", None)
        assert Purchase.objects.count() == 0

    def test_revoking_one_key_leaves_the_others_working(self, client, shop, member, raw_key):
        old, _old_raw = api_key_create(shop=shop, name="till-2")
        api_key_revoke(shop=shop, api_key_id=old.pk)

        response = _get(client, f"/api/v1/members/{member.card_number}/",
                        authorization=f"Api-Key {raw_key}")
        assert response.status_code == 200

    def test_a_signed_in_dashboard_session_without_a_key_is_401(self, owner_client, member):
        response = owner_client.get(f"/api/v1/members/{member.card_number}/")
        assert_error(response, 401, "unauthorized", None)

        response = owner_client.post(
            "/api/v1/purchases/",
            data=json.dumps({"member": member.card_number, "amount": "10.00"}),
            content_type="application/json", headers={"Idempotency-Key": "session-1"},
        )
        assert_error(response, 401, "unauthorized", None)
        assert Purchase.objects.count() == 0

    def test_the_raw_key_is_not_stored(self, shop):
        api_key, raw = api_key_create(shop=shop, name="till-3")
        stored = ApiKey.objects.get(pk=api_key.pk)
        assert raw.startswith("trw_")
        assert stored.key_hash != raw
        assert raw not in (stored.key_hash, stored.prefix, stored.name)
        assert stored.prefix == raw[:10]


# --- One shop per key ----------------------------------------------------------------------------


class TestShopIsolation:
    def test_another_shops_member_is_404(self, client, other_shop, raw_key):
        stranger = MembershipFactory(shop=other_shop)

        response = _get(client, f"/api/v1/members/{stranger.card_number}/",
                        authorization=f"Api-Key {raw_key}")

        assert_error(response, 404, "member_not_found", "card_number")

    def test_another_shops_member_is_not_found_by_lookup(self, client, other_shop, raw_key):
        stranger = MembershipFactory(shop=other_shop, email="stranger@example.com",
                                     phone="+31699887766")

        for q in (stranger.card_number, stranger.email, "0699887766"):
            response = _get(client, f"/api/v1/members/?q={q}",
                            authorization=f"Api-Key {raw_key}")
            assert response.status_code == 200
            assert response.json() == {"results": []}

    def test_a_purchase_with_another_shops_card_is_404_and_writes_nothing(
        self, client, shop, other_shop, raw_key
    ):
        stranger = MembershipFactory(shop=other_shop)

        response = _post(
            client, "/api/v1/purchases/",
            {"member": stranger.card_number, "amount": "27.50",
             "items": [{"name": "Brood", "unit_price": "27.50"}]},
            authorization=f"Api-Key {raw_key}", idempotency_key="cross-shop-1",
        )

        assert_error(response, 404, "member_not_found", "member")
        assert Purchase.objects.count() == 0
        assert PurchaseItem.objects.count() == 0
        assert LedgerEntry.objects.count() == 0
        assert IdempotentRequest.objects.count() == 0
        stranger.refresh_from_db()
        assert stranger.points_balance == 0

    def test_the_other_shops_key_sees_its_own_member(self, client, other_shop, other_raw_key):
        their_member = MembershipFactory(shop=other_shop)

        response = _get(client, f"/api/v1/members/{their_member.card_number}/",
                        authorization=f"Api-Key {other_raw_key}")

        assert response.status_code == 200
        assert response.json()["card_number"] == their_member.card_number

    def test_a_purchase_is_recorded_at_the_keys_shop(self, client, shop, member, raw_key):
        response = _post(client, "/api/v1/purchases/",
                         {"member": member.card_number, "amount": "5.00"},
                         authorization=f"Api-Key {raw_key}", idempotency_key="own-shop-1")

        assert response.status_code == 201
        purchase = Purchase.objects.get()
        assert purchase.shop == shop
        assert purchase.api_key.name == "till-1"


# --- OpenAPI schema and docs ---------------------------------------------------------------------


class TestSchemaAndDocs:
    def test_the_schema_is_served_and_lists_the_v1_paths(self, client):
        response = client.get("/api/schema/", {"format": "json"})

        assert response.status_code == 200
        schema = json.loads(response.content)
        assert schema["info"]["title"] == "Trouw API"
        for path in ("/api/v1/purchases/", "/api/v1/members/",
                     "/api/v1/members/{card_number}/",
                     "/api/v1/purchases/{purchase_id}/refunds/"):
            assert path in schema["paths"], path
        assert "post" in schema["paths"]["/api/v1/purchases/"]
        assert {"get", "post"} <= set(schema["paths"]["/api/v1/members/"])
        assert "ApiKey" in schema["components"]["securitySchemes"]

    def test_descriptions_are_for_api_users_not_our_base_classes(self, client):
        schema = json.loads(client.get("/api/schema/", {"format": "json"}).content)

        operations = [operation for path in schema["paths"].values()
                      for operation in path.values()]
        assert len(operations) >= 10
        for operation in operations:
            assert "self.shop" not in operation.get("description", ""), operation["operationId"]
            assert "lean_methods" not in operation.get("description", "")
            assert operation.get("summary"), operation["operationId"]

    def test_the_schema_default_format_is_served_too(self, client):
        response = client.get("/api/schema/")

        assert response.status_code == 200
        content = response.content.decode()
        assert "/api/v1/purchases/:" in content
        assert "/api/v1/members/:" in content

    def test_the_docs_render_without_a_cdn(self, client):
        response = client.get("/api/docs/")

        assert response.status_code == 200
        html = response.content.decode()
        assert "swagger" in html.lower()
        assert "/api/schema/" in client.get("/api/docs/", {"script": ""}).content.decode()
        for cdn in ("cdn.jsdelivr", "unpkg", "cdnjs", "googleapis"):
            assert cdn not in html, cdn


# --- create_api_key ------------------------------------------------------------------------------


class TestCreateApiKeyCommand:
    def test_prints_a_key_that_works(self, client, shop, member):
        out = StringIO()
        call_command("create_api_key", f"--shop={shop.slug}", "--name=till-cmd", stdout=out)

        raw = out.getvalue().strip()
        assert raw.startswith("trw_")
        assert "\n" not in raw
        api_key = ApiKey.objects.get(name="till-cmd")
        assert api_key.shop == shop
        assert api_key.prefix == raw[:10]

        response = _get(client, f"/api/v1/members/{member.card_number}/",
                        authorization=f"Api-Key {raw}")
        assert response.status_code == 200
        assert response.json()["card_number"] == member.card_number

    def test_an_unknown_shop_is_a_command_error(self, db):
        with pytest.raises(CommandError, match="no-such-shop"):
            call_command("create_api_key", "--shop=no-such-shop", "--name=till-1",
                         stdout=StringIO())
        assert ApiKey.objects.count() == 0

    def test_a_bad_name_is_a_command_error(self, shop):
        with pytest.raises(CommandError):
            call_command("create_api_key", f"--shop={shop.slug}", "--name=" + "x" * 61,
                         stdout=StringIO())
        assert ApiKey.objects.count() == 0
