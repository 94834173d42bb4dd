"""The rewards catalogue over the v1 API: till keys read it, manage keys write it, with the
same validation as the dashboard (the service decides); one shop per key; and the
create_api_key command's --scope."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from loyalty.models import ApiKey, ApiKeyScope
from loyalty.services import api_key_create, purchase_record
from rewards import services
from rewards.models import Reward, RewardKind
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

REWARDS = "/api/v1/rewards/"

OUTPUT_FIELDS = {
    "id", "kind", "name", "description", "points_cost", "value_amount", "value_percent",
    "product_name", "active", "display_order", "available_from", "available_until",
    "stock_total", "stock_left", "limit_per_member", "limit_period", "min_tier_level",
    "voucher_valid_days",
}


def reward_url(reward_id) -> str:
    return f"/api/v1/rewards/{reward_id}/"


class KeyClient:
    """The Django test client, calling with one API key."""

    def __init__(self, client, raw_key: str | None):
        self.client = client
        self.headers = {"Authorization": f"Api-Key {raw_key}"} if raw_key else {}

    def get(self, path):
        return self.client.get(path, headers=self.headers)

    def post(self, path, data):
        return self.client.post(path, data=json.dumps(data), content_type="application/json",
                                headers=self.headers)

    def patch(self, path, data):
        return self.client.patch(path, data=json.dumps(data), content_type="application/json",
                                 headers=self.headers)


@pytest.fixture
def till(client, shop):
    _api_key, raw = api_key_create(shop=shop, name="till-1")
    return KeyClient(client, raw)


@pytest.fixture
def manage(client, shop):
    _api_key, raw = api_key_create(shop=shop, name="catalogue-sync", scope=ApiKeyScope.MANAGE)
    return KeyClient(client, raw)


def reward_new(shop, **fields) -> Reward:
    values = {"kind": RewardKind.FREE_PRODUCT, "name": "Gratis koffie", "points_cost": 100,
              "product_name": "Koffie"}
    values.update(fields)
    return services.reward_create(shop=shop, **values)


def reward_state(reward: Reward) -> dict:
    """Every stored field of a reward, to show that a refused change changed nothing."""
    fresh = Reward.objects.get(pk=reward.pk)
    return {field.attname: getattr(fresh, field.attname) for field in Reward._meta.concrete_fields}


# --- Reading the catalogue -----------------------------------------------------------------------


class TestList:
    def test_a_till_key_lists_its_shops_rewards_in_display_order(self, till, shop, other_shop):
        coffee = reward_new(shop, name="Gratis koffie", points_cost=100, display_order=2)
        five_off = reward_new(shop, kind=RewardKind.AMOUNT_OFF, name="€5 korting",
                              value_amount="5.00", product_name="", points_cost=500,
                              display_order=0)
        tote = reward_new(shop, kind=RewardKind.PERK, name="Tas", product_name="",
                          points_cost=300, display_order=2, active=False)
        reward_new(other_shop, name="Kaasplankje", points_cost=50, display_order=0)

        response = till.get(REWARDS)

        assert response.status_code == 200, response.content
        results = response.json()["results"]
        # display_order first, then the order they were added in.
        assert [row["id"] for row in results] == [five_off.pk, coffee.pk, tote.pk]
        assert set(results[0]) >= {"id", "name", "kind", "points_cost", "active"}
        assert set(results[0]) == OUTPUT_FIELDS
        assert {row["name"]: (row["kind"], row["points_cost"], row["active"])
                for row in results} == {
            "€5 korting": ("amount_off", 500, True),
            "Gratis koffie": ("free_product", 100, True),
            "Tas": ("perk", 300, False),
        }
        assert results[0]["value_amount"] == "5.00"
        assert results[1]["product_name"] == "Koffie"

    def test_an_empty_catalogue_is_an_empty_list(self, till, other_shop):
        reward_new(other_shop)

        response = till.get(REWARDS)

        assert response.status_code == 200
        assert response.json() == {"results": []}

    def test_stock_left_counts_down_with_claims(self, till, shop, member):
        purchase_record(shop=shop, amount="50.00", membership_id=member.pk)
        reward = reward_new(shop, stock_total=3)
        services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)

        row = till.get(REWARDS).json()["results"][0]

        assert (row["stock_total"], row["stock_left"]) == (3, 2)

    def test_no_key_is_401(self, client, shop):
        reward_new(shop)

        response = client.get(REWARDS)

        assert_error(response, 401, "unauthorized", None)

    def test_a_reward_by_id(self, till, shop):
        reward = reward_new(shop, name="Gratis koffie", points_cost=120)

        response = till.get(reward_url(reward.pk))

        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == OUTPUT_FIELDS
        assert (body["id"], body["name"], body["kind"], body["points_cost"], body["active"]) == (
            reward.pk, "Gratis koffie", "free_product", 120, True)

    def test_another_shops_reward_by_id_is_404(self, till, other_shop):
        theirs = reward_new(other_shop, name="Kaasplankje")

        response = till.get(reward_url(theirs.pk))

        error = assert_error(response, 404, "not_found", "reward")
        assert "Kaasplankje" not in response.content.decode()
        assert error["message"]

    def test_an_unknown_id_is_404(self, till, shop):
        reward = reward_new(shop)

        response = till.get(reward_url(reward.pk + 1000))

        assert_error(response, 404, "not_found", "reward")


# --- Adding rewards ------------------------------------------------------------------------------


VALID = {"kind": "free_product", "name": "Gratis koffie", "points_cost": 100,
         "product_name": "Koffie"}


class TestCreate:
    def test_a_till_key_may_not_add_a_reward(self, till):
        response = till.post(REWARDS, VALID)

        error = assert_error(response, 403, "permission_denied", None)
        assert "manage" in error["message"]
        assert Reward.objects.count() == 0

    @pytest.mark.parametrize("language", ["en", "nl", "sv"])
    def test_the_403_is_in_the_callers_language(self, client, shop, till, language):
        """The message is translated per request (gettext_lazy), not once at import."""
        message = "This API key may not change the catalogue: it needs the “manage” scope."
        with translation.override(language):
            expected = translation.gettext(message)
        assert (expected == message) is (language == "en"), f"no {language} translation"

        response = client.post(REWARDS, data=json.dumps(VALID), content_type="application/json",
                               headers={**till.headers, "Accept-Language": language})

        assert assert_error(response, 403, "permission_denied", None)["message"] == expected
        assert Reward.objects.count() == 0

    def test_a_manage_key_adds_a_reward(self, manage, shop):
        response = manage.post(REWARDS, {
            "kind": "amount_off", "name": "  €5 korting  ", "description": "Op alles",
            "points_cost": 500, "value_amount": "5.00", "stock_total": 20,
            "limit_per_member": 1, "limit_period": "month", "voucher_valid_days": 14,
            "available_from": "2030-01-01T00:00:00+01:00",
            "available_until": "2030-02-01T00:00:00+01:00",
        })

        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == OUTPUT_FIELDS
        reward = Reward.objects.get()
        assert reward.shop == shop
        assert body["id"] == reward.pk
        assert (body["kind"], body["name"], body["points_cost"], body["value_amount"]) == (
            "amount_off", "€5 korting", 500, "5.00")
        assert (body["stock_total"], body["stock_left"], body["limit_per_member"],
                body["limit_period"], body["voucher_valid_days"], body["active"]) == (
            20, 20, 1, "month", 14, True)
        assert (reward.kind, reward.name, reward.points_cost, str(reward.value_amount)) == (
            "amount_off", "€5 korting", 500, "5.00")
        assert reward.available_until > reward.available_from
        assert reward.stock_claimed == 0

    def test_a_new_reward_goes_to_the_end_of_the_catalogue(self, manage, shop):
        first = reward_new(shop, display_order=4)

        response = manage.post(REWARDS, VALID)

        assert response.status_code == 201, response.content
        assert response.json()["display_order"] == 5
        listed = manage.get(REWARDS).json()["results"]
        assert [row["id"] for row in listed] == [first.pk, response.json()["id"]]

    def test_the_reward_belongs_to_the_keys_shop_only(self, manage, shop, other_shop, client):
        _key, other_raw = api_key_create(shop=other_shop, name="till-zuid")

        manage.post(REWARDS, VALID)

        assert Reward.objects.get().shop == shop
        assert KeyClient(client, other_raw).get(REWARDS).json() == {"results": []}

    @pytest.mark.parametrize(("payload", "field"), [
        pytest.param({"kind": "amount_off", "name": "€5 korting", "points_cost": 500},
                     "value_amount", id="amount_off-without-amount"),
        pytest.param({"kind": "amount_off", "name": "€5 korting", "points_cost": 500,
                      "value_amount": None}, "value_amount", id="amount_off-null-amount"),
        pytest.param({"kind": "amount_off", "name": "€0 korting", "points_cost": 500,
                      "value_amount": "0.00"}, "value_amount", id="amount_off-zero"),
        pytest.param({"kind": "gift_voucher", "name": "Cadeaubon", "points_cost": 500},
                     "value_amount", id="gift_voucher-without-amount"),
        pytest.param({"kind": "percent_off", "name": "Korting", "points_cost": 300,
                      "value_percent": 0}, "value_percent", id="percent-0"),
        pytest.param({"kind": "percent_off", "name": "Korting", "points_cost": 300,
                      "value_percent": 101}, "value_percent", id="percent-101"),
        pytest.param({"kind": "percent_off", "name": "Korting", "points_cost": 300},
                     "value_percent", id="percent-missing"),
        pytest.param({"kind": "free_product", "name": "Gratis", "points_cost": 100},
                     "product_name", id="free_product-without-product"),
        pytest.param({"kind": "free_product", "name": "Gratis", "points_cost": 100,
                      "product_name": "   "}, "product_name", id="free_product-blank-product"),
        pytest.param({**VALID, "points_cost": 0}, "points_cost", id="points_cost-0"),
        pytest.param({**VALID, "points_cost": -5}, "points_cost", id="points_cost-minus-5"),
        pytest.param({**VALID, "points_cost": "veel"}, "points_cost", id="points_cost-text"),
        pytest.param({key: value for key, value in VALID.items() if key != "points_cost"},
                     "points_cost", id="points_cost-missing"),
        pytest.param({**VALID, "stock_total": -1}, "stock_total", id="stock-minus-1"),
        pytest.param({**VALID, "limit_per_member": -1}, "limit_per_member",
                     id="limit-minus-1"),
        pytest.param({**VALID, "kind": "raffle"}, "kind", id="unknown-kind"),
        pytest.param({**VALID, "available_from": "2030-02-01T00:00:00+01:00",
                      "available_until": "2030-01-01T00:00:00+01:00"}, "available_until",
                     id="until-before-from"),
        pytest.param({**VALID, "available_from": "2030-02-01T00:00:00+01:00",
                      "available_until": "2030-02-01T00:00:00+01:00"}, "available_until",
                     id="until-equals-from"),
        pytest.param({**VALID, "name": "x" * 101}, "name", id="name-too-long"),
        pytest.param({**VALID, "name": ""}, "name", id="name-empty"),
        pytest.param({**VALID, "voucher_valid_days": 0}, "voucher_valid_days",
                     id="valid-days-0"),
    ])
    def test_bad_input_is_400_naming_the_field_and_adds_nothing(self, manage, shop, payload,
                                                                field):
        response = manage.post(REWARDS, payload)

        assert_error(response, 400, "invalid", field)
        assert Reward.objects.count() == 0

    def test_a_voucher_validity_no_calendar_can_hold_is_refused(self, manage):
        """3,000,000 days is past the year 9999: every claim of such a reward would crash
        computing the voucher's end date (a 500 for every till and member), so it is refused
        when the reward is saved, like any other bad value."""
        response = manage.post(REWARDS, {**VALID, "voucher_valid_days": 3_000_000})

        assert_error(response, 400, "invalid", "voucher_valid_days")
        assert Reward.objects.count() == 0

    @pytest.mark.parametrize(("payload", "field"), [
        ({"kind": "amount_off", "name": "€5 korting", "points_cost": 500}, "value_amount"),
        ({"kind": "percent_off", "name": "Korting", "points_cost": 300, "value_percent": 0},
         "value_percent"),
        ({"kind": "percent_off", "name": "Korting", "points_cost": 300, "value_percent": 101},
         "value_percent"),
        ({"kind": "free_product", "name": "Gratis", "points_cost": 100}, "product_name"),
        ({**VALID, "points_cost": 0}, "points_cost"),
        ({**VALID, "points_cost": -5}, "points_cost"),
        ({**VALID, "stock_total": -1}, "stock_total"),
        ({**VALID, "kind": "raffle"}, "kind"),
        ({**VALID, "name": "x" * 101}, "name"),
    ])
    def test_the_service_behind_the_dashboard_refuses_the_same_input(self, shop, payload,
                                                                     field):
        """The dashboard form only parses; rewards.services decides, for both front ends."""
        with pytest.raises(ValidationError) as caught:
            services.reward_create(shop=shop, **payload)

        assert field in caught.value.message_dict
        assert Reward.objects.count() == 0


# --- Changing rewards ----------------------------------------------------------------------------


class TestUpdate:
    def test_a_manage_key_changes_the_cost_and_switches_it_off(self, manage, shop):
        reward = reward_new(shop, name="Gratis koffie", points_cost=100)
        before = reward_state(reward)

        response = manage.patch(reward_url(reward.pk), {"points_cost": 150, "active": False})

        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["id"], body["points_cost"], body["active"], body["name"]) == (
            reward.pk, 150, False, "Gratis koffie")
        after = reward_state(reward)
        assert (after["points_cost"], after["active"]) == (150, False)
        # Only the fields sent changed.
        assert {k: v for k, v in after.items() if k not in ("points_cost", "active")} == {
            k: v for k, v in before.items() if k not in ("points_cost", "active")}

    def test_a_manage_key_changes_the_kind_with_its_value(self, manage, shop):
        reward = reward_new(shop)

        response = manage.patch(reward_url(reward.pk),
                                {"kind": "percent_off", "value_percent": 10})

        assert response.status_code == 200, response.content
        reward.refresh_from_db()
        assert (reward.kind, reward.value_percent) == ("percent_off", 10)

    def test_a_till_key_may_not_change_a_reward(self, till, shop):
        reward = reward_new(shop, points_cost=100)
        before = reward_state(reward)

        response = till.patch(reward_url(reward.pk), {"points_cost": 1})

        assert_error(response, 403, "permission_denied", None)
        assert reward_state(reward) == before

    def test_another_shops_reward_is_404_and_stays_as_it_was(self, manage, other_shop):
        theirs = reward_new(other_shop, points_cost=100)
        before = reward_state(theirs)

        response = manage.patch(reward_url(theirs.pk), {"points_cost": 1, "active": False})

        assert response.status_code == 404, response.content
        body = response.json()
        assert list(body) == ["error"] and set(body["error"]) == {"code", "message", "field"}
        assert body["error"]["code"] == "not_found"
        assert reward_state(theirs) == before

    @pytest.mark.parametrize(("start", "change", "field"), [
        pytest.param({}, {"points_cost": 0}, "points_cost", id="points_cost-0"),
        pytest.param({}, {"points_cost": -5}, "points_cost", id="points_cost-minus-5"),
        pytest.param({}, {"kind": "raffle"}, "kind", id="unknown-kind"),
        pytest.param({}, {"name": "x" * 101}, "name", id="name-too-long"),
        pytest.param({}, {"stock_total": -1}, "stock_total", id="stock-minus-1"),
        # Checked against the whole reward, not only the fields sent:
        pytest.param({}, {"kind": "amount_off"}, "value_amount", id="kind-without-amount"),
        pytest.param({}, {"product_name": ""}, "product_name", id="free-product-loses-name"),
        pytest.param({"kind": "percent_off", "value_percent": 10, "product_name": ""},
                     {"value_percent": 101}, "value_percent", id="percent-101"),
        pytest.param({"available_from": "2030-02-01T00:00:00+01:00"},
                     {"available_until": "2030-01-01T00:00:00+01:00"}, "available_until",
                     id="until-before-stored-from"),
    ])
    def test_a_bad_value_is_400_and_changes_nothing(self, manage, shop, start, change, field):
        reward = reward_new(shop, **start)
        before = reward_state(reward)

        response = manage.patch(reward_url(reward.pk), {**change, "active": False})

        assert_error(response, 400, "invalid", field)
        assert reward_state(reward) == before

    def test_null_removes_the_stock_limit_and_the_window(self, manage, shop):
        reward = reward_new(shop, stock_total=5, available_from="2030-01-01T00:00:00+01:00",
                            available_until="2030-02-01T00:00:00+01:00")

        response = manage.patch(reward_url(reward.pk), {
            "stock_total": None, "available_from": None, "available_until": None})

        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["stock_total"], body["stock_left"], body["available_from"],
                body["available_until"]) == (None, None, None, None)
        reward.refresh_from_db()
        assert (reward.stock_total, reward.available_from, reward.available_until) == (
            None, None, None)

    def test_stock_cannot_go_below_what_was_claimed(self, manage, shop, member):
        purchase_record(shop=shop, amount="50.00", membership_id=member.pk)
        reward = reward_new(shop, stock_total=5)
        services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        before = reward_state(reward)

        response = manage.patch(reward_url(reward.pk), {"stock_total": 1})

        error = assert_error(response, 400, "invalid", "stock_total")
        assert "2" in error["message"]
        assert reward_state(reward) == before

        response = manage.patch(reward_url(reward.pk), {"stock_total": 2})
        assert response.status_code == 200, response.content
        assert response.json()["stock_left"] == 0


# --- create_api_key --scope ----------------------------------------------------------------------


class TestCreateApiKeyScope:
    def test_scope_manage_makes_a_key_that_may_write_the_catalogue(self, client, shop):
        out = StringIO()
        call_command("create_api_key", f"--shop={shop.slug}", "--name=sync",
                     "--scope=manage", stdout=out)

        raw = out.getvalue().strip()
        api_key = ApiKey.objects.get(name="sync")
        assert (api_key.shop, api_key.scope) == (shop, ApiKeyScope.MANAGE)
        response = KeyClient(client, raw).post(REWARDS, VALID)
        assert response.status_code == 201, response.content
        assert Reward.objects.get().shop == shop

    def test_an_unknown_scope_is_a_command_error(self, shop):
        with pytest.raises(CommandError, match="root"):
            call_command("create_api_key", f"--shop={shop.slug}", "--name=sync",
                         "--scope=root", stdout=StringIO())
        assert ApiKey.objects.count() == 0

    def test_the_default_scope_is_till(self, client, shop):
        out = StringIO()
        call_command("create_api_key", f"--shop={shop.slug}", "--name=till-9", stdout=out)

        raw = out.getvalue().strip()
        assert ApiKey.objects.get(name="till-9").scope == ApiKeyScope.TILL
        api = KeyClient(client, raw)
        assert api.get(REWARDS).status_code == 200
        assert_error(api.post(REWARDS, VALID), 403, "permission_denied", None)
        assert Reward.objects.count() == 0

