"""Reads for levels: a shop's level program (kept a few seconds per process, so a purchase
in a shop without levels costs no query), the qualifying measure of a card or of a whole shop
(one aggregate query each), the level a measure earns, and the progress to the next level."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from loyalty.kept import KeptPerShop
from loyalty.localdays import day_start, local_date, months_add, shop_zone
from loyalty.models import EntryKind, LedgerEntry, Membership, Purchase, Shop
from loyalty.sql import fetch_one, table
from loyalty.templatetags.trouw import money, points

from .models import LevelChange, Measure, Period, Tier, TierProgram, TierState

RECENT_LEVEL_UP = dt.timedelta(days=7)  # "You reached Zilver!" shows this long on the portal


@dataclass(frozen=True)
class TierView:
    """A tier as the engine reads it: ``rank`` is its place by threshold, 1 for the lowest."""

    id: int
    name: str
    colour: str
    threshold: Decimal
    multiplier: Decimal
    perks: str
    rank: int
    birthday_points: int | None = None  # None: the shop's usual birthday points


@dataclass(frozen=True)
class ProgramView:
    enabled: bool
    measure: str
    period: str
    downgrade: str
    grace_days: int
    tiers: tuple[TierView, ...]

    def tier_of_rank(self, rank: int) -> TierView | None:
        return self.tiers[rank - 1] if 0 < rank <= len(self.tiers) else None


# --- The program, kept per process ---------------------------------------------------------


def program_forget(*, shop: Shop) -> None:
    """Drop this process's copy of the shop's program (after it changed)."""
    _programs.forget(shop)


def program_forget_all() -> None:
    _programs.forget_all()


def program_load(*, shop: Shop) -> ProgramView | None:
    """The shop's level program and its tiers from the database (two queries), or None."""
    row = TierProgram.objects.filter(shop=shop).first()
    if row is None:
        return None
    tiers = tuple(
        TierView(id=t.pk, name=t.name, colour=t.colour, threshold=t.threshold,
                 multiplier=t.multiplier, perks=t.perks, rank=rank,
                 birthday_points=t.birthday_points)
        for rank, t in enumerate(Tier.objects.for_shop(shop).order_by("threshold"), start=1))
    return ProgramView(enabled=row.enabled, measure=row.measure, period=row.period,
                       downgrade=row.downgrade, grace_days=row.grace_days, tiers=tiers)


_programs: KeptPerShop[ProgramView | None] = KeptPerShop(program_load)


def program_for(*, shop: Shop) -> ProgramView | None:
    """The shop's level program as this process last read it: at most
    ``TROUW_API_KEY_CACHE_SECONDS`` old (the same promise as for the earn rules, which the
    API key cache keeps as long); a change in this process is seen at once."""
    return _programs.get(shop)


def program_active(*, shop: Shop) -> ProgramView | None:
    """The program when the shop's levels are on and it has at least one tier, else None.
    Off (the shop row's ``levels_enabled``, loaded with the shop): no query at all."""
    if not shop.levels_enabled:
        return None
    program = program_for(shop=shop)
    if program is None or not program.enabled or not program.tiers:
        return None
    return program


# --- Periods and measures ---------------------------------------------------------------------


def period_start(*, period: str, now: dt.datetime, zone) -> dt.datetime | None:
    """Where the qualifying period that contains ``now`` begins (UTC), on the shop's clock:
    None for lifetime; the local 1 January; or the local midnight after the same day 12 months
    ago (the last 12 months, today included)."""
    today = local_date(now, zone)
    if period == Period.YEAR:
        return day_start(dt.date(today.year, 1, 1), zone)
    if period == Period.ROLLING:
        return day_start(months_add(today, -12) + dt.timedelta(days=1), zone)
    return None


def review_window(*, period: str, day: dt.date, zone) -> tuple[dt.datetime | None, dt.datetime]:
    """The measure's window at a re-evaluation on local ``day``: the calendar year just
    ended, the 12 months before the day, or everything before it."""
    end = day_start(day, zone)
    if period == Period.YEAR:
        return day_start(dt.date(day.year - 1, 1, 1), zone), end
    if period == Period.ROLLING:
        return day_start(months_add(day, -12), zone), end
    return None, end


def holds_until(*, period: str, reached: dt.date) -> dt.date:
    """The local day a level reached on ``reached`` is first re-evaluated: a level reached this
    calendar year holds through next year; otherwise its anniversary."""
    if period == Period.YEAR:
        return dt.date(reached.year + 2, 1, 1)
    return months_add(reached, 12)


