"""The rewards services: voucher codes, the catalogue (create, update, move, image checks),
claiming, using, redeeming at the counter, cancelling and expiring vouchers, and paying with
points. Every refusal changes nothing, and every test ends with a ledger that reconciles
(cached balance = sum of entries = points remaining in lots, for every membership)."""

from __future__ import annotations

import datetime as dt
import io
import os
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image

from loyalty import selectors as loyalty_selectors
from loyalty import services as loyalty_services
from loyalty.models import EntryKind, LedgerEntry, Membership
from loyalty.points import MAX_BALANCE
from rewards import services, tasks
from rewards.models import LimitPeriod, Reward, RewardKind, RewardSettings, Voucher, VoucherStatus
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2025, 3, 12, 10, 0, tzinfo=dt.UTC)
LONG_AGO = dt.datetime(2024, 1, 2, 9, 0, tzinfo=dt.UTC)  # points given then are spendable at T0
CODE_ALPHABET = set("23456789ABCDEFGHJKLMNPQRSTUVWXYZ")


@pytest.fixture(autouse=True)
def ledger_reconciles(db):
    yield
    assert loyalty_selectors.ledger_mismatches() == []


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


# --- Helpers --------------------------------------------------------------------------------------


def _give(shop, membership, points: int) -> None:
    """Spendable points, given long before any moment the tests travel to."""
    with time_machine.travel(LONG_AGO, tick=False):
        loyalty_services.points_credit(shop=shop, membership_id=membership.pk, points=points,
                                       kind=EntryKind.ADJUSTMENT, note="test points")


def _balance(membership: Membership) -> int:
    membership.refresh_from_db(fields=["points_balance"])
    return membership.points_balance


def _reward(shop, **fields) -> Reward:
    values = {"kind": RewardKind.PERK, "name": "Coffee with the baker", "points_cost": 100}
    values.update(fields)
    return services.reward_create(shop=shop, **values)


def _codes(exc: ValidationError) -> dict[str, list[str]]:
    """Field → the codes of its errors (a non-field error under "__all__")."""
    if hasattr(exc, "error_dict"):
        return {field: [error.code for error in errors]
                for field, errors in exc.error_dict.items()}
    return {"__all__": [error.code for error in exc.error_list]}


def _state(membership: Membership, reward: Reward | None = None) -> dict:
    """What a refused claim must leave alone."""
    state = {
        "balance": _balance(membership),
        "vouchers": Voucher.objects.count(),
        "entries": LedgerEntry.objects.count(),
        "member_entries": LedgerEntry.objects.filter(membership=membership).count(),
    }
    if reward is not None:
        reward.refresh_from_db()
        state["stock_claimed"] = reward.stock_claimed
    return state


