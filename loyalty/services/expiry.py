"""Points expiry: the terms a lot gets when its points arrive (never retroactive: a lot keeps the
terms it was earned under), the nightly job that writes the ``expiry`` entries, and the
reminders 30 and 7 days before.

A lot expires at the start of a day in the shop's time zone: "N months after earning" is the
local day N months after the local day the points were earned (31 January + 1 month is the end
of February), and never before the day after the points become spendable. "After N months
without a purchase" counts from the later of the card's last purchase and the lot's arrival."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time

from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from .. import selectors, sql
from ..localdays import (
    day_start,
    inactivity_boundary,
    local_date,
    months_add,
    shop_zone,
)
from ..models import (
    EntryKind,
    ExpiryPolicy,
    LedgerEntry,
    Membership,
    PointLot,
    ProgramRules,
    Shop,
)
from .outbox import outbox_write_many

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1024)
def _expiry_start(time_zone: str, earned_on: dt.date, months: int) -> dt.datetime:
    """The start of the local day ``months`` after ``earned_on``: the same for every earn of a
    shop's day, so the hot path works it out once."""
    return day_start(months_add(earned_on, months), shop_zone(time_zone))


def lot_terms(*, rules: ProgramRules, time_zone: str, earned_at: dt.datetime,
              available_at: dt.datetime) -> tuple[dt.datetime | None, int | None]:
    """The expiry terms of points arriving now under ``rules``: ``(expires_at,
    inactivity_months)``, to be stored on the lot. Every writer of a lot calls this (the earn,
    bonuses, birthday points), so a lot always carries the terms in force when it arrived.

    - never: ``(None, None)``;
    - N months after earning: the start of the local day N months after the earning day, but
      never before the start of the day after the points become spendable;
    - N months without a purchase: ``(None, N)`` (the clock is the card's, see the job)."""
    policy = rules.expiry_policy
    if policy == ExpiryPolicy.NEVER or not rules.expiry_months:
        return None, None
    if policy == ExpiryPolicy.INACTIVITY:
        return None, rules.expiry_months
    zone = shop_zone(time_zone)
    expires_at = _expiry_start(time_zone, local_date(earned_at, zone), rules.expiry_months)
    if expires_at <= available_at:  # pending points: at least their first day to spend them
        expires_at = day_start(local_date(available_at, zone) + dt.timedelta(days=1), zone)
    return expires_at, None


# --- The expiry night ------------------------------------------------------------------------

LOCK_BATCH = 5000  # cards locked and written per transaction


def _lots_due(*, shop: Shop, now: dt.datetime, zone: dt.tzinfo,
              membership_range: tuple[int, int] | None = None) -> models.QuerySet:
    """The shop's lots with points left whose terms say they have expired at ``now`` (of the
    cards with ids in ``membership_range``, both ends included)."""
    today = local_date(now, zone)
    lots = PointLot.objects.filter(membership__shop=shop, remaining__gt=0)
    if membership_range is not None:
        lots = lots.filter(membership_id__gte=membership_range[0],
                           membership_id__lte=membership_range[1])
    due = Q(expires_at__isnull=False, expires_at__lte=now)
    months_in_use = (lots.filter(inactivity_months__isnull=False)
                     .values_list("inactivity_months", flat=True).distinct().order_by())
    for months in months_in_use:
        boundary = inactivity_boundary(months=months, today=today, zone=zone)
        due |= Q(inactivity_months=months, available_at__lt=boundary) & (
            Q(membership__last_purchase_at__isnull=True)
            | Q(membership__last_purchase_at__lt=boundary))
    return lots.filter(due)