def _points_counted() -> Q:
    # Points earned: purchases, bonuses and badges' bonus points, less what refunds took back
    # (a refund's reversals and a badge taken back both point at their purchase). Spending,
    # expiry and adjustments do not count (spending points never costs a level).
    return (Q(kind__in=[EntryKind.EARN, EntryKind.BONUS, EntryKind.BADGE])
            | Q(kind=EntryKind.REVERSAL, purchase__isnull=False))


def _measure_queryset(*, measure: str, shop: Shop, start, end, zone):
    if measure == Measure.POINTS:
        rows = LedgerEntry.objects.filter(_points_counted(), shop=shop)
    else:
        rows = Purchase.objects.filter(shop=shop, membership__isnull=False)
        if measure == Measure.VISITS:  # a purchase undone or refunded in full is no visit
            rows = rows.filter(refunded_amount__lt=F("amount"))
    if start is not None:
        rows = rows.filter(created_at__gte=start)
    if end is not None:
        rows = rows.filter(created_at__lt=end)
    return rows


def _measure_expression(measure: str, zone):
    if measure == Measure.POINTS:
        return Sum("points")
    if measure == Measure.AMOUNT:
        return Sum(ExpressionWrapper(F("amount") - F("refunded_amount"),
                                     output_field=DecimalField(max_digits=14, decimal_places=2)))
    return Count(TruncDate("created_at", tzinfo=zone), distinct=True)


def _as_decimal(value) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


@functools.cache
def _measure_sql(measure: str, start: bool, end: bool, vendor: str,
                 in_earn: bool = False) -> str:
    """The card's measure as one plain statement, built once per shape: the ORM's aggregate
    cost the earn more CPU than PostgreSQL spent running it (docs/benchmarks.md, session 8).
    Amounts are summed in whole cents (exact on SQLite too); visits are the distinct local days
    of the purchases not refunded in full. Parameters: the time zone's (visits), the card, the
    shop, then ``start`` and ``end`` where given. ``in_earn``: read inside the earn's own
    statement (settings.TROUW_EARN_READS), which does not see what it writes: the new
    purchase ``p`` and its earn entry ``e`` are added (both within any period: they are now)."""
    if measure == Measure.POINTS:
        counted = ", ".join(f"'{kind}'" for kind in (EntryKind.EARN, EntryKind.BONUS,
                                                       EntryKind.BADGE))
        total = "COALESCE(SUM(points), 0)"
        if in_earn:
            total += " + (SELECT e.points FROM e)"
        sql = (f"SELECT {total} FROM {table(LedgerEntry)}"  # noqa: S608
               f" WHERE membership_id = %s AND shop_id = %s AND (kind IN ({counted})"
               f" OR (kind = '{EntryKind.REVERSAL}' AND purchase_id IS NOT NULL))")
    elif measure == Measure.AMOUNT:
        cents = "CAST(ROUND((amount - refunded_amount) * 100) AS BIGINT)"
        total = f"COALESCE(SUM({cents}), 0)"
        if in_earn:
            total += f" + (SELECT {cents} FROM p)"  # noqa: S608
        sql = (f"SELECT {total} FROM {table(Purchase)}"  # noqa: S608
               " WHERE membership_id = %s AND shop_id = %s")
    else:
        day, _params = connection.ops.datetime_cast_date_sql("created_at", (), "zone")
        card = "membership_id = %s AND shop_id = %s"
        source = f"{table(Purchase)} WHERE {card}"
        if in_earn:
            source = ("(SELECT created_at, amount, refunded_amount"  # noqa: S608
                      f" FROM {source} UNION ALL SELECT n.created_at, n.amount,"
                      " n.refunded_amount FROM p n) v WHERE TRUE")
        sql = (f"SELECT COUNT(DISTINCT {day}) FROM {source}"  # noqa: S608
               " AND refunded_amount < amount")
    if start:
        sql += " AND created_at >= %s"
    if end:
        sql += " AND created_at < %s"
    return sql


def membership_measure(*, membership: Membership, shop: Shop, measure: str,
                       start: dt.datetime | None, end: dt.datetime | None = None) -> Decimal:
    """The card's qualifying measure between ``start`` and ``end``: one aggregate statement on
    the card's own rows (the ledger's ``entry_member_idx``, the purchases' card index); visits
    are the distinct local days of its purchases. The same figure as ``shop_measures`` gives
    for the card (a test holds the two together)."""
    sql, params = measure_statement(membership=membership, shop=shop, measure=measure,
                                    start=start, end=end)
    return measure_value(measure, fetch_one(sql, params)[0])


