"""The owner's rewards catalogue (rewards/views/dashboard.py): the list with its counts, adding
and editing rewards (with an image), their order and activity, the shop's redemption settings,
and cancelling a member's voucher. Only the shop's owners get in: everyone else gets a 404."""

from __future__ import annotations

import io
import os
import re
import zoneinfo
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.html import escape
from PIL import Image
from pytest_django.asserts import assertRedirects

from loyalty.models import EntryKind, LedgerEntry
from loyalty.services import purchase_record
from rewards import services
from rewards.models import Reward, RewardKind, RewardSettings, Voucher, VoucherStatus
from tests.factories import MembershipFactory, OwnerFactory, UserFactory
from tests.helpers import balance, signed_in, text

pytestmark = pytest.mark.django_db


def png_bytes(size=(8, 8), noise=False) -> bytes:
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (200, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def catalogue_url(shop) -> str:
    return f"/dashboard/{shop.slug}/rewards/"


def create_url(shop) -> str:
    return f"/dashboard/{shop.slug}/rewards/new/"


def edit_url(shop, reward) -> str:
    return f"/dashboard/{shop.slug}/rewards/{reward.pk}/"


def move_url(shop, reward) -> str:
    return f"/dashboard/{shop.slug}/rewards/{reward.pk}/move/"


def toggle_url(shop, reward) -> str:
    return f"/dashboard/{shop.slug}/rewards/{reward.pk}/toggle/"


def delete_url(shop, reward) -> str:
    return f"/dashboard/{shop.slug}/rewards/{reward.pk}/delete/"


def cancel_url(shop, voucher) -> str:
    return f"/dashboard/{shop.slug}/vouchers/{voucher.pk}/cancel/"


def member_vouchers_url(shop, membership) -> str:
    return f"/dashboard/{shop.slug}/members/{membership.card_number}/vouchers/"


def form_data(**overrides) -> dict:
    """What the reward form posts: an amount-off reward unless told otherwise."""
    data = {
        "kind": RewardKind.AMOUNT_OFF, "name": "€5 off", "description": "",
        "points_cost": "500", "amount_off_value": "5.00", "percent_off_value": "",
        "free_product_name": "", "gift_voucher_value": "",
        "active": "on", "available_from": "", "available_until": "", "stock_total": "",
        "limit_per_member": "", "limit_period": "ever", "voucher_valid_days": "30",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def settings_data(**overrides) -> dict:
    data = {"expired_vouchers_return_points": "on", "pay_with_points_cap": ""}
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def make_reward(shop, name, points_cost=100, **fields) -> Reward:
    fields.setdefault("kind", RewardKind.PERK)
    return services.reward_create(shop=shop, name=name, points_cost=points_cost, **fields)


def give_points(shop, membership, amount="50.00") -> None:
    purchase_record(shop=shop, amount=amount, membership_id=membership.pk)


@pytest.fixture
def rewards(shop):
    """Three rewards, in this order."""
    return [
        make_reward(shop, "Free coffee", 100, kind=RewardKind.FREE_PRODUCT,
                    product_name="Coffee"),
        make_reward(shop, "€5 off", 500, kind=RewardKind.AMOUNT_OFF, value_amount="5.00"),
        make_reward(shop, "10% off", 300, kind=RewardKind.PERCENT_OFF, value_percent=10),
    ]


def catalogue_names(shop) -> list[str]:
    return list(Reward.objects.for_shop(shop).order_by("display_order", "pk")
                .values_list("name", flat=True))


# --- The catalogue --------------------------------------------------------------------------


def test_catalogue_lists_rewards_in_order_with_claimed_and_used_counts(owner_client, shop,
                                                                      member, owner, rewards):
    coffee, five_off, ten_percent = rewards
    give_points(shop, member, "200.00")  # 2000 points
    used = services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=coffee.pk)
    services.voucher_use(shop=shop, code=used.code)
    services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=coffee.pk)  # open
    cancelled = services.voucher_claim(shop=shop, membership_id=member.pk,
                                       reward_id=five_off.pk)
    services.voucher_cancel(shop=shop, voucher_id=cancelled.pk, by=owner)

    response = owner_client.get(catalogue_url(shop))

    assert response.status_code == 200
    content = text(response)
    positions = [content.index(escape(r.name)) for r in rewards]
    assert positions == sorted(positions)
    rows = {r.name: r for r in response.context["rewards"]}
    assert [r.name for r in response.context["rewards"]] == [r.name for r in rewards]
    assert (rows["Free coffee"].claimed_count, rows["Free coffee"].used_count) == (2, 1)
    # A cancelled voucher is not counted as claimed.
    assert (rows["€5 off"].claimed_count, rows["€5 off"].used_count) == (0, 0)
    assert (rows["10% off"].claimed_count, rows["10% off"].used_count) == (0, 0)
    coffee_row = content[content.index("Free coffee"):content.index(escape("€5 off"))]
    assert '<td data-label="Claimed">2</td><td data-label="Used">1</td>' in coffee_row
    for reward in rewards:
        assert f'href="{edit_url(shop, reward)}"' in content
        assert f'action="{move_url(shop, reward)}"' in content
        assert f'action="{toggle_url(shop, reward)}"' in content
    assert f'href="{create_url(shop)}"' in content