def points_expire_shop(*, shop: Shop, now: dt.datetime | None = None) -> dict:
    """Expire the shop's lots whose terms have run out: each lot's remaining points go to 0,
    each card gets one ``expiry`` entry of what it lost, and its balance moves — in the same
    transaction, under the card's row lock, a batch of cards at a time. Spent points are never
    touched. Running twice expires once: under the lock only lots with points left are taken,
    and the first run left none."""
    now = now or timezone.now()
    zone = shop_zone(shop.time_zone)
    started = time.monotonic()
    candidates = sorted(set(_lots_due(shop=shop, now=now, zone=zone).order_by()
                            .values_list("membership_id", flat=True)))
    cards = lots_expired = points = 0
    expire_batch = (_batch_expire_one_statement if sql.chains_writes() else _batch_expire_steps)
    for start in range(0, len(candidates), LOCK_BATCH):
        # A range of card ids (not a list of thousands of parameters): every card of the shop
        # in it is locked, so every due lot in it belongs to a locked card.
        first, last = candidates[start], candidates[min(start + LOCK_BATCH, len(candidates)) - 1]
        with transaction.atomic():
            list(Membership.objects.select_for_update().filter(shop=shop, pk__gte=first,
                                                               pk__lte=last)
                 .order_by("pk").values_list("pk", flat=True))
            # Asked again under the locks: a purchase may have reset a card's clock, a
            # concurrent run may have expired the lots already.
            due = _lots_due(shop=shop, now=now, zone=zone,
                            membership_range=(first, last)).order_by()
            batch_cards, batch_lots, batch_points = expire_batch(shop=shop, due=due, now=now)
        cards += batch_cards
        lots_expired += batch_lots
        points += batch_points
    result = {"shop": shop.pk, "cards": cards, "lots": lots_expired, "points": points,
              "seconds": round(time.monotonic() - started, 3)}
    logger.info("points_expire shop=%(shop)s cards=%(cards)s lots=%(lots)s points=%(points)s "
                "seconds=%(seconds)s", result)
    return result


def _batch_expire_steps(*, shop: Shop, due: models.QuerySet,
                        now: dt.datetime) -> tuple[int, int, int]:
    """Expire the ``due`` lots of locked cards (SQLite, and the reference the one-statement
    path must equal): lots to 0, one entry per card, the balances. Returns (cards, lots,
    points)."""
    rows = list(due.values_list("pk", "membership_id", "remaining"))
    if not rows:
        return 0, 0, 0
    lost: dict[int, int] = {}
    for _pk, membership_id, remaining in rows:
        lost[membership_id] = lost.get(membership_id, 0) + remaining
    PointLot.objects.filter(pk__in=[row[0] for row in rows]).update(remaining=0)
    LedgerEntry.objects.bulk_create([
        LedgerEntry(shop=shop, membership_id=membership_id, points=-amount,
                    kind=EntryKind.EXPIRY)
        for membership_id, amount in lost.items()
    ], batch_size=500)
    changed = list(Membership.objects.filter(pk__in=list(lost)).only("pk", "points_balance"))
    for membership in changed:
        membership.points_balance -= lost[membership.pk]
    Membership.objects.bulk_update(changed, ["points_balance"], batch_size=500)
    return len(lost), len(rows), sum(lost.values())


def _batch_expire_one_statement(*, shop: Shop, due: models.QuerySet,
                                now: dt.datetime) -> tuple[int, int, int]:
    """PostgreSQL: the same as _batch_expire_steps in one statement (lots to 0 with their old
    remaining returned, the per-card sums, the entries, the balances): no rows travel to Python
    and back. Returns (cards, lots, points)."""
    due_sql, due_params = due.values("pk", "membership_id", "remaining").query.sql_with_params()
    entry_sql, entry_params = _expiry_entries_sql(shop=shop)
    lot, member = sql.table(PointLot), sql.table(Membership)
    remaining, balance = sql.column(PointLot, "remaining"), sql.column(Membership, "points_balance")
    statement = (
        f"WITH d (id, membership_id, remaining) AS ({due_sql} FOR UPDATE OF {lot}),"  # noqa: S608
        f" z AS (UPDATE {lot} SET {remaining} = 0 FROM d WHERE {lot}.id = d.id"
        f" RETURNING d.membership_id, d.remaining),"
        f" per AS (SELECT membership_id, sum(remaining)::integer AS points FROM z"
        f" GROUP BY membership_id),"
        f" e AS ({entry_sql}),"
        f" b AS (UPDATE {member} m SET {balance} = m.{balance} - per.points FROM per"
        f" WHERE m.id = per.membership_id)"
        f" SELECT (SELECT count(*) FROM per), (SELECT count(*) FROM z),"
        f" (SELECT coalesce(sum(points), 0) FROM per)"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*due_params, *entry_params])
        cards, lots, points = cursor.fetchone()
    return cards, lots, int(points)


