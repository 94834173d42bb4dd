"""The points ledger: locking a card, appending entries, taking points from lots (oldest first) and
moving the cached balance, all in one transaction. Spending, crediting, adjusting, stamp cards
and the sign-up bonus.

Lock order, everywhere: the membership row first, then the purchase row. Every change of points
writes a ledger entry, moves lots and updates the cached balance in one transaction."""

from __future__ import annotations

import datetime as dt
import functools

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import sql
from ..models import (
    ApiKey,
    EntryKind,
    LedgerEntry,
    Membership,
    PointLot,
    Shop,
    User,
)
from ..points import MAX_BALANCE
from ..selectors import digits_only
from .common import DuplicateRequest, field_error, points_display
from .expiry import lot_terms
from .rules import program_rules_current


def _balance_room_check(membership: Membership, points: int) -> None:
    """Refuse points that would take the (locked) card beyond MAX_BALANCE."""
    if points > 0 and membership.points_balance + points > MAX_BALANCE:
        raise field_error("member", _("This card cannot hold more points (at most %(max)s).") % {
            "max": points_display(MAX_BALANCE)}, code="conflict")


def membership_lock(*, shop: Shop, membership_id: int | None = None,
                    card_number: str | None = None) -> Membership:
    """Lock a member's row (found by id or card number) for the rest of the transaction. Every
    change of points starts here, so other apps that check something about a member before
    spending (a per-member limit) lock first too, and the check holds until they commit."""
    by, value = ("id", membership_id) if membership_id is not None else (
        "card_number", digits_only(card_number or ""))
    row = sql.fetch_one(_membership_lock_sql(by), [shop.pk, value])
    membership = sql.columns(Membership, "m").load(row) if row else None
    if membership is None:
        if membership_id is None:
            raise field_error("member", _("No member with this card number."),
                              code="member_not_found")
        raise ValidationError(_("No such member at this shop."), code="not_found")
    membership.shop = shop
    return membership


@functools.cache
def _membership_lock_sql(by: str) -> str:
    # Plain SQL: every earn runs it (loyalty.sql). Both lookups are unique, so no ORDER BY.
    # Identifiers come from the model, values are parameters (hence the noqa).
    return (f"SELECT {sql.columns(Membership, 'm').sql} FROM {sql.table(Membership)} m"  # noqa: S608
            f" WHERE m.shop_id = %s AND m.{sql.column(Membership, by)} = %s{sql.for_update()}")


def _lots_take(*, membership: Membership, points: int, now: dt.datetime,
               spendable_only: bool, first_lot_id: int | None = None) -> int:
    """Take up to ``points`` from the member's lots, oldest first (``first_lot_id`` before all).
    Returns how many were taken. The caller holds the membership's lock."""
    lots = PointLot.objects.filter(membership=membership, remaining__gt=0)
    if spendable_only:
        lots = lots.filter(available_at__lte=now)
    ordered = list(lots.order_by("available_at", "pk").select_for_update())
    if first_lot_id is not None:
        ordered.sort(key=lambda lot: lot.pk != first_lot_id)
    taken = 0
    changed = []
    for lot in ordered:
        if taken == points:
            break
        take = min(lot.remaining, points - taken)
        lot.remaining -= take
        taken += take
        changed.append(lot)
    PointLot.objects.bulk_update(changed, ["remaining"])
    return taken


