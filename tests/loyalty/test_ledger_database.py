"""The database itself guards the ledger: entries are append-only (a trigger), balances never go
negative, idempotency keys are unique per shop, a lot never holds more than it received. And the
reconcile_ledger command finds a ledger that does not add up.

Each refusal happens inside ``transaction.atomic()`` so the test's own transaction stays usable,
and each test checks that nothing changed.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from loyalty import selectors, services
from loyalty.models import EntryKind, LedgerEntry, Membership, PointLot
from tests.conftest import require_service
from tests.factories import MembershipFactory, ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def earned(shop, member):
    """A member with 270 points from one purchase, 70 of them spent: an earn entry with a lot,
    and a redemption entry without one."""
    purchase = services.purchase_record(shop=shop, amount="27.50", membership_id=member.pk)
    spend = services.points_spend(shop=shop, membership_id=member.pk, points=70)
    earn = LedgerEntry.objects.get(purchase=purchase)
    member.refresh_from_db()
    return {"earn": earn, "spend": spend, "member": member}


def _entry_row(pk):
    return LedgerEntry.objects.filter(pk=pk).values_list("points", "kind", "note").get()


# --- Append-only ---------------------------------------------------------------------------------


class TestLedgerIsAppendOnly:
    """A trigger refuses UPDATE on PostgreSQL and SQLite. Both raise IntegrityError: PostgreSQL's
    trigger raises SQLSTATE 23000 (integrity_constraint_violation), SQLite's RAISE(ABORT) is a
    constraint failure."""

    def test_a_queryset_update_is_refused(self, earned):
        entry = earned["earn"]
        before = _entry_row(entry.pk)
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            LedgerEntry.objects.filter(pk=entry.pk).update(note="edited")
        assert _entry_row(entry.pk) == before

    def test_saving_a_changed_entry_is_refused(self, earned):
        entry = earned["spend"]
        before = _entry_row(entry.pk)
        entry.points = -1
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            entry.save()
        assert _entry_row(entry.pk) == before

    def test_a_raw_sql_update_is_refused(self, earned):
        entry = earned["earn"]
        before = _entry_row(entry.pk)
        table = LedgerEntry._meta.db_table
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET points = points + 1000 WHERE id = %s", [entry.pk])
        assert _entry_row(entry.pk) == before
        assert selectors.ledger_mismatches() == []

    def test_new_entries_can_still_be_added(self, shop, earned):
        services.points_credit(shop=shop, membership_id=earned["member"].pk, points=5,
                               kind=EntryKind.BONUS)
        assert LedgerEntry.objects.filter(membership=earned["member"]).count() == 3
        assert selectors.ledger_mismatches() == []

    @pytest.mark.postgres
    def test_a_delete_is_refused_on_postgresql(self, earned):
        """On SQLite DELETE stays possible by design (the test runner empties tables with
        DELETE): see the docstring of migration 0003."""
        require_service(connection.vendor == "postgresql",
                        "PostgreSQL (DATABASE_URL), for the DELETE trigger")
        entry = earned["spend"]  # no lot points at it: only the trigger can refuse
        table = LedgerEntry._meta.db_table
        with pytest.raises(IntegrityError, match="append-only: DELETE refused"), \
                transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [entry.pk])
        with pytest.raises(IntegrityError, match="append-only: DELETE refused"), \
                transaction.atomic():
            LedgerEntry.objects.filter(pk=entry.pk)._raw_delete(connection.alias)
        assert LedgerEntry.objects.filter(pk=entry.pk).exists()
        assert LedgerEntry.objects.count() == 2


# --- Constraints ---------------------------------------------------------------------------------


class TestLedgerConstraints:
    def test_a_negative_balance_is_refused(self, earned):
        member = earned["member"]
        with pytest.raises(IntegrityError), transaction.atomic():
            Membership.objects.filter(pk=member.pk).update(points_balance=-1)
        member.refresh_from_db()
        assert member.points_balance == 200

    def test_a_write_past_the_service_checks_cannot_make_a_balance_negative(self, earned):
        """The engine's own writer, called without the spendable check: the database refuses
        the balance update and the entry goes with it."""
        member = earned["member"]
        entries = LedgerEntry.objects.count()
        with pytest.raises(IntegrityError), transaction.atomic():
            services.ledger._entry_write(
                membership=Membership.objects.get(pk=member.pk), points=-201,
                kind=EntryKind.REDEMPTION, now=timezone.now())
        assert LedgerEntry.objects.count() == entries
        member.refresh_from_db()
        assert member.points_balance == 200
        assert selectors.ledger_mismatches() == []

    def test_an_entry_idempotency_key_is_unique_per_shop(self, shop, member, other_shop):
        stranger = MembershipFactory(shop=other_shop)
        LedgerEntry.objects.create(shop=shop, membership=member, points=-1,
                                   kind=EntryKind.ADJUSTMENT, idempotency_key="key-1")
        with pytest.raises(IntegrityError), transaction.atomic():
            LedgerEntry.objects.create(shop=shop, membership=member, points=-2,
                                       kind=EntryKind.ADJUSTMENT, idempotency_key="key-1")
        # The same key at another shop, and any number of entries without a key: fine.
        LedgerEntry.objects.create(shop=other_shop, membership=stranger, points=-1,
                                   kind=EntryKind.ADJUSTMENT, idempotency_key="key-1")
        for _ in range(2):
            LedgerEntry.objects.create(shop=shop, membership=member, points=-1,
                                       kind=EntryKind.ADJUSTMENT)
        assert LedgerEntry.objects.filter(idempotency_key="key-1").count() == 2
        assert LedgerEntry.objects.filter(shop=shop).count() == 3

    def test_zero_points_and_unknown_kinds_are_refused(self, shop, member):
        with pytest.raises(IntegrityError), transaction.atomic():
            LedgerEntry.objects.create(shop=shop, membership=member, points=0,
                                       kind=EntryKind.ADJUSTMENT)
        with pytest.raises(IntegrityError), transaction.atomic():
            LedgerEntry.objects.create(shop=shop, membership=member, points=5, kind="gift")
        assert LedgerEntry.objects.count() == 0

    def test_a_lot_never_holds_more_than_it_received(self, earned):
        lot = earned["earn"].lot
        assert (lot.points, lot.remaining) == (270, 200)
        with pytest.raises(IntegrityError), transaction.atomic():
            PointLot.objects.filter(pk=lot.pk).update(remaining=271)
        lot.refresh_from_db()
        assert lot.remaining == 200
        PointLot.objects.filter(pk=lot.pk).update(remaining=270)  # up to its points: allowed
        lot.refresh_from_db()
        assert lot.remaining == 270

    def test_a_new_lot_with_more_remaining_than_points_is_refused(self, shop, member):
        entry = LedgerEntry.objects.create(shop=shop, membership=member, points=10,
                                           kind=EntryKind.BONUS)
        with pytest.raises(IntegrityError), transaction.atomic():
            PointLot.objects.create(membership=member, entry=entry, points=10, remaining=11,
                                    available_at=timezone.now())
        assert not PointLot.objects.filter(entry=entry).exists()

    def test_a_negative_lot_remaining_is_refused(self, earned):
        lot = earned["earn"].lot
        with pytest.raises(IntegrityError), transaction.atomic():
            PointLot.objects.filter(pk=lot.pk).update(remaining=-1)
        lot.refresh_from_db()
        assert lot.remaining == 200


# --- reconcile_ledger ----------------------------------------------------------------------------


def _reconcile(*args):
    out = StringIO()
    call_command("reconcile_ledger", *args, stdout=out)
    return out.getvalue()


class TestReconcileLedger:
    def test_a_consistent_ledger_reconciles(self, shop, earned):
        MembershipFactory(shop=shop)  # no entries at all: 0 = 0 = 0
        output = _reconcile()
        assert "reconcile" in output
        assert "All 2 memberships reconcile." in output
        assert "MISMATCH" not in output

    def test_an_entry_without_its_balance_is_a_mismatch(self, shop, earned):
        member = earned["member"]
        # A row written behind the engine's back: no lot, no balance update.
        LedgerEntry.objects.create(shop=shop, membership=member, points=50,
                                   kind=EntryKind.ADJUSTMENT)
        out = StringIO()
        with pytest.raises(CommandError, match="1 of 1 memberships do not reconcile"):
            call_command("reconcile_ledger", stdout=out)
        assert (f"MISMATCH shop={shop.slug} card={member.card_number} "
                f"balance=200 ledger=250 lots=200") in out.getvalue()
        assert selectors.ledger_mismatches() == [{
            "membership_id": member.pk, "card_number": member.card_number, "shop": shop.slug,
            "balance": 200, "ledger": 250, "lots": 200,
        }]

    def test_lots_that_disagree_are_a_mismatch(self, shop, earned):
        PointLot.objects.filter(pk=earned["earn"].lot.pk).update(remaining=150)
        out = StringIO()
        with pytest.raises(CommandError):
            call_command("reconcile_ledger", stdout=out)
        assert "balance=200 ledger=200 lots=150" in out.getvalue()

    def test_one_shop_only(self, shop, earned, other_shop):
        stranger = MembershipFactory(shop=other_shop)
        services.purchase_record(shop=other_shop, amount="5.00", membership_id=stranger.pk)
        LedgerEntry.objects.create(shop=shop, membership=earned["member"], points=50,
                                   kind=EntryKind.ADJUSTMENT)
        assert "All 1 memberships reconcile." in _reconcile("--shop", other_shop.slug)
        with pytest.raises(CommandError):
            _reconcile("--shop", shop.slug)

    def test_an_unknown_shop_is_an_error(self, db):
        ShopFactory(slug="bestaat-wel")
        with pytest.raises(CommandError, match="No shop with the slug 'bestaat-niet'"):
            _reconcile("--shop", "bestaat-niet")