def _expiry_entries_sql(*, shop: Shop) -> tuple[str, list]:
    """INSERT of one expiry entry per row of ``per`` (membership_id, points), every other
    column as the model gives it (defaults; ``created_at``: when it is written)."""
    columns = sql.insert_columns(LedgerEntry)
    values = sql.row_values(LedgerEntry, shop_id=shop.pk, membership_id=None, points=0,
                            kind=EntryKind.EXPIRY)
    names = [f.attname for f in LedgerEntry._meta.local_concrete_fields
             if f is not LedgerEntry._meta.auto_field and not f.generated]
    select, params = [], []
    for name, value in zip(names, values, strict=True):
        if name == "membership_id":
            select.append("per.membership_id")
        elif name == "points":
            select.append("-per.points")
        else:
            select.append("%s")
            params.append(value)
    return (f"INSERT INTO {sql.table(LedgerEntry)} ({', '.join(columns)})"  # noqa: S608
            f" SELECT {', '.join(select)} FROM per", params)


def points_expire(*, now: dt.datetime | None = None, shop_ids=None) -> list[dict]:
    """The hourly run over all shops (or ``shop_ids``): each shop's lots are expired as its own
    local day says. Lots expire at the start of a local day, so the first run after a shop's
    midnight does that night's work and later runs that day find nothing; a missed night is
    caught up by the next run."""
    now = now or timezone.now()
    shops = Shop.objects.order_by("pk")
    if shop_ids is not None:
        shops = shops.filter(pk__in=shop_ids)
    return [points_expire_shop(shop=shop, now=now) for shop in shops]


# --- Reminders --------------------------------------------------------------------------------

REMINDER_DAYS = (30, 7)
REMINDER_HOUR = 9  # written from 09:00 local time: nobody wants a reminder at midnight
REMINDER_KIND = "points_expiring"


def points_expiring_remind_shop(*, shop: Shop, now: dt.datetime | None = None) -> dict:
    """Write the day's reminders of the shop: one e-mail per card and expiry day, 30 days
    before and 7 days before (a day missed is caught up: a batch 30 to 8 days away gets the
    first, 7 days or fewer the second). The outbox's unique key (card, day, 30 or 7) writes
    each once, whatever runs twice; a marketing kind, so only members with consent get it."""
    now = now or timezone.now()
    started = time.monotonic()
    zone = shop_zone(shop.time_zone)
    local = now.astimezone(zone)
    result = {"shop": shop.pk, "reminders": 0, "seconds": 0.0}
    if local.hour < REMINDER_HOUR:
        return result
    today = local.date()
    batches = selectors.points_expiring_batches(shop=shop, now=now, days=max(REMINDER_DAYS))
    members = {m.pk: m for m in Membership.objects.filter(
        shop=shop, pk__in={membership_id for membership_id, _day in batches},
        marketing_consent=True).exclude(email="")}
    messages = []
    for (membership_id, day), points in sorted(batches.items()):
        member = members.get(membership_id)
        if member is None:
            continue
        ahead = (day - today).days
        before = min(days for days in REMINDER_DAYS if days >= ahead)
        messages.append({
            "key": f"{REMINDER_KIND}:{membership_id}:{day.isoformat()}:{before}",
            "to": member.email, "language": member.language, "membership": member,
            "context": {"expires_on": day.isoformat(), "points": points, "before": before},
        })
    with transaction.atomic():
        result["reminders"] = outbox_write_many(shop=shop, kind=REMINDER_KIND,
                                                messages=messages)
    result["seconds"] = round(time.monotonic() - started, 3)
    logger.info("points_expiring_remind shop=%(shop)s reminders=%(reminders)s "
                "seconds=%(seconds)s", result)
    return result


def points_expiring_remind(*, now: dt.datetime | None = None, shop_ids=None) -> list[dict]:
    """The hourly run over all shops: each writes its reminders once its local day has reached
    REMINDER_HOUR (the outbox's keys make the later runs of the day write nothing)."""
    now = now or timezone.now()
    shops = Shop.objects.order_by("pk")
    if shop_ids is not None:
        shops = shops.filter(pk__in=shop_ids)
    return [points_expiring_remind_shop(shop=shop, now=now) for shop in shops]