def test_catalogue_without_rewards_invites_the_first(owner_client, shop):
    response = owner_client.get(catalogue_url(shop))
    assert response.status_code == 200
    assert "No rewards yet." in text(response)


def test_catalogue_shows_only_this_shops_rewards(owner_client, shop, other_shop, rewards):
    make_reward(other_shop, "Gratis kaasplankje")
    content = text(owner_client.get(catalogue_url(shop)))
    assert "Gratis kaasplankje" not in content
    assert "Free coffee" in content


# --- Adding a reward ------------------------------------------------------------------------


def test_create_page_shows_the_form(owner_client, shop):
    response = owner_client.get(create_url(shop))
    assert response.status_code == 200
    content = text(response)
    for field in ("kind", "name", "points_cost", "amount_off_value", "percent_off_value",
                  "free_product_name", "gift_voucher_value", "image", "voucher_valid_days"):
        assert f'name="{field}"' in content
    assert 'enctype="multipart/form-data"' in content


def test_a_new_reward_starts_from_the_defaults(owner_client, shop):
    content = text(owner_client.get(create_url(shop)))
    assert re.search(r'<input type="number" name="voucher_valid_days" value="30"', content)
    assert re.search(r'<input type="checkbox" name="active"[^>]*checked', content)
    assert '<option value="ever" selected>in total</option>' in content


def test_the_form_leaves_out_the_minimum_tier_until_tiers_exist(owner_client, shop, rewards):
    for url in (create_url(shop), edit_url(shop, rewards[0])):
        content = text(owner_client.get(url))
        assert 'name="min_tier_level"' not in content
        assert "tier" not in content.lower()


def test_saving_the_form_leaves_the_minimum_tier_as_it_is(owner_client, shop, rewards):
    five_off = rewards[1]
    Reward.objects.filter(pk=five_off.pk).update(min_tier_level=2)

    response = owner_client.post(edit_url(shop, five_off), form_data(
        name="€6 off", amount_off_value="6.00", min_tier_level="7"))
    assert response.status_code == 302
    response = owner_client.post(create_url(shop), form_data(name="New", min_tier_level="7"))
    assert response.status_code == 302

    five_off.refresh_from_db()
    assert (five_off.name, five_off.min_tier_level) == ("€6 off", 2)
    assert Reward.objects.get(shop=shop, name="New").min_tier_level is None


# --- The kind and its fields ------------------------------------------------------------------


KIND_INPUTS = {
    RewardKind.AMOUNT_OFF: ["amount_off_value"],
    RewardKind.PERCENT_OFF: ["percent_off_value"],
    RewardKind.FREE_PRODUCT: ["free_product_name"],
    RewardKind.GIFT_VOUCHER: ["gift_voucher_value"],
    RewardKind.PERK: [],
}


def kind_part(content: str, kind: str) -> str:
    return content.split(f'data-kind="{kind}"')[1].split("</fieldset>")[0]


def test_the_kind_is_a_radio_group_and_each_kind_has_its_own_labelled_part(owner_client, shop):
    content = text(owner_client.get(create_url(shop)))

    radios = re.findall(r'<input type="radio" name="kind" value="(\w+)"[^>]*>', content)
    assert radios == list(RewardKind.values)
    assert "checked" not in content.split('name="kind"')[1].split("</fieldset>")[0]
    for kind, inputs in KIND_INPUTS.items():
        part = kind_part(content, kind)
        for other_kind, other_inputs in KIND_INPUTS.items():
            for name in other_inputs:
                assert (f'name="{name}"' in part) == (other_kind == kind), (kind, name)
    # Without JavaScript all parts show: each says which kind it is for.
    assert escape("(only for “Gift voucher”)") in kind_part(content, RewardKind.GIFT_VOUCHER)
    assert "the parts of the other kinds are ignored when you save" in content
    assert 'src="/static/js/reward_form.js"' in content


def test_no_select_of_the_form_offers_a_blank_choice(owner_client, shop, rewards):
    for url in (create_url(shop), edit_url(shop, rewards[0])):
        content = text(owner_client.get(url))
        assert "-----" not in content
        selects = re.findall(r"<select[^>]*>.*?</select>", content, flags=re.S)
        assert selects  # the limit's period at least
        for select in selects:
            assert 'value=""' not in select
        period = content.split('name="limit_period"')[1].split("</select>")[0]
        assert ">per month</option>" in period and ">in total</option>" in period


def test_the_edit_page_fills_in_the_kind_and_its_value(owner_client, shop, rewards):
    content = text(owner_client.get(edit_url(shop, rewards[1])))
    assert re.search(r'<input type="radio" name="kind" value="amount_off"[^>]*checked', content)
    assert 'value="5.00"' in kind_part(content, RewardKind.AMOUNT_OFF)
    assert 'value="' not in kind_part(content, RewardKind.GIFT_VOUCHER).split("<small")[0]


def test_values_typed_in_the_parts_of_other_kinds_are_not_saved(owner_client, shop):
    response = owner_client.post(create_url(shop), form_data(
        kind=RewardKind.PERCENT_OFF, name="15% off", amount_off_value="5.00",
        percent_off_value="15", free_product_name="Cake", gift_voucher_value="25.00"))

    assert response.status_code == 302
    reward = Reward.objects.get(shop=shop)
    assert (reward.kind, reward.value_percent, reward.value_amount, reward.product_name) == (
        RewardKind.PERCENT_OFF, 15, None, "")


