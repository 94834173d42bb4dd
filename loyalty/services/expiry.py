"""Points expiry: the terms a lot gets when its points arrive (never retroactive: a lot keeps the
terms it was earned under), the nightly job that writes the ``expiry`` entries, and the
reminders 30 and 7 days before.

A lot expires at the start of a day in the shop's time zone: "N months after earning" is the
local day N months after the local day the points were earned (31 January + 1 month is the end
of February), and never before the day after the points become spendable. "After N months
without a purchase" counts from the later of the card's last purchase and the lot's arrival."""

from __future__ import annotations

import datetime as dt
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
    expires_at = day_start(months_add(local_date(earned_at, zone), rules.expiry_months), zone)
    if expires_at <= available_at:  # pending points: at least their first day to spend them
        expires_at = day_start(local_date(available_at, zone) + dt.timedelta(days=1), zone)
    return expires_at, None


# --- The expiry night ------------------------------------------------------------------------

LOCK_BATCH = 2000  # cards locked and written per transaction


def _lots_due(*, shop: Shop, now: dt.datetime, zone: dt.tzinfo,
              membership_ids=None) -> models.QuerySet:
    """The shop's lots with points left whose terms say they have expired at ``now``."""
    today = local_date(now, zone)
    lots = PointLot.objects.filter(membership__shop=shop, remaining__gt=0)
    if membership_ids is not None:
        lots = lots.filter(membership_id__in=membership_ids)
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
    for start in range(0, len(candidates), LOCK_BATCH):
        batch = candidates[start:start + LOCK_BATCH]
        with transaction.atomic():
            locked = {m.pk: m for m in Membership.objects.select_for_update()
                      .filter(shop=shop, pk__in=batch).order_by("pk").only("pk", "points_balance")}
            # Asked again under the locks: a purchase may have reset a card's clock, a
            # concurrent run may have expired the lots already.
            due = list(_lots_due(shop=shop, now=now, zone=zone, membership_ids=list(locked))
                       .order_by().values_list("pk", "membership_id", "remaining"))
            if not due:
                continue
            lost: dict[int, int] = {}
            for _pk, membership_id, remaining in due:
                lost[membership_id] = lost.get(membership_id, 0) + remaining
            PointLot.objects.filter(pk__in=[row[0] for row in due]).update(remaining=0)
            LedgerEntry.objects.bulk_create([
                LedgerEntry(shop=shop, membership_id=membership_id, points=-amount,
                            kind=EntryKind.EXPIRY)
                for membership_id, amount in lost.items()
            ], batch_size=1000)
            _balances_lower(locked, lost)
            cards += len(lost)
            lots_expired += len(due)
            points += sum(lost.values())
    result = {"shop": shop.pk, "cards": cards, "lots": lots_expired, "points": points,
              "seconds": round(time.monotonic() - started, 3)}
    logger.info("points_expire shop=%(shop)s cards=%(cards)s lots=%(lots)s points=%(points)s "
                "seconds=%(seconds)s", result)
    return result


def _balances_lower(locked: dict[int, Membership], lost: dict[int, int]) -> None:
    """Lower the locked cards' balances by what they lost, in one statement."""
    if connection.vendor == "postgresql":
        balance = sql.column(Membership, "points_balance")
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {sql.table(Membership)} m SET {balance} = m.{balance} - v.points"  # noqa: S608
                f" FROM unnest(%s::bigint[], %s::integer[]) AS v(id, points)"
                f" WHERE m.{sql.column(Membership, 'id')} = v.id",
                [list(lost), list(lost.values())])
        return
    changed = []
    for membership_id, amount in lost.items():
        membership = locked[membership_id]
        membership.points_balance -= amount
        changed.append(membership)
    Membership.objects.bulk_update(changed, ["points_balance"], batch_size=500)


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
