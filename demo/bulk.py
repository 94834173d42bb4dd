"""Purchases written in bulk, as the points engine would have written them one by one: the
purchase, and for one that earns, its ``earn`` entry and the entry's lot. The cached balances
are set from the ledger afterwards (``balances_from_ledger``), so ``reconcile_ledger`` passes.

Used by seed_demo (a large shop fast) and load_demo (a year of a shop's purchases). Purchase
effects of other apps (``TROUW_EFFECTS["purchase"]``) do not run for these purchases."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db.models import OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from loyalty.models import EntryKind, LedgerEntry, Membership, PointLot, Purchase, Shop

TIMESTAMPS = (Membership, "joined_at"), (Purchase, "created_at"), (LedgerEntry, "created_at")


def timestamp_fields():
    """The ``auto_now_add`` fields that bulk inserts set themselves (see
    ``clock.explicit_timestamps``)."""
    return [model._meta.get_field(name) for model, name in TIMESTAMPS]


def pks(model, created) -> list[int]:
    """Primary keys of bulk-created rows (PostgreSQL and SQLite 3.35+ return them)."""
    if all(obj.pk is not None for obj in created):
        return [obj.pk for obj in created]
    raise CommandError(f"{model.__name__}: this database does not return ids from bulk "
                       "inserts; use PostgreSQL or SQLite 3.35+.")


def purchases_write(purchases: list[Purchase]) -> int:
    """Insert ``purchases`` (their ``points_earned`` and ``points_available_at`` set as the
    engine sets them) with the earn entry and lot of each that earns, the entry made by whoever
    recorded the purchase and at its time. Call it inside ``explicit_timestamps``. Returns how
    many earned points."""
    earning = [purchase for purchase in Purchase.objects.bulk_create(purchases)
               if purchase.membership_id is not None and purchase.points_earned > 0]
    pks(Purchase, earning)
    entries = LedgerEntry.objects.bulk_create([
        LedgerEntry(shop_id=purchase.shop_id, membership_id=purchase.membership_id,
                    points=purchase.points_earned, kind=EntryKind.EARN, purchase_id=purchase.pk,
                    actor_user_id=purchase.recorded_by_id, actor_api_key_id=purchase.api_key_id,
                    created_at=purchase.created_at)
        for purchase in earning
    ])
    pks(LedgerEntry, entries)
    PointLot.objects.bulk_create([
        PointLot(membership_id=entry.membership_id, entry_id=entry.pk, points=entry.points,
                 remaining=entry.points, available_at=purchase.points_available_at)
        for entry, purchase in zip(entries, earning, strict=True)
    ])
    return len(entries)


def balances_from_ledger(shop: Shop) -> None:
    """Each member's cached balance is the sum of their ledger entries."""
    ledger_sum = (
        LedgerEntry.objects.filter(membership=OuterRef("pk"))
        .order_by().values("membership").annotate(total=Sum("points")).values("total")
    )
    Membership.objects.filter(shop=shop).update(
        points_balance=Coalesce(Subquery(ledger_sum), Value(0))
    )
