"""Purchases: recording one (the earn, the hot path), its effects named in settings, refunds and
the counter's undo."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import moments, sql
from ..localdays import shop_zone
from ..models import (
    ApiKey,
    EntryKind,
    LedgerEntry,
    Membership,
    Purchase,
    PurchaseItem,
    Refund,
    Shop,
    User,
)
from ..points import (
    MAX_POINTS_PER_PURCHASE,
    points_for_purchase,
)
from ..selectors import UNDO_WINDOW
from .common import DuplicateRequest, money_display, money_parse, points_display
from .expiry import lot_terms
from .ledger import (
    _balance_move_sql,
    _balance_room_check,
    _entry_write,
    _lot_balance_sql,
    _lot_values,
    _lots_take,
    membership_lock,
)
from .rules import program_rules_current

_ENTRY_PURCHASE_INDEX = [f.name for f in LedgerEntry._meta.local_concrete_fields
                         if f is not LedgerEntry._meta.auto_field].index("purchase")


def _purchase_earn_write(*, purchase: Purchase, membership: Membership, points: int,
                         available_at: dt.datetime, entry: dict, terms: tuple,
                         now: dt.datetime, items: list[PurchaseItem]) -> None:
    """PostgreSQL, a purchase that earns points: insert the purchase, its earn entry (of the
    ``entry`` attributes) and the entry's lot (with its expiry ``terms``) and move the balance
    and the card's last purchase (``now``) in one statement — the earn's one round trip
    between locking the card and storing the API's answer. The same statement reads what the
    effects ask of it (settings.TROUW_EARN_READS: ``purchase.earn_reads``). Fills in the
    purchase's id and the new balance. The entry and the lot get no model instances: nothing
    reads them afterwards, and the earn is the hot path."""
    _balance_room_check(membership, points)
    entry_values = sql.row_values(LedgerEntry, **entry, purchase_id=None)
    del entry_values[_ENTRY_PURCHASE_INDEX]  # the purchase's new id
    purchase_values = sql.values(purchase)  # sets its created_at, the effects' moment
    reads, read_sql, read_params = [], [], []
    for path, read in moments.earn_reads():
        asked = read(purchase=purchase, membership=membership, now=purchase.created_at,
                     items=items)
        if asked is not None:
            reads.append(path)
            read_sql.append(asked[0])
            read_params += asked[1]
    row = sql.fetch_one(_purchase_entry_lot_balance_sql(tuple(read_sql)), [
        *purchase_values, *entry_values,
        *_lot_values(membership, points, available_at, terms), points, now, membership.pk,
        *read_params,
    ])
    membership.points_balance, purchase.pk, _entry_id = row[:3]
    purchase.earn_reads = dict(zip(reads, row[3:], strict=True))
    membership.last_purchase_at = now
    purchase._state.adding, purchase._state.db = False, "default"


@functools.cache
def _purchase_entry_lot_balance_sql(reads: tuple[str, ...] = ()) -> str:
    """PostgreSQL: insert the purchase, its entry with the purchase's new id, the entry's lot,
    move the balance; returns the balance, the purchase's id and the entry's, then the value
    of each of ``reads`` (scalar subqueries, which see ``p`` and ``e``)."""
    entry_columns = list(sql.insert_columns(LedgerEntry))
    purchase_column = entry_columns.pop(_ENTRY_PURCHASE_INDEX)
    purchase_returns = ", ".join(sql.column(Purchase, name) for name in (
        "created_at", "amount", "refunded_amount"))
    return (
        f"WITH p AS ({sql.insert_sql(Purchase)}, {purchase_returns}),"  # noqa: S608 (identifiers only)
        f" e AS (INSERT INTO {sql.table(LedgerEntry)} ({purchase_column},"
        f" {', '.join(entry_columns)}) SELECT p.id, {', '.join(['%s'] * len(entry_columns))}"
        f" FROM p RETURNING id, {sql.column(LedgerEntry, 'points')}),"
        f"{_lot_balance_sql(True)}, (SELECT id FROM p), (SELECT id FROM e)"
        + "".join(f", ({read})" for read in reads)
    )


def _items_clean(items) -> list[PurchaseItem]:
    cleaned = []
    for index, item in enumerate(items or [], start=1):
        if not isinstance(item, dict):
            raise ValidationError({"items": [_("Line %(n)s is not valid.") % {"n": index}]})
        name = str(item.get("name") or "").strip()
        if not name or len(name) > 200:
            raise ValidationError({"items": [_("Line %(n)s needs a name.") % {"n": index}]})
        try:
            quantity = Decimal(str(item.get("quantity", 1)))
            if not quantity.is_finite() or quantity <= 0 or quantity > 100000 or (
                quantity.as_tuple().exponent < -3
            ):
                raise InvalidOperation
        except InvalidOperation:
            raise ValidationError({"items": [_("Line %(n)s: the quantity must be above zero.") % {
                "n": index}]}) from None
        unit_price = money_parse(item.get("unit_price"), field="items", allow_zero=True)
        cleaned.append(PurchaseItem(
            sku=str(item.get("sku") or "")[:64], name=name,
            category=str(item.get("category") or "")[:100], quantity=quantity,
            unit_price=unit_price,
        ))
    return cleaned


def _category_amounts(item_rows: list[PurchaseItem]) -> dict[str, Decimal]:
    """What the lines of each product category add up to (for events limited to some)."""
    amounts: dict[str, Decimal] = {}
    for row in item_rows:
        if row.category:
            amounts[row.category] = (amounts.get(row.category, Decimal(0))
                                     + row.quantity * row.unit_price)
    return amounts


def purchase_record(
    *,
    shop: Shop,
    amount,
    currency: str | None = None,
    membership_id: int | None = None,
    card_number: str | None = None,
    reference: str = "",
    items=(),
    recorded_by: User | None = None,
    api_key: ApiKey | None = None,
    idempotency_key: str | None = None,
    in_transaction: bool = False,
    extras: dict | None = None,
) -> Purchase:
    """Record a purchase and credit its points to the member's card (by id or card number; with
    neither, a sale without a card).

    Raises ValidationError for bad input (nothing written) and DuplicateRequest when the
    idempotency key was used before for this shop. ``extras`` is what the caller asks of
    other apps for this purchase (e.g. the charity app's round-up, ``{"round_up": True}``):
    the core neither reads nor stores it, and hands it to the effects as ``purchase.extras``
    (an effect refuses what it cannot do with a ValidationError, which undoes the purchase).
    With ``in_transaction=True`` the caller
    runs this inside its own transaction and handles a duplicate itself: no savepoint is
    made, and a duplicate key surfaces as the IntegrityError that breaks that transaction
    (the API's ``idempotent()`` rolls back and replays the stored answer)."""
    amount = money_parse(amount)
    currency = (currency or shop.currency).upper()
    if currency != shop.currency:
        raise ValidationError({"currency": [_(
            "This shop works in %(currency)s, not %(given)s."
        ) % {"currency": shop.currency, "given": currency}]}, code="invalid")
    reference = (reference or "").strip()
    if len(reference) > 64:
        raise ValidationError(
            {"reference": [_("The receipt number may be 64 characters at most.")]}
        )
    item_rows = _items_clean(items)
    now = timezone.now()
    try:
        with transaction.atomic(savepoint=not in_transaction):
            membership = None
            if membership_id is not None or card_number not in (None, ""):
                membership = membership_lock(shop=shop, membership_id=membership_id,
                                             card_number=card_number)
            rules = program_rules_current(shop=shop)
            points, detail = 0, {}
            # A shop that gives to charity instead of points (Shop.earns_points, loaded with
            # the shop) earns none: the purchase still counts, and its effects still run.
            if membership is not None and shop.earns_points:
                # The rules' points, the card's level multiplier and the bonus-point events
                # on now, on the shop's clock (loyalty.points.points_for_purchase).
                points, detail = points_for_purchase(
                    rules=rules, amount=amount,
                    at_local=now.astimezone(shop_zone(shop.time_zone))
                    if rules.bonus_events else None,
                    level_name=membership.level_name,
                    level_multiplier=membership.level_multiplier,
                    category_amounts=_category_amounts(item_rows))
            if points > MAX_POINTS_PER_PURCHASE:
                raise ValidationError({"amount": [_(
                    "This purchase would earn more than %(max)s points, the most one purchase "
                    "may earn. Set a cap or lower the rate in the earn rules."
                ) % {"max": points_display(MAX_POINTS_PER_PURCHASE)}]}, code="invalid")
            available_at = now + dt.timedelta(days=rules.pending_days)
            purchase = Purchase(
                shop=shop, membership=membership, amount=amount, currency=currency,
                reference=reference, rules=rules, points_earned=points, earn_detail=detail,
                points_available_at=available_at, recorded_by=recorded_by, api_key=api_key,
                idempotency_key=idempotency_key,
            )
            purchase.earn_reads = {}  # filled by the earn's statement (TROUW_EARN_READS)
            earn = None
            if membership is not None and points > 0:
                earn = {
                    "shop_id": shop.pk, "membership_id": membership.pk, "points": points,
                    "kind": EntryKind.EARN,
                    "actor_user_id": recorded_by.pk if recorded_by else None,
                    "actor_api_key_id": api_key.pk if api_key else None,
                    "idempotency_key": (f"purchase:{idempotency_key}" if idempotency_key
                                        else None),
                }
            if earn is not None:
                terms = lot_terms(rules=rules, time_zone=shop.time_zone, earned_at=now,
                                  available_at=available_at)
            if earn is not None and sql.chains_writes():
                _purchase_earn_write(purchase=purchase, membership=membership, points=points,
                                     available_at=available_at, entry=earn, terms=terms,
                                     now=now, items=item_rows)
            else:
                sql.insert(purchase)
                if earn is not None:
                    _entry_write(membership=membership, points=points, kind=EntryKind.EARN,
                                 now=now, available_at=available_at, terms=terms,
                                 purchased_at=now,
                                 entry=LedgerEntry(**earn, purchase_id=purchase.pk))
                elif membership is not None:  # a purchase that earns nothing still counts
                    sql.fetch_one(_balance_move_sql(True), [0, now, membership.pk])
                    membership.last_purchase_at = now
            if item_rows:
                for row in item_rows:
                    row.purchase = purchase
                PurchaseItem.objects.bulk_create(item_rows)
            # What a purchase does in other apps (settings.TROUW_EFFECTS["purchase"]), in its
            # transaction. An effect may add to ``purchase.news`` what to tell the customer
            # ({"kind": "level_up" | "badge", "text": …}): the counter and the API show it.
            purchase.news = []
            purchase.extras = dict(extras or {})
            for effect in purchase_effects():
                effect(purchase=purchase)
    except IntegrityError:
        if idempotency_key is None or in_transaction:
            raise
        existing = Purchase.objects.filter(shop=shop, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        raise DuplicateRequest(existing) from None
    return purchase


def purchase_effects():
    """The functions named for the purchase moment in settings.TROUW_EFFECTS, in order."""
    return moments.effects("purchase")


def purchase_refund(
    *,
    shop: Shop,
    purchase_id: int,
    amount,
    reason: str = "",
    recorded_by: User | None = None,
    api_key: ApiKey | None = None,
    idempotency_key: str | None = None,
) -> Refund:
    """Give back money on a purchase and take back the proportional points. Points already
    spent cannot be taken: the balance stops at zero and the rest is the refund's shortfall."""
    amount = money_parse(amount)
    reason = (reason or "").strip()[:200]
    now = timezone.now()
    found = Purchase.objects.filter(shop=shop, pk=purchase_id).values("membership_id").first()
    if found is None:
        raise ValidationError(_("No such purchase at this shop."), code="not_found")
    try:
        with transaction.atomic():
            membership = None
            if found["membership_id"] is not None:
                membership = membership_lock(shop=shop, membership_id=found["membership_id"])
            purchase = Purchase.objects.select_for_update(of=("self",)).get(pk=purchase_id)
            if idempotency_key is not None:
                existing = purchase.refunds.filter(idempotency_key=idempotency_key).first()
                if existing is not None:  # a retry of a refund that went through
                    raise DuplicateRequest(existing)
            refundable = purchase.amount - purchase.refunded_amount
            if amount > refundable:
                raise ValidationError({"amount": [_(
                    "At most %(amount)s %(currency)s of this purchase can still be refunded."
                ) % {"amount": money_display(refundable), "currency": purchase.currency}]},
                    code="invalid")
            refunded_after = purchase.refunded_amount + amount
            # Cumulative, so partial refunds add up to exactly the points earned.
            due_after = int(purchase.points_earned * refunded_after / purchase.amount)
            settled = purchase.refunds.aggregate(
                total=models.Sum(models.F("points_reversed") + models.F("points_shortfall"))
            )["total"] or 0
            to_reverse = max(due_after - settled, 0)
            taken = 0
            earn_entry = None
            if membership is not None and to_reverse > 0:
                earn_entry = purchase.entries.filter(kind=EntryKind.EARN).first()
                own_lot_id = getattr(getattr(earn_entry, "lot", None), "pk", None)
                taken = _lots_take(membership=membership, points=to_reverse, now=now,
                                   spendable_only=False, first_lot_id=own_lot_id)
            refund = Refund.objects.create(
                purchase=purchase, amount=amount, points_reversed=taken,
                points_shortfall=to_reverse - taken, reason=reason, recorded_by=recorded_by,
                api_key=api_key, idempotency_key=idempotency_key,
            )
            Purchase.objects.filter(pk=purchase.pk).update(refunded_amount=refunded_after)
            if taken:
                _entry_write(
                    membership=membership, points=-taken, kind=EntryKind.REVERSAL, now=now,
                    purchase=purchase, refund=refund, reverses=earn_entry, note=reason,
                    actor_user=recorded_by, actor_api_key=api_key,
                    idempotency_key=f"refund:{purchase.pk}:{idempotency_key}"
                    if idempotency_key else None,
                )
            # What a refund does in other apps (settings.TROUW_EFFECTS["refund"]), in its
            # transaction: an effect that raises undoes the refund. An effect may add to
            # ``refund.news`` what to tell the customer (the counter's undo shows it).
            refund.news = []
            moments.announce("refund", refund=refund)
    except IntegrityError:
        if idempotency_key is None:
            raise
        existing = Refund.objects.filter(purchase_id=purchase_id,
                                         idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        raise DuplicateRequest(existing) from None
    return refund


def _undo_key(purchase_id: int) -> str:
    return f"undo:{purchase_id}"


def refund_is_undo(refund: Refund) -> bool:
    """Whether ``refund`` is the counter's undo of its purchase (``purchase_undo``: the money
    went back because the purchase was a mistake), for the refund's effects (the charity gives
    the round-up back on an undo only). Stored with the refund: its idempotency key."""
    return refund.idempotency_key == _undo_key(refund.purchase_id)


def purchase_undo(*, shop: Shop, purchase_id: int, reason: str, by: User) -> Refund:
    """The counter's undo: a full refund of a purchase made in the last 10 minutes."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the purchase is undone.")]})
    purchase = Purchase.objects.filter(shop=shop, pk=purchase_id).first()
    if purchase is None:
        raise ValidationError(_("No such purchase at this shop."), code="not_found")
    if timezone.now() - purchase.created_at > UNDO_WINDOW:
        raise ValidationError(_("A purchase can be undone within 10 minutes only. "
                                "Record a refund instead."))
    already = ValidationError(_("This purchase has been (partly) refunded already."))
    if purchase.refunded_amount > 0:
        raise already
    try:
        return purchase_refund(shop=shop, purchase_id=purchase.pk, amount=purchase.amount,
                               reason=_("Undone at the counter: %(reason)s") % {"reason": reason},
                               recorded_by=by, idempotency_key=_undo_key(purchase.pk))
    except DuplicateRequest:
        raise already from None  # undone at the same moment from another screen
