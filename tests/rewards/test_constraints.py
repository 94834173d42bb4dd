"""The database itself refuses impossible rewards and vouchers, whatever code writes them: the
services check first, these constraints are the last line (on SQLite and PostgreSQL alike)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from loyalty import selectors as loyalty_selectors
from loyalty import services as loyalty_services
from loyalty.models import EntryKind
from rewards import services
from rewards.models import Reward, RewardKind, Voucher, VoucherStatus
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_reconciles(db):
    yield
    assert loyalty_selectors.ledger_mismatches() == []


@pytest.fixture
def reward(shop):
    return services.reward_create(shop=shop, kind=RewardKind.PERCENT_OFF, name="10% off",
                                  points_cost=100, value_percent=10, stock_total=2)


def _claim(shop, reward) -> Voucher:
    membership = MembershipFactory(shop=shop)
    loyalty_services.points_credit(shop=shop, membership_id=membership.pk, points=100,
                                   kind=EntryKind.ADJUSTMENT)
    return services.voucher_claim(shop=shop, membership_id=membership.pk, reward_id=reward.pk)


def _refused(queryset, **values) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        queryset.update(**values)


class TestRewardConstraints:
    def test_the_valid_reward_is_accepted(self, reward):
        Reward.objects.filter(pk=reward.pk).update(stock_claimed=2, value_percent=100,
                                                   points_cost=1)
        reward.refresh_from_db()
        assert (reward.stock_claimed, reward.value_percent, reward.points_cost) == (2, 100, 1)

    def test_claimed_above_the_stock_is_refused(self, reward):
        _refused(Reward.objects.filter(pk=reward.pk), stock_claimed=F("stock_total") + 1)
        _refused(Reward.objects.filter(pk=reward.pk), stock_total=0, stock_claimed=1)
        reward.refresh_from_db()
        assert (reward.stock_total, reward.stock_claimed) == (2, 0)

    def test_without_a_stock_any_number_may_be_claimed(self, reward):
        Reward.objects.filter(pk=reward.pk).update(stock_total=None, stock_claimed=1000)
        reward.refresh_from_db()
        assert reward.stock_left is None

    def test_a_cost_of_zero_points_is_refused(self, reward):
        _refused(Reward.objects.filter(pk=reward.pk), points_cost=0)
        reward.refresh_from_db()
        assert reward.points_cost == 100

    def test_a_cost_of_zero_points_is_refused_on_insert(self, shop):
        with pytest.raises(IntegrityError), transaction.atomic():
            Reward.objects.create(shop=shop, kind=RewardKind.PERK, name="Free", points_cost=0)
        assert Reward.objects.count() == 0

    @pytest.mark.parametrize("percent", [0, 101])
    def test_a_percentage_outside_1_to_100_is_refused(self, reward, percent):
        _refused(Reward.objects.filter(pk=reward.pk), value_percent=percent)
        reward.refresh_from_db()
        assert reward.value_percent == 10

    def test_an_unknown_kind_is_refused(self, reward):
        _refused(Reward.objects.filter(pk=reward.pk), kind="bogus")
        reward.refresh_from_db()
        assert reward.kind == RewardKind.PERCENT_OFF

    def test_an_amount_of_zero_is_refused(self, reward):
        _refused(Reward.objects.filter(pk=reward.pk), value_amount=0)

    def test_a_voucher_valid_for_zero_days_is_refused(self, reward):
        _refused(Reward.objects.filter(pk=reward.pk), voucher_valid_days=0)


class TestVoucherConstraints:
    def test_an_unknown_status_is_refused(self, shop, reward):
        voucher = _claim(shop, reward)
        _refused(Voucher.objects.filter(pk=voucher.pk), status="lost")
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.OPEN

    def test_a_used_voucher_without_a_time_is_refused(self, shop, reward):
        voucher = _claim(shop, reward)
        _refused(Voucher.objects.filter(pk=voucher.pk), status=VoucherStatus.USED)
        voucher.refresh_from_db()
        assert (voucher.status, voucher.used_at) == (VoucherStatus.OPEN, None)
        Voucher.objects.filter(pk=voucher.pk).update(status=VoucherStatus.USED,
                                                     used_at=timezone.now())
        _refused(Voucher.objects.filter(pk=voucher.pk), used_at=None)

    def test_a_duplicate_code_is_refused(self, shop, reward):
        first = _claim(shop, reward)
        second = _claim(shop, reward)
        _refused(Voucher.objects.filter(pk=second.pk), code=first.code)
        second.refresh_from_db()
        assert second.code != first.code

    def test_a_duplicate_code_is_refused_across_shops(self, shop, other_shop, reward):
        first = _claim(shop, reward)
        theirs = services.reward_create(shop=other_shop, kind=RewardKind.PERK, name="Tea",
                                        points_cost=100)
        second = _claim(other_shop, theirs)
        _refused(Voucher.objects.filter(pk=second.pk), code=first.code)

    def test_two_vouchers_cannot_share_a_redemption_entry(self, shop, reward):
        first = _claim(shop, reward)
        second = _claim(shop, reward)
        _refused(Voucher.objects.filter(pk=second.pk),
                 redemption_entry_id=first.redemption_entry_id)
