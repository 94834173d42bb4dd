"""A Hypothesis state machine drives random sequences of earns, refunds (partial and full),
spends, adjustments (up and down), sign-up bonuses, rule changes (with and without a pending
period), the passing of time and retried requests on two memberships, against a simple model of
what each balance and each lot should be. After every step the ledger must reconcile, no balance
may be negative, each balance must equal the model, no lot may hold more than it got, the
spendable points must equal the model's and never exceed the balance, and every lot must hold
what the model says.

The model is independent of the engine's code: refunds take back
floor(points earned x money refunded so far / amount) minus what earlier refunds settled, computed
with exact fractions; what the balance cannot cover is the shortfall. Points arrive in lots that
become spendable ``pending_days`` after the earn (bonuses and adjustments at once); spending takes
only spendable lots, oldest (by the moment they became spendable, then by arrival) first; a refund
takes its purchase's own lot first, pending or not, then the member's other lots in the same
order. The clock is frozen (time-machine) and moves only when a rule says so.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from decimal import Decimal
from fractions import Fraction

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
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

# Every example starts at this moment, frozen; only the time rules move it.
T0 = dt.datetime(2030, 3, 4, 9, 30, tzinfo=dt.UTC)

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
    "pending_days": st.sampled_from([0, 3, 14, 1]),
})
TIME_STEPS = st.sampled_from([dt.timedelta(hours=1), "next lot", dt.timedelta(days=1),
                              "just before", dt.timedelta(days=4), dt.timedelta(days=15)])


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each example runs in a savepoint that teardown() rolls back: a clean slate every time.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._travel = time_machine.travel(T0, tick=False)
        self._clock = self._travel.start()
        self.now = T0
        self.shop = ShopFactory()
        self.owner = UserFactory()
        self.members = [MembershipFactory(shop=self.shop) for _ in range(2)]
        self.balance = {m.pk: 0 for m in self.members}
        self.bonus_awarded: set[int] = set()
        # pk -> {"membership_id", "amount", "refunded", "earned", "settled", "lot", "key"}
        self.purchases: dict[int, dict] = {}
        # pk -> {"purchase_id", "amount", "key"}: refunds made with an idempotency key
        self.keyed_refunds: dict[int, dict] = {}
        # pk -> {"membership_id", "points", "remaining", "available_at"}
        self.lots: dict[int, dict] = {}
        self.keys_used = 0
        self.rules = None

    def teardown(self):
        try:
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)
        finally:
            self._travel.stop()

    # --- helpers ---------------------------------------------------------------------------------

    def _member(self, index: int) -> Membership:
        return self.members[index % len(self.members)]

    def _counts(self):
        return (LedgerEntry.objects.count(), PointLot.objects.count(), Refund.objects.count(),
                Purchase.objects.count())

    def _state(self):
        """Everything a refused or replayed request must leave as it was."""
        return (
            self._counts(),
            sorted(Membership.objects.filter(shop=self.shop).values_list("pk", "points_balance")),
            sorted(PointLot.objects.filter(membership__shop=self.shop)
                   .values_list("pk", "remaining")),
            sorted(Purchase.objects.filter(shop=self.shop).values_list("pk", "refunded_amount")),
        )

    def _refundable(self):
        return [pk for pk, p in self.purchases.items() if p["refunded"] < p["amount"]]

    def _new_key(self, what: str) -> str:
        self.keys_used += 1
        return f"sm-{what}-{self.keys_used}"

    # The model's lots.

    def _lot_added(self, member_id: int, points: int, available_at: dt.datetime,
                   **entry) -> int:
        """Record the lot the engine just made for ``entry`` (checked against the model)."""
        lot = PointLot.objects.get(**entry)
        assert (lot.membership_id, lot.points, lot.remaining, lot.available_at) == (
            member_id, points, points, available_at)
        self.lots[lot.pk] = {"membership_id": member_id, "points": points, "remaining": points,
                             "available_at": available_at}
        return lot.pk

    def _spendable(self, member_id: int) -> int:
        return sum(lot["remaining"] for lot in self.lots.values()
                   if lot["membership_id"] == member_id and lot["available_at"] <= self.now)

    def _pending(self, member_id: int) -> int:
        return sum(lot["remaining"] for lot in self.lots.values()
                   if lot["membership_id"] == member_id and lot["available_at"] > self.now)

    def _take(self, member_id: int, points: int, *, spendable_only: bool,
              first: int | None = None) -> int:
        """Take up to ``points`` from the model's lots: ``first`` (a refund's own lot), then the
        oldest. Returns how many were taken."""
        order = sorted(
            (pk for pk, lot in self.lots.items()
             if lot["membership_id"] == member_id and lot["remaining"] > 0
             and (not spendable_only or lot["available_at"] <= self.now)),
            key=lambda pk: (pk != first, self.lots[pk]["available_at"], pk),
        )
        taken = 0
        for pk in order:
            if taken == points:
                break
            take = min(self.lots[pk]["remaining"], points - taken)
            self.lots[pk]["remaining"] -= take
            taken += take
        return taken

    def _pending_lots_in_db(self) -> dict[int, int]:
        return dict(PointLot.objects.filter(membership__shop=self.shop, available_at__gt=self.now)
                    .values_list("pk", "remaining"))

    def _next_pending(self) -> dt.datetime | None:
        return min((lot["available_at"] for lot in self.lots.values()
                    if lot["remaining"] > 0 and lot["available_at"] > self.now), default=None)

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
        self._earn(index, amount, with_card, key=None)

    @rule(index=st.integers(0, 1), amount=AMOUNTS,
          with_card=st.sampled_from([True, True, True, False]))
    def earn_with_key(self, index, amount, with_card):
        """As a till sends it: with an idempotency key (which replay() sends again)."""
        self._earn(index, amount, with_card, key=self._new_key("earn"))

    def _earn(self, index, amount, with_card, key):
        member = self._member(index) if with_card else None
        expected = points_for_amount(rules=self.rules, amount=amount) if member else 0
        purchase = services.purchase_record(
            shop=self.shop, amount=str(amount), membership_id=member.pk if member else None,
            idempotency_key=key,
        )
        available_at = self.now + dt.timedelta(days=self.rules.pending_days)
        assert purchase.points_earned == expected
        assert purchase.rules_id == self.rules.pk
        assert purchase.points_available_at == available_at
        lot = None
        if member is not None:
            self.balance[member.pk] += expected
            if expected > 0:
                lot = self._lot_added(member.pk, expected, available_at,
                                      entry__purchase_id=purchase.pk, entry__kind=EntryKind.EARN)
        self.purchases[purchase.pk] = {
            "membership_id": member.pk if member else None, "amount": amount,
            "refunded": Decimal("0"), "earned": expected, "settled": 0, "lot": lot, "key": key,
        }

    def _keyed_purchases(self):
        return [pk for pk, p in sorted(self.purchases.items()) if p["key"] is not None]

    @precondition(lambda self: self._keyed_purchases() or self.keyed_refunds)
    @rule(data=st.data())
    def replay(self, data):
        """A till sends a request again with the idempotency key it used before: a duplicate
        that names what the first one made, and nothing written or moved — whatever happened
        since (refunds, spending, new rules, time). An earn is sent as it was or with another
        body; a refund as it was, even when nothing is left to refund."""
        choices = [("earn", pk) for pk in self._keyed_purchases()]
        choices += [("refund", pk) for pk in sorted(self.keyed_refunds)]
        what, pk = data.draw(st.sampled_from(choices), label="request")
        if what == "earn":
            p = self.purchases[pk]
            amount, member_id = p["amount"], p["membership_id"]
            change = data.draw(st.sampled_from(["nothing", "amount", "member", "no card"]),
                               label="change")
            if change == "amount":
                amount += Decimal("1.00")
            elif change == "member":
                member_id = next(m.pk for m in self.members if m.pk != member_id)
            elif change == "no card":
                member_id = None
            send = functools.partial(services.purchase_record, shop=self.shop,
                                     amount=str(amount), membership_id=member_id,
                                     idempotency_key=p["key"])
        else:
            r = self.keyed_refunds[pk]
            send = functools.partial(services.purchase_refund, shop=self.shop,
                                     purchase_id=r["purchase_id"], amount=str(r["amount"]),
                                     idempotency_key=r["key"])
        before = self._state()
        with pytest.raises(services.DuplicateRequest) as duplicate:
            send()
        assert duplicate.value.existing.pk == pk
        assert self._state() == before

    @precondition(lambda self: self._refundable())
    @rule(data=st.data(), full=st.booleans())
    def refund(self, data, full):
        pk = data.draw(st.sampled_from(sorted(self._refundable())), label="purchase")
        self._refund(data, pk, full)

    @precondition(lambda self: self._refundable_with_points())
    @rule(data=st.data(), full=st.booleans(), keep=st.integers(0, 20), later=st.booleans())
    def refund_after_spending(self, data, full, keep, later):
        """The member spends (nearly) all their spendable points first — ``later``: once their
        next pending points have become spendable — then returns the goods: the refund meets a
        shortfall, or takes pending points."""
        self._come_back_later(later)
        pk = data.draw(st.sampled_from(self._refundable_with_points()), label="purchase")
        member_id = self.purchases[pk]["membership_id"]
        points = self._spendable(member_id) - keep
        if points > 0:
            services.points_spend(shop=self.shop, membership_id=member_id, points=points)
            assert self._take(member_id, points, spendable_only=True) == points
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
        key = self._new_key("refund") if data.draw(st.booleans(), label="keyed") else None
        refunded_after = p["refunded"] + amount
        due = math.floor(Fraction(p["earned"]) * Fraction(refunded_after) / Fraction(p["amount"]))
        to_reverse = max(due - p["settled"], 0)
        member_id = p["membership_id"]
        taken = min(to_reverse, self.balance[member_id]) if member_id else 0

        refund = services.purchase_refund(shop=self.shop, purchase_id=pk, amount=str(amount),
                                          reason="state machine", idempotency_key=key)
        assert (refund.points_reversed, refund.points_shortfall) == (taken, to_reverse - taken)
        if member_id:
            # Pending points count: a refund cancels them before they were ever spendable.
            assert self._take(member_id, to_reverse, spendable_only=False,
                              first=p["lot"]) == taken
            self.balance[member_id] -= taken
        p["refunded"] = refunded_after
        p["settled"] += to_reverse
        if key is not None:
            self.keyed_refunds[refund.pk] = {"purchase_id": pk, "amount": amount, "key": key}

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

    def _with_spendable_points(self):
        return [m for m in self.members if self._spendable(m.pk) > 0]

    def _spend_call(self, member, points, *, adjust):
        if adjust:
            return lambda: services.points_adjust(
                shop=self.shop, membership_id=member.pk, points=-points,
                reason="state machine", by=self.owner)
        return lambda: services.points_spend(shop=self.shop, membership_id=member.pk,
                                             points=points, reference="sm:spend")

    @precondition(lambda self: self._with_spendable_points() or self._next_pending())
    @rule(data=st.data(), adjust=st.booleans(), everything=st.booleans(), later=st.booleans())
    def spend(self, data, adjust, everything, later):
        """A redemption or a downward adjustment the spendable points cover (now and then all of
        them): it takes spendable lots only, never a pending one. ``later`` (or when nothing is
        spendable yet): the member comes back the moment their next pending points become
        spendable."""
        self._come_back_later(later)
        member = data.draw(st.sampled_from(self._with_spendable_points()), label="member")
        spendable = self._spendable(member.pk)
        points = spendable if everything else data.draw(st.integers(1, spendable),
                                                        label="points")
        pending_before = self._pending_lots_in_db()
        entry = self._spend_call(member, points, adjust=adjust)()
        assert (entry.kind, entry.points) == (
            EntryKind.ADJUSTMENT if adjust else EntryKind.REDEMPTION, -points)
        assert self._pending_lots_in_db() == pending_before, "a spend took pending points"
        assert self._take(member.pk, points, spendable_only=True) == points
        self.balance[member.pk] -= points

    @rule(data=st.data(), index=st.integers(0, 1), adjust=st.booleans(),
          past=st.sampled_from(["the spendable points", "the balance"]))
    def overspend(self, data, index, adjust, past):
        """More than the balance, or more than the spendable points but within the balance
        (pending points make up the rest): refused as insufficient points, nothing written."""
        member = self._member(index)
        pending = self._pending(member.pk)
        if past == "the spendable points" and pending:
            points = self._spendable(member.pk) + data.draw(st.integers(1, pending),
                                                            label="pending points asked")
            assert points <= self.balance[member.pk]
        else:
            points = self.balance[member.pk] + data.draw(st.integers(1, 500), label="extra")
        before = self._state()
        with pytest.raises(ValidationError) as refused:
            self._spend_call(member, points, adjust=adjust)()
        assert list(refused.value.message_dict) == ["points"]
        assert refused.value.error_dict["points"][0].code == "insufficient_points"
        assert self._state() == before

    @rule(index=st.integers(0, 1), points=st.integers(1, 3000))
    def adjust_up(self, index, points):
        """An upward adjustment is spendable at once, whatever the pending period."""
        member = self._member(index)
        entry = services.points_adjust(shop=self.shop, membership_id=member.pk, points=points,
                                       reason="state machine", by=self.owner)
        assert (entry.kind, entry.points) == (EntryKind.ADJUSTMENT, points)
        self._lot_added(member.pk, points, self.now, entry_id=entry.pk)
        self.balance[member.pk] += points

    @rule(index=st.integers(0, 1))
    def signup_bonus(self, index):
        member = self._member(index)
        entry = services.signup_bonus_award(membership=member)
        bonus = self.rules.signup_bonus
        if bonus > 0 and member.pk not in self.bonus_awarded:
            assert (entry.kind, entry.points) == (EntryKind.SIGNUP_BONUS, bonus)
            self._lot_added(member.pk, bonus, self.now, entry_id=entry.pk)
            self.bonus_awarded.add(member.pk)
            self.balance[member.pk] += bonus
        else:
            assert entry is None

    def _advance(self, delta: dt.timedelta) -> None:
        self._clock.shift(delta)
        self.now += delta
        assert timezone.now() == self.now

    def _come_back_later(self, later: bool) -> None:
        """With ``later``, or when no one has spendable points: time moves to the moment the
        next pending lot becomes spendable (if there is one)."""
        target = self._next_pending()
        if target is not None and (later or not self._with_spendable_points()):
            self._advance(target - self.now)

    @rule(step=TIME_STEPS)
    def time_passes(self, step):
        """An hour, days, or to the very moment the next pending lot becomes spendable (or a
        second before it: still pending then)."""
        if isinstance(step, dt.timedelta):
            self._advance(step)
            return
        target = self._next_pending()
        if target is None:
            return
        self._advance(target - self.now - dt.timedelta(seconds=1 if step == "just before" else 0))

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
    def lots_match_the_model(self):
        """Which lots were taken, not just how much: spending oldest-spendable-first, a refund
        its own lot first, and the pending ones left alone by spending."""
        actual = dict(PointLot.objects.filter(membership__shop=self.shop)
                      .values_list("pk", "remaining"))
        assert actual == {pk: lot["remaining"] for pk, lot in self.lots.items()}
        for member in self.members:
            assert self._spendable(member.pk) + self._pending(member.pk) == (
                self.balance[member.pk])

    @invariant()
    def spendable_points_match_the_model_and_never_exceed_the_balance(self):
        for member in self.members:
            spendable = services.membership_spendable_points(membership=member, now=self.now)
            assert spendable == self._spendable(member.pk)
            assert 0 <= spendable <= self.balance[member.pk]
            # The engine's own clock (frozen) agrees with the model's.
            assert services.membership_spendable_points(membership=member) == spendable

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
