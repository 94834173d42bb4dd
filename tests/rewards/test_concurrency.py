"""Rewards under real concurrency: threads with their own PostgreSQL connections, released
together by a barrier. The membership lock and the conditional UPDATEs on stock and voucher status
must let exactly one of the racing requests win, and leave the ledger consistent."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from loyalty import selectors as loyalty_selectors
from loyalty import services as loyalty_services
from loyalty.models import EntryKind, LedgerEntry, Membership
from rewards import services
from rewards.models import Reward, RewardKind, Voucher, VoucherStatus
from tests.conftest import require_service
from tests.factories import MembershipFactory, ShopFactory, StaffMemberFactory
from tests.helpers import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def postgresql_only():
    require_service(connection.vendor == "postgresql",
                    "PostgreSQL (DATABASE_URL), for real row locks between threads")
    yield
    assert loyalty_selectors.ledger_mismatches() == []


def _split(results):
    won = [value for status, value in results if status == "ok"]
    lost = [value for status, value in results if status == "error"]
    unexpected = [error for error in lost if not isinstance(error, ValidationError)]
    assert unexpected == []
    return won, lost


def _codes(error: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in error.error_dict.items()}


def _member_with(shop, points: int) -> Membership:
    membership = MembershipFactory(shop=shop)
    loyalty_services.purchase_record(shop=shop, amount=f"{points // 10}.00",
                                     membership_id=membership.pk)
    membership.refresh_from_db()
    assert membership.points_balance == points
    return membership


def _balance(membership: Membership) -> int:
    return Membership.objects.get(pk=membership.pk).points_balance


def _reward(shop, **fields) -> Reward:
    values = {"kind": RewardKind.FREE_PRODUCT, "name": "Taart", "product_name": "Appeltaart",
              "points_cost": 500}
    values.update(fields)
    return services.reward_create(shop=shop, **values)


def test_two_counters_redeeming_the_last_500_points_one_succeeds():
    shop = ShopFactory()
    staff = [StaffMemberFactory(shop=shop).user for _ in range(2)]
    member = _member_with(shop, 500)
    reward = _reward(shop, points_cost=500)

    def redeem(user):
        return lambda: services.reward_redeem_at_counter(
            shop=shop, membership_id=member.pk, reward_id=reward.pk, by=user)

    won, lost = _split(run_at_once([redeem(user) for user in staff]))

    assert len(won) == 1
    assert len(lost) == 1
    assert _codes(lost[0]) == {"points": ["insufficient_points"]}
    assert _balance(member) == 0
    vouchers = Voucher.objects.filter(membership=member)
    assert vouchers.count() == 1
    voucher = vouchers.get()
    assert voucher.pk == won[0].pk
    assert voucher.status == VoucherStatus.USED
    assert voucher.used_by == voucher.claimed_by
    assert LedgerEntry.objects.filter(membership=member, kind=EntryKind.REDEMPTION).count() == 1


def test_two_claims_of_the_last_500_points_one_succeeds():
    shop = ShopFactory()
    member = _member_with(shop, 500)
    reward = _reward(shop, points_cost=500)

    def claim():
        return services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)

    won, lost = _split(run_at_once([claim, claim]))

    assert (len(won), len(lost)) == (1, 1)
    assert _codes(lost[0]) == {"points": ["insufficient_points"]}
    assert _balance(member) == 0
    assert Voucher.objects.filter(membership=member, status=VoucherStatus.OPEN).count() == 1


def test_one_voucher_used_at_two_counters_at_once_is_used_once():
    shop = ShopFactory()
    staff = [StaffMemberFactory(shop=shop).user for _ in range(2)]
    member = _member_with(shop, 500)
    reward = _reward(shop, points_cost=500)
    voucher = services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)

    def use(user):
        return lambda: services.voucher_use(shop=shop, code=voucher.code, actor_user=user)

    won, lost = _split(run_at_once([use(user) for user in staff]))

    assert (len(won), len(lost)) == (1, 1)
    assert _codes(lost[0]) == {"code": ["conflict"]}
    assert "used already" in lost[0].message_dict["code"][0]
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.USED
    assert voucher.used_by == won[0].used_by
    assert voucher.used_at == won[0].used_at
    assert _balance(member) == 0


def test_the_last_item_claimed_by_two_members_at_once_goes_to_one():
    shop = ShopFactory()
    members = [_member_with(shop, 800) for _ in range(2)]
    reward = _reward(shop, points_cost=500, stock_total=1)

    def claim(membership):
        return lambda: services.voucher_claim(shop=shop, membership_id=membership.pk,
                                              reward_id=reward.pk)

    results = run_at_once([claim(membership) for membership in members])
    won, lost = _split(results)

    assert (len(won), len(lost)) == (1, 1)
    assert _codes(lost[0]) == {"reward": ["unavailable"]}
    assert "sold out" in lost[0].message_dict["reward"][0]
    winner = won[0].membership
    loser = next(m for m in members if m.pk != winner.pk)
    assert Voucher.objects.filter(reward=reward).count() == 1
    reward.refresh_from_db()
    assert (reward.stock_claimed, reward.stock_left) == (1, 0)
    assert _balance(winner) == 300
    assert _balance(loser) == 800
    assert list(LedgerEntry.objects.filter(membership=loser).values_list("kind", flat=True)) == [
        EntryKind.EARN]


def test_a_limit_of_one_holds_when_one_member_claims_from_five_counters_at_once():
    shop = ShopFactory()
    member = _member_with(shop, 2500)
    reward = _reward(shop, points_cost=500, limit_per_member=1)

    def claim():
        return services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)

    won, lost = _split(run_at_once([claim] * 5))

    assert (len(won), len(lost)) == (1, 4)
    for error in lost:
        assert _codes(error) == {"reward": ["limit_reached"]}
    assert Voucher.objects.filter(membership=member).count() == 1
    assert _balance(member) == 2000
    assert LedgerEntry.objects.filter(membership=member, kind=EntryKind.REDEMPTION).count() == 1


def test_a_monthly_limit_and_stock_hold_with_many_members_at_once():
    """Eight members, each claiming twice at once, for a reward with stock 5 and a limit of one
    a month: five vouchers to five different members, everyone else untouched."""
    shop = ShopFactory()
    members = [_member_with(shop, 1000) for _ in range(8)]
    reward = _reward(shop, points_cost=400, stock_total=5, limit_per_member=1,
                     limit_period="month")

    def claim(membership):
        return lambda: services.voucher_claim(shop=shop, membership_id=membership.pk,
                                              reward_id=reward.pk)

    won, lost = _split(run_at_once([claim(m) for m in members for _ in range(2)]))

    assert (len(won), len(lost)) == (5, 11)
    for error in lost:
        assert _codes(error) in ({"reward": ["unavailable"]}, {"reward": ["limit_reached"]})
    winners = {voucher.membership_id for voucher in won}
    assert len(winners) == 5
    reward.refresh_from_db()
    assert reward.stock_claimed == 5
    for membership in members:
        assert _balance(membership) == (600 if membership.pk in winners else 1000)


def test_cancel_and_use_of_one_voucher_at_once_do_one_thing():
    shop = ShopFactory()
    owner = StaffMemberFactory(shop=shop, role="owner").user
    member = _member_with(shop, 500)
    reward = _reward(shop, points_cost=500, stock_total=3)
    voucher = services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)

    def use():
        return services.voucher_use(shop=shop, code=voucher.code)

    def cancel():
        return services.voucher_cancel(shop=shop, voucher_id=voucher.pk, by=owner)

    results = run_at_once([use, cancel])
    won, lost = _split(results)

    assert (len(won), len(lost)) == (1, 1)
    assert [_codes(error) for error in lost] in ([{"code": ["conflict"]}],
                                                 [{"voucher": ["conflict"]}])
    voucher.refresh_from_db()
    reward.refresh_from_db()
    if voucher.status == VoucherStatus.USED:
        assert (_balance(member), reward.stock_claimed, voucher.return_entry) == (0, 1, None)
    else:
        assert voucher.status == VoucherStatus.CANCELLED
        assert (_balance(member), reward.stock_claimed) == (500, 0)
        assert voucher.return_entry.reverses_id == voucher.redemption_entry_id
