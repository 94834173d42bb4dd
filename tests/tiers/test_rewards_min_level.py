"""Rewards kept for a minimum level (``Reward.min_tier_level``, a rank): refused below it in
our own words — at the claim, on the portal, at the counter and in the API — and offered from
it."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from loyalty.models import EntryKind
from loyalty.services import api_key_create, points_credit, purchase_record
from rewards.models import Voucher
from rewards.services import reward_create, voucher_claim
from tests.helpers import assert_error, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def gold_cake(levels):
    return reward_create(shop=levels, kind="perk", name="Goudtaart", points_cost=50,
                         min_tier_level=3)


def test_a_claim_below_the_level_is_refused_and_at_it_goes_through(levels, member, gold_cake):
    purchase_record(shop=levels, amount="60.00", membership_id=member.pk)  # Zilver, rank 2
    with pytest.raises(ValidationError) as refused:
        voucher_claim(shop=levels, membership_id=member.pk, reward_id=gold_cake.pk)
    assert refused.value.message_dict["reward"] == ["For members from level Goud up."]
    assert refused.value.error_dict["reward"][0].code == "level_too_low"
    assert not Voucher.objects.exists()
    purchase_record(shop=levels, amount="40.00", membership_id=member.pk)  # Goud
    assert voucher_claim(shop=levels, membership_id=member.pk, reward_id=gold_cake.pk)


def test_the_portal_says_from_which_level(member_client, levels, member, gold_cake):
    points_credit(shop=levels, membership_id=member.pk, points=90, kind=EntryKind.ADJUSTMENT)
    page = member_client.get(reverse("portal_rewards", args=[levels.slug]))
    assert "For members from level Goud up." in text(page)
    assert reverse("portal_claim", args=[levels.slug, gold_cake.pk]) not in text(page)
    response = member_client.post(reverse("portal_claim", args=[levels.slug, gold_cake.pk]))
    assert response.status_code == 302
    assert not Voucher.objects.exists()


def test_the_counter_says_it_and_offers_no_redeem(staff_client, levels, member, gold_cake):
    points_credit(shop=levels, membership_id=member.pk, points=90, kind=EntryKind.ADJUSTMENT)
    panel = staff_client.get(reverse("counter_member_rewards",
                                     args=[levels.slug, member.card_number]))
    assert "For members from level Goud up." in text(panel)
    assert f'name="reward" value="{gold_cake.pk}"' not in text(panel)
    staff_client.post(reverse("counter_member_redeem", args=[levels.slug, member.card_number]),
                      {"reward": gold_cake.pk, "confirm": "1"})
    assert not Voucher.objects.exists()


def test_the_api_refuses_with_its_code(client, levels, member, gold_cake):
    points_credit(shop=levels, membership_id=member.pk, points=90, kind=EntryKind.ADJUSTMENT)
    _key, raw = api_key_create(shop=levels, name="till")
    response = client.post("/api/v1/redemptions/", data=json.dumps(
        {"member": member.card_number, "reward": gold_cake.pk}),
        content_type="application/json",
        headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": "r-1"})
    assert_error(response, 400, "level_too_low", "reward")
    assert not Voucher.objects.exists()