def measure_statement(*, membership: Membership, shop: Shop, measure: str,
                      start: dt.datetime | None, end: dt.datetime | None = None,
                      in_earn: bool = False) -> tuple[str, list]:
    """``membership_measure``'s statement and parameters (one integer: points, cents or
    visits), for a caller that reads it with other rows in one round trip (the badges);
    ``in_earn``: the shape read inside the earn's own statement (``_measure_sql``)."""
    sql = _measure_sql(measure, start is not None, end is not None, connection.vendor,
                       in_earn)
    params: list = [membership.pk, shop.pk]
    if measure == Measure.VISITS:
        _day, zone_params = connection.ops.datetime_cast_date_sql("", (), shop.time_zone)
        params = [*zone_params, *params]
    for moment in (start, end):
        if moment is not None:
            params.append(connection.ops.adapt_datetimefield_value(moment))
    return sql, params


def measure_value(measure: str, value) -> Decimal:
    """The measure of the statement's integer."""
    if measure == Measure.AMOUNT:
        return Decimal(int(value or 0)).scaleb(-2)  # cents to the amount, two decimals
    return Decimal(int(value or 0))


def shop_measures(*, shop: Shop, measure: str, start: dt.datetime | None,
                  end: dt.datetime | None = None) -> dict[int, Decimal]:
    """Every card's measure at once (one grouped query): card id → measure."""
    zone = shop_zone(shop.time_zone)
    rows = _measure_queryset(measure=measure, shop=shop, start=start, end=end, zone=zone)
    return {row["membership_id"]: _as_decimal(row["value"])
            for row in rows.values("membership_id").order_by()
            .annotate(value=_measure_expression(measure, zone))}


def tier_for_measure(tiers, value: Decimal):
    """The highest tier whose threshold ``value`` reaches (exactly at it counts), or None.
    ``tiers`` are ordered by threshold."""
    earned = None
    for tier in tiers:
        if value >= tier.threshold:
            earned = tier
        else:
            break
    return earned


# --- What members and staff see ---------------------------------------------------------------


def measure_left_words(*, measure: str, left: Decimal, currency: str) -> str:
    """What is left, in the member's terms: "€42.50 more", "320 points more", "3 visits more"."""
    if measure == Measure.AMOUNT:
        return _("%(amount)s more") % {"amount": money(left, currency)}
    count = int(left)
    if measure == Measure.VISITS:
        return ngettext("%(count)s visit more", "%(count)s visits more", count) % {
            "count": points(count)}
    return ngettext("%(count)s point more", "%(count)s points more", count) % {
        "count": points(count)}


def measure_words(*, measure: str, value: Decimal, currency: str) -> str:
    if measure == Measure.AMOUNT:
        return money(value, currency)
    count = int(value)
    if measure == Measure.VISITS:
        return ngettext("%(count)s visit", "%(count)s visits", count) % {"count": points(count)}
    return ngettext("%(count)s point", "%(count)s points", count) % {"count": points(count)}


def _percent(value: Decimal, low: Decimal, high: Decimal) -> int:
    if high <= low:
        return 100
    share = (value - low) / (high - low) * 100
    return max(0, min(100, int(share)))


def _progress(*, program: ProgramView, rank: int, value: Decimal, currency: str) -> dict | None:
    """From the card's level (``rank``) and its measure ``value`` to the next level:
    {"next_level", "left", "percent"}, or None at the top."""
    current = program.tier_of_rank(rank)
    following = program.tier_of_rank(rank + 1)
    if following is None:
        return None
    left = max(following.threshold - value, Decimal(0))
    low = current.threshold if current else Decimal(0)
    return {
        "next_level": following.name,
        "left": measure_left_words(measure=program.measure, left=left, currency=currency),
        "percent": _percent(value, low, following.threshold),
    }