def test_bad_input_in_the_part_of_another_kind_is_ignored(owner_client, shop):
    response = owner_client.post(create_url(shop), form_data(
        kind=RewardKind.FREE_PRODUCT, name="Free cake", free_product_name="Cake",
        amount_off_value="lots", percent_off_value="ten", gift_voucher_value="-3"))

    assert response.status_code == 302
    reward = Reward.objects.get(shop=shop)
    assert (reward.product_name, reward.value_amount, reward.value_percent) == (
        "Cake", None, None)


def test_the_gift_voucher_value_is_stored_as_its_amount(owner_client, shop):
    response = owner_client.post(create_url(shop), form_data(
        kind=RewardKind.GIFT_VOUCHER, name="Gift", amount_off_value="5.00",
        gift_voucher_value="12,50"))
    assert response.status_code == 302
    assert Reward.objects.get(shop=shop).value_amount == Decimal("12.50")


def test_changing_the_kind_empties_the_old_kinds_value(owner_client, shop, rewards):
    five_off = rewards[1]
    response = owner_client.post(edit_url(shop, five_off), form_data(
        kind=RewardKind.FREE_PRODUCT, name="Free bread", free_product_name="Bread"))

    assert response.status_code == 302
    five_off.refresh_from_db()
    assert (five_off.kind, five_off.product_name, five_off.value_amount) == (
        RewardKind.FREE_PRODUCT, "Bread", None)


def test_a_perk_needs_a_description(owner_client, shop):
    response = owner_client.post(create_url(shop), form_data(
        kind=RewardKind.PERK, name="Skip the queue", description=" "))
    assert_refused(response, "description", "Say what the customer gets with this perk.")
    assert not Reward.objects.exists()


@pytest.mark.parametrize(("kind", "field", "message"), [
    (RewardKind.AMOUNT_OFF, "amount_off_value", "Enter the amount, e.g. 5.00."),
    (RewardKind.GIFT_VOUCHER, "gift_voucher_value", "Enter the amount, e.g. 5.00."),
    (RewardKind.PERCENT_OFF, "percent_off_value", "Enter a percentage from 1 to 100."),
    (RewardKind.FREE_PRODUCT, "free_product_name", "Name the free product."),
])
def test_a_missing_value_shows_along_with_the_other_messages(owner_client, shop, kind, field,
                                                             message):
    response = owner_client.post(create_url(shop), form_data(
        kind=kind, name="", points_cost="", amount_off_value=""))

    assert_refused(response, field, message)
    assert_refused(response, "name", "Give the reward a name, e.g. “Free coffee”.")
    assert_refused(response, "points_cost", "Enter how many points the reward costs.")
    assert not Reward.objects.exists()


# --- The shop's currency ----------------------------------------------------------------------


def test_amounts_are_asked_in_the_shops_currency(owner_client, shop):
    shop.currency = "SEK"
    shop.save(update_fields=["currency"])

    content = text(owner_client.get(create_url(shop)))

    assert "Amount off (kr)" in content
    assert "Value of the voucher (kr)" in content
    assert "€" not in content
    assert "€" not in text(owner_client.get(catalogue_url(shop)))


def test_amounts_are_asked_in_euros_in_a_euro_shop(owner_client, shop):
    content = text(owner_client.get(create_url(shop)))
    assert escape("Amount off (€)") in content
    assert escape("Value of the voucher (€)") in content


def test_the_cost_says_what_the_program_gives(owner_client, shop):
    content = text(owner_client.get(create_url(shop)))
    help_text = content.split('id="id_points_cost_helptext">')[1].split("</small>")[0]
    assert help_text.startswith("Your program: ")
    assert "points for every" in help_text


