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
from rewards.models import Reward, Voucher
from rewards.services import reward_create, voucher_claim
from tests.helpers import assert_error, text

from .conftest import THREE, levels_set

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


# --- The owner's reward form and list ---------------------------------------------------------


def _form_data(**overrides) -> dict:
    from tests.rewards.test_views_dashboard import form_data

    return form_data(**overrides)


def _create_url(shop) -> str:
    return f"/dashboard/{shop.slug}/rewards/new/"


def _edit_url(shop, reward) -> str:
    return f"/dashboard/{shop.slug}/rewards/{reward.pk}/"


def test_the_form_offers_the_shops_levels_by_name(owner_client, levels):
    content = text(owner_client.get(_create_url(levels)))
    assert '<select name="min_tier_level"' in content
    for value, words in (("", "Everyone"), ("1", "Brons and up"), ("2", "Zilver and up"),
                         ("3", "Goud and up")):
        assert f'<option value="{value}"' in content
        assert f">{words}</option>" in content
    assert "no longer one of your levels" not in content


def test_the_form_saves_the_minimum_level_and_shows_it_again(owner_client, levels):
    response = owner_client.post(_create_url(levels), _form_data(name="Zilverkorting",
                                                                 min_tier_level="2"))
    assert response.status_code == 302
    reward = Reward.objects.get(shop=levels, name="Zilverkorting")
    assert reward.min_tier_level == 2
    assert '<option value="2" selected>Zilver and up</option>' in text(
        owner_client.get(_edit_url(levels, reward)))
    response = owner_client.post(_edit_url(levels, reward), _form_data(
        name="Zilverkorting", min_tier_level=""))
    assert response.status_code == 302
    reward.refresh_from_db()
    assert reward.min_tier_level is None  # "Everyone"


@pytest.mark.parametrize("bad", ["4", "0", "-1", "two", "1.5"])
def test_a_level_the_shop_has_not_is_refused_and_nothing_saved(owner_client, levels, gold_cake,
                                                               bad):
    response = owner_client.post(_create_url(levels), _form_data(name="Nieuw",
                                                                 min_tier_level=bad))
    assert response.status_code == 400
    assert "Choose one of your levels, or everyone." in text(response)
    assert not Reward.objects.filter(name="Nieuw").exists()
    response = owner_client.post(_edit_url(levels, gold_cake), _form_data(
        kind="perk", description="Taart", name="Anders", min_tier_level=bad))
    assert response.status_code == 400
    gold_cake.refresh_from_db()
    assert (gold_cake.name, gold_cake.min_tier_level) == ("Goudtaart", 3)


def test_the_service_refuses_a_rank_the_shop_has_not(levels, shop):
    with pytest.raises(ValidationError) as refused:
        reward_create(shop=levels, kind="perk", name="X", description="x", points_cost=5,
                      min_tier_level=4)
    assert refused.value.message_dict["min_tier_level"] == [
        "Choose one of your levels, or everyone."]
    assert not Reward.objects.filter(name="X").exists()


def test_the_api_refuses_a_rank_the_shop_has_not(client, levels, gold_cake):
    from loyalty.models import ApiKeyScope

    _key, raw = api_key_create(shop=levels, name="office", scope=ApiKeyScope.MANAGE)
    response = client.patch(f"/api/v1/rewards/{gold_cake.pk}/", data=json.dumps(
        {"min_tier_level": 9}), content_type="application/json",
        headers={"Authorization": f"Api-Key {raw}"})
    assert_error(response, 400, "invalid", "min_tier_level")
    gold_cake.refresh_from_db()
    assert gold_cake.min_tier_level == 3


def test_a_removed_level_stays_on_the_reward_until_the_owner_picks_another(owner_client,
                                                                            levels, gold_cake):
    levels_set(levels, tiers=THREE[:2])  # Goud removed: the cake still says rank 3
    content = text(owner_client.get(_edit_url(levels, gold_cake)))
    assert ('<option value="3" selected>Level 3 and up (no longer one of your levels)'
            '</option>') in content
    response = owner_client.post(_edit_url(levels, gold_cake), _form_data(
        kind="perk", description="Taart", name="Goudtaart", min_tier_level="3"))
    assert response.status_code == 302  # unchanged: saving other fields works
    gold_cake.refresh_from_db()
    assert gold_cake.min_tier_level == 3
    response = owner_client.post(_edit_url(levels, gold_cake), _form_data(
        kind="perk", description="Taart", name="Goudtaart", min_tier_level="2"))
    assert response.status_code == 302
    gold_cake.refresh_from_db()
    assert gold_cake.min_tier_level == 2


def test_levels_switched_off_keep_the_input_and_say_what_it_means(owner_client, levels):
    levels_set(levels, enabled=False)
    levels.refresh_from_db()
    content = text(owner_client.get(_create_url(levels)))
    assert '<select name="min_tier_level"' in content
    assert "Your levels are switched off" in content


def test_the_list_shows_who_can_claim(owner_client, levels, gold_cake):
    reward_create(shop=levels, kind="perk", name="Voor iedereen", description="x",
                  points_cost=5)
    content = text(owner_client.get(f"/dashboard/{levels.slug}/rewards/"))
    assert content.count('class="small reward-min-level"') == 1
    assert "For: Goud and up" in content
