"""Rewards' e-mails written to the outbox: a claimed voucher (transactional; not for one handed
out at the counter at once) and the reminder before an open voucher expires (marketing, once
per voucher, in the shop's daytime)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from loyalty import services as loyalty_services
from loyalty.models import OutboxMessage
from rewards import services, tasks
from rewards.models import RewardKind, Voucher, VoucherStatus
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

# 10:00 in Amsterdam (UTC+1 in January): the shop's daytime.
DAYTIME = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)
NIGHT = dt.datetime(2026, 1, 15, 2, 0, tzinfo=dt.UTC)  # 03:00 in Amsterdam


@pytest.fixture
def coffee(shop):
    return services.reward_create(shop=shop, kind=RewardKind.FREE_PRODUCT, name="Koffie",
                                  points_cost=100, product_name="Koffie", voucher_valid_days=30)


def _member(shop, consent=True, email="v@example.com"):
    membership = MembershipFactory(shop=shop, email=email, marketing_consent=consent)
    loyalty_services.purchase_record(shop=shop, amount="50.00", membership_id=membership.pk)
    return membership


def _voucher(shop, coffee, membership, expires_in):
    voucher = services.voucher_claim(shop=shop, membership_id=membership.pk,
                                     reward_id=coffee.pk)
    Voucher.objects.filter(pk=voucher.pk).update(
        created_at=DAYTIME - dt.timedelta(days=20), expires_at=DAYTIME + expires_in)
    return voucher


class TestVoucherIssued:
    def test_a_claim_writes_the_voucher_email(self, shop, coffee):
        membership = _member(shop)
        voucher = services.voucher_claim(shop=shop, membership_id=membership.pk,
                                         reward_id=coffee.pk)
        message = OutboxMessage.objects.get(kind="voucher_issued")
        assert (message.key, message.to, message.context) == (
            f"voucher_issued:{voucher.pk}", "v@example.com", {"voucher_id": voucher.pk})

    def test_a_refused_claim_writes_nothing(self, shop, coffee):
        membership = MembershipFactory(shop=shop, email="v@example.com")  # no points
        with pytest.raises(Exception):  # noqa: B017,PT011 — ValidationError, any field
            services.voucher_claim(shop=shop, membership_id=membership.pk, reward_id=coffee.pk)
        assert not OutboxMessage.objects.exists()

    def test_handed_out_at_the_counter_at_once_writes_none(self, shop, coffee, owner):
        membership = _member(shop)
        services.reward_redeem_at_counter(shop=shop, membership_id=membership.pk,
                                          reward_id=coffee.pk, by=owner)
        assert not OutboxMessage.objects.filter(kind="voucher_issued").exists()

    def test_a_member_without_email_gets_none(self, shop, coffee):
        membership = _member(shop, email="")
        services.voucher_claim(shop=shop, membership_id=membership.pk, reward_id=coffee.pk)
        assert not OutboxMessage.objects.exists()


class TestReminders:
    def test_written_once_for_an_open_voucher_expiring_soon(self, shop, coffee):
        voucher = _voucher(shop, coffee, _member(shop), dt.timedelta(days=2))
        with time_machine.travel(DAYTIME, tick=False):
            assert tasks.voucher_reminders_write() == {"shops": 1, "written": 1}
            assert tasks.voucher_reminders_write() == {"shops": 0, "written": 0}
        message = OutboxMessage.objects.get(kind="voucher_expiring")
        assert message.key == f"voucher_expiring:{voucher.pk}"

    def test_not_at_night_in_the_shops_time_zone(self, shop, coffee):
        _voucher(shop, coffee, _member(shop), dt.timedelta(days=2))
        with time_machine.travel(NIGHT, tick=False):
            assert services.voucher_reminders_write()["written"] == 0
        shop.time_zone = "Pacific/Auckland"  # 15:00 there
        shop.save()
        with time_machine.travel(NIGHT, tick=False):
            assert services.voucher_reminders_write()["written"] == 1

    def test_not_without_marketing_consent(self, shop, coffee):
        _voucher(shop, coffee, _member(shop, consent=False), dt.timedelta(days=2))
        with time_machine.travel(DAYTIME, tick=False):
            assert services.voucher_reminders_write()["written"] == 0
        assert not OutboxMessage.objects.filter(kind="voucher_expiring").exists()

    @pytest.mark.parametrize("expires_in", [dt.timedelta(days=10), dt.timedelta(minutes=30),
                                            -dt.timedelta(hours=1)])
    def test_not_too_early_and_not_when_it_is_too_late_to_act(self, shop, coffee, expires_in):
        _voucher(shop, coffee, _member(shop), expires_in)
        with time_machine.travel(DAYTIME, tick=False):
            assert services.voucher_reminders_write()["written"] == 0

    @pytest.mark.parametrize("status", [VoucherStatus.USED, VoucherStatus.CANCELLED])
    def test_not_for_a_voucher_no_longer_open(self, shop, coffee, status):
        voucher = _voucher(shop, coffee, _member(shop), dt.timedelta(days=2))
        Voucher.objects.filter(pk=voucher.pk).update(status=status, used_at=timezone.now())
        with time_machine.travel(DAYTIME, tick=False):
            assert services.voucher_reminders_write()["written"] == 0

    def test_not_for_a_voucher_claimed_today(self, shop, coffee):
        voucher = _voucher(shop, coffee, _member(shop), dt.timedelta(days=2))
        Voucher.objects.filter(pk=voucher.pk).update(created_at=DAYTIME - dt.timedelta(hours=3))
        with time_machine.travel(DAYTIME, tick=False):
            assert services.voucher_reminders_write()["written"] == 0

    def test_the_job_is_on_the_beat_hourly(self):
        from loyalty.celery import app

        entry = app.conf.beat_schedule["remind-expiring-vouchers"]
        assert entry["task"] == "rewards.tasks.voucher_reminders_write"