# --- Our own messages for every field ---------------------------------------------------------


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"points_cost": ""}, "points_cost", "Enter how many points the reward costs."),
    ({"points_cost": "many"}, "points_cost",
     "Enter the cost as a whole number of points, e.g. 500."),
    ({"points_cost": "-5"}, "points_cost", "The cost must be at least 1 point."),
    ({"points_cost": "2000000001"}, "points_cost",
     "A card holds at most 2,000,000,000 points: choose a lower cost."),
    ({"points_cost": "99999999999999999999"}, "points_cost",
     "A card holds at most 2,000,000,000 points: choose a lower cost."),
    ({"name": " "}, "name", "Give the reward a name, e.g. “Free coffee”."),
    ({"name": "x" * 101}, "name", "Keep the name to 100 characters or fewer."),
    ({"description": "x" * 1001}, "description",
     "Keep the description to 1,000 characters or fewer."),
    ({"kind": ""}, "kind", "Choose what the customer gets."),
    ({"kind": "raffle"}, "kind", "Choose one of the kinds of reward."),
    ({"amount_off_value": "lots"}, "amount_off_value", "Enter an amount, such as 27.50."),
    ({"amount_off_value": "5.001"}, "amount_off_value", "Use at most two decimals."),
    ({"amount_off_value": "0"}, "amount_off_value", "The amount must be more than zero."),
    ({"kind": "gift_voucher", "gift_voucher_value": ""}, "gift_voucher_value",
     "Enter the amount, e.g. 5.00."),
    ({"kind": "percent_off", "percent_off_value": "ten"}, "percent_off_value",
     "Enter the percentage as a whole number, e.g. 10."),
    ({"kind": "percent_off", "percent_off_value": "-5"}, "percent_off_value",
     "Enter a percentage from 1 to 100."),
    ({"kind": "free_product", "free_product_name": "x" * 101}, "free_product_name",
     "Keep the product's name to 100 characters or fewer."),
    ({"stock_total": "-1"}, "stock_total",
     "Enter a stock from 0 to 1,000,000, or leave it empty for no limit."),
    ({"stock_total": "99999999999"}, "stock_total",
     "Enter a stock from 0 to 1,000,000, or leave it empty for no limit."),
    ({"stock_total": "some"}, "stock_total",
     "Enter the stock as a whole number, e.g. 25, or leave it empty."),
    ({"limit_per_member": "0"}, "limit_per_member",
     "Enter a limit from 1 to 1,000, or leave it empty for no limit."),
    ({"limit_per_member": "1.5"}, "limit_per_member",
     "Enter the limit as a whole number, e.g. 1, or leave it empty."),
    ({"limit_period": "weekly"}, "limit_period", "Choose “per month” or “in total”."),
    ({"voucher_valid_days": ""}, "voucher_valid_days",
     "Enter how many days the customer has to use the voucher."),
    ({"voucher_valid_days": "0"}, "voucher_valid_days", "Enter 1 to 3,650 days."),
    ({"voucher_valid_days": "3000000"}, "voucher_valid_days", "Enter 1 to 3,650 days."),
    ({"available_from": "tomorrow"}, "available_from",
     "Enter a date and time, or leave it empty."),
    ({"available_until": "2030-13-45T99:00"}, "available_until",
     "Enter a date and time, or leave it empty."),
])
def test_bad_input_gets_our_own_message_and_saves_nothing(owner_client, shop, overrides, field,
                                                          message):
    response = owner_client.post(create_url(shop), form_data(**overrides))

    assert_refused(response, field, message)
    content = text(response)
    for django_default in ("Ensure this value", "This field is required", "Enter a whole number.",
                           "Select a valid choice", "Enter a valid"):
        assert django_default not in content
    assert not Reward.objects.exists()


