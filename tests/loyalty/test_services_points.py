"""The points engine's services: versioned rules, purchases, refunds, undo, spending, adjustments
and the sign-up bonus. Every test ends with a ledger that reconciles (see the autouse fixture):
cached balance = sum of entries = points remaining in lots, for every membership."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from loyalty import selectors, services
from loyalty.models import (
    EntryKind,
    LedgerEntry,
    Membership,
    PointLot,
    ProgramRules,
    Purchase,
    PurchaseItem,
    Refund,
)
from members.services import member_enrol
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2025, 3, 3, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def ledger_reconciles(db):
    yield
    assert selectors.ledger_mismatches() == []


def _counts():
    return {
        "purchases": Purchase.objects.count(), "items": PurchaseItem.objects.count(),
        "entries": LedgerEntry.objects.count(), "lots": PointLot.objects.count(),
        "refunds": Refund.objects.count(), "rules": ProgramRules.objects.count(),
    }


def _balance(membership: Membership) -> int:
    membership.refresh_from_db(fields=["points_balance"])
    return membership.points_balance


def _record(shop, membership=None, amount="27.50", **kwargs) -> Purchase:
    return services.purchase_record(
        shop=shop, amount=amount, membership_id=membership.pk if membership else None, **kwargs
    )


def _field_errors(exc: pytest.ExceptionInfo) -> dict:
    return exc.value.message_dict


# --- Rules ---------------------------------------------------------------------------------------


class TestProgramRules:
    def test_a_shop_without_rules_gets_version_1_with_the_defaults(self, shop):
        rules = services.program_rules_current(shop=shop)
        assert (rules.version, rules.points_per_unit, rules.steps, rules.pending_days,
                rules.signup_bonus) == (1, 10, [], 0, 0)
        assert services.program_rules_current(shop=shop).pk == rules.pk

    def test_an_update_adds_a_version_and_leaves_the_old_one_alone(self, shop, owner):
        first = services.program_rules_current(shop=shop)
        second = services.program_rules_update(shop=shop, by=owner, points_per_unit=20)
        assert second.pk != first.pk
        assert (second.version, second.points_per_unit, second.created_by) == (2, 20, owner)
        first.refresh_from_db()
        assert (first.version, first.points_per_unit) == (1, 10)
        assert services.program_rules_current(shop=shop).pk == second.pk
        third = services.program_rules_update(shop=shop, by=owner, signup_bonus=50)
        assert (third.version, third.points_per_unit, third.signup_bonus) == (3, 20, 50)

    def test_unchanged_rules_create_no_version(self, shop, owner):
        saved = services.program_rules_update(
            shop=shop, by=owner, steps=[{"min_amount": "20.00", "points": 1000}]
        )
        before = _counts()
        again = services.program_rules_update(
            shop=shop, by=owner, points_per_unit=10,
            steps=[{"min_amount": "20", "points": "1000"}],  # the same, written differently
            minimum_amount="0",
        )
        assert again.pk == saved.pk
        assert _counts() == before

    def test_steps_are_stored_normalised_and_sorted(self, shop, owner):
        rules = services.program_rules_update(shop=shop, by=owner, steps=[
            {"min_amount": "30", "points": "2000"}, {"min_amount": "20,5", "points": 1000},
        ])
        rules.refresh_from_db()
        assert rules.steps == [{"min_amount": "20.50", "points": 1000},
                               {"min_amount": "30.00", "points": 2000}]

    @pytest.mark.parametrize("steps", [
        [{"min_amount": "20", "points": 100}, {"min_amount": "20.00", "points": 200}],
        [{"min_amount": "20", "points": 0}],
        [{"min_amount": "20", "points": -5}],
        [{"min_amount": "abc", "points": 100}],
        [{"min_amount": "20", "points": "ten"}],
        [{"min_amount": "0", "points": 100}],
        [{"min_amount": "-1", "points": 100}],
        [{"min_amount": "20.001", "points": 100}],
        [{"points": 100}],
        [{"min_amount": "20"}],
        ["20:100"],
    ], ids=["duplicate-amount", "zero-points", "negative-points", "non-numeric-amount",
            "non-numeric-points", "zero-amount", "negative-amount", "three-decimals",
            "no-amount", "no-points", "not-a-mapping"])
    def test_bad_steps_are_refused(self, shop, owner, steps):
        services.program_rules_current(shop=shop)
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            services.program_rules_update(shop=shop, by=owner, steps=steps)
        assert list(_field_errors(exc)) == ["steps"]
        assert _counts() == before

    @pytest.mark.parametrize(("fields", "field"), [
        ({"pending_days": 366}, "pending_days"),
        ({"points_per_unit": -1}, "points_per_unit"),
        ({"points_per_unit": "10"}, "points_per_unit"),
        ({"points_per_currency_value": 0}, "points_per_currency_value"),
        ({"cap_per_purchase": 0}, "cap_per_purchase"),
        ({"minimum_amount": "-1"}, "minimum_amount"),
    ])
    def test_bad_settings_are_refused(self, shop, owner, fields, field):
        services.program_rules_current(shop=shop)
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            services.program_rules_update(shop=shop, by=owner, **fields)
        assert field in _field_errors(exc)
        assert _counts() == before

    def test_unknown_settings_are_refused(self, shop, owner):
        with pytest.raises(ValidationError):
            services.program_rules_update(shop=shop, by=owner, points_per_euro=10)

    def test_a_purchase_keeps_the_version_it_used(self, shop, owner, member):
        old = services.purchase_record(shop=shop, amount="27.50", membership_id=member.pk)
        assert (old.rules.version, old.points_earned) == (1, 270)
        services.program_rules_update(shop=shop, by=owner, points_per_unit=20,
                                      steps=[{"min_amount": "20", "points": 5000}])
        old.refresh_from_db()
        assert (old.rules.version, old.rules.points_per_unit, old.points_earned) == (1, 10, 270)
        new = services.purchase_record(shop=shop, amount="27.50", membership_id=member.pk)
        assert (new.rules.version, new.points_earned) == (2, 5000)
        # A refund takes back what the purchase earned under its own version.
        refund = services.purchase_refund(shop=shop, purchase_id=old.pk, amount="27.50")
        assert refund.points_reversed == 270
        assert _balance(member) == 5000


# --- purchase_record -----------------------------------------------------------------------------


class TestPurchaseRecord:
    def test_a_purchase_with_a_card_earns_points(self, shop, staff_user, member):
        purchase = services.purchase_record(
            shop=shop, amount="27.50", membership_id=member.pk, reference=" R-1001 ",
            recorded_by=staff_user,
            items=[{"sku": "B1", "name": "Desembrood", "category": "brood", "quantity": 2,
                    "unit_price": "3.25"},
                   {"name": "Appeltaart", "quantity": "0.5", "unit_price": "21.00"}],
        )
        purchase.refresh_from_db()
        assert (purchase.amount, purchase.currency, purchase.reference) == (
            Decimal("27.50"), "EUR", "R-1001")
        assert (purchase.points_earned, purchase.membership, purchase.recorded_by) == (
            270, member, staff_user)
        assert purchase.refunded_amount == 0
        entry = LedgerEntry.objects.get(purchase=purchase)
        assert (entry.kind, entry.points, entry.membership, entry.shop, entry.actor_user) == (
            EntryKind.EARN, 270, member, shop, staff_user)
        lot = entry.lot
        assert (lot.points, lot.remaining, lot.membership) == (270, 270, member)
        assert lot.available_at == purchase.points_available_at
        assert _balance(member) == 270
        items = list(purchase.items.order_by("pk").values_list(
            "sku", "name", "category", "quantity", "unit_price"))
        assert items == [("B1", "Desembrood", "brood", Decimal("2.000"), Decimal("3.25")),
                         ("", "Appeltaart", "", Decimal("0.500"), Decimal("21.00"))]
        summary = selectors.membership_points_summary(membership=member)
        assert (summary["balance"], summary["spendable"], summary["pending"]) == (270, 270, 0)
        assert (summary["money"], summary["currency"]) == (Decimal("2.70"), "EUR")
        assert [e.pk for e in selectors.membership_history(membership=member)] == [entry.pk]

    def test_points_add_up_over_purchases(self, shop, member):
        for amount in ("27.50", "3.99", "10"):
            _record(shop, member, amount)
        assert _balance(member) == 270 + 30 + 100
        assert LedgerEntry.objects.filter(membership=member, kind=EntryKind.EARN).count() == 3

    def test_a_purchase_without_a_card_writes_no_entry(self, shop):
        purchase = _record(shop, None, "27.50")
        assert (purchase.membership, purchase.points_earned) == (None, 0)
        assert Purchase.objects.filter(shop=shop).count() == 1
        assert LedgerEntry.objects.count() == 0
        assert PointLot.objects.count() == 0

    def test_a_purchase_earning_no_points_writes_no_entry(self, shop, member):
        purchase = _record(shop, member, "0.99")
        assert purchase.points_earned == 0
        assert LedgerEntry.objects.count() == 0
        assert _balance(member) == 0

    @pytest.mark.parametrize(("amount", "stored"), [
        ("0.01", "0.01"), ("100000.00", "100000.00"), ("27,50", "27.50"), (" 12.3 ", "12.30"),
        (27.5, "27.50"), (Decimal("8"), "8.00"), (15, "15.00"),
    ])
    def test_good_amounts(self, shop, member, amount, stored):
        purchase = _record(shop, member, amount)
        purchase.refresh_from_db()
        assert purchase.amount == Decimal(stored)

    @pytest.mark.parametrize("amount", [
        0, "0", "0.00", -5, "-1.00", "abc", "1.234", "100000.01", None, "", "NaN", "Infinity",
        "1e400", 0.1 + 0.2,
    ])
    def test_bad_amounts_are_refused_and_nothing_is_written(self, shop, member, amount):
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            _record(shop, member, amount, idempotency_key="k-1")
        assert list(_field_errors(exc)) == ["amount"]
        assert _counts() == before
        assert _balance(member) == 0

    def test_another_currency_is_refused(self, shop, member):
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            _record(shop, member, "27.50", currency="SEK")
        assert list(_field_errors(exc)) == ["currency"]
        assert _counts() == before

    def test_the_currency_may_be_given_in_lower_case(self, shop, member):
        assert _record(shop, member, "27.50", currency="eur").currency == "EUR"

    def test_an_unknown_membership_is_not_found(self, shop):
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            services.purchase_record(shop=shop, amount="27.50", membership_id=999_999)
        assert exc.value.code == "not_found"
        assert _counts() == before

    def test_a_member_of_another_shop_is_not_found(self, shop, other_shop):
        stranger = MembershipFactory(shop=other_shop)
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            services.purchase_record(shop=shop, amount="27.50", membership_id=stranger.pk)
        assert exc.value.code == "not_found"
        assert _counts() == before
        assert _balance(stranger) == 0

    def test_a_reference_of_64_characters_is_the_most(self, shop, member):
        assert _record(shop, member, reference="R" * 64).reference == "R" * 64
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            _record(shop, member, reference="R" * 65)
        assert list(_field_errors(exc)) == ["reference"]
        assert _counts() == before

    @pytest.mark.parametrize("items", [
        ["Desembrood"],
        [{"quantity": 1, "unit_price": "3.25"}],
        [{"name": "   ", "quantity": 1, "unit_price": "3.25"}],
        [{"name": "x" * 201, "quantity": 1, "unit_price": "3.25"}],
        [{"name": "Brood", "quantity": 0, "unit_price": "3.25"}],
        [{"name": "Brood", "quantity": -1, "unit_price": "3.25"}],
        [{"name": "Brood", "quantity": "abc", "unit_price": "3.25"}],
        [{"name": "Brood", "quantity": "1.2345", "unit_price": "3.25"}],
        [{"name": "Brood", "quantity": None, "unit_price": "3.25"}],
        [{"name": "Brood", "quantity": 1, "unit_price": "-0.01"}],
        [{"name": "Brood", "quantity": 1, "unit_price": "abc"}],
        [{"name": "Brood", "quantity": 1}],
        [{"name": "Brood", "quantity": 1, "unit_price": "1"}, {"name": "", "unit_price": "1"}],
    ])
    def test_bad_items_are_refused_and_nothing_is_written(self, shop, member, items):
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            _record(shop, member, items=items)
        assert list(_field_errors(exc)) == ["items"]
        assert _counts() == before
        assert _balance(member) == 0

    def test_a_repeated_idempotency_key_returns_the_first_purchase(self, shop, member):
        first = _record(shop, member, "27.50", idempotency_key="till-1:0001")
        before = _counts()
        with pytest.raises(services.DuplicateRequest) as exc:
            _record(shop, member, "27.50", idempotency_key="till-1:0001")
        assert exc.value.existing.pk == first.pk
        with pytest.raises(services.DuplicateRequest) as exc:  # even with another body
            _record(shop, member, "99.00", idempotency_key="till-1:0001")
        assert exc.value.existing.pk == first.pk
        assert _counts() == before
        assert _balance(member) == 270
        entry = LedgerEntry.objects.get(purchase=first)
        assert entry.idempotency_key == "purchase:till-1:0001"

    def test_a_repeated_key_without_a_card_returns_the_first_purchase(self, shop):
        first = _record(shop, None, "5.00", idempotency_key="k")
        with pytest.raises(services.DuplicateRequest) as exc:
            _record(shop, None, "5.00", idempotency_key="k")
        assert exc.value.existing.pk == first.pk
        assert Purchase.objects.count() == 1

    def test_idempotency_keys_are_per_shop(self, shop, member, other_shop):
        other_member = MembershipFactory(shop=other_shop)
        a = _record(shop, member, "10", idempotency_key="same")
        b = _record(other_shop, other_member, "10", idempotency_key="same")
        assert a.pk != b.pk
        assert (_balance(member), _balance(other_member)) == (100, 100)


# --- Pending points ------------------------------------------------------------------------------


class TestPendingPoints:
    def test_points_wait_for_the_pending_days(self, shop, owner, member):
        services.program_rules_update(shop=shop, by=owner, pending_days=14)
        with time_machine.travel(T0, tick=False) as traveller:
            purchase = _record(shop, member, "27.50")
            assert purchase.points_available_at == T0 + dt.timedelta(days=14)
            assert PointLot.objects.get(entry__purchase=purchase).available_at == (
                T0 + dt.timedelta(days=14))
            summary = selectors.membership_points_summary(membership=Membership.objects.get(
                pk=member.pk))
            assert (summary["balance"], summary["pending"], summary["spendable"]) == (270, 270, 0)
            assert summary["pending_next_at"] == T0 + dt.timedelta(days=14)
            assert services.membership_spendable_points(membership=member) == 0

            before = _counts()
            with pytest.raises(ValidationError) as exc:
                services.points_spend(shop=shop, membership_id=member.pk, points=1)
            assert list(_field_errors(exc)) == ["points"]
            assert _counts() == before

            traveller.shift(dt.timedelta(days=14) - dt.timedelta(seconds=1))
            with pytest.raises(ValidationError):
                services.points_spend(shop=shop, membership_id=member.pk, points=1)

            traveller.shift(dt.timedelta(seconds=1))
            summary = selectors.membership_points_summary(membership=Membership.objects.get(
                pk=member.pk))
            assert (summary["balance"], summary["pending"], summary["spendable"]) == (270, 0, 270)
            services.points_spend(shop=shop, membership_id=member.pk, points=270)
            assert _balance(member) == 0

    def test_only_the_older_points_are_spendable(self, shop, owner, member):
        with time_machine.travel(T0, tick=False) as traveller:
            _record(shop, member, "10.00")  # 100, spendable at once
            services.program_rules_update(shop=shop, by=owner, pending_days=7)
            traveller.shift(dt.timedelta(hours=1))
            _record(shop, member, "20.00")  # 200, pending for a week
            summary = selectors.membership_points_summary(membership=Membership.objects.get(
                pk=member.pk))
            assert (summary["balance"], summary["pending"], summary["spendable"]) == (300, 200, 100)
            with pytest.raises(ValidationError):
                services.points_spend(shop=shop, membership_id=member.pk, points=101)
            services.points_spend(shop=shop, membership_id=member.pk, points=100)
            assert _balance(member) == 200


# --- Refunds -------------------------------------------------------------------------------------


class TestRefund:
    def test_partial_refunds_add_up_to_exactly_the_points_earned(self, shop, member):
        purchase = _record(shop, member, "10.01")
        assert purchase.points_earned == 100
        reversed_ = [services.purchase_refund(shop=shop, purchase_id=purchase.pk,
                                              amount=amount).points_reversed
                     for amount in ("3.33", "3.33", "3.35")]
        assert reversed_ == [33, 33, 34]
        assert sum(reversed_) == purchase.points_earned
        purchase.refresh_from_db()
        assert purchase.refunded_amount == Decimal("10.01")
        assert _balance(member) == 0
        earn = LedgerEntry.objects.get(purchase=purchase, kind=EntryKind.EARN)
        reversals = LedgerEntry.objects.filter(purchase=purchase, kind=EntryKind.REVERSAL)
        assert sorted(e.points for e in reversals) == [-34, -33, -33]
        assert all(e.reverses_id == earn.pk and e.refund_id for e in reversals)
        assert Refund.objects.filter(purchase=purchase, points_shortfall=0).count() == 3

    @pytest.mark.parametrize(("amount", "parts"), [
        ("27.53", ["0.01"] * 3 + ["27.50"]),
        ("7.77", ["1.11"] * 7),
        ("99.99", ["33.33", "33.33", "33.33"]),
        ("3.01", ["1.00", "1.00", "1.00", "0.01"]),
    ])
    def test_any_split_of_a_full_refund_takes_back_exactly_the_points(self, shop, member,
                                                                      amount, parts):
        purchase = _record(shop, member, amount)
        for part in parts:
            services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount=part)
        assert sum(r.points_reversed for r in purchase.refunds.all()) == purchase.points_earned
        assert _balance(member) == 0

    def test_more_than_refundable_is_refused(self, shop, member):
        purchase = _record(shop, member, "10.00")
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="10.01")
        assert list(_field_errors(exc)) == ["amount"]
        assert _counts() == before
        services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="6.00")
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="4.01")
        assert list(_field_errors(exc)) == ["amount"]
        assert _counts() == before
        purchase.refresh_from_db()
        assert purchase.refunded_amount == Decimal("6.00")
        assert _balance(member) == 40

    @pytest.mark.parametrize("amount", ["0", "-1", "abc", "1.001", None])
    def test_bad_refund_amounts_are_refused(self, shop, member, amount):
        purchase = _record(shop, member, "10.00")
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount=amount)
        assert list(_field_errors(exc)) == ["amount"]
        assert _counts() == before

    def test_points_already_spent_become_the_shortfall(self, shop, member):
        purchase = _record(shop, member, "27.50")
        services.points_spend(shop=shop, membership_id=member.pk, points=200)
        refund = services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="27.50",
                                          reason="Kapot")
        assert (refund.points_reversed, refund.points_shortfall) == (70, 200)
        assert _balance(member) == 0
        reversal = LedgerEntry.objects.get(refund=refund)
        assert (reversal.kind, reversal.points, reversal.note) == (EntryKind.REVERSAL, -70, "Kapot")

    def test_all_points_spent_the_refund_is_all_shortfall(self, shop, member):
        purchase = _record(shop, member, "10.00")
        services.points_spend(shop=shop, membership_id=member.pk, points=100)
        entries_before = LedgerEntry.objects.count()
        refund = services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="10.00")
        assert (refund.points_reversed, refund.points_shortfall) == (0, 100)
        assert LedgerEntry.objects.count() == entries_before  # no zero entry
        assert _balance(member) == 0

    def test_the_balance_stops_at_zero_taking_other_points_first(self, shop, member):
        first = _record(shop, member, "10.00")  # 100
        services.points_spend(shop=shop, membership_id=member.pk, points=100)
        _record(shop, member, "5.00")  # 50
        refund = services.purchase_refund(shop=shop, purchase_id=first.pk, amount="10.00")
        assert (refund.points_reversed, refund.points_shortfall) == (50, 50)
        assert _balance(member) == 0

    def test_a_partial_refund_after_spending_settles_the_shortfall_once(self, shop, member):
        purchase = _record(shop, member, "10.00")  # 100
        services.points_spend(shop=shop, membership_id=member.pk, points=100)
        first = services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="5.00")
        assert (first.points_reversed, first.points_shortfall) == (0, 50)
        _record(shop, member, "20.00")  # 200
        second = services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="5.00")
        assert (second.points_reversed, second.points_shortfall) == (50, 0)
        assert _balance(member) == 150

    def test_a_refund_in_the_pending_window_cancels_the_pending_points(self, shop, owner, member):
        with time_machine.travel(T0, tick=False) as traveller:
            _record(shop, member, "10.00")  # 100 spendable, from before the pending rule
            services.program_rules_update(shop=shop, by=owner, pending_days=14)
            traveller.shift(dt.timedelta(hours=1))
            purchase = _record(shop, member, "27.50")  # 270 pending
            traveller.shift(dt.timedelta(days=3))
            half = services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="13.75")
            assert half.points_reversed == 135
            summary = selectors.membership_points_summary(membership=Membership.objects.get(
                pk=member.pk))
            assert (summary["balance"], summary["pending"], summary["spendable"]) == (235, 135, 100)
            services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="13.75")
            summary = selectors.membership_points_summary(membership=Membership.objects.get(
                pk=member.pk))
            assert (summary["balance"], summary["pending"], summary["spendable"]) == (100, 0, 100)
            assert PointLot.objects.get(entry__purchase=purchase).remaining == 0
            # The older, spendable points were not touched.
            assert PointLot.objects.get(entry__purchase__amount=Decimal("10.00")).remaining == 100

    def test_a_purchase_of_another_shop_is_not_found(self, shop, other_shop):
        stranger = MembershipFactory(shop=other_shop)
        purchase = _record(other_shop, stranger, "10.00")
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="10.00")
        assert exc.value.code == "not_found"
        with pytest.raises(ValidationError) as exc:
            services.purchase_refund(shop=shop, purchase_id=999_999, amount="1.00")
        assert exc.value.code == "not_found"
        assert _counts() == before
        purchase.refresh_from_db()
        assert purchase.refunded_amount == 0
        assert _balance(stranger) == 100

    def test_a_refund_without_a_card_moves_no_points(self, shop):
        purchase = _record(shop, None, "10.00")
        refund = services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="10.00")
        assert (refund.points_reversed, refund.points_shortfall) == (0, 0)
        assert LedgerEntry.objects.count() == 0
        purchase.refresh_from_db()
        assert purchase.refunded_amount == Decimal("10.00")

    def test_a_repeated_refund_key_returns_the_first_refund(self, shop, member):
        purchase = _record(shop, member, "10.00")
        first = services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="4.00",
                                         idempotency_key="r-1")
        before = _counts()
        with pytest.raises(services.DuplicateRequest) as exc:
            services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="4.00",
                                     idempotency_key="r-1")
        assert exc.value.existing.pk == first.pk
        assert _counts() == before
        assert _balance(member) == 60


# --- Undo ----------------------------------------------------------------------------------------


class TestUndo:
    def test_undo_within_ten_minutes(self, shop, staff_user, member):
        with time_machine.travel(T0, tick=False) as traveller:
            purchase = _record(shop, member, "27.50")
            traveller.shift(dt.timedelta(minutes=10))
            refund = services.purchase_undo(shop=shop, purchase_id=purchase.pk,
                                            reason="Wrong card", by=staff_user)
        assert refund.amount == Decimal("27.50")
        assert refund.points_reversed == 270
        assert "Wrong card" in refund.reason
        assert refund.recorded_by == staff_user
        reversal = LedgerEntry.objects.get(refund=refund)
        assert "Wrong card" in reversal.note
        assert reversal.actor_user == staff_user
        purchase.refresh_from_db()
        assert purchase.refunded_amount == Decimal("27.50")
        assert _balance(member) == 0

    def test_undo_after_ten_minutes_is_refused(self, shop, staff_user, member):
        with time_machine.travel(T0, tick=False) as traveller:
            purchase = _record(shop, member, "27.50")
            traveller.shift(dt.timedelta(minutes=10, seconds=1))
            before = _counts()
            with pytest.raises(ValidationError):
                services.purchase_undo(shop=shop, purchase_id=purchase.pk,
                                       reason="Wrong card", by=staff_user)
        assert _counts() == before
        assert _balance(member) == 270

    def test_the_refunds_effects_can_tell_an_undo_from_a_full_refund(self, shop, staff_user,
                                                                     member):
        undone = _record(shop, member, "27.50")
        undo = services.purchase_undo(shop=shop, purchase_id=undone.pk, reason="Oops",
                                      by=staff_user)
        refunded = _record(shop, member, "27.50")
        full = services.purchase_refund(shop=shop, purchase_id=refunded.pk, amount="27.50",
                                        idempotency_key=f"undo:{undone.pk}")
        assert services.refund_is_undo(undo) is True
        assert services.refund_is_undo(full) is False  # another purchase's undo key

    def test_undo_twice_is_refused(self, shop, staff_user, member):
        purchase = _record(shop, member, "27.50")
        services.purchase_undo(shop=shop, purchase_id=purchase.pk, reason="Oops", by=staff_user)
        before = _counts()
        with pytest.raises(ValidationError):
            services.purchase_undo(shop=shop, purchase_id=purchase.pk, reason="Oops",
                                   by=staff_user)
        assert _counts() == before
        assert Refund.objects.filter(purchase=purchase).count() == 1

    def test_undo_at_the_same_moment_as_another_is_refused_not_a_crash(self, shop, staff_user,
                                                                        member):
        purchase = _record(shop, member, "27.50")
        services.purchase_undo(shop=shop, purchase_id=purchase.pk, reason="Oops", by=staff_user)
        # The second screen read the purchase before the first undo committed: its quick check
        # saw nothing refunded yet, and it meets the first undo only under the lock.
        Purchase.objects.filter(pk=purchase.pk).update(refunded_amount=0)
        before = _counts()

        with pytest.raises(ValidationError) as refused:
            services.purchase_undo(shop=shop, purchase_id=purchase.pk, reason="Also oops",
                                   by=staff_user)

        assert refused.value.messages == ["This purchase has been (partly) refunded already."]
        assert _counts() == before
        assert Refund.objects.filter(purchase=purchase).count() == 1

    def test_undo_of_a_partly_refunded_purchase_is_refused(self, shop, staff_user, member):
        purchase = _record(shop, member, "27.50")
        services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="1.00")
        with pytest.raises(ValidationError):
            services.purchase_undo(shop=shop, purchase_id=purchase.pk, reason="Oops",
                                   by=staff_user)
        assert Refund.objects.filter(purchase=purchase).count() == 1

    @pytest.mark.parametrize("reason", ["", "   ", None])
    def test_a_reason_is_required(self, shop, staff_user, member, reason):
        purchase = _record(shop, member, "27.50")
        before = _counts()
        with pytest.raises(ValidationError) as exc:
            services.purchase_undo(shop=shop, purchase_id=purchase.pk, reason=reason,
                                   by=staff_user)
        assert list(_field_errors(exc)) == ["reason"]
        assert _counts() == before

    def test_undo_of_another_shops_purchase_is_not_found(self, shop, staff_user, other_shop):
        purchase = _record(other_shop, MembershipFactory(shop=other_shop), "10.00")
        with pytest.raises(ValidationError) as exc:
            services.purchase_undo(shop=shop, purchase_id=purchase.pk, reason="x", by=staff_user)
        assert exc.value.code == "not_found"


# --- Spending and adjusting ----------------------------------------------------------------------


class TestSpend:
    def test_more_than_spendable_is_refused_and_nothing_written(self, shop, member):
        _record(shop, member, "27.50")
        before = _counts()
        lots_before = list(PointLot.objects.values_list("pk", "remaining"))
        with pytest.raises(ValidationError) as exc:
            services.points_spend(shop=shop, membership_id=member.pk, points=271)
        assert list(_field_errors(exc)) == ["points"]
        assert _counts() == before
        assert list(PointLot.objects.values_list("pk", "remaining")) == lots_before
        assert _balance(member) == 270

    def test_the_refusal_carries_the_code_insufficient_points(self, shop, member):
        """points_spend passes code="insufficient_points" so that callers (the API's error
        mapping reads ``error_dict[field][0].code``) can tell it from bad input."""
        _record(shop, member, "2.00")
        with pytest.raises(ValidationError) as exc:
            services.points_spend(shop=shop, membership_id=member.pk, points=21)
        assert [error.code for error in exc.value.error_dict["points"]] == ["insufficient_points"]

    @pytest.mark.parametrize("points", [0, -5, "10", 1.5, None])
    def test_points_must_be_a_positive_whole_number(self, shop, member, points):
        _record(shop, member, "27.50")
        with pytest.raises(ValidationError) as exc:
            services.points_spend(shop=shop, membership_id=member.pk, points=points)
        assert list(_field_errors(exc)) == ["points"]
        assert _balance(member) == 270

    def test_spending_takes_the_oldest_lots_first(self, shop, member):
        with time_machine.travel(T0, tick=False) as traveller:
            first = _record(shop, member, "10.00")  # 100
            traveller.shift(dt.timedelta(days=1))
            second = _record(shop, member, "5.00")  # 50
            traveller.shift(dt.timedelta(days=1))
            third = _record(shop, member, "7.00")  # 70
            traveller.shift(dt.timedelta(days=1))
            entry = services.points_spend(shop=shop, membership_id=member.pk, points=120,
                                          reference="rewards.reward:1", note="Koffie")

        def remaining(purchase):
            return PointLot.objects.get(entry__purchase=purchase).remaining

        assert (remaining(first), remaining(second), remaining(third)) == (0, 30, 70)
        assert (entry.kind, entry.points, entry.reference, entry.note) == (
            EntryKind.REDEMPTION, -120, "rewards.reward:1", "Koffie")
        assert not PointLot.objects.filter(entry=entry).exists()
        services.points_spend(shop=shop, membership_id=member.pk, points=40)
        assert (remaining(first), remaining(second), remaining(third)) == (0, 0, 60)
        assert _balance(member) == 60

    def test_a_member_of_another_shop_is_not_found(self, shop, other_shop):
        stranger = MembershipFactory(shop=other_shop)
        _record(other_shop, stranger, "10.00")
        with pytest.raises(ValidationError) as exc:
            services.points_spend(shop=shop, membership_id=stranger.pk, points=10)
        assert exc.value.code == "not_found"
        assert _balance(stranger) == 100


class TestAdjust:
    def test_up_with_the_reason(self, shop, owner, member):
        entry = services.points_adjust(shop=shop, membership_id=member.pk, points=75,
                                       reason="Goodwill", by=owner)
        assert (entry.kind, entry.points, entry.note, entry.actor_user) == (
            EntryKind.ADJUSTMENT, 75, "Goodwill", owner)
        assert entry.lot.remaining == 75
        assert _balance(member) == 75

    def test_down_with_the_reason(self, shop, owner, member):
        _record(shop, member, "27.50")
        entry = services.points_adjust(shop=shop, membership_id=member.pk, points=-70,
                                       reason="Typed 7 too many", by=owner)
        assert (entry.kind, entry.points, entry.note, entry.actor_user) == (
            EntryKind.ADJUSTMENT, -70, "Typed 7 too many", owner)
        assert _balance(member) == 200

    def test_down_below_zero_is_refused(self, shop, owner, member):
        _record(shop, member, "2.00")
        before = _counts()
        with pytest.raises(ValidationError):
            services.points_adjust(shop=shop, membership_id=member.pk, points=-21,
                                   reason="Too much", by=owner)
        assert _counts() == before
        assert _balance(member) == 20

    @pytest.mark.parametrize(("points", "reason", "field"), [
        (10, "", "reason"), (10, "  ", "reason"), (0, "Why not", "points"),
        ("10", "Why not", "points"),
    ])
    def test_bad_adjustments_are_refused(self, shop, owner, member, points, reason, field):
        with pytest.raises(ValidationError) as exc:
            services.points_adjust(shop=shop, membership_id=member.pk, points=points,
                                   reason=reason, by=owner)
        assert list(_field_errors(exc)) == [field]
        assert LedgerEntry.objects.count() == 0


# --- Sign-up bonus -------------------------------------------------------------------------------


class TestSignupBonus:
    def test_once_per_membership(self, shop, owner, member):
        services.program_rules_update(shop=shop, by=owner, signup_bonus=50)
        entry = services.signup_bonus_award(membership=member)
        assert (entry.kind, entry.points) == (EntryKind.SIGNUP_BONUS, 50)
        assert services.signup_bonus_award(membership=member) is None
        assert LedgerEntry.objects.filter(membership=member,
                                          kind=EntryKind.SIGNUP_BONUS).count() == 1
        assert _balance(member) == 50

    def test_no_bonus_no_entry(self, shop, member):
        assert services.signup_bonus_award(membership=member) is None
        assert LedgerEntry.objects.count() == 0

    def test_each_membership_gets_its_own(self, shop, owner, member):
        services.program_rules_update(shop=shop, by=owner, signup_bonus=50)
        other = MembershipFactory(shop=shop)
        services.signup_bonus_award(membership=member)
        services.signup_bonus_award(membership=other)
        assert (_balance(member), _balance(other)) == (50, 50)

    def test_enrolment_awards_the_bonus(self, shop, owner):
        services.program_rules_update(shop=shop, by=owner, signup_bonus=250)
        membership = member_enrol(shop=shop, name="Joris de Vries", email="joris@example.com")
        entry = LedgerEntry.objects.get(membership=membership)
        assert (entry.kind, entry.points) == (EntryKind.SIGNUP_BONUS, 250)
        assert _balance(membership) == 250
        assert services.signup_bonus_award(membership=membership) is None
        assert _balance(membership) == 250

    def test_enrolment_without_a_bonus_writes_no_entry(self, shop):
        membership = member_enrol(shop=shop, name="Joris de Vries", phone="0612345678")
        assert LedgerEntry.objects.filter(membership=membership).count() == 0
        assert _balance(membership) == 0


@pytest.mark.django_db
def test_a_step_table_whose_points_fall_as_the_amount_rises_is_refused():
    from loyalty.models import ProgramRules
    from loyalty.services import program_rules_update
    from tests.factories import ShopFactory

    shop = ShopFactory()
    with pytest.raises(ValidationError) as exc:
        program_rules_update(shop=shop, by=None, steps=[
            {"min_amount": "20.00", "points": 2000}, {"min_amount": "30.00", "points": 1000}])
    assert "steps" in exc.value.message_dict
    assert "A higher step must give more points" in exc.value.message_dict["steps"][0]
    assert ProgramRules.objects.filter(shop=shop).count() <= 1  # at most the defaults


class TestAmountsInMessages:
    """Amounts in messages are written as the reader's language writes them."""

    @pytest.mark.parametrize(("language", "written"), [("en", "27.50"), ("nl", "27,50"),
                                                        ("sv", "27,50")])
    def test_the_refundable_rest(self, shop, member, language, written):
        from django.utils import translation

        purchase = services.purchase_record(shop=shop, amount="27.50", membership_id=member.pk)
        with translation.override(language), pytest.raises(ValidationError) as exc:
            services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="30.00")

        assert written in exc.value.message_dict["amount"][0]
        assert not purchase.refunds.exists()

    @pytest.mark.parametrize(("language", "written"), [("en", "100,000.00"),
                                                        ("nl", "100.000,00")])
    def test_the_largest_amount(self, language, written):
        from django.utils import translation

        with translation.override(language), pytest.raises(ValidationError) as exc:
            services.money_parse("999999")

        assert written in exc.value.message_dict["amount"][0]