def _entry_write(*, membership: Membership, points: int, kind: str, now: dt.datetime,
                 available_at: dt.datetime | None = None, entry: LedgerEntry | None = None,
                 terms: tuple[dt.datetime | None, int | None] | None = None,
                 purchased_at: dt.datetime | None = None, **links) -> LedgerEntry:
    """Append an entry (``entry``, or one made of ``links``), add its lot (for points in) and
    move the cached balance. Points out must already have been taken from lots by the caller.

    A lot gets the expiry ``terms`` (``expiry.lot_terms``) of the rules in force; without them
    they are worked out here. ``purchased_at`` (a purchase's points) also moves the card's
    last purchase, the clock of expiry after months without one."""
    # Plain SQL (loyalty.sql): every earn runs this. On PostgreSQL the entry, its lot and the
    # balance are one statement (one round trip instead of three).
    _balance_room_check(membership, points)
    if entry is None:
        entry = LedgerEntry(
            shop_id=membership.shop_id, membership=membership, points=points, kind=kind, **links
        )
    available_at = available_at or now
    if points > 0 and terms is None:
        terms = lot_terms(rules=program_rules_current(shop=membership.shop),
                          time_zone=membership.shop.time_zone, earned_at=now,
                          available_at=available_at)
    bought = purchased_at is not None
    balance_params = [points, purchased_at, membership.pk] if bought else [points, membership.pk]
    if points > 0 and sql.chains_writes():
        row = sql.fetch_one(_entry_lot_balance_sql(bought), [
            *sql.values(entry), *_lot_values(membership, points, available_at, terms),
            *balance_params,
        ])
        membership.points_balance, entry.pk = row
        entry._state.adding, entry._state.db = False, "default"
        if bought:
            membership.last_purchase_at = purchased_at
        return entry
    sql.insert(entry)
    if points > 0:
        sql.insert_row(PointLot, membership_id=membership.pk, entry_id=entry.pk, points=points,
                       remaining=points, available_at=available_at, expires_at=terms[0],
                       inactivity_months=terms[1])
    row = sql.fetch_one(_balance_move_sql(bought), balance_params)
    membership.points_balance = row[0] if row else membership.points_balance + points
    if bought:
        membership.last_purchase_at = purchased_at
    return entry


_LOT_ENTRY_INDEX = [f.name for f in PointLot._meta.local_concrete_fields
                    if f is not PointLot._meta.auto_field].index("entry")
_NO_TERMS = (None, None)


def _lot_values(membership: Membership, points: int, available_at: dt.datetime,
                terms: tuple[dt.datetime | None, int | None] = _NO_TERMS) -> list:
    """The values of a new lot but its entry's id, which the statement takes from its entry."""
    values = sql.row_values(PointLot, membership_id=membership.pk, entry_id=None, points=points,
                            remaining=points, available_at=available_at, expires_at=terms[0],
                            inactivity_months=terms[1])
    del values[_LOT_ENTRY_INDEX]
    return values


@functools.cache
def _entry_lot_balance_sql(bought: bool = False) -> str:
    """PostgreSQL: append the entry, add its lot with the entry's new id, move the balance;
    returns the balance and the entry's id."""
    return (f"WITH e AS ({sql.insert_sql(LedgerEntry)}),"  # noqa: S608 (identifiers only)
            f"{_lot_balance_sql(bought)}, (SELECT id FROM e)")


@functools.cache
def _lot_balance_sql(bought: bool = False) -> str:
    """The end of both statements above: the lot of entry ``e`` (its values but the entry as
    parameters), then the balance (points, [last purchase,] membership id), returning the new
    balance."""
    lot_columns = list(sql.insert_columns(PointLot))
    entry_column = lot_columns.pop(_LOT_ENTRY_INDEX)
    return (
        f" l AS (INSERT INTO {sql.table(PointLot)} ({entry_column}, {', '.join(lot_columns)})"  # noqa: S608
        f" SELECT e.id, {', '.join(['%s'] * len(lot_columns))} FROM e)"
        f" {_balance_update_sql(bought)} RETURNING {sql.column(Membership, 'points_balance')}"
    )


def _balance_update_sql(bought: bool) -> str:
    """UPDATE the card's balance by %s (and its last purchase to %s when ``bought``)."""
    balance = sql.column(Membership, "points_balance")
    last = f", {sql.column(Membership, 'last_purchase_at')} = %s" if bought else ""
    return (f"UPDATE {sql.table(Membership)} SET {balance} = {balance} + %s{last}"  # noqa: S608
            f" WHERE {sql.column(Membership, 'id')} = %s")