def test_the_cost_cap_is_written_in_the_languages_format(owner_client, shop):
    owner_client.cookies["django_language"] = "nl"
    response = owner_client.post(create_url(shop), form_data(points_cost="2000000001"),
                                 HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 400
    assert "2.000.000.000" in text(response)
    assert not Reward.objects.exists()


def test_the_cost_may_be_exactly_what_a_card_holds(owner_client, shop):
    response = owner_client.post(create_url(shop), form_data(points_cost="2000000000"))
    assert response.status_code == 302
    assert Reward.objects.get(shop=shop).points_cost == 2_000_000_000


@pytest.mark.parametrize(("kind", "extra", "check"), [
    (RewardKind.AMOUNT_OFF, {"amount_off_value": "5.00"},
     lambda r: r.value_amount == Decimal("5.00")),
    (RewardKind.PERCENT_OFF, {"amount_off_value": "", "percent_off_value": "15"},
     lambda r: r.value_percent == 15),
    (RewardKind.FREE_PRODUCT, {"amount_off_value": "", "free_product_name": "Croissant"},
     lambda r: r.product_name == "Croissant"),
    (RewardKind.GIFT_VOUCHER, {"amount_off_value": "", "gift_voucher_value": "10.00"},
     lambda r: r.value_amount == Decimal("10.00")),
    (RewardKind.PERK, {"amount_off_value": "", "description": "Skip the queue on Saturdays"},
     lambda r: r.description == "Skip the queue on Saturdays"),
])
def test_create_each_kind(owner_client, shop, kind, extra, check):
    response = owner_client.post(create_url(shop), form_data(kind=kind, name=f"A {kind}",
                                                             **extra))

    assertRedirects(response, catalogue_url(shop), fetch_redirect_response=False)
    reward = Reward.objects.get(shop=shop)
    assert reward.kind == kind
    assert reward.name == f"A {kind}"
    assert reward.points_cost == 500
    assert reward.active is True
    assert reward.voucher_valid_days == 30
    assert check(reward)
    page = text(owner_client.get(response["Location"]))
    assert escape(f"“A {kind}” is saved.") in page


def test_create_puts_a_new_reward_last(owner_client, shop, rewards):
    response = owner_client.post(create_url(shop), form_data(name="Newest"))
    assert response.status_code == 302
    assert catalogue_names(shop) == ["Free coffee", "€5 off", "10% off", "Newest"]


def test_create_with_an_image_stores_it(owner_client, shop, media_root):
    image = SimpleUploadedFile("cake.png", png_bytes(), content_type="image/png")
    response = owner_client.post(create_url(shop), {**form_data(name="Cake"), "image": image})

    assert response.status_code == 302
    reward = Reward.objects.get(shop=shop)
    assert reward.image.name.startswith("rewards/")
    assert (media_root / reward.image.name).exists()
    assert reward.image.url in text(owner_client.get(edit_url(shop, reward)))


def test_create_with_window_stock_and_limit(owner_client, shop):
    response = owner_client.post(create_url(shop), form_data(
        name="Summer special", available_from="2030-06-01T09:00",
        available_until="2030-08-31T18:00", stock_total="25", limit_per_member="1",
        limit_period="month", voucher_valid_days="7"))
    assert response.status_code == 302
    reward = Reward.objects.get(shop=shop)
    assert reward.available_from is not None and reward.available_until is not None
    assert reward.available_until > reward.available_from
    assert (reward.stock_total, reward.limit_per_member, reward.limit_period,
            reward.voucher_valid_days) == (25, 1, "month", 7)


def assert_refused(response, field: str, message: str) -> None:
    assert response.status_code == 400
    content = text(response)
    assert f'id="id_{field}_error"' in content
    assert escape(message) in content


def test_create_percent_off_without_a_percentage_is_refused(owner_client, shop):
    response = owner_client.post(create_url(shop), form_data(
        kind=RewardKind.PERCENT_OFF, amount_off_value="", percent_off_value=""))
    assert_refused(response, "percent_off_value", "Enter a percentage from 1 to 100.")
    assert not Reward.objects.exists()


def test_create_percent_off_over_100_is_refused(owner_client, shop):
    response = owner_client.post(create_url(shop), form_data(
        kind=RewardKind.PERCENT_OFF, amount_off_value="", percent_off_value="150"))
    assert_refused(response, "percent_off_value", "Enter a percentage from 1 to 100.")
    assert not Reward.objects.exists()


def test_create_amount_off_without_an_amount_is_refused(owner_client, shop):
    response = owner_client.post(create_url(shop), form_data(amount_off_value=""))
    assert_refused(response, "amount_off_value", "Enter the amount, e.g. 5.00.")
    assert not Reward.objects.exists()


def test_create_free_product_without_a_product_is_refused(owner_client, shop):
    response = owner_client.post(create_url(shop), form_data(
        kind=RewardKind.FREE_PRODUCT, amount_off_value="", free_product_name="  "))
    assert_refused(response, "free_product_name", "Name the free product.")
    assert not Reward.objects.exists()


def test_create_with_zero_points_is_refused(owner_client, shop):
    response = owner_client.post(create_url(shop), form_data(points_cost="0"))
    assert_refused(response, "points_cost", "The cost must be at least 1 point.")
    assert not Reward.objects.exists()


def test_create_with_a_window_ending_before_it_starts_is_refused(owner_client, shop):
    response = owner_client.post(create_url(shop), form_data(
        available_from="2030-06-01T09:00", available_until="2030-05-01T09:00"))
    assert_refused(response, "available_until", "The end must be after the start.")
    assert not Reward.objects.exists()


def test_create_with_a_file_that_is_not_an_image_is_refused(owner_client, shop, media_root):
    fake = SimpleUploadedFile("cake.png", b"%PDF-1.4 not an image", content_type="image/png")
    response = owner_client.post(create_url(shop), {**form_data(name="Cake"), "image": fake})

    assert response.status_code == 400
    content = text(response)
    assert 'id="id_image_error"' in content
    assert "Upload a JPEG, PNG, WebP or GIF image." in content
    assert not Reward.objects.exists()
    assert not any(media_root.rglob("*.png"))


def test_create_with_an_image_over_2_mb_is_refused(owner_client, shop, media_root):
    big = png_bytes(size=(1000, 800), noise=True)
    assert len(big) > 2 * 1024 * 1024
    response = owner_client.post(create_url(shop), {
        **form_data(name="Cake"), "image": SimpleUploadedFile("big.png", big, "image/png")})

    assert_refused(response, "image", "The image may be 2 MB at most.")
    assert not Reward.objects.exists()


def test_create_with_an_image_in_another_format_is_refused(owner_client, shop, media_root):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 10)).save(buffer, format="BMP")
    bmp = SimpleUploadedFile("cake.bmp", buffer.getvalue(), content_type="image/bmp")
    response = owner_client.post(create_url(shop), {**form_data(name="Cake"), "image": bmp})

    assert_refused(response, "image", "Upload a JPEG, PNG, WebP or GIF image.")
    assert not Reward.objects.exists()


def test_edit_with_an_image_over_2_mb_is_refused(owner_client, shop, media_root, rewards):
    coffee = rewards[0]
    big = png_bytes(size=(1000, 800), noise=True)
    response = owner_client.post(edit_url(shop, coffee), {
        **form_data(kind=RewardKind.FREE_PRODUCT, name="Free coffee", points_cost="100",
                    amount_off_value="", free_product_name="Coffee"),
        "image": SimpleUploadedFile("big.png", big, "image/png")})

    assert_refused(response, "image", "The image may be 2 MB at most.")
    coffee.refresh_from_db()
    assert not coffee.image


# --- Editing --------------------------------------------------------------------------------


def test_edit_page_shows_the_reward(owner_client, shop, rewards):
    response = owner_client.get(edit_url(shop, rewards[1]))
    assert response.status_code == 200
    content = text(response)
    assert escape("€5 off") in content
    assert 'value="500"' in content


def test_edit_changes_fields(owner_client, shop, rewards):
    five_off = rewards[1]
    response = owner_client.post(edit_url(shop, five_off), form_data(
        name="€7.50 off", points_cost="650", amount_off_value="7.50",
        description="On anything in the shop", stock_total="10"))

    assertRedirects(response, catalogue_url(shop), fetch_redirect_response=False)
    five_off.refresh_from_db()
    assert five_off.name == "€7.50 off"
    assert five_off.points_cost == 650
    assert five_off.value_amount == Decimal("7.50")
    assert five_off.description == "On anything in the shop"
    assert five_off.stock_total == 10
    assert five_off.kind == RewardKind.AMOUNT_OFF
    assert catalogue_names(shop) == ["Free coffee", "€7.50 off", "10% off"]  # same place