def _png(size=(8, 8), noise=False) -> bytes:
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (200, 120, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _files_in(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


# --- Voucher codes --------------------------------------------------------------------------------


class TestVoucherCodes:
    def test_a_code_is_8_characters_of_the_unambiguous_alphabet(self):
        for _ in range(200):
            code = services.voucher_code_new()
            assert len(code) == 8
            assert set(code) <= CODE_ALPHABET
            assert not set(code) & set("0O1I")

    def test_codes_are_unique_over_many_draws(self):
        codes = [services.voucher_code_new() for _ in range(5000)]
        assert len(set(codes)) == len(codes)

    def test_many_draws_use_the_whole_alphabet_and_nothing_else(self):
        seen = set("".join(services.voucher_code_new() for _ in range(500)))
        assert seen == CODE_ALPHABET

    @pytest.mark.parametrize("typed", ["abcd2345", "ABCD-2345", "abcd 2345", " ab-cd 23-45 ",
                                       "Abcd-2345\n"])
    def test_normalize_takes_any_case_dashes_and_spaces(self, typed):
        assert services.voucher_code_normalize(typed) == "ABCD2345"

    def test_normalize_of_nothing_is_empty(self):
        assert services.voucher_code_normalize("") == ""
        assert services.voucher_code_normalize(None) == ""


# --- The catalogue --------------------------------------------------------------------------------


class TestRewardCreate:
    @pytest.mark.parametrize("kind, fields", [
        (RewardKind.AMOUNT_OFF, {"value_amount": "5.00"}),
        (RewardKind.GIFT_VOUCHER, {"value_amount": Decimal("25")}),
        (RewardKind.PERCENT_OFF, {"value_percent": 1}),
        (RewardKind.PERCENT_OFF, {"value_percent": 100}),
        (RewardKind.FREE_PRODUCT, {"product_name": "Croissant"}),
        (RewardKind.PERK, {}),
    ])
    def test_each_kind_is_created_with_what_it_needs(self, shop, kind, fields):
        reward = services.reward_create(shop=shop, kind=kind, name="A reward", points_cost=250,
                                        **fields)
        reward.refresh_from_db()
        assert (reward.shop, reward.kind, reward.points_cost, reward.stock_claimed) == (
            shop, kind, 250, 0)
        if "value_amount" in fields:
            assert reward.value_amount == Decimal(str(fields["value_amount"])).quantize(
                Decimal("0.01"))
        if "value_percent" in fields:
            assert reward.value_percent == fields["value_percent"]
        if "product_name" in fields:
            assert reward.product_name == "Croissant"

    @pytest.mark.parametrize("kind, fields, field", [
        (RewardKind.AMOUNT_OFF, {}, "value_amount"),
        (RewardKind.AMOUNT_OFF, {"value_amount": "0"}, "value_amount"),
        (RewardKind.AMOUNT_OFF, {"value_amount": "-5.00"}, "value_amount"),
        (RewardKind.GIFT_VOUCHER, {}, "value_amount"),
        (RewardKind.GIFT_VOUCHER, {"value_amount": "0.00"}, "value_amount"),
        (RewardKind.PERCENT_OFF, {}, "value_percent"),
        (RewardKind.PERCENT_OFF, {"value_percent": 0}, "value_percent"),
        (RewardKind.PERCENT_OFF, {"value_percent": 101}, "value_percent"),
        (RewardKind.PERCENT_OFF, {"value_percent": -5}, "value_percent"),
        (RewardKind.FREE_PRODUCT, {}, "product_name"),
        (RewardKind.FREE_PRODUCT, {"product_name": "   "}, "product_name"),
        (RewardKind.PERK, {"points_cost": 0}, "points_cost"),
        (RewardKind.PERK, {"points_cost": -10}, "points_cost"),
        (RewardKind.PERK, {"points_cost": "100"}, "points_cost"),
        (RewardKind.PERK, {"stock_total": -1}, "stock_total"),
        (RewardKind.PERK, {"kind": "bogus"}, "kind"),
        (RewardKind.PERK, {"name": "  "}, "name"),
    ])
    def test_missing_or_wrong_values_are_refused_by_field_and_nothing_saved(
            self, shop, kind, fields, field):
        values = {"kind": kind, "name": "A reward", "points_cost": 100}
        values.update(fields)
        with pytest.raises(ValidationError) as exc:
            services.reward_create(shop=shop, **values)
        assert field in exc.value.message_dict
        assert Reward.objects.count() == 0

    def test_a_window_ending_before_it_starts_is_refused(self, shop):
        with pytest.raises(ValidationError) as exc:
            _reward(shop, available_from=T0, available_until=T0 - dt.timedelta(days=1))
        assert list(exc.value.message_dict) == ["available_until"]
        with pytest.raises(ValidationError) as exc:
            _reward(shop, available_from=T0, available_until=T0)
        assert list(exc.value.message_dict) == ["available_until"]
        assert Reward.objects.count() == 0

    def test_unknown_fields_are_refused(self, shop):
        with pytest.raises(ValidationError):
            _reward(shop, stock_claimed=5)
        assert Reward.objects.count() == 0

    def test_new_rewards_go_to_the_end_of_the_catalogue(self, shop):
        first, second, third = (_reward(shop, name=n) for n in ("A", "B", "C"))
        assert [first.display_order, second.display_order, third.display_order] == [0, 1, 2]

    def test_a_real_small_png_is_accepted_and_stored(self, shop, media_root):
        image = SimpleUploadedFile("cake.png", _png(), content_type="image/png")
        reward = _reward(shop, image=image)
        reward.refresh_from_db()
        assert reward.image.name.startswith("rewards/")
        assert reward.image.name.endswith(".png")
        stored = media_root / reward.image.name
        assert stored.is_file()
        with Image.open(stored) as picture:
            assert picture.format == "PNG"

    def test_a_text_file_named_png_is_refused_and_nothing_saved(self, shop, media_root):
        fake = SimpleUploadedFile("cake.png", b"just some text, not an image\n" * 10,
                                  content_type="image/png")
        with pytest.raises(ValidationError) as exc:
            _reward(shop, image=fake)
        assert list(exc.value.message_dict) == ["image"]
        assert Reward.objects.count() == 0
        assert _files_in(media_root) == []

    def test_an_image_over_2_mb_is_refused_and_nothing_saved(self, shop, media_root):
        big = _png(size=(1000, 800), noise=True)
        assert len(big) > 2 * 1024 * 1024
        with pytest.raises(ValidationError) as exc:
            _reward(shop, image=SimpleUploadedFile("big.png", big, content_type="image/png"))
        assert list(exc.value.message_dict) == ["image"]
        assert Reward.objects.count() == 0
        assert _files_in(media_root) == []

    def test_an_image_not_in_the_allowed_formats_is_refused(self, shop, media_root):
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buffer, format="BMP")
        bmp = SimpleUploadedFile("cake.png", buffer.getvalue(), content_type="image/png")
        with pytest.raises(ValidationError) as exc:
            _reward(shop, image=bmp)
        assert list(exc.value.message_dict) == ["image"]
        assert Reward.objects.count() == 0
        assert _files_in(media_root) == []


class TestRewardUpdate:
    def test_an_update_changes_the_given_fields(self, shop):
        reward = _reward(shop, name="Old", points_cost=100)
        services.reward_update(shop=shop, reward_id=reward.pk, name="  New  ", points_cost=150,
                               stock_total=10)
        reward.refresh_from_db()
        assert (reward.name, reward.points_cost, reward.stock_total) == ("New", 150, 10)

    def test_another_shops_reward_is_not_found_and_unchanged(self, shop, other_shop):
        theirs = _reward(other_shop, name="Theirs", points_cost=100)
        with pytest.raises(ValidationError) as exc:
            services.reward_update(shop=shop, reward_id=theirs.pk, name="Mine now")
        assert _codes(exc.value) == {"__all__": ["not_found"]}
        theirs.refresh_from_db()
        assert theirs.name == "Theirs"

    def test_the_stock_cannot_go_below_what_was_claimed(self, shop):
        reward = _reward(shop, points_cost=100, stock_total=5)
        members = [MembershipFactory(shop=shop) for _ in range(2)]
        for membership in members:
            _give(shop, membership, 100)
            services.voucher_claim(shop=shop, membership_id=membership.pk, reward_id=reward.pk)
        with pytest.raises(ValidationError) as exc:
            services.reward_update(shop=shop, reward_id=reward.pk, stock_total=1)
        assert list(exc.value.message_dict) == ["stock_total"]
        reward.refresh_from_db()
        assert (reward.stock_total, reward.stock_claimed) == (5, 2)
        services.reward_update(shop=shop, reward_id=reward.pk, stock_total=2)  # exactly: fine
        reward.refresh_from_db()
        assert (reward.stock_total, reward.stock_left) == (2, 0)

    @pytest.mark.parametrize("fields, field", [
        ({"points_cost": 0}, "points_cost"),
        ({"points_cost": -1}, "points_cost"),
        ({"stock_total": -3}, "stock_total"),
        ({"kind": RewardKind.PERCENT_OFF}, "value_percent"),
        ({"available_from": T0, "available_until": T0 - dt.timedelta(hours=1)},
         "available_until"),
    ])
    def test_a_refused_update_saves_nothing(self, shop, fields, field):
        reward = _reward(shop, points_cost=100)
        with pytest.raises(ValidationError) as exc:
            services.reward_update(shop=shop, reward_id=reward.pk, **fields)
        assert field in exc.value.message_dict
        reward.refresh_from_db()
        assert (reward.points_cost, reward.kind, reward.stock_total, reward.available_until) == (
            100, RewardKind.PERK, None, None)

    def test_a_text_file_named_png_is_refused_on_update(self, shop, media_root):
        reward = _reward(shop)
        fake = SimpleUploadedFile("cake.png", b"not an image at all", content_type="image/png")
        with pytest.raises(ValidationError) as exc:
            services.reward_update(shop=shop, reward_id=reward.pk, image=fake)
        assert list(exc.value.message_dict) == ["image"]
        reward.refresh_from_db()
        assert not reward.image
        assert _files_in(media_root) == []


class TestRewardKindValues:
    """A reward stores only its own kind's value: the others stay empty, whatever is sent."""

    @pytest.mark.parametrize("kind, kept", [
        (RewardKind.AMOUNT_OFF, {"value_amount": Decimal("5.00")}),
        (RewardKind.GIFT_VOUCHER, {"value_amount": Decimal("5.00")}),
        (RewardKind.PERCENT_OFF, {"value_percent": 10}),
        (RewardKind.FREE_PRODUCT, {"product_name": "Cake"}),
        (RewardKind.PERK, {}),
    ])
    def test_create_keeps_only_the_kinds_value(self, shop, kind, kept):
        reward = services.reward_create(shop=shop, kind=kind, name="A reward", points_cost=100,
                                        value_amount="5.00", value_percent=10,
                                        product_name="Cake")
        reward.refresh_from_db()
        stored = {"value_amount": reward.value_amount, "value_percent": reward.value_percent,
                  "product_name": reward.product_name}
        assert stored == {"value_amount": None, "value_percent": None, "product_name": "",
                          **kept}

    def test_another_kinds_bad_value_is_dropped_not_refused(self, shop):
        reward = services.reward_create(shop=shop, kind=RewardKind.PERK, name="Queue",
                                        points_cost=100, value_percent=500)
        reward.refresh_from_db()
        assert reward.value_percent is None

    def test_changing_the_kind_empties_the_old_value(self, shop):
        reward = _reward(shop, kind=RewardKind.AMOUNT_OFF, value_amount="5.00")
        services.reward_update(shop=shop, reward_id=reward.pk, kind=RewardKind.PERCENT_OFF,
                               value_percent=15)
        reward.refresh_from_db()
        assert (reward.kind, reward.value_percent, reward.value_amount) == (
            RewardKind.PERCENT_OFF, 15, None)


class TestRewardLimits:
    """Every value gets our own message, never Django's "Ensure this value …"."""

    @pytest.mark.parametrize("fields, field, message", [
        ({"points_cost": 2_000_000_001}, "points_cost",
         "A card holds at most 2,000,000,000 points: choose a lower cost."),
        ({"points_cost": 10**20}, "points_cost",
         "A card holds at most 2,000,000,000 points: choose a lower cost."),
        ({"name": ""}, "name", "Give the reward a name, e.g. “Free coffee”."),
        ({"name": "x" * 101}, "name", "Keep the name to 100 characters or fewer."),
        ({"description": "x" * 1001}, "description",
         "Keep the description to 1,000 characters or fewer."),
        ({"kind": "raffle"}, "kind", "Choose one of the kinds of reward."),
        ({"kind": RewardKind.FREE_PRODUCT, "product_name": "x" * 101}, "product_name",
         "Keep the product's name to 100 characters or fewer."),
        ({"stock_total": 10**12}, "stock_total",
         "Enter a stock from 0 to 1,000,000, or leave it empty for no limit."),
        ({"limit_per_member": 0}, "limit_per_member",
         "Enter a limit from 1 to 1,000, or leave it empty for no limit."),
        ({"limit_per_member": 10**12}, "limit_per_member",
         "Enter a limit from 1 to 1,000, or leave it empty for no limit."),
        ({"limit_period": "weekly"}, "limit_period", "Choose “per month” or “in total”."),
        ({"voucher_valid_days": 10**12}, "voucher_valid_days", "Enter 1 to 3,650 days."),
    ])
    def test_out_of_range_values_are_refused_in_our_words(self, shop, fields, field, message):
        values = {"kind": RewardKind.PERK, "name": "A reward", "points_cost": 100}
        values.update(fields)
        with pytest.raises(ValidationError) as exc:
            services.reward_create(shop=shop, **values)
        assert exc.value.message_dict[field] == [message]
        assert Reward.objects.count() == 0

    def test_the_cost_cap_is_in_the_languages_format(self, shop):
        with translation.override("nl"), pytest.raises(ValidationError) as exc:
            _reward(shop, points_cost=MAX_BALANCE + 1)
        assert "2.000.000.000" in exc.value.message_dict["points_cost"][0]

    def test_a_cost_of_exactly_a_full_card_is_allowed(self, shop):
        assert _reward(shop, points_cost=MAX_BALANCE).points_cost == MAX_BALANCE

    def test_an_update_beyond_the_cap_changes_nothing(self, shop):
        reward = _reward(shop, points_cost=100)
        with pytest.raises(ValidationError) as exc:
            services.reward_update(shop=shop, reward_id=reward.pk, points_cost=MAX_BALANCE + 1)
        assert list(exc.value.message_dict) == ["points_cost"]
        reward.refresh_from_db()
        assert reward.points_cost == 100


class TestRewardDelete:
    def test_a_reward_never_claimed_is_deleted(self, shop):
        keep, gone = _reward(shop, name="Keep"), _reward(shop, name="Gone")
        services.reward_delete(shop=shop, reward_id=gone.pk)
        assert list(Reward.objects.values_list("pk", flat=True)) == [keep.pk]

    def test_its_image_goes_with_it_after_the_commit(self, shop, media_root,
                                                     django_capture_on_commit_callbacks):
        reward = _reward(shop, image=SimpleUploadedFile("cake.png", _png(), "image/png"))
        assert len(_files_in(media_root)) == 1
        with django_capture_on_commit_callbacks(execute=True):
            services.reward_delete(shop=shop, reward_id=reward.pk)
        assert _files_in(media_root) == []

    @pytest.mark.parametrize("then", ["open", "used", "cancelled"])
    def test_a_reward_with_a_voucher_is_refused_and_kept(self, shop, member, owner, then):
        reward = _reward(shop, name="Coffee", points_cost=100)
        _give(shop, member, 100)
        voucher = services.voucher_claim(shop=shop, membership_id=member.pk,
                                         reward_id=reward.pk)
        if then == "used":
            services.voucher_use(shop=shop, code=voucher.code)
        elif then == "cancelled":
            services.voucher_cancel(shop=shop, voucher_id=voucher.pk, by=owner)

        with pytest.raises(ValidationError) as exc:
            services.reward_delete(shop=shop, reward_id=reward.pk)

        assert _codes(exc.value) == {"__all__": ["has_vouchers"]}
        assert exc.value.messages == ["“Coffee” was claimed 1 time, so it stays in your records. "
                                      "Switch it off instead: customers then no longer see it."]
        assert Reward.objects.filter(pk=reward.pk).exists()
        assert Voucher.objects.filter(pk=voucher.pk, reward=reward).exists()

    def test_another_shops_reward_is_not_found_and_kept(self, shop, other_shop):
        theirs = _reward(other_shop, name="Theirs")
        with pytest.raises(ValidationError) as exc:
            services.reward_delete(shop=shop, reward_id=theirs.pk)
        assert _codes(exc.value) == {"__all__": ["not_found"]}
        assert Reward.objects.filter(pk=theirs.pk).exists()


class TestRewardMove:
    def _order(self, shop) -> list[str]:
        return list(Reward.objects.for_shop(shop).order_by("display_order", "pk")
                    .values_list("name", flat=True))

    def test_moving_up_and_down_reorders(self, shop):
        a, b, c = (_reward(shop, name=n) for n in ("A", "B", "C"))
        services.reward_move(shop=shop, reward_id=c.pk, up=True)
        assert self._order(shop) == ["A", "C", "B"]
        services.reward_move(shop=shop, reward_id=a.pk, up=False)
        assert self._order(shop) == ["C", "A", "B"]
        services.reward_move(shop=shop, reward_id=b.pk, up=True)
        assert self._order(shop) == ["C", "B", "A"]

    def test_moving_past_either_end_changes_nothing(self, shop):
        a, _b, c = (_reward(shop, name=n) for n in ("A", "B", "C"))
        services.reward_move(shop=shop, reward_id=a.pk, up=True)
        services.reward_move(shop=shop, reward_id=c.pk, up=False)
        assert self._order(shop) == ["A", "B", "C"]

    def test_another_shops_reward_cannot_be_moved(self, shop, other_shop):
        _reward(shop, name="A")
        theirs_1 = _reward(other_shop, name="X")
        _reward(other_shop, name="Y")
        with pytest.raises(ValidationError) as exc:
            services.reward_move(shop=shop, reward_id=theirs_1.pk, up=False)
        assert _codes(exc.value) == {"__all__": ["not_found"]}
        assert self._order(other_shop) == ["X", "Y"]


# --- Claiming -------------------------------------------------------------------------------------


class TestVoucherClaim:
    def test_a_claim_spends_the_points_and_issues_an_open_voucher(self, shop, member, staff_user):
        _give(shop, member, 700)
        reward = _reward(shop, points_cost=500, voucher_valid_days=14, stock_total=3)
        with time_machine.travel(T0, tick=False):
            voucher = services.voucher_claim(shop=shop, membership_id=member.pk,
                                             reward_id=reward.pk, actor_user=staff_user)
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.OPEN
        assert (voucher.shop, voucher.reward, voucher.membership) == (shop, reward, member)
        assert len(voucher.code) == 8 and set(voucher.code) <= CODE_ALPHABET
        assert voucher.points_spent == 500
        assert voucher.created_at == T0
        assert voucher.expires_at == T0 + dt.timedelta(days=14)
        assert voucher.claimed_by == staff_user
        assert (voucher.used_at, voucher.closed_at, voucher.return_entry) == (None, None, None)
        entry = voucher.redemption_entry
        assert (entry.kind, entry.points, entry.membership) == (EntryKind.REDEMPTION, -500,
                                                               member)
        assert entry.kind == "redeem"
        assert _balance(member) == 200
        reward.refresh_from_db()
        assert (reward.stock_claimed, reward.stock_left) == (1, 2)

    def test_a_member_with_just_enough_points_can_claim(self, shop, member):
        _give(shop, member, 300)
        reward = _reward(shop, points_cost=300)
        services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        assert _balance(member) == 0

    def test_not_enough_points_is_refused_and_nothing_changes(self, shop, member):
        _give(shop, member, 499)
        reward = _reward(shop, points_cost=500, stock_total=5)
        before = _state(member, reward)
        with pytest.raises(ValidationError) as exc:
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        assert _codes(exc.value) == {"points": ["insufficient_points"]}
        assert _state(member, reward) == before

    def test_pending_points_cannot_be_spent(self, shop, member):
        loyalty_services.program_rules_update(shop=shop, by=None, pending_days=14)
        _give(shop, member, 100)  # spendable
        with time_machine.travel(T0, tick=False):
            loyalty_services.purchase_record(shop=shop, amount="30.00", membership_id=member.pk)
        reward = _reward(shop, points_cost=300, stock_total=5)
        member.refresh_from_db()
        with time_machine.travel(T0 + dt.timedelta(days=1), tick=False):
            summary = loyalty_selectors.membership_points_summary(membership=member)
            assert (summary["balance"], summary["spendable"], summary["pending"]) == (
                400, 100, 300)
            before = _state(member, reward)
            with pytest.raises(ValidationError) as exc:
                services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
            assert _codes(exc.value) == {"points": ["insufficient_points"]}
            assert _state(member, reward) == before
        with time_machine.travel(T0 + dt.timedelta(days=15), tick=False):
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        assert _balance(member) == 100

    def test_an_inactive_reward_is_refused(self, shop, member):
        _give(shop, member, 1000)
        reward = _reward(shop, points_cost=100, active=False, stock_total=5)
        before = _state(member, reward)
        with pytest.raises(ValidationError) as exc:
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        assert _codes(exc.value) == {"reward": ["unavailable"]}
        assert _state(member, reward) == before

    def test_outside_the_availability_window_is_refused(self, shop, member):
        _give(shop, member, 1000)
        start, end = T0, T0 + dt.timedelta(days=7)
        reward = _reward(shop, points_cost=100, available_from=start, available_until=end,
                         stock_total=5)
        before = _state(member, reward)
        for moment in (start - dt.timedelta(seconds=1), end, end + dt.timedelta(days=1)):
            with time_machine.travel(moment, tick=False), pytest.raises(ValidationError) as exc:
                services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
            assert _codes(exc.value) == {"reward": ["unavailable"]}
            assert _state(member, reward) == before
        with time_machine.travel(start, tick=False):
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        assert _balance(member) == 900

    def test_a_sold_out_reward_is_refused(self, shop, member):
        other = MembershipFactory(shop=shop)
        _give(shop, member, 1000)
        _give(shop, other, 1000)
        reward = _reward(shop, points_cost=100, stock_total=1)
        services.voucher_claim(shop=shop, membership_id=other.pk, reward_id=reward.pk)
        before = _state(member, reward)
        assert before["stock_claimed"] == 1
        with pytest.raises(ValidationError) as exc:
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        assert _codes(exc.value) == {"reward": ["unavailable"]}
        assert "sold out" in exc.value.message_dict["reward"][0]
        assert _state(member, reward) == before

    def test_another_shops_reward_is_not_found(self, shop, member, other_shop):
        _give(shop, member, 1000)
        theirs = _reward(other_shop, points_cost=100, stock_total=5)
        before = _state(member, theirs)
        with pytest.raises(ValidationError) as exc:
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=theirs.pk)
        assert _codes(exc.value) == {"reward": ["not_found"]}
        assert _state(member, theirs) == before

    def test_another_shops_member_is_not_found(self, shop, other_shop):
        stranger = MembershipFactory(shop=other_shop)
        _give(other_shop, stranger, 1000)
        reward = _reward(shop, points_cost=100)
        before = _state(stranger, reward)
        with pytest.raises(ValidationError) as exc:
            services.voucher_claim(shop=shop, membership_id=stranger.pk, reward_id=reward.pk)
        assert _codes(exc.value) == {"__all__": ["not_found"]}
        assert _state(stranger, reward) == before

    def test_the_limit_per_member_ever(self, shop, member):
        _give(shop, member, 1000)
        reward = _reward(shop, points_cost=100, limit_per_member=2,
                         limit_period=LimitPeriod.EVER, stock_total=10)
        with time_machine.travel(T0 - dt.timedelta(days=400), tick=False):
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        with time_machine.travel(T0, tick=False):
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
            before = _state(member, reward)
            with pytest.raises(ValidationError) as exc:
                services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        assert _codes(exc.value) == {"reward": ["limit_reached"]}
        assert _state(member, reward) == before
        # Another member is not held back by it.
        other = MembershipFactory(shop=shop)
        _give(shop, other, 100)
        services.voucher_claim(shop=shop, membership_id=other.pk, reward_id=reward.pk)

    def test_the_limit_per_month_does_not_count_last_month(self, shop, member):
        _give(shop, member, 1000)
        reward = _reward(shop, points_cost=100, limit_per_member=1,
                         limit_period=LimitPeriod.MONTH)
        with time_machine.travel(dt.datetime(2025, 2, 20, 12, 0, tzinfo=dt.UTC), tick=False):
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        with time_machine.travel(T0, tick=False):  # 12 March
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
            before = _state(member, reward)
            with pytest.raises(ValidationError) as exc:
                services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        assert _codes(exc.value) == {"reward": ["limit_reached"]}
        assert _state(member, reward) == before
        with time_machine.travel(dt.datetime(2025, 4, 1, 9, 0, tzinfo=dt.UTC), tick=False):
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        assert Voucher.objects.filter(membership=member).count() == 3
        assert _balance(member) == 700

    def test_the_month_is_the_shops_local_month(self, shop, member):
        """23:30 UTC on 28 February is already 1 March in Amsterdam: it counts for March."""
        _give(shop, member, 1000)
        reward = _reward(shop, points_cost=100, limit_per_member=1,
                         limit_period=LimitPeriod.MONTH)
        with time_machine.travel(dt.datetime(2025, 2, 28, 23, 30, tzinfo=dt.UTC), tick=False):
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        with time_machine.travel(T0, tick=False), pytest.raises(ValidationError) as exc:
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        assert _codes(exc.value) == {"reward": ["limit_reached"]}

    def test_cancelled_vouchers_do_not_count_toward_the_limit(self, shop, member, owner):
        _give(shop, member, 1000)
        reward = _reward(shop, points_cost=100, limit_per_member=1)
        first = services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        services.voucher_cancel(shop=shop, voucher_id=first.pk, by=owner)
        second = services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        assert second.status == VoucherStatus.OPEN
        assert _balance(member) == 900
        with pytest.raises(ValidationError) as exc:
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        assert _codes(exc.value) == {"reward": ["limit_reached"]}
        assert exc.value.message_dict["reward"] == [
            "This member has claimed this reward 1 time already, the most allowed ever."]

    def test_used_and_expired_vouchers_count_toward_the_limit(self, shop, member):
        _give(shop, member, 1000)
        reward = _reward(shop, points_cost=100, limit_per_member=2, voucher_valid_days=1)
        with time_machine.travel(T0, tick=False):
            used = services.voucher_claim(shop=shop, membership_id=member.pk,
                                          reward_id=reward.pk)
            services.voucher_use(shop=shop, code=used.code)
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        assert services.vouchers_expire(now=T0 + dt.timedelta(days=2)) == 1
        with pytest.raises(ValidationError) as exc:
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        assert _codes(exc.value) == {"reward": ["limit_reached"]}
        assert exc.value.message_dict["reward"] == [
            "This member has claimed this reward 2 times already, the most allowed ever."]


