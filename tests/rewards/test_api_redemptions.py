"""POST /api/v1/redemptions/ (points off, a voucher issued, once per Idempotency-Key) and
POST /api/v1/vouchers/<code>/use (once, at this shop only)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.utils import timezone

from loyalty.models import EntryKind, IdempotentRequest, LedgerEntry, Membership
from loyalty.services import api_key_create, program_rules_update, purchase_record
from rewards import services
from rewards.models import Reward, RewardKind, Voucher, VoucherStatus
from tests.factories import MembershipFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

REDEMPTIONS = "/api/v1/redemptions/"
# Eight characters without 0/O and 1/I, so a code read aloud or typed over is not misread.
UNAMBIGUOUS = set("23456789ABCDEFGHJKLMNPQRSTUVWXYZ")
VOUCHER_FIELDS = {"code", "status", "reward", "reward_name", "member", "points_spent",
                  "balance", "expires_at", "used_at", "created_at"}
T0 = dt.datetime(2030, 3, 4, 10, 0, tzinfo=dt.UTC)


def use_url(code: str) -> str:
    return f"/api/v1/vouchers/{code}/use"


class KeyClient:
    def __init__(self, client, raw_key: str):
        self.client = client
        self.auth = f"Api-Key {raw_key}"

    def redeem(self, member, reward, key: str | None = "redeem-0001", **extra):
        headers = {"Authorization": self.auth}
        if key is not None:
            headers["Idempotency-Key"] = key
        card = member.card_number if isinstance(member, Membership) else member
        reward_id = reward.pk if isinstance(reward, Reward) else reward
        return self.client.post(REDEMPTIONS, data=json.dumps({"member": card,
                                                              "reward": reward_id, **extra}),
                                content_type="application/json", headers=headers)

    def use(self, code: str):
        return self.client.post(use_url(code), headers={"Authorization": self.auth})


@pytest.fixture
def api(client, shop):
    _api_key, raw = api_key_create(shop=shop, name="till-1")
    return KeyClient(client, raw)


@pytest.fixture
def rich_member(shop, member):
    """``member`` with 500 spendable points (50.00 at 10 points a euro)."""
    purchase_record(shop=shop, amount="50.00", membership_id=member.pk)
    member.refresh_from_db()
    assert member.points_balance == 500
    return member


def reward_new(shop, **fields) -> Reward:
    values = {"kind": RewardKind.FREE_PRODUCT, "name": "Gratis koffie", "points_cost": 200,
              "product_name": "Koffie"}
    values.update(fields)
    return services.reward_create(shop=shop, **values)


@pytest.fixture
def coffee(shop):
    return reward_new(shop)


def snapshot() -> dict:
    return {
        "vouchers": sorted(Voucher.objects.values_list("pk", "status")),
        "entries": LedgerEntry.objects.count(),
        "balances": sorted(Membership.objects.values_list("pk", "points_balance")),
        "stock": sorted(Reward.objects.values_list("pk", "stock_claimed")),
        "idempotent": IdempotentRequest.objects.count(),
    }


def claimed(shop, member, reward) -> Voucher:
    return services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)


# --- Redeeming -----------------------------------------------------------------------------------


class TestRedeem:
    def test_a_redemption_is_201_with_the_voucher(self, api, shop, rich_member, coffee):
        response = api.redeem(rich_member, coffee, key="till-1-r-0001")

        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == VOUCHER_FIELDS
        assert len(body["code"]) == 8
        assert set(body["code"]) <= UNAMBIGUOUS
        assert body["status"] == "open"
        assert (body["reward"], body["reward_name"], body["member"]) == (
            coffee.pk, "Gratis koffie", rich_member.card_number)
        assert (body["points_spent"], body["balance"]) == (200, 300)
        assert body["used_at"] is None

        voucher = Voucher.objects.get()
        assert (voucher.code, voucher.shop, voucher.membership, voucher.reward) == (
            body["code"], shop, rich_member, coffee)
        assert voucher.status == VoucherStatus.OPEN
        assert voucher.claimed_by_api_key.name == "till-1"
        assert voucher.expires_at - voucher.created_at == pytest.approx(
            dt.timedelta(days=30), abs=dt.timedelta(seconds=5))
        assert dt.datetime.fromisoformat(body["expires_at"]) == voucher.expires_at
        entry = voucher.redemption_entry
        assert (entry.membership, entry.points, entry.kind) == (
            rich_member, -200, EntryKind.REDEMPTION)
        assert entry.actor_api_key == voucher.claimed_by_api_key
        rich_member.refresh_from_db()
        assert rich_member.points_balance == 300

    def test_each_redemption_gets_its_own_code(self, api, rich_member, coffee):
        first = api.redeem(rich_member, coffee, key="k-1").json()
        second = api.redeem(rich_member, coffee, key="k-2").json()

        assert first["code"] != second["code"]
        assert (first["balance"], second["balance"]) == (300, 100)
        assert Voucher.objects.count() == 2

    def test_a_replay_gets_the_same_body_and_spends_once(self, api, rich_member, coffee):
        first = api.redeem(rich_member, coffee, key="till-1-r-0002")
        again = api.redeem(rich_member, coffee, key="till-1-r-0002")

        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"
        assert Voucher.objects.count() == 1
        assert LedgerEntry.objects.filter(kind=EntryKind.REDEMPTION).count() == 1
        rich_member.refresh_from_db()
        assert rich_member.points_balance == 300

    def test_the_same_key_for_another_request_is_409(self, api, shop, rich_member, coffee):
        cake = reward_new(shop, name="Taartje", points_cost=100, product_name="Taart")
        first = api.redeem(rich_member, coffee, key="till-1-r-0003")
        before = snapshot()

        response = api.redeem(rich_member, cake, key="till-1-r-0003")

        assert first.status_code == 201
        assert_error(response, 409, "idempotency_key_reused", "Idempotency-Key")
        assert snapshot() == before

    def test_no_idempotency_key_is_400(self, api, rich_member, coffee):
        before = snapshot()

        response = api.redeem(rich_member, coffee, key=None)

        assert_error(response, 400, "idempotency_key_missing", "Idempotency-Key")
        assert snapshot() == before

    def test_not_enough_points_is_400_and_changes_nothing(self, api, shop, rich_member):
        bike = reward_new(shop, name="Fiets", points_cost=1000, stock_total=3)
        before = snapshot()

        response = api.redeem(rich_member, bike, key="till-1-r-0004")

        assert response.status_code == 400, response.content
        body = response.json()
        assert list(body) == ["error"] and set(body["error"]) == {"code", "message", "field"}
        assert body["error"]["code"] == "insufficient_points"
        message = body["error"]["message"]
        assert "Not enough points" in message
        assert "500" in message and "1000" in message
        assert snapshot() == before  # no voucher, no entry, stock not taken, key not stored

    def test_a_refused_redemption_does_not_burn_its_key(self, api, shop, rich_member):
        bike = reward_new(shop, name="Fiets", points_cost=700)
        assert api.redeem(rich_member, bike, key="till-1-r-0005").status_code == 400

        purchase_record(shop=shop, amount="20.00", membership_id=rich_member.pk)
        response = api.redeem(rich_member, bike, key="till-1-r-0005")

        assert response.status_code == 201, response.content
        assert response.json()["balance"] == 0

    def test_points_not_yet_spendable_do_not_count(self, api, shop, member, coffee):
        """Pending points are on the balance but cannot be spent yet."""
        program_rules_update(shop=shop, by=None, pending_days=14)
        purchase_record(shop=shop, amount="50.00", membership_id=member.pk)
        before = snapshot()

        response = api.redeem(member, coffee, key="pending-1")

        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "insufficient_points"
        assert snapshot() == before

    def test_an_unknown_member_is_404(self, api, rich_member, coffee):
        before = snapshot()

        response = api.redeem("0000000000000", coffee)

        assert_error(response, 404, "member_not_found", "member")
        assert snapshot() == before

    def test_a_member_of_another_shop_is_404(self, api, other_shop, coffee):
        theirs = MembershipFactory(shop=other_shop)
        purchase_record(shop=other_shop, amount="50.00", membership_id=theirs.pk)
        before = snapshot()

        response = api.redeem(theirs, coffee)

        assert_error(response, 404, "member_not_found", "member")
        assert snapshot() == before

    def test_a_reward_of_another_shop_is_404(self, api, other_shop, rich_member):
        theirs = reward_new(other_shop, name="Kaasplankje", points_cost=100)
        before = snapshot()

        response = api.redeem(rich_member, theirs)

        assert_error(response, 404, "not_found", "reward")
        assert snapshot() == before

    def test_an_unknown_reward_is_404(self, api, rich_member, coffee):
        response = api.redeem(rich_member, coffee.pk + 1000)

        assert_error(response, 404, "not_found", "reward")
        assert Voucher.objects.count() == 0

    def test_a_sold_out_reward_is_400(self, api, shop, rich_member):
        last_one = reward_new(shop, name="Laatste taart", points_cost=100, stock_total=1)
        someone = MembershipFactory(shop=shop)
        purchase_record(shop=shop, amount="20.00", membership_id=someone.pk)
        claimed(shop, someone, last_one)
        before = snapshot()

        response = api.redeem(rich_member, last_one)

        error = assert_error(response, 400, "unavailable", "reward")
        assert "sold out" in error["message"]
        assert snapshot() == before

    def test_the_last_item_can_be_taken_then_it_is_sold_out(self, api, shop, rich_member):
        last_one = reward_new(shop, name="Laatste taart", points_cost=100, stock_total=1)

        assert api.redeem(rich_member, last_one, key="a").status_code == 201
        response = api.redeem(rich_member, last_one, key="b")

        assert_error(response, 400, "unavailable", "reward")
        last_one.refresh_from_db()
        assert last_one.stock_claimed == 1
        rich_member.refresh_from_db()
        assert rich_member.points_balance == 400

    def test_the_per_member_limit_is_400(self, api, shop, rich_member):
        once = reward_new(shop, name="Welkomstcadeau", points_cost=100, limit_per_member=1)
        assert api.redeem(rich_member, once, key="first").status_code == 201
        before = snapshot()

        response = api.redeem(rich_member, once, key="second")

        error = assert_error(response, 400, "limit_reached", "reward")
        assert "1" in error["message"]
        assert snapshot() == before

    def test_an_inactive_reward_is_400(self, api, shop, rich_member):
        off = reward_new(shop, active=False)
        before = snapshot()

        response = api.redeem(rich_member, off)

        assert_error(response, 400, "unavailable", "reward")
        assert snapshot() == before

    @pytest.mark.parametrize("window", [
        pytest.param({"available_from": T0 + dt.timedelta(days=1)}, id="not-yet"),
        pytest.param({"available_from": T0 - dt.timedelta(days=30),
                      "available_until": T0 - dt.timedelta(days=1)}, id="no-longer"),
    ])
    def test_a_reward_outside_its_window_is_400(self, api, shop, rich_member, window):
        seasonal = reward_new(shop, name="Paasbrood", **window)
        before = snapshot()

        with time_machine.travel(T0, tick=False):
            response = api.redeem(rich_member, seasonal)

        assert_error(response, 400, "unavailable", "reward")
        assert snapshot() == before

    def test_bad_input_is_400(self, api, rich_member):
        response = api.client.post(
            REDEMPTIONS, data=json.dumps({"member": rich_member.card_number}),
            content_type="application/json",
            headers={"Authorization": api.auth, "Idempotency-Key": "x"})

        assert_error(response, 400, "invalid", "reward")
        assert Voucher.objects.count() == 0


# --- Using vouchers ------------------------------------------------------------------------------


class TestUse:
    def test_using_an_open_voucher_is_200_and_used(self, api, shop, rich_member, coffee):
        voucher = claimed(shop, rich_member, coffee)

        response = api.use(voucher.code)

        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == VOUCHER_FIELDS
        assert (body["code"], body["status"]) == (voucher.code, "used")
        assert body["used_at"] is not None
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.USED
        assert voucher.used_at is not None
        assert voucher.used_by_api_key.name == "till-1"
        rich_member.refresh_from_db()
        assert rich_member.points_balance == 300  # using costs nothing more

    def test_a_voucher_redeemed_through_the_api_can_be_used(self, api, rich_member, coffee):
        code = api.redeem(rich_member, coffee).json()["code"]

        response = api.use(code)

        assert response.status_code == 200, response.content
        assert response.json()["status"] == "used"

    def test_using_it_again_is_409(self, api, shop, rich_member, coffee):
        voucher = claimed(shop, rich_member, coffee)
        assert api.use(voucher.code).status_code == 200
        voucher.refresh_from_db()
        used_at = voucher.used_at

        response = api.use(voucher.code)

        error = assert_error(response, 409, "conflict", "code")
        assert "used already" in error["message"]
        voucher.refresh_from_db()
        assert (voucher.status, voucher.used_at) == (VoucherStatus.USED, used_at)

    def test_the_409_says_when_it_was_used_in_the_shops_time(self, api, shop, rich_member,
                                                              coffee):
        """The till shows the message to staff: the time is the shop's clock (Amsterdam,
        UTC+1 in March), as at the counter page, not the server's UTC."""
        assert shop.time_zone == "Europe/Amsterdam"
        with time_machine.travel(T0 - dt.timedelta(days=1), tick=False):
            voucher = claimed(shop, rich_member, coffee)
        with time_machine.travel(T0, tick=False):  # 10:00 UTC = 11:00 in Amsterdam
            assert api.use(voucher.code).status_code == 200

        response = api.use(voucher.code)

        error = assert_error(response, 409, "conflict", "code")
        assert "04-03-2030 11:00" in error["message"], error["message"]

    def test_an_expired_voucher_is_409(self, api, shop, rich_member):
        week = reward_new(shop, voucher_valid_days=7)
        with time_machine.travel(T0, tick=False):
            voucher = claimed(shop, rich_member, week)
        assert voucher.expires_at == T0 + dt.timedelta(days=7)

        with time_machine.travel(T0 + dt.timedelta(days=7, seconds=1), tick=False):
            response = api.use(voucher.code)

        error = assert_error(response, 409, "conflict", "code")
        assert "expired" in error["message"]
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.OPEN  # the expiry job closes it, not the till
        assert voucher.used_at is None

    def test_a_voucher_on_its_last_day_can_be_used(self, api, shop, rich_member):
        week = reward_new(shop, voucher_valid_days=7)
        with time_machine.travel(T0, tick=False):
            voucher = claimed(shop, rich_member, week)

        with time_machine.travel(T0 + dt.timedelta(days=7, seconds=-1), tick=False):
            response = api.use(voucher.code)

        assert response.status_code == 200, response.content

    def test_an_expired_and_closed_voucher_is_409(self, api, shop, rich_member, coffee):
        with time_machine.travel(T0, tick=False):
            voucher = claimed(shop, rich_member, coffee)
        services.vouchers_expire(now=T0 + dt.timedelta(days=31))

        response = api.use(voucher.code)

        assert_error(response, 409, "conflict", "code")
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.EXPIRED

    def test_a_cancelled_voucher_is_409(self, api, shop, owner, rich_member, coffee):
        voucher = claimed(shop, rich_member, coffee)
        services.voucher_cancel(shop=shop, voucher_id=voucher.pk, by=owner)

        response = api.use(voucher.code)

        error = assert_error(response, 409, "conflict", "code")
        assert "cancelled" in error["message"]
        voucher.refresh_from_db()
        assert (voucher.status, voucher.used_at) == (VoucherStatus.CANCELLED, None)

    def test_an_unknown_code_is_404(self, api, shop, rich_member, coffee):
        claimed(shop, rich_member, coffee)

        response = api.use("ZZZZZZZZ")

        assert_error(response, 404, "not_found", "code")

    def test_another_shops_voucher_is_404_and_stays_open(self, api, other_shop):
        theirs = MembershipFactory(shop=other_shop)
        purchase_record(shop=other_shop, amount="50.00", membership_id=theirs.pk)
        voucher = claimed(other_shop, theirs, reward_new(other_shop, name="Kaasplankje"))

        response = api.use(voucher.code)

        assert_error(response, 404, "not_found", "code")
        assert "Kaasplankje" not in response.content.decode()
        voucher.refresh_from_db()
        assert (voucher.status, voucher.used_at) == (VoucherStatus.OPEN, None)

    @pytest.mark.parametrize("typed", [
        pytest.param(lambda code: code.lower(), id="lower-case"),
        pytest.param(lambda code: f"{code[:4]}-{code[4:]}", id="with-dash"),
        pytest.param(lambda code: f"{code[:4]}-{code[4:]}".lower(), id="lower-case-with-dash"),
    ])
    def test_the_code_as_people_type_it(self, api, shop, rich_member, coffee, typed):
        voucher = claimed(shop, rich_member, coffee)

        response = api.use(typed(voucher.code))

        assert response.status_code == 200, response.content
        assert (response.json()["code"], response.json()["status"]) == (voucher.code, "used")
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.USED

    def test_no_key_is_401_and_the_voucher_stays_open(self, client, shop, rich_member, coffee):
        voucher = claimed(shop, rich_member, coffee)

        response = client.post(use_url(voucher.code))

        assert_error(response, 401, "unauthorized", None)
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.OPEN

    def test_used_at_is_the_time_of_use(self, api, shop, rich_member, coffee):
        voucher = claimed(shop, rich_member, coffee)
        moment = timezone.now() + dt.timedelta(days=2)

        with time_machine.travel(moment, tick=False):
            response = api.use(voucher.code)

        assert response.status_code == 200, response.content
        assert dt.datetime.fromisoformat(response.json()["used_at"]) == moment
