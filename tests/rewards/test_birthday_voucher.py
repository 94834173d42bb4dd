"""The rewards app's birthday voucher: the owner picks a reward; the ``birthday`` moment's
effect issues a free voucher of it for each gift of the batch and records it in the gift's
extras; the e-mail and the public page say it; cancelling or expiring it gives no points."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from loyalty import emails
from loyalty import selectors as loyalty_selectors
from loyalty import services as loyalty_services
from loyalty.models import BirthdayGift, EntryKind, LedgerEntry, OutboxMessage
from members import selectors as member_selectors
from rewards import services
from rewards.models import Reward, RewardKind, RewardSettings, Voucher, VoucherStatus
from tests.factories import MembershipFactory, ShopFactory

SIX_AMSTERDAM = dt.datetime(2026, 6, 15, 4, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def ledger_reconciles(db):
    yield
    assert loyalty_selectors.ledger_mismatches() == []


@pytest.fixture
def coffee(shop):
    return services.reward_create(shop=shop, kind=RewardKind.FREE_PRODUCT, name="A free coffee",
                                  product_name="Coffee", points_cost=300, stock_total=5,
                                  voucher_valid_days=14)


def _choose(shop, reward):
    services.reward_settings_update(shop=shop, expired_vouchers_return_points=True,
                                    pay_with_points=False, pay_with_points_cap=None,
                                    birthday_reward=reward)


def _give(shop):
    with time_machine.travel(SIX_AMSTERDAM, tick=False):
        shop.refresh_from_db()
        return loyalty_services.birthday_gifts_give(shop=shop, batch_size=2)


def test_the_effect_is_registered():
    assert settings.TROUW_EFFECTS["birthday"] == ["rewards.services.birthday_vouchers_issue"]


def test_each_gift_of_the_batch_gets_a_free_voucher(shop, coffee):
    _choose(shop, coffee)
    members = [MembershipFactory(shop=shop, birthday=dt.date(1990, 6, 15),
                                 marketing_consent=True) for _ in range(3)]
    run = _give(shop)  # no points in the rules: the voucher alone is the gift
    assert run.given == 3 and run.points == 0
    vouchers = {v.membership_id: v for v in Voucher.objects.all()}
    assert set(vouchers) == {m.pk for m in members}
    for gift in BirthdayGift.objects.all():
        voucher = vouchers[gift.membership_id]
        assert (voucher.points_spent, voucher.redemption_entry, voucher.birthday_gift_id) == (
            0, None, gift.pk)
        assert voucher.expires_at == SIX_AMSTERDAM + dt.timedelta(days=14)
        assert gift.extras == [{"kind": "voucher", "name": "A free coffee",
                                "code": services.voucher_code_display(voucher.code)}]
        assert gift.entry is None
    coffee.refresh_from_db()
    assert coffee.stock_claimed == 0  # a gift takes nothing of the catalogue's stock
    assert not LedgerEntry.objects.exists()
    # The e-mail says the voucher's name and code.
    message = OutboxMessage.objects.get(membership=members[0])
    email = emails.birthday(message)
    code = services.voucher_code_display(vouchers[members[0].pk].code)
    assert "A free coffee" in email.text and code in email.text and code in email.html


def test_points_and_a_voucher_together(shop, coffee):
    loyalty_services.program_rules_update(shop=shop, by=None, birthday_points=250)
    _choose(shop, coffee)
    member = MembershipFactory(shop=shop, birthday=dt.date(1990, 6, 15))
    _give(shop)
    member.refresh_from_db()
    assert member.points_balance == 250
    assert Voucher.objects.get().membership_id == member.pk
    assert member_selectors.shop_birthday_gift(shop=shop) == (
        "250 points and a voucher for A free coffee")


def test_twice_run_is_one_voucher(shop, coffee):
    _choose(shop, coffee)
    MembershipFactory(shop=shop, birthday=dt.date(1990, 6, 15))
    _give(shop)
    _give(shop)
    assert Voucher.objects.count() == 1


def test_without_a_chosen_reward_no_voucher_and_no_gift(shop, coffee):
    MembershipFactory(shop=shop, birthday=dt.date(1990, 6, 15))
    assert _give(shop).given == 0
    assert not Voucher.objects.exists()
    assert member_selectors.shop_birthday_gift(shop=shop) is None


def test_a_gift_voucher_cancelled_or_expired_gives_no_points(shop, coffee, owner):
    _choose(shop, coffee)
    member = MembershipFactory(shop=shop, birthday=dt.date(1990, 6, 15))
    other = MembershipFactory(shop=shop, birthday=dt.date(1991, 6, 15))
    _give(shop)
    first, second = Voucher.objects.order_by("pk")
    services.voucher_cancel(shop=shop, voucher_id=first.pk, by=owner)
    assert services.vouchers_expire(now=SIX_AMSTERDAM + dt.timedelta(days=15)) == 1
    assert set(Voucher.objects.values_list("status", flat=True)) == {
        VoucherStatus.CANCELLED, VoucherStatus.EXPIRED}
    assert not LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).exists()
    for m in (member, other):
        m.refresh_from_db()
        assert m.points_balance == 0
    coffee.refresh_from_db()
    assert coffee.stock_claimed == 0


def test_the_database_refuses_a_free_voucher_without_its_gift(shop, coffee):
    member = MembershipFactory(shop=shop)
    with pytest.raises(IntegrityError), transaction.atomic():
        Voucher.objects.create(shop=shop, reward=coffee, membership=member, code="ABCDEFGH",
                               points_spent=0, expires_at=SIX_AMSTERDAM)


def test_another_shops_reward_is_refused(shop, other_shop):
    theirs = services.reward_create(shop=other_shop, kind=RewardKind.PERK, name="Theirs",
                                    points_cost=10)
    with pytest.raises(Exception, match="Choose one of your rewards"):
        _choose(shop, theirs)
    assert not RewardSettings.objects.filter(shop=shop, birthday_reward__isnull=False).exists()


def test_the_owner_chooses_the_birthday_reward_on_the_catalogue_page(owner_client, shop, coffee,
                                                                    other_shop):
    url = reverse("rewards_catalogue", args=[shop.slug])
    theirs = Reward.objects.create(shop=other_shop, kind=RewardKind.PERK, name="Not yours",
                                   points_cost=5)
    page = owner_client.get(url).content.decode()
    assert 'name="birthday_reward"' in page and "A free coffee" in page
    assert "Not yours" not in page
    data = {"expired_vouchers_return_points": "on", "pay_with_points_cap": ""}
    refused = owner_client.post(url, {**data, "birthday_reward": str(theirs.pk)})
    assert refused.status_code == 400
    assert "Choose one of your rewards, or none." in refused.content.decode()
    assert RewardSettings.objects.get(shop=shop).birthday_reward is None
    saved = owner_client.post(url, {**data, "birthday_reward": str(coffee.pk)})
    assert saved.status_code == 302
    assert RewardSettings.objects.get(shop=shop).birthday_reward == coffee
    owner_client.post(url, {**data, "birthday_reward": ""})
    assert RewardSettings.objects.get(shop=shop).birthday_reward is None


def test_a_deleted_reward_is_no_gift_any_more(shop):
    reward = services.reward_create(shop=shop, kind=RewardKind.PERK, name="Cake",
                                    points_cost=10)
    _choose(shop, reward)
    assert member_selectors.shop_birthday_gift(shop=shop) == "a voucher for Cake"
    services.reward_delete(shop=shop, reward_id=reward.pk)
    assert member_selectors.shop_birthday_gift(shop=ShopFactory._meta.model.objects.get(
        pk=shop.pk)) is None