def test_edit_can_remove_the_image(owner_client, shop, media_root):
    owner_client.post(create_url(shop), {
        **form_data(name="Cake"),
        "image": SimpleUploadedFile("cake.png", png_bytes(), content_type="image/png")})
    cake = Reward.objects.get(shop=shop)
    assert cake.image
    form_page = text(owner_client.get(edit_url(shop, cake)))
    assert 'name="image-clear"' in form_page  # the form offers to clear it

    response = owner_client.post(edit_url(shop, cake), {**form_data(name="Cake"),
                                                        "image-clear": "on"})

    assert response.status_code == 302
    cake.refresh_from_db()
    assert not cake.image


def test_edit_with_bad_input_changes_nothing(owner_client, shop, rewards):
    ten_percent = rewards[2]
    response = owner_client.post(edit_url(shop, ten_percent), form_data(
        kind=RewardKind.PERCENT_OFF, name="Half off", points_cost="300", amount_off_value="",
        percent_off_value="0"))
    assert_refused(response, "percent_off_value", "Enter a percentage from 1 to 100.")
    ten_percent.refresh_from_db()
    assert (ten_percent.name, ten_percent.value_percent) == ("10% off", 10)


def test_edit_a_reward_of_another_shop_is_404(owner_client, shop, other_shop):
    theirs = make_reward(other_shop, "Gratis kaasplankje")
    assert owner_client.get(edit_url(shop, theirs)).status_code == 404
    response = owner_client.post(edit_url(shop, theirs), form_data(name="Mine now"))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Gratis kaasplankje"


# --- Order and activity -----------------------------------------------------------------------


def test_move_up_and_down_changes_the_order(owner_client, shop, rewards):
    coffee, five_off, ten_percent = rewards

    response = owner_client.post(move_url(shop, ten_percent), {"direction": "up"})
    assertRedirects(response, catalogue_url(shop), fetch_redirect_response=False)
    assert catalogue_names(shop) == ["Free coffee", "10% off", "€5 off"]

    owner_client.post(move_url(shop, coffee), {"direction": "down"})
    assert catalogue_names(shop) == ["10% off", "Free coffee", "€5 off"]

    content = text(owner_client.get(catalogue_url(shop)))
    positions = [content.index(escape(name)) for name in ("10% off", "Free coffee", "€5 off")]
    assert positions == sorted(positions)


def test_move_past_either_end_changes_nothing(owner_client, shop, rewards):
    owner_client.post(move_url(shop, rewards[0]), {"direction": "up"})
    owner_client.post(move_url(shop, rewards[2]), {"direction": "down"})
    assert catalogue_names(shop) == ["Free coffee", "€5 off", "10% off"]


def test_move_a_reward_of_another_shop_is_404(owner_client, shop, other_shop, rewards):
    theirs = make_reward(other_shop, "Gratis kaasplankje")
    assert owner_client.post(move_url(shop, theirs), {"direction": "up"}).status_code == 404
    assert catalogue_names(shop) == ["Free coffee", "€5 off", "10% off"]


def test_move_needs_post(owner_client, shop, rewards):
    assert owner_client.get(move_url(shop, rewards[1])).status_code == 405


def test_toggle_deactivates_and_activates(owner_client, shop, rewards):
    five_off = rewards[1]

    response = owner_client.post(toggle_url(shop, five_off))
    assertRedirects(response, catalogue_url(shop), fetch_redirect_response=False)
    five_off.refresh_from_db()
    assert five_off.active is False
    content = text(owner_client.get(catalogue_url(shop)))
    assert "Inactive" in content
    assert "Activate</button>" in content

    owner_client.post(toggle_url(shop, five_off))
    five_off.refresh_from_db()
    assert five_off.active is True