@functools.cache
def _balance_move_sql(bought: bool = False) -> str:
    balance = sql.column(Membership, "points_balance")
    returning = (f" RETURNING {balance}"
                 if transaction.get_connection().features.can_return_columns_from_insert else "")
    return _balance_update_sql(bought) + returning


def membership_spendable_points(*, membership: Membership, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    return PointLot.objects.filter(
        membership=membership, remaining__gt=0, available_at__lte=now
    ).aggregate(total=models.Sum("remaining"))["total"] or 0


def points_spend(
    *,
    shop: Shop,
    membership_id: int,
    points: int,
    kind: str = EntryKind.REDEMPTION,
    reference: str = "",
    note: str = "",
    customer_note: str = "",
    actor_user: User | None = None,
    actor_api_key: ApiKey | None = None,
    idempotency_key: str | None = None,
) -> LedgerEntry:
    """Take ``points`` of the member's spendable points (oldest first): a redemption, a
    negative adjustment. Refuses more than the spendable balance, and changes nothing then."""
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise ValidationError({"points": [_("Enter a whole number of points above zero.")]})
    now = timezone.now()
    with transaction.atomic():
        membership = membership_lock(shop=shop, membership_id=membership_id)
        spendable = membership_spendable_points(membership=membership, now=now)
        if points > spendable:
            raise field_error("points", _(
                "Not enough points: %(spendable)s can be spent, %(points)s asked."
            ) % {"spendable": spendable, "points": points}, code="insufficient_points")
        taken = _lots_take(membership=membership, points=points, now=now, spendable_only=True)
        assert taken == points  # noqa: S101 - guaranteed by the spendable check under the lock
        return _entry_write(
            membership=membership, points=-points, kind=kind, now=now, reference=reference,
            note=note, customer_note=customer_note, actor_user=actor_user,
            actor_api_key=actor_api_key, idempotency_key=idempotency_key,
        )


def points_credit(
    *,
    shop: Shop,
    membership_id: int,
    points: int,
    kind: str,
    reference: str = "",
    note: str = "",
    customer_note: str = "",
    reverses: LedgerEntry | None = None,
    actor_user: User | None = None,
    actor_api_key: ApiKey | None = None,
    idempotency_key: str | None = None,
) -> LedgerEntry | None:
    """Give points (a bonus, an adjustment, points returned). With an idempotency key it
    happens once: a repeat returns None and changes nothing."""
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise ValidationError({"points": [_("Enter a whole number of points above zero.")]})
    now = timezone.now()
    try:
        with transaction.atomic():
            membership = membership_lock(shop=shop, membership_id=membership_id)
            return _entry_write(
                membership=membership, points=points, kind=kind, now=now, reference=reference,
                note=note, customer_note=customer_note, reverses=reverses, actor_user=actor_user,
                actor_api_key=actor_api_key, idempotency_key=idempotency_key,
            )
    except IntegrityError:
        if idempotency_key and LedgerEntry.objects.filter(
            shop=shop, idempotency_key=idempotency_key
        ).exists():
            return None
        raise


def points_credit_locked(*, membership: Membership, points: int, kind: str,
                         available_at: dt.datetime | None = None,
                         terms: tuple[dt.datetime | None, int | None] | None = None,
                         **links) -> LedgerEntry:
    """Give points to a card the caller has locked in its transaction already (an effect of a
    moment that holds the card's lock: a badge's bonus at a purchase). No second lock and no
    savepoint; ``membership`` (the locked row's object) keeps its balance up to date. Pending
    until ``available_at`` (like a purchase's points), with the lot's expiry ``terms``."""
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise ValidationError({"points": [_("Enter a whole number of points above zero.")]})
    return _entry_write(membership=membership, points=points, kind=kind, now=timezone.now(),
                        available_at=available_at, terms=terms, **links)


def points_take_back_locked(*, membership: Membership, entry: LedgerEntry,
                            **links) -> LedgerEntry | None:
    """Take back a credit ``entry`` on a card the caller has locked: a reversal entry pointing at
    it, its points taken from the entry's own lot first, then the oldest (pending or not); what
    the card no longer holds stays spent. Returns None when nothing could be taken."""
    own_lot = PointLot.objects.filter(entry=entry).values_list("pk", flat=True).first()
    now = timezone.now()
    taken = _lots_take(membership=membership, points=entry.points, now=now,
                       spendable_only=False, first_lot_id=own_lot)
    if not taken:
        return None
    return _entry_write(membership=membership, points=-taken, kind=EntryKind.REVERSAL, now=now,
                        reverses=entry, **links)


def points_adjust(*, shop: Shop, membership_id: int, points: int, reason: str,
                  by: User, customer_note: str = "") -> LedgerEntry:
    """An owner's correction, up or down. The reason is recorded for the shop (the customer
    never sees it); the customer is told ``customer_note``, or "Adjustment by the shop"."""
    reason = (reason or "").strip()
    customer_note = (customer_note or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = [_("Say why the points are adjusted.")]
    elif len(reason) > 200:
        errors["reason"] = [_("Keep the reason to 200 characters.")]
    if len(customer_note) > 200:
        errors["customer_note"] = [_("Keep the note for the customer to 200 characters.")]
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        errors["points"] = [_("Enter a whole number of points, not zero.")]
    if errors:
        raise ValidationError(errors)
    if points > 0:
        return points_credit(shop=shop, membership_id=membership_id, points=points,
                             kind=EntryKind.ADJUSTMENT, note=reason,
                             customer_note=customer_note, actor_user=by)
    return points_spend(shop=shop, membership_id=membership_id, points=-points,
                        kind=EntryKind.ADJUSTMENT, note=reason, customer_note=customer_note,
                        actor_user=by)


def stamp_card_redeem(*, shop: Shop, membership_id: int, by: User | None,
                      idempotency_key: str | None = None) -> LedgerEntry:
    """Hand out a full stamp card's reward: its stamps (``stamps_per_card`` points) come off the
    card as one redemption, with the reward as its note. Refuses a card that is not full, and a
    shop whose program is not a stamp card. With an idempotency key (the counter's form token)
    it happens once: a repeat raises DuplicateRequest with the entry of the first."""
    rules = program_rules_current(shop=shop)
    if not rules.is_stamp_card or not rules.stamps_per_card:
        raise ValidationError(_("This shop's program is not a stamp card."), code="not_allowed")
    try:
        with transaction.atomic():
            membership = membership_lock(shop=shop, membership_id=membership_id)
            done = idempotency_key and LedgerEntry.objects.filter(
                shop=shop, membership=membership, idempotency_key=idempotency_key).first()
            if done:
                raise DuplicateRequest(done)  # a double tap: the card is emptier by now
            spendable = membership_spendable_points(membership=membership)
            if spendable < rules.stamps_per_card:
                raise ValidationError(_(
                    "The card is not full yet: %(filled)s of %(total)s stamps."
                ) % {"filled": points_display(max(spendable, 0)),
                     "total": points_display(rules.stamps_per_card)}, code="not_full")
            return points_spend(
                shop=shop, membership_id=membership.pk, points=rules.stamps_per_card,
                kind=EntryKind.REDEMPTION, reference="stamp-card",
                note=rules.stamp_reward or _("Full stamp card"), actor_user=by,
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        existing = idempotency_key and LedgerEntry.objects.filter(
            shop=shop, idempotency_key=idempotency_key).first()
        if not existing:
            raise
        raise DuplicateRequest(existing) from None


def signup_bonus_award(*, membership: Membership) -> LedgerEntry | None:
    """The shop's sign-up bonus, once per membership."""
    rules = program_rules_current(shop=membership.shop)
    if rules.signup_bonus <= 0:
        return None
    return points_credit(
        shop=membership.shop, membership_id=membership.pk, points=rules.signup_bonus,
        kind=EntryKind.SIGNUP_BONUS, idempotency_key=f"signup:{membership.pk}",
    )