# --- Using ----------------------------------------------------------------------------------------


@pytest.fixture
def claimed(shop, member):
    """An open voucher of ``member`` for a 100-point reward with stock 10."""
    _give(shop, member, 1000)
    reward = _reward(shop, points_cost=100, stock_total=10, voucher_valid_days=30)
    return services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)


class TestVoucherUse:
    def test_a_voucher_is_used_once(self, shop, member, claimed, staff_user):
        used = services.voucher_use(shop=shop, code=claimed.code, actor_user=staff_user)
        assert used.pk == claimed.pk
        assert used.status == VoucherStatus.USED
        assert used.used_at is not None
        assert used.used_by == staff_user
        balance = _balance(member)
        entries = LedgerEntry.objects.count()

        with pytest.raises(ValidationError) as exc:
            services.voucher_use(shop=shop, code=claimed.code, actor_user=staff_user)
        assert _codes(exc.value) == {"code": ["conflict"]}
        assert "used already" in exc.value.message_dict["code"][0]
        claimed.refresh_from_db()
        assert (claimed.status, claimed.used_at) == (VoucherStatus.USED, used.used_at)
        assert (_balance(member), LedgerEntry.objects.count()) == (balance, entries)

    def test_the_code_may_be_typed_in_any_case_with_dashes_and_spaces(self, shop, claimed):
        typed = f" {claimed.code[:4].lower()}-{claimed.code[4:].lower()} "
        assert services.voucher_use(shop=shop, code=typed).pk == claimed.pk

    def test_an_expired_voucher_cannot_be_used(self, shop, claimed):
        moment = claimed.expires_at + dt.timedelta(seconds=1)
        with time_machine.travel(moment, tick=False), pytest.raises(ValidationError) as exc:
            services.voucher_use(shop=shop, code=claimed.code)
        assert _codes(exc.value) == {"code": ["conflict"]}
        assert "expired" in exc.value.message_dict["code"][0]
        claimed.refresh_from_db()
        assert (claimed.status, claimed.used_at) == (VoucherStatus.OPEN, None)

    def test_a_cancelled_voucher_cannot_be_used(self, shop, claimed, owner):
        services.voucher_cancel(shop=shop, voucher_id=claimed.pk, by=owner)
        with pytest.raises(ValidationError) as exc:
            services.voucher_use(shop=shop, code=claimed.code)
        assert _codes(exc.value) == {"code": ["conflict"]}
        assert "cancelled" in exc.value.message_dict["code"][0]
        claimed.refresh_from_db()
        assert (claimed.status, claimed.used_at) == (VoucherStatus.CANCELLED, None)

    def test_an_unknown_code_is_not_found(self, shop, claimed):
        unknown = "ZZZZ9999" if claimed.code != "ZZZZ9999" else "YYYY8888"
        with pytest.raises(ValidationError) as exc:
            services.voucher_use(shop=shop, code=unknown)
        assert _codes(exc.value) == {"code": ["not_found"]}
        with pytest.raises(ValidationError) as exc:
            services.voucher_use(shop=shop, code="")
        assert _codes(exc.value) == {"code": ["not_found"]}

    def test_another_shops_voucher_is_not_found(self, other_shop, claimed):
        with pytest.raises(ValidationError) as exc:
            services.voucher_use(shop=other_shop, code=claimed.code)
        assert _codes(exc.value) == {"code": ["not_found"]}
        claimed.refresh_from_db()
        assert claimed.status == VoucherStatus.OPEN