def test_toggle_a_reward_of_another_shop_is_404(owner_client, shop, other_shop):
    theirs = make_reward(other_shop, "Gratis kaasplankje")
    assert owner_client.post(toggle_url(shop, theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.active is True


def test_toggle_needs_post(owner_client, shop, rewards):
    assert owner_client.get(toggle_url(shop, rewards[0])).status_code == 405
    rewards[0].refresh_from_db()
    assert rewards[0].active is True


# --- Deleting ---------------------------------------------------------------------------------


def test_the_catalogue_and_the_form_link_to_deleting(owner_client, shop, rewards):
    content = text(owner_client.get(catalogue_url(shop)))
    for reward in rewards:
        assert f'href="{delete_url(shop, reward)}"' in content
    assert f'href="{delete_url(shop, rewards[0])}"' in text(
        owner_client.get(edit_url(shop, rewards[0])))


def test_deleting_asks_first(owner_client, shop, rewards):
    response = owner_client.get(delete_url(shop, rewards[1]))

    assert response.status_code == 200
    content = text(response)
    assert escape("Delete “€5 off”?") in content
    assert "it cannot be undone" in content
    form = content.split('<form class="inline-form" method="post">')[1].split("</form>")[0]
    assert "Yes, delete it" in form
    assert catalogue_names(shop) == ["Free coffee", "€5 off", "10% off"]  # nothing yet


def test_a_reward_never_claimed_is_deleted(owner_client, shop, rewards):
    response = owner_client.post(delete_url(shop, rewards[1]))

    assertRedirects(response, catalogue_url(shop), fetch_redirect_response=False)
    assert catalogue_names(shop) == ["Free coffee", "10% off"]
    assert escape("“€5 off” is deleted.") in text(owner_client.get(response["Location"]))


@pytest.mark.parametrize("voucher_state", ["open", "used", "cancelled"])
def test_a_claimed_reward_is_not_deleted_and_switching_it_off_is_offered(
        owner_client, owner, shop, member, rewards, voucher_state):
    coffee = rewards[0]
    give_points(shop, member)
    voucher = services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=coffee.pk)
    if voucher_state == "used":
        services.voucher_use(shop=shop, code=voucher.code)
    elif voucher_state == "cancelled":
        services.voucher_cancel(shop=shop, voucher_id=voucher.pk, by=owner)

    page = text(owner_client.get(delete_url(shop, coffee)))
    assert "Yes, delete it" not in page
    assert "was claimed 1 time, so it stays in your records" in page
    assert f'action="{toggle_url(shop, coffee)}"' in page
    assert "Switch it off</button>" in page

    response = owner_client.post(delete_url(shop, coffee))

    assert response.status_code == 409
    assert "was claimed 1 time, so it stays in your records. Switch it off instead" in text(
        response)
    assert Reward.objects.filter(pk=coffee.pk).exists()
    assert Voucher.objects.filter(pk=voucher.pk).exists()

    response = owner_client.post(toggle_url(shop, coffee))
    coffee.refresh_from_db()
    assert coffee.active is False
    assert escape("“Free coffee” is switched off: your customers no longer see it.") in text(
        owner_client.get(response["Location"]))
    assert "It is switched off already" in text(owner_client.get(delete_url(shop, coffee)))


def test_deleting_a_reward_of_another_shop_is_404(owner_client, shop, other_shop):
    theirs = make_reward(other_shop, "Gratis kaasplankje")
    assert owner_client.get(delete_url(shop, theirs)).status_code == 404
    assert owner_client.post(delete_url(shop, theirs)).status_code == 404
    assert Reward.objects.filter(pk=theirs.pk).exists()


# --- Redemption settings --------------------------------------------------------------------


def test_settings_form_shows_the_defaults(owner_client, shop):
    content = text(owner_client.get(catalogue_url(shop)))
    assert 'name="pay_with_points"' in content
    assert 'name="pay_with_points_cap"' in content
    assert 'name="expired_vouchers_return_points"' in content
    assert escape("Either way the reward's stock comes back") in content


def test_settings_save(owner_client, shop):
    response = owner_client.post(catalogue_url(shop), settings_data(
        expired_vouchers_return_points=None, pay_with_points="on", pay_with_points_cap="500"))

    assertRedirects(response, catalogue_url(shop), fetch_redirect_response=False)
    row = RewardSettings.objects.get(shop=shop)
    assert row.pay_with_points is True
    assert row.pay_with_points_cap == 500
    assert row.expired_vouchers_return_points is False
    assert "Reward settings saved." in text(owner_client.get(response["Location"]))

    owner_client.post(catalogue_url(shop), settings_data(pay_with_points_cap=""))
    row.refresh_from_db()
    assert (row.pay_with_points, row.pay_with_points_cap,
            row.expired_vouchers_return_points) == (False, None, True)


def test_settings_with_a_zero_cap_are_refused(owner_client, shop):
    services.reward_settings_update(shop=shop, expired_vouchers_return_points=True,
                                    pay_with_points=True, pay_with_points_cap=200)
    response = owner_client.post(catalogue_url(shop), settings_data(
        pay_with_points="on", pay_with_points_cap="0"))
    assert_refused(response, "pay_with_points_cap", "Enter a number above zero, or leave it empty.")
    row = RewardSettings.objects.get(shop=shop)
    assert (row.pay_with_points, row.pay_with_points_cap) == (True, 200)


def test_settings_of_one_shop_leave_the_other_alone(owner_client, shop, other_shop):
    owner_client.post(catalogue_url(shop), settings_data(pay_with_points="on"))
    assert RewardSettings.objects.get(shop=shop).pay_with_points is True
    assert services.reward_settings_for(shop=other_shop).pay_with_points is False


# --- A member's vouchers ----------------------------------------------------------------------


@pytest.fixture
def open_voucher(shop, member, rewards):
    give_points(shop, member)  # 500 points
    return services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=rewards[2].pk)


def test_member_vouchers_fragment_lists_them_with_cancel(owner_client, shop, member,
                                                         open_voucher):
    response = owner_client.get(member_vouchers_url(shop, member))
    assert response.status_code == 200
    content = text(response)
    assert f'<td class="mono">{open_voucher.code[:4]}-{open_voucher.code[4:]}</td>' in content
    assert "10% off" in content
    assert f'action="{cancel_url(shop, open_voucher)}"' in content
    # The dashboard's member page loads it.
    page = text(owner_client.get(f"/dashboard/{shop.slug}/members/{member.card_number}/"))
    assert member_vouchers_url(shop, member) in page