def level_overview(*, membership: Membership, now: dt.datetime | None = None,
                   with_state: bool = True) -> dict | None:
    """Everything the portal and the counter say about a card's level, or None when the shop
    has no levels on: the tiers, the current one, the measure now, the next tier and what is
    left to it (words and percent), when the level is re-evaluated and what keeps it."""
    shop = membership.shop
    program = program_active(shop=shop)
    if program is None:
        return None
    now = now or timezone.now()
    zone = shop_zone(shop.time_zone)
    value = membership_measure(membership=membership, shop=shop, measure=program.measure,
                               start=period_start(period=program.period, now=now, zone=zone))
    current = program.tier_of_rank(membership.level_rank)
    following = program.tier_of_rank(membership.level_rank + 1)
    overview = {
        "program": program, "tiers": program.tiers, "current": current, "measure": value,
        "measure_words": measure_words(measure=program.measure, value=value,
                                       currency=shop.currency),
        "next": following, "progress": None, "keep": None, "recent": None, "state": None,
    }
    overview["progress"] = _progress(program=program, rank=membership.level_rank, value=value,
                                     currency=shop.currency)
    if not with_state:  # the progress alone: one query
        return overview
    state = TierState.objects.filter(membership=membership).first()
    overview["state"] = state
    if state is not None and current is not None:
        if state.reached_at and now - state.reached_at <= RECENT_LEVEL_UP and (
                state.tier_id == current.id):
            overview["recent"] = current
        if state.override_until:
            overview["keep"] = {"until": state.override_until, "left": None, "manual": True}
        elif state.holds_until:
            keep = {"until": state.holds_until, "left": None, "manual": False}
            today = local_date(now, zone)
            # Only the last period before the date counts towards keeping the level.
            counts_now = program.period != Period.YEAR or today.year == state.holds_until.year - 1
            left = current.threshold - value
            if counts_now and left > 0:
                keep["left"] = measure_left_words(measure=program.measure, left=left,
                                                  currency=shop.currency)
            overview["keep"] = keep
    return overview


def level_progress(*, membership: Membership) -> dict | None:
    """For the members API (settings.TROUW_LEVEL_PROGRESS): how far the card is from the next
    level — {"next_level", "left", "percent"} — or None (no levels, or at the top)."""
    overview = level_overview(membership=membership, with_state=False)
    return overview["progress"] if overview else None


def level_progress_many(*, shop: Shop, memberships, now: dt.datetime | None = None,
                        ) -> dict[int, dict | None]:
    """For the members API (settings.TROUW_LEVEL_PROGRESS): ``level_progress`` of each of the
    shop's ``memberships`` at once — card id → progress or None — with one aggregate query
    grouped by card (the page's cards only), whatever their number; none without levels."""
    memberships = list(memberships)
    program = program_active(shop=shop)
    if program is None or not memberships:
        return {membership.pk: None for membership in memberships}
    now = now or timezone.now()
    zone = shop_zone(shop.time_zone)
    start = period_start(period=program.period, now=now, zone=zone)
    climbing = [m.pk for m in memberships if program.tier_of_rank(m.level_rank + 1)]
    values = {}
    if climbing:  # at the top level there is nothing to measure
        rows = _measure_queryset(measure=program.measure, shop=shop, start=start, end=None,
                                 zone=zone).filter(membership_id__in=climbing)
        values = {row["membership_id"]: _as_decimal(row["value"])
                  for row in rows.values("membership_id").order_by()
                  .annotate(value=_measure_expression(program.measure, zone))}
    return {m.pk: _progress(program=program, rank=m.level_rank,
                            value=values.get(m.pk, Decimal(0)), currency=shop.currency)
            for m in memberships}


def keep_sentence(keep: dict | None) -> str:
    if not keep:
        return ""
    day = date_format(keep["until"], "j F Y")
    if keep["manual"]:
        return _("Your level is set until %(date)s.") % {"date": day}
    if keep["left"]:
        return _("Your level ends on %(date)s unless you earn %(left)s.") % {
            "date": day, "left": keep["left"]}
    return _("Your level holds until at least %(date)s.") % {"date": day}


def level_names(*, shop: Shop) -> dict[int, str]:
    """The shop's levels by rank (settings.TROUW_LEVEL_NAMES, for the rewards app)."""
    program = program_for(shop=shop)
    return {tier.rank: tier.name for tier in program.tiers} if program else {}


def birthday_points_by_level(*, shop: Shop) -> dict[int, int]:
    """The levels' own birthday points by rank (settings.TROUW_BIRTHDAY_POINTS_BY_LEVEL, for
    the core's birthday job and its words): only the levels that set them; empty when the shop
    has no levels on."""
    program = program_active(shop=shop)
    if program is None:
        return {}
    return {tier.rank: tier.birthday_points for tier in program.tiers
            if tier.birthday_points is not None}


def level_changes_for(*, membership: Membership):
    return LevelChange.objects.filter(membership=membership).order_by("-created_at", "-pk")


def tiers_for_shop(*, shop: Shop):
    return Tier.objects.for_shop(shop).order_by("threshold")


def program_row_for(*, shop: Shop) -> TierProgram | None:
    return TierProgram.objects.filter(shop=shop).first()


def members_per_tier(*, shop: Shop) -> dict[str, int]:
    """How many cards hold each level (by the level's name on the card)."""
    return {row["level_name"]: row["n"] for row in
            Membership.objects.filter(shop=shop).exclude(level_name="")
            .values("level_name").order_by().annotate(n=Count("pk"))}