class TestRedeemAtCounter:
    def test_points_off_and_voucher_used_at_once(self, shop, member, staff_user):
        _give(shop, member, 600)
        reward = _reward(shop, points_cost=500, stock_total=2)
        voucher = services.reward_redeem_at_counter(shop=shop, membership_id=member.pk,
                                                    reward_id=reward.pk, by=staff_user)
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.USED
        assert (voucher.claimed_by, voucher.used_by) == (staff_user, staff_user)
        assert voucher.used_at is not None
        assert (voucher.redemption_entry.kind, voucher.redemption_entry.points) == (
            EntryKind.REDEMPTION, -500)
        assert _balance(member) == 100
        reward.refresh_from_db()
        assert reward.stock_claimed == 1

    def test_not_enough_points_changes_nothing(self, shop, member, staff_user):
        _give(shop, member, 400)
        reward = _reward(shop, points_cost=500, stock_total=2)
        before = _state(member, reward)
        with pytest.raises(ValidationError) as exc:
            services.reward_redeem_at_counter(shop=shop, membership_id=member.pk,
                                              reward_id=reward.pk, by=staff_user)
        assert _codes(exc.value) == {"points": ["insufficient_points"]}
        assert _state(member, reward) == before


# --- Cancelling -----------------------------------------------------------------------------------