def test_member_vouchers_show_the_date_that_matters_for_each(owner_client, owner, shop, member,
                                                            rewards, open_voucher):
    used = services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=rewards[0].pk)
    services.voucher_use(shop=shop, code=used.code, actor_user=owner)
    used.refresh_from_db()

    content = text(owner_client.get(member_vouchers_url(shop, member)))

    # The page says the shop's dates (late in the evening, UTC's is the day before).
    zone = zoneinfo.ZoneInfo(shop.time_zone)
    assert f"valid until {open_voucher.expires_at.astimezone(zone):%-d %B %Y}" in content
    assert f"used on {used.used_at.astimezone(zone):%-d %B %Y}" in content
    assert content.count("valid until") == 1


def test_owner_cancels_an_open_voucher_and_the_points_come_back(owner_client, owner, shop,
                                                                 member, open_voucher):
    assert balance(member) == 200

    response = owner_client.post(cancel_url(shop, open_voucher))

    member_page = f"/dashboard/{shop.slug}/members/{member.card_number}/"
    assertRedirects(response, member_page, fetch_redirect_response=False)
    open_voucher.refresh_from_db()
    assert open_voucher.status == VoucherStatus.CANCELLED
    assert open_voucher.closed_at is not None
    assert balance(member) == 500
    reversal = LedgerEntry.objects.get(membership=member, kind=EntryKind.REVERSAL)
    assert reversal.points == 300
    assert reversal.reverses_id == open_voucher.redemption_entry_id
    assert reversal.actor_user_id == owner.pk
    assert open_voucher.return_entry_id == reversal.pk
    assert "Voucher cancelled: 300 points returned." in text(owner_client.get(member_page))


def test_owner_cancelling_a_used_voucher_is_refused(owner_client, shop, member, open_voucher):
    services.voucher_use(shop=shop, code=open_voucher.code)

    response = owner_client.post(cancel_url(shop, open_voucher))

    assert response.status_code == 302
    assert "This voucher was used already" in text(owner_client.get(response["Location"]))
    open_voucher.refresh_from_db()
    assert open_voucher.status == VoucherStatus.USED
    assert balance(member) == 200
    assert not LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).exists()


def test_owner_cannot_cancel_a_voucher_of_another_shop(owner_client, shop, other_shop):
    customer = MembershipFactory(shop=other_shop)
    give_points(other_shop, customer)
    theirs_reward = make_reward(other_shop, "Gratis kaasplankje")
    theirs = services.voucher_claim(shop=other_shop, membership_id=customer.pk,
                                    reward_id=theirs_reward.pk)

    assert owner_client.post(cancel_url(shop, theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == VoucherStatus.OPEN
    assert balance(customer) == 400


# --- Who gets in ------------------------------------------------------------------------------


def all_requests(shop, reward, voucher, membership, deletable):
    """Every URL of the catalogue, as (method, url, data); ``deletable`` was never claimed."""
    return [
        ("get", catalogue_url(shop), None),
        ("post", catalogue_url(shop), settings_data(pay_with_points="on",
                                                    pay_with_points_cap="5")),
        ("get", create_url(shop), None),
        ("post", create_url(shop), form_data(name="Sneaky")),
        ("get", edit_url(shop, reward), None),
        ("post", edit_url(shop, reward), form_data(kind=RewardKind.PERCENT_OFF,
                                                   name="Sneaky", amount_off_value="",
                                                   percent_off_value="99")),
        ("post", move_url(shop, reward), {"direction": "up"}),
        ("post", toggle_url(shop, reward), {}),
        ("get", delete_url(shop, deletable), None),
        ("post", delete_url(shop, deletable), {}),
        ("post", cancel_url(shop, voucher), {}),
        ("get", member_vouchers_url(shop, membership), None),
    ]


@pytest.mark.parametrize("who", [
    "staff", "other_owner", "customer", "other_owner_and_customer_here"])
def test_everyone_but_the_owner_gets_404(who, shop, member, other_shop, other_owner, staff_user,
                                         open_voucher, rewards):
    user = {
        "staff": staff_user,
        "other_owner": other_owner,
        "customer": member.user,
        # An owner elsewhere who is also a customer here.
        "other_owner_and_customer_here": OwnerFactory(
            shop=other_shop, user=UserFactory(email="both@example.com")).user,
    }[who]
    if who == "other_owner_and_customer_here":
        MembershipFactory(shop=shop, user=user, email=user.email)
    client = signed_in(user)
    reward = rewards[2]
    before_rewards = list(Reward.objects.order_by("pk").values())
    before_vouchers = list(Voucher.objects.order_by("pk").values())

    for method, url, data in all_requests(shop, reward, open_voucher, member,
                                              rewards[0]):
        response = getattr(client, method)(url, data) if data is not None else getattr(
            client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)

    assert list(Reward.objects.order_by("pk").values()) == before_rewards
    assert list(Voucher.objects.order_by("pk").values()) == before_vouchers
    assert not RewardSettings.objects.filter(shop=shop, pay_with_points=True).exists()
    assert balance(member) == 200


def test_signed_out_visitors_are_sent_to_sign_in(client, shop, rewards):
    for url in (catalogue_url(shop), create_url(shop), edit_url(shop, rewards[0]),
                delete_url(shop, rewards[0])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
