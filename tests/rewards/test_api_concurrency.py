"""The rewards API under real concurrency (PostgreSQL, real threads, real transactions): two
tills scanning one voucher at once use it once; a till retrying a redemption many times at once
gets one voucher and the same answer every time."""

from __future__ import annotations

import pytest
from django.db import connection

from loyalty.models import EntryKind, IdempotentRequest, LedgerEntry, Membership
from loyalty.services import api_key_create, program_rules_current, purchase_record
from rewards import services
from rewards.models import Reward, RewardKind, Voucher, VoucherStatus
from tests.conftest import require_service
from tests.factories import MembershipFactory, ShopFactory
from tests.helpers import post_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup():
    require_service(connection.vendor == "postgresql",
                    "PostgreSQL (DATABASE_URL=postgres://...)")
    shop = ShopFactory(slug="gelijktijdig")
    member = MembershipFactory(shop=shop)
    program_rules_current(shop=shop)
    purchase_record(shop=shop, amount="50.00", membership_id=member.pk)  # 500 points
    reward = services.reward_create(shop=shop, kind=RewardKind.FREE_PRODUCT,
                                    name="Gratis koffie", points_cost=200,
                                    product_name="Koffie")
    _api_key, raw = api_key_create(shop=shop, name="till-1")
    return shop, member, reward, raw


def test_one_voucher_used_at_two_tills_at_once_is_used_once(setup):
    shop, member, reward, raw = setup
    voucher = services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
    _key2, raw2 = api_key_create(shop=shop, name="till-2")
    path = f"/api/v1/vouchers/{voucher.code}/use"

    results = post_at_once([
        (path, None, {"Authorization": f"Api-Key {raw}"}),
        (path, None, {"Authorization": f"Api-Key {raw2}"}),
    ])

    assert sorted(status for status, _body, _replayed in results) == [200, 409], results
    ok = next(body for status, body, _r in results if status == 200)
    refused = next(body for status, body, _r in results if status == 409)
    assert (ok["code"], ok["status"]) == (voucher.code, "used")
    assert list(refused) == ["error"]
    assert set(refused["error"]) == {"code", "message", "field"}
    assert (refused["error"]["code"], refused["error"]["field"]) == ("conflict", "code")
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.USED
    assert voucher.used_at is not None
    assert Membership.objects.get(pk=member.pk).points_balance == 300


def test_the_same_redemption_five_times_at_once_is_one_voucher(setup):
    shop, member, _coffee, raw = setup
    reward = services.reward_create(shop=shop, kind=RewardKind.PERK, name="Rondleiding",
                                    points_cost=200, stock_total=5)
    headers = {"Authorization": f"Api-Key {raw}", "Idempotency-Key": "till-1-redeem-race"}
    body = {"member": member.card_number, "reward": reward.pk}

    results = post_at_once([("/api/v1/redemptions/", body, headers)] * 5)

    statuses = [status for status, _body, _replayed in results]
    bodies = [response_body for _status, response_body, _replayed in results]
    assert statuses == [201] * 5, bodies
    assert all(response_body == bodies[0] for response_body in bodies)
    assert (bodies[0]["status"], bodies[0]["points_spent"], bodies[0]["balance"]) == (
        "open", 200, 300)
    # One request did the work; the four others were answered from its record.
    assert sorted(replayed or "" for _s, _b, replayed in results) == [""] + ["true"] * 4

    voucher = Voucher.objects.get()
    assert voucher.code == bodies[0]["code"]
    assert LedgerEntry.objects.filter(kind=EntryKind.REDEMPTION).count() == 1
    assert IdempotentRequest.objects.filter(operation="redemption").count() == 1
    assert Membership.objects.get(pk=member.pk).points_balance == 300
    assert Reward.objects.get(pk=reward.pk).stock_claimed == 1  # one item taken, not five