class TestVoucherCancel:
    def _assert_returned(self, voucher: Voucher, member: Membership, by) -> None:
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.CANCELLED
        assert voucher.closed_at is not None
        entry = voucher.return_entry
        assert entry is not None
        assert (entry.kind, entry.points, entry.membership) == (EntryKind.REVERSAL, 100, member)
        assert entry.reverses == voucher.redemption_entry
        assert entry.actor_user == by

    def test_the_member_cancels_their_own_voucher(self, shop, member, claimed):
        assert _balance(member) == 900
        voucher = services.voucher_cancel(shop=shop, voucher_id=claimed.pk, by=member.user,
                                          membership_id=member.pk)
        assert voucher.pk == claimed.pk
        self._assert_returned(claimed, member, member.user)
        assert _balance(member) == 1000
        claimed.reward.refresh_from_db()
        assert claimed.reward.stock_claimed == 0

    def test_a_member_cannot_cancel_another_members_voucher(self, shop, member, claimed):
        other = MembershipFactory(shop=shop, user=UserFactory())
        before = _state(member, claimed.reward)
        with pytest.raises(ValidationError) as exc:
            services.voucher_cancel(shop=shop, voucher_id=claimed.pk, by=other.user,
                                    membership_id=other.pk)
        assert _codes(exc.value) == {"voucher": ["not_found"]}
        claimed.refresh_from_db()
        assert claimed.status == VoucherStatus.OPEN
        assert _state(member, claimed.reward) == before

    def test_another_shop_cannot_cancel_the_voucher(self, shop, other_shop, other_owner, member,
                                                    claimed):
        with pytest.raises(ValidationError) as exc:
            services.voucher_cancel(shop=other_shop, voucher_id=claimed.pk, by=other_owner)
        assert _codes(exc.value) == {"voucher": ["not_found"]}
        claimed.refresh_from_db()
        assert claimed.status == VoucherStatus.OPEN

    def test_the_owner_cancels_points_and_stock_return_once(self, shop, member, claimed, owner):
        reward = claimed.reward
        reward.refresh_from_db()
        assert reward.stock_claimed == 1
        services.voucher_cancel(shop=shop, voucher_id=claimed.pk, by=owner)
        self._assert_returned(claimed, member, owner)
        assert _balance(member) == 1000
        reward.refresh_from_db()
        assert reward.stock_claimed == 0

        state = _state(member, reward)
        with pytest.raises(ValidationError) as exc:
            services.voucher_cancel(shop=shop, voucher_id=claimed.pk, by=owner)
        assert _codes(exc.value) == {"voucher": ["conflict"]}
        assert "cancelled" in exc.value.message_dict["voucher"][0]
        assert _state(member, reward) == state
        assert LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).count() == 1

    def test_a_used_voucher_cannot_be_cancelled(self, shop, member, claimed, owner):
        services.voucher_use(shop=shop, code=claimed.code)
        state = _state(member, claimed.reward)
        with pytest.raises(ValidationError) as exc:
            services.voucher_cancel(shop=shop, voucher_id=claimed.pk, by=owner)
        assert _codes(exc.value) == {"voucher": ["conflict"]}
        assert "used already" in exc.value.message_dict["voucher"][0]
        claimed.refresh_from_db()
        assert (claimed.status, claimed.return_entry) == (VoucherStatus.USED, None)
        assert _state(member, claimed.reward) == state

    def test_a_cancelled_vouchers_points_can_be_spent_again(self, shop, member, claimed, owner):
        services.voucher_cancel(shop=shop, voucher_id=claimed.pk, by=owner)
        loyalty_services.points_spend(shop=shop, membership_id=member.pk, points=1000)
        assert _balance(member) == 0


