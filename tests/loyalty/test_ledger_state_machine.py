"""A Hypothesis state machine drives random sequences of earns, refunds (partial and full),
spends, adjustments (up and down), sign-up bonuses and rule changes on two memberships, against a
simple model of what each balance should be. After every step the ledger must reconcile, no
balance may be negative, each balance must equal the model and no lot may hold more than it got.

The model is independent of the engine's code: refunds take back
floor(points earned x money refunded so far / amount) minus what earlier refunds settled, computed
with exact fractions; what the balance cannot cover is the shortfall.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from loyalty import selectors, services
from loyalty.models import EntryKind, LedgerEntry, Membership, PointLot, Purchase, Refund
from loyalty.points import points_for_amount
from tests.factories import MembershipFactory, ShopFactory, UserFactory

AMOUNTS = st.one_of(
    st.sampled_from([Decimal(a) for a in ("27.50", "10.01", "33.33", "49.99", "7.77")]),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("250.00"), places=2,
                allow_nan=False, allow_infinity=False),
)
RULE_SETS = st.fixed_dictionaries({
    "points_per_unit": st.sampled_from([10, 1, 25, 7, 0]),
    "steps": st.sampled_from([
        [], [{"min_amount": "20.00", "points": 1000}],
        [{"min_amount": "20.00", "points": 100}, {"min_amount": "50.00", "points": 900}],
    ]),
    "steps_replace_rate": st.booleans(),
    "minimum_amount": st.sampled_from(["0", "2.50"]),
    "cap_per_purchase": st.none() | st.integers(1, 3000),
    "signup_bonus": st.sampled_from([0, 1, 50, 250]),
})


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each example runs in a savepoint that teardown() rolls back: a clean slate every time.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.shop = ShopFactory()
        self.owner = UserFactory()
        self.members = [MembershipFactory(shop=self.shop) for _ in range(2)]
        self.balance = {m.pk: 0 for m in self.members}
        self.bonus_awarded: set[int] = set()
        # pk -> {"membership_id", "amount", "refunded", "earned", "settled"}
        self.purchases: dict[int, dict] = {}
        self.rules = None

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- helpers ---------------------------------------------------------------------------------

    def _member(self, index: int) -> Membership:
        return self.members[index % len(self.members)]

    def _counts(self):
        return (LedgerEntry.objects.count(), PointLot.objects.count(), Refund.objects.count(),
                Purchase.objects.count())

    def _refundable(self):
        return [pk for pk, p in self.purchases.items() if p["refunded"] < p["amount"]]

    # --- rules -----------------------------------------------------------------------------------

    @initialize(rules=RULE_SETS)
    def set_rules(self, rules):
        self.rules = services.program_rules_update(shop=self.shop, by=self.owner, **rules)

    @rule(rules=RULE_SETS)
    def change_rules(self, rules):
        self.rules = services.program_rules_update(shop=self.shop, by=self.owner, **rules)

    @rule(index=st.integers(0, 1), amount=AMOUNTS,
          with_card=st.sampled_from([True, True, True, False]))
    def earn(self, index, amount, with_card):
        member = self._member(index) if with_card else None
        expected = points_for_amount(rules=self.rules, amount=amount) if member else 0
        purchase = services.purchase_record(
            shop=self.shop, amount=str(amount), membership_id=member.pk if member else None,
        )
        assert purchase.points_earned == expected
        assert purchase.rules_id == self.rules.pk
        if member is not None:
            self.balance[member.pk] += expected
        self.purchases[purchase.pk] = {
            "membership_id": member.pk if member else None, "amount": amount,
            "refunded": Decimal("0"), "earned": expected, "settled": 0,
        }

    @precondition(lambda self: self._refundable())
    @rule(data=st.data(), full=st.booleans())
    def refund(self, data, full):
        pk = data.draw(st.sampled_from(sorted(self._refundable())), label="purchase")
        self._refund(data, pk, full)

    @precondition(lambda self: self._refundable_with_points())
    @rule(data=st.data(), full=st.booleans(), keep=st.integers(0, 20))
    def refund_after_spending(self, data, full, keep):
        """The member spends (nearly) everything first: the refund meets a shortfall."""
        pk = data.draw(st.sampled_from(self._refundable_with_points()), label="purchase")
        member_id = self.purchases[pk]["membership_id"]
        points = self.balance[member_id] - keep
        if points > 0:
            services.points_spend(shop=self.shop, membership_id=member_id, points=points)
            self.balance[member_id] -= points
        self._refund(data, pk, full)

    def _refundable_with_points(self):
        return [pk for pk in sorted(self._refundable())
                if self.purchases[pk]["earned"] > self.purchases[pk]["settled"]]

    def _refund(self, data, pk, full):
        p = self.purchases[pk]
        left = p["amount"] - p["refunded"]
        amount = left if full else data.draw(
            st.decimals(min_value=Decimal("0.01"), max_value=left, places=2,
                        allow_nan=False, allow_infinity=False), label="amount")
        refunded_after = p["refunded"] + amount
        due = math.floor(Fraction(p["earned"]) * Fraction(refunded_after) / Fraction(p["amount"]))
        to_reverse = max(due - p["settled"], 0)
        member_id = p["membership_id"]
        taken = min(to_reverse, self.balance[member_id]) if member_id else 0

        refund = services.purchase_refund(shop=self.shop, purchase_id=pk, amount=str(amount),
                                          reason="state machine")
        assert (refund.points_reversed, refund.points_shortfall) == (taken, to_reverse - taken)
        p["refunded"] = refunded_after
        p["settled"] += to_reverse
        if member_id:
            self.balance[member_id] -= taken

    @precondition(lambda self: self.purchases)
    @rule(data=st.data())
    def refund_too_much(self, data):
        pk = data.draw(st.sampled_from(sorted(self.purchases)), label="purchase")
        p = self.purchases[pk]
        amount = p["amount"] - p["refunded"] + Decimal("0.01")
        before = self._counts()
        try:
            services.purchase_refund(shop=self.shop, purchase_id=pk, amount=str(amount))
        except ValidationError as exc:
            assert list(exc.message_dict) == ["amount"]
        else:
            raise AssertionError(f"a refund of {amount} on {p} was accepted")
        assert self._counts() == before

    def _with_points(self):
        return [m for m in self.members if self.balance[m.pk] > 0]

    def _spend_call(self, member, points, *, adjust):
        if adjust:
            return lambda: services.points_adjust(
                shop=self.shop, membership_id=member.pk, points=-points,
                reason="state machine", by=self.owner)
        return lambda: services.points_spend(shop=self.shop, membership_id=member.pk,
                                             points=points, reference="sm:spend")

    @precondition(lambda self: self._with_points())
    @rule(data=st.data(), adjust=st.booleans(), everything=st.booleans())
    def spend(self, data, adjust, everything):
        """A redemption or a downward adjustment the balance covers (now and then all of it)."""
        member = data.draw(st.sampled_from(self._with_points()), label="member")
        balance = self.balance[member.pk]
        points = balance if everything else data.draw(st.integers(1, balance), label="points")
        entry = self._spend_call(member, points, adjust=adjust)()
        assert (entry.kind, entry.points) == (
            EntryKind.ADJUSTMENT if adjust else EntryKind.REDEMPTION, -points)
        self.balance[member.pk] -= points

    @rule(index=st.integers(0, 1), extra=st.integers(1, 500), adjust=st.booleans())
    def overspend(self, index, extra, adjust):
        """More than the balance: refused, and nothing written."""
        member = self._member(index)
        points = self.balance[member.pk] + extra
        before = self._counts()
        try:
            self._spend_call(member, points, adjust=adjust)()
        except ValidationError as exc:
            assert list(exc.message_dict) == ["points"]
        else:
            raise AssertionError(f"spent {points} of {self.balance[member.pk]}")
        assert self._counts() == before

    @rule(index=st.integers(0, 1), points=st.integers(1, 3000))
    def adjust_up(self, index, points):
        member = self._member(index)
        entry = services.points_adjust(shop=self.shop, membership_id=member.pk, points=points,
                                       reason="state machine", by=self.owner)
        assert (entry.kind, entry.points) == (EntryKind.ADJUSTMENT, points)
        self.balance[member.pk] += points

    @rule(index=st.integers(0, 1))
    def signup_bonus(self, index):
        member = self._member(index)
        entry = services.signup_bonus_award(membership=member)
        bonus = self.rules.signup_bonus
        if bonus > 0 and member.pk not in self.bonus_awarded:
            assert (entry.kind, entry.points) == (EntryKind.SIGNUP_BONUS, bonus)
            self.bonus_awarded.add(member.pk)
            self.balance[member.pk] += bonus
        else:
            assert entry is None

    # --- invariants ------------------------------------------------------------------------------

    @invariant()
    def ledger_reconciles(self):
        assert selectors.ledger_mismatches() == []

    @invariant()
    def balances_match_the_model_and_are_never_negative(self):
        actual = dict(Membership.objects.filter(shop=self.shop).values_list(
            "pk", "points_balance"))
        assert actual == self.balance
        assert all(balance >= 0 for balance in actual.values())

    @invariant()
    def lots_never_exceed_their_points(self):
        assert not PointLot.objects.filter(remaining__gt=F("points")).exists()
        assert not PointLot.objects.filter(remaining__lt=0).exists()

    @invariant()
    def refunds_never_settle_more_than_was_earned(self):
        settled = dict(Refund.objects.filter(purchase__shop=self.shop).values("purchase_id")
                       .annotate(total=Sum(F("points_reversed") + F("points_shortfall")))
                       .values_list("purchase_id", "total"))
        for pk, p in self.purchases.items():
            assert settled.get(pk, 0) == p["settled"] <= p["earned"]
            if p["refunded"] == p["amount"]:
                assert p["settled"] == p["earned"]


@pytest.mark.django_db
def test_random_ledger_operations_keep_every_invariant():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(max_examples=30, stateful_step_count=25, deadline=None),
    )