# --- Expiring -------------------------------------------------------------------------------------


class TestVouchersExpire:
    def _setup(self, shop, member, *, give_back: bool):
        services.reward_settings_update(shop=shop, expired_vouchers_return_points=give_back,
                                        pay_with_points=False, pay_with_points_cap=None)
        _give(shop, member, 1000)
        short = _reward(shop, name="Short", points_cost=100, voucher_valid_days=7)
        long = _reward(shop, name="Long", points_cost=200, voucher_valid_days=60)
        with time_machine.travel(T0, tick=False):
            old = services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=short.pk)
            used = services.voucher_claim(shop=shop, membership_id=member.pk,
                                          reward_id=short.pk)
            services.voucher_use(shop=shop, code=used.code)
            fresh = services.voucher_claim(shop=shop, membership_id=member.pk,
                                           reward_id=long.pk)
        assert _balance(member) == 600
        return old, used, fresh

    def test_expired_open_vouchers_close_and_return_their_points(self, shop, member):
        old, used, fresh = self._setup(shop, member, give_back=True)
        now = T0 + dt.timedelta(days=8)
        assert services.vouchers_expire(now=now) == 1
        old.refresh_from_db()
        assert (old.status, old.closed_at) == (VoucherStatus.EXPIRED, now)
        assert old.return_entry is not None
        assert (old.return_entry.kind, old.return_entry.points) == (EntryKind.REVERSAL, 100)
        assert old.return_entry.reverses == old.redemption_entry
        assert _balance(member) == 700
        used.refresh_from_db()
        fresh.refresh_from_db()
        assert (used.status, fresh.status) == (VoucherStatus.USED, VoucherStatus.OPEN)

    def test_with_the_setting_off_expired_vouchers_keep_their_points(self, shop, member):
        old, _used, fresh = self._setup(shop, member, give_back=False)
        entries = LedgerEntry.objects.count()
        assert services.vouchers_expire(now=T0 + dt.timedelta(days=8)) == 1
        old.refresh_from_db()
        assert old.status == VoucherStatus.EXPIRED
        assert old.return_entry is None
        assert _balance(member) == 600
        assert LedgerEntry.objects.count() == entries
        fresh.refresh_from_db()
        assert fresh.status == VoucherStatus.OPEN

    def test_running_it_twice_changes_nothing_the_second_time(self, shop, member):
        self._setup(shop, member, give_back=True)
        now = T0 + dt.timedelta(days=61)
        assert services.vouchers_expire(now=now) == 2
        state = _state(member)
        statuses = list(Voucher.objects.order_by("pk").values_list("status", "closed_at"))
        assert services.vouchers_expire(now=now) == 0
        assert services.vouchers_expire(now=now + dt.timedelta(days=1)) == 0
        assert _state(member) == state
        assert list(Voucher.objects.order_by("pk").values_list("status", "closed_at")) == (
            statuses)
        assert _balance(member) == 900

    @pytest.mark.parametrize("give_back", [True, False])
    def test_the_stock_comes_back_on_expiry_whatever_the_points_setting(self, shop, member,
                                                                         give_back):
        """The item was never handed out, so it is on the shelf again; only the points follow
        the shop's setting. A used voucher keeps its item."""
        services.reward_settings_update(shop=shop, expired_vouchers_return_points=give_back,
                                        pay_with_points=False, pay_with_points_cap=None)
        _give(shop, member, 1000)
        reward = _reward(shop, points_cost=100, stock_total=3, voucher_valid_days=7)
        with time_machine.travel(T0, tick=False):
            unused = services.voucher_claim(shop=shop, membership_id=member.pk,
                                            reward_id=reward.pk)
            used = services.voucher_claim(shop=shop, membership_id=member.pk,
                                          reward_id=reward.pk)
            services.voucher_use(shop=shop, code=used.code)
        reward.refresh_from_db()
        assert (reward.stock_claimed, reward.stock_left) == (2, 1)

        assert services.vouchers_expire(now=T0 + dt.timedelta(days=8)) == 1

        reward.refresh_from_db()
        assert (reward.stock_claimed, reward.stock_left) == (1, 2)
        unused.refresh_from_db()
        assert unused.status == VoucherStatus.EXPIRED
        assert (unused.return_entry is not None) is give_back
        assert _balance(member) == (900 if give_back else 800)
        # Running it again gives nothing back twice.
        assert services.vouchers_expire(now=T0 + dt.timedelta(days=9)) == 0
        reward.refresh_from_db()
        assert reward.stock_claimed == 1

    def test_the_last_item_can_be_claimed_again_after_its_voucher_expired(self, shop, member):
        services.reward_settings_update(shop=shop, expired_vouchers_return_points=False,
                                        pay_with_points=False, pay_with_points_cap=None)
        _give(shop, member, 1000)
        reward = _reward(shop, points_cost=100, stock_total=1, voucher_valid_days=7)
        with time_machine.travel(T0, tick=False):
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        with time_machine.travel(T0 + dt.timedelta(days=1), tick=False), pytest.raises(
                ValidationError):
            services.voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
        assert services.vouchers_expire(now=T0 + dt.timedelta(days=8)) == 1
        with time_machine.travel(T0 + dt.timedelta(days=9), tick=False):
            again = services.voucher_claim(shop=shop, membership_id=member.pk,
                                           reward_id=reward.pk)
        assert again.status == VoucherStatus.OPEN
        reward.refresh_from_db()
        assert reward.stock_left == 0

    def test_a_voucher_is_not_expired_before_its_time(self, shop, member):
        old, _used, _fresh = self._setup(shop, member, give_back=True)
        assert services.vouchers_expire(now=old.expires_at - dt.timedelta(seconds=1)) == 0
        old.refresh_from_db()
        assert old.status == VoucherStatus.OPEN

    def test_a_shop_without_settings_returns_the_points(self, shop, member):
        _give(shop, member, 100)
        reward = _reward(shop, points_cost=100, voucher_valid_days=1)
        with time_machine.travel(T0, tick=False):
            voucher = services.voucher_claim(shop=shop, membership_id=member.pk,
                                             reward_id=reward.pk)
        RewardSettings.objects.filter(shop=shop).delete()
        assert services.vouchers_expire(now=T0 + dt.timedelta(days=2)) == 1
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.EXPIRED
        assert _balance(member) == 100

    def test_the_celery_task_runs_it(self, shop, member):
        _give(shop, member, 300)
        reward = _reward(shop, points_cost=100, voucher_valid_days=1)
        with time_machine.travel(T0, tick=False):
            vouchers = [services.voucher_claim(shop=shop, membership_id=member.pk,
                                               reward_id=reward.pk) for _ in range(2)]
        assert _balance(member) == 100
        with time_machine.travel(T0 + dt.timedelta(days=2), tick=False):
            assert tasks.vouchers_expire.apply().get() == 2
            assert tasks.vouchers_expire.delay().get() == 0
        for voucher in vouchers:
            voucher.refresh_from_db()
            assert voucher.status == VoucherStatus.EXPIRED
        assert _balance(member) == 300


# --- Paying with points ---------------------------------------------------------------------------


def _allow_pay(shop, cap=None):
    services.reward_settings_update(shop=shop, expired_vouchers_return_points=True,
                                    pay_with_points=True, pay_with_points_cap=cap)


class TestPointsPay:
    def test_refused_when_the_shop_does_not_take_points(self, shop, member, staff_user):
        _give(shop, member, 1000)
        before = _state(member)
        with pytest.raises(ValidationError) as exc:
            services.points_pay(shop=shop, membership_id=member.pk, points=100, by=staff_user)
        assert _codes(exc.value) == {"points": ["not_allowed"]}
        assert _state(member) == before

    def test_refused_over_the_cap(self, shop, member, staff_user):
        _allow_pay(shop, cap=200)
        _give(shop, member, 1000)
        before = _state(member)
        with pytest.raises(ValidationError) as exc:
            services.points_pay(shop=shop, membership_id=member.pk, points=201, by=staff_user)
        assert list(exc.value.message_dict) == ["points"]
        assert "200" in exc.value.message_dict["points"][0]
        assert _state(member) == before
        entry, money = services.points_pay(shop=shop, membership_id=member.pk, points=200,
                                           by=staff_user)
        assert money == Decimal("2.00")

    def test_refused_over_the_spendable_balance(self, shop, member, staff_user):
        _allow_pay(shop)
        _give(shop, member, 249)
        before = _state(member)
        with pytest.raises(ValidationError) as exc:
            services.points_pay(shop=shop, membership_id=member.pk, points=250, by=staff_user)
        assert _codes(exc.value) == {"points": ["insufficient_points"]}
        assert _state(member) == before

    def test_pending_points_cannot_pay(self, shop, member, staff_user):
        _allow_pay(shop)
        loyalty_services.program_rules_update(shop=shop, by=None, pending_days=7)
        loyalty_services.purchase_record(shop=shop, amount="50.00", membership_id=member.pk)
        before = _state(member)
        assert before["balance"] == 500
        with pytest.raises(ValidationError) as exc:
            services.points_pay(shop=shop, membership_id=member.pk, points=100, by=staff_user)
        assert _codes(exc.value) == {"points": ["insufficient_points"]}
        assert _state(member) == before

    @pytest.mark.parametrize("points", [0, -5, 2.5, "100", None, True, Decimal("100")])
    def test_refused_for_anything_but_a_whole_number_above_zero(self, shop, member, points,
                                                                 staff_user):
        _allow_pay(shop)
        _give(shop, member, 1000)
        before = _state(member)
        with pytest.raises(ValidationError) as exc:
            services.points_pay(shop=shop, membership_id=member.pk, points=points,
                                by=staff_user)
        assert list(exc.value.message_dict) == ["points"]
        assert _state(member) == before

    def test_pays_the_money_value_at_the_point_value(self, shop, member, staff_user):
        _allow_pay(shop)
        _give(shop, member, 1000)
        entry, money = services.points_pay(shop=shop, membership_id=member.pk, points=250,
                                           by=staff_user, reference="R-77")
        assert money == Decimal("2.50")
        assert isinstance(money, Decimal)
        entry.refresh_from_db()
        assert (entry.kind, entry.points, entry.membership) == (EntryKind.REDEMPTION, -250,
                                                               member)
        assert entry.kind == "redeem"
        assert (entry.reference, entry.actor_user) == ("R-77", staff_user)
        assert "2.50" in entry.note
        assert _balance(member) == 750

    def test_the_money_follows_the_shops_point_value(self, shop, member, staff_user):
        _allow_pay(shop)
        loyalty_services.program_rules_update(shop=shop, by=None, points_per_currency_value=40)
        _give(shop, member, 1000)
        _entry, money = services.points_pay(shop=shop, membership_id=member.pk, points=250,
                                            by=staff_user)
        assert money == Decimal("6.25")

    def test_another_shops_member_is_not_found(self, shop, other_shop, staff_user):
        _allow_pay(shop)
        stranger = MembershipFactory(shop=other_shop)
        _give(other_shop, stranger, 1000)
        before = _state(stranger)
        with pytest.raises(ValidationError) as exc:
            services.points_pay(shop=shop, membership_id=stranger.pk, points=100,
                                by=staff_user)
        assert _codes(exc.value) == {"__all__": ["not_found"]}
        assert _state(stranger) == before


class TestRewardSettings:
    def test_defaults_and_update(self, shop):
        settings_row = services.reward_settings_for(shop=shop)
        assert (settings_row.expired_vouchers_return_points, settings_row.pay_with_points,
                settings_row.pay_with_points_cap) == (True, False, None)
        services.reward_settings_update(shop=shop, expired_vouchers_return_points=False,
                                        pay_with_points=True, pay_with_points_cap=500)
        settings_row.refresh_from_db()
        assert (settings_row.expired_vouchers_return_points, settings_row.pay_with_points,
                settings_row.pay_with_points_cap) == (False, True, 500)

    @pytest.mark.parametrize("cap", [0, -1])
    def test_a_cap_must_be_above_zero(self, shop, cap):
        with pytest.raises(ValidationError) as exc:
            services.reward_settings_update(shop=shop, expired_vouchers_return_points=True,
                                            pay_with_points=True, pay_with_points_cap=cap)
        assert list(exc.value.message_dict) == ["pay_with_points_cap"]
        assert services.reward_settings_for(shop=shop).pay_with_points is False
