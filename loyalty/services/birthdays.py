"""Birthday gifts: each shop gives its members' birthday gifts from 06:00 in the shop's own time
zone, on the day, some days before, at the start of the birthday week or of the birthday month
(the program rules), exactly once per member and year.

Exactly once is held by the database: ``BirthdayGift`` is unique on (membership, year), where the
year is the year of the birthday being celebrated. A batch is one transaction: lock the batch's
cards (in id order), insert its gift rows skipping those that exist (``ON CONFLICT DO NOTHING
RETURNING``), and only for the rows really inserted write the ledger entries, their lots and the
balances, then announce the ``birthday`` moment (other apps add a voucher) and write the e-mails
to the outbox. A second run, a retried task or a run after a worker was killed half-way gives
nothing twice: a committed batch's rows are there, an interrupted batch left nothing.

Rules of the day: Feb 29 birthdays are celebrated on Feb 28 in other years; a birthday set or
changed less than ``TROUW_BIRTHDAY_NOTICE_DAYS`` before it falls counts from the next year, and
no gift comes within 365 days of the last one (a changed birthday earns no second gift); a run
after missed days gives the gifts of up to 7 days back, no older ones."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import moments, sql
from ..localdays import day_start, shop_zone
from ..models import (
    BirthdayGift,
    BirthdayWindow,
    EntryKind,
    LedgerEntry,
    Membership,
    PointLot,
    ProgramRules,
    Shop,
)
from ..points import MAX_BALANCE
from .common import points_display
from .expiry import lot_terms
from .outbox import outbox_write_many
from .rules import program_rules_current

logger = logging.getLogger(__name__)

GIFT_HOUR = 6  # gifts of the day are given from 06:00 in the shop's time zone
CATCH_UP_DAYS = 7  # a run after missed days gives the gifts of up to this many days back
GIFT_GAP_DAYS = 365  # no second gift within this many days of the last one
# Far enough ahead to find every birthday whose gift is due today: a month window gives on the
# 1st the birthdays up to the 31st, "before" at most 31 days ahead (the rules' limit).
_LOOK_AHEAD_DAYS = 62


def birthday_in_year(birthday: dt.date, year: int) -> dt.date:
    """The day ``birthday`` is celebrated in ``year``: Feb 29 is Feb 28 in other years."""
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return birthday.replace(year=year)


def birthday_gift_date(*, rules: ProgramRules, celebrated: dt.date) -> dt.date:
    """The day the gift of a birthday celebrated on ``celebrated`` arrives, under ``rules``:
    the day itself, N days before, the Monday of its week, or the 1st of its month."""
    if rules.birthday_window == BirthdayWindow.DAYS_BEFORE:
        return celebrated - dt.timedelta(days=rules.birthday_days_before)
    if rules.birthday_window == BirthdayWindow.WEEK:
        return celebrated - dt.timedelta(days=celebrated.weekday())
    if rules.birthday_window == BirthdayWindow.MONTH:
        return celebrated.replace(day=1)
    return celebrated


def _gift_lead_days(rules: ProgramRules) -> int:
    """How many days before a birthday its gift can arrive under ``rules``, at most."""
    return {BirthdayWindow.DAYS_BEFORE: rules.birthday_days_before, BirthdayWindow.WEEK: 6,
            BirthdayWindow.MONTH: 30}.get(rules.birthday_window, 0)


def _mark_holds(rules: ProgramRules) -> bool:
    """Whether the days up to a completed run's mark can be left out of the next run: true
    when a birthday entered after its gift day (so after the run that gave that day) always
    falls within the notice days and counts from next year — the notice is longer than the
    window lets a gift come before the birthday. Otherwise every run looks at the whole
    catch-up window."""
    return _gift_lead_days(rules) < settings.TROUW_BIRTHDAY_NOTICE_DAYS


def shop_local_now(*, shop: Shop, now: dt.datetime | None = None) -> dt.datetime:
    """The time on the shop's clock (its time zone), summer time included."""
    return (now or timezone.now()).astimezone(shop_zone(shop.time_zone))


def birthday_counts_from(*, shop: Shop, birthday: dt.date, set_at: dt.datetime | None = None,
                         rules: ProgramRules | None = None) -> dt.date:
    """The first birthday (the day it is celebrated) that a birthday entered at ``set_at``
    earns a gift for: this year's, unless it falls less than the notice days after
    ``set_at`` (or has passed), then next year's. What the member is told when entering it."""
    today = shop_local_now(shop=shop, now=set_at).date()
    notice = dt.timedelta(days=settings.TROUW_BIRTHDAY_NOTICE_DAYS)
    for year in (today.year, today.year + 1, today.year + 2):
        celebrated = birthday_in_year(birthday, year)
        if celebrated - notice >= today:
            return celebrated
    raise AssertionError("unreachable: two years ahead is always far enough")  # noqa: S101


def birthday_gift_extras_words(*, shop: Shop) -> list[str]:
    """What other apps add to the shop's birthday gift, in words (settings'
    ``TROUW_BIRTHDAY_GIFT_EXTRAS``): e.g. ["a voucher for a free coffee"]."""
    words = []
    for path in settings.TROUW_BIRTHDAY_GIFT_EXTRAS:
        text = import_string(path)(shop=shop)
        if text:
            words.append(str(text))
    return words


def birthday_points_by_level(*, shop: Shop) -> dict[int, int]:
    """The birthday points of the levels that give their own ({level rank: points}), from the
    app named in ``TROUW_BIRTHDAY_POINTS_BY_LEVEL`` (tiers); empty without levels (a shop
    without levels on costs no query)."""
    path = getattr(settings, "TROUW_BIRTHDAY_POINTS_BY_LEVEL", None)
    if not path or not shop.levels_enabled:
        return {}
    return dict(import_string(path)(shop=shop) or {})


def birthday_points_for(*, rules: ProgramRules, by_level: dict[int, int],
                        level_rank: int | None) -> int:
    """A card's birthday points: its level's own (``by_level``), else the shop's."""
    return by_level.get(level_rank or 0, rules.birthday_points)


def _points_words(*, rules: ProgramRules, points: int) -> str:
    if rules.is_stamp_card:
        return ngettext("%(points)s stamp", "%(points)s stamps", points) % {
            "points": points_display(points)}
    return ngettext("%(points)s point", "%(points)s points", points) % {
        "points": points_display(points)}


def birthday_gift_words(*, shop: Shop, rules: ProgramRules | None = None,
                        level_rank: int | None = None) -> str | None:
    """What a member gets on their birthday, in words ("250 points and a voucher for a free
    coffee"), or None when the shop gives no birthday gift. With ``level_rank``, what a card
    at that level gets (its level's own birthday points, when it has them)."""
    rules = rules or program_rules_current(shop=shop)
    by_level = birthday_points_by_level(shop=shop) if level_rank else {}
    points = birthday_points_for(rules=rules, by_level=by_level, level_rank=level_rank)
    parts = []
    if points:
        parts.append(_points_words(rules=rules, points=points))
    parts.extend(birthday_gift_extras_words(shop=shop))
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return _("%(first)s and %(last)s") % {"first": ", ".join(parts[:-1]), "last": parts[-1]}


def birthday_gift_sentence(*, shop: Shop, rules: ProgramRules | None = None) -> str:
    """The owner's sentence of what members get and when: "Members get 250 points from 7 days
    before their birthday, from 06:00."."""
    rules = rules or program_rules_current(shop=shop)
    gift = birthday_gift_words(shop=shop, rules=rules)
    if gift is None and any(birthday_points_by_level(shop=shop).values()):
        gift = _("their level's birthday points")
    if gift is None:
        return _("Members get no birthday gift.")
    if rules.birthday_window == BirthdayWindow.DAYS_BEFORE:
        return ngettext(
            "Members get %(gift)s from %(days)s day before their birthday, from 06:00.",
            "Members get %(gift)s from %(days)s days before their birthday, from 06:00.",
            rules.birthday_days_before) % {"gift": gift, "days": rules.birthday_days_before}
    if rules.birthday_window == BirthdayWindow.WEEK:
        return _("Members get %(gift)s on the Monday of their birthday week, from 06:00.") % {
            "gift": gift}
    if rules.birthday_window == BirthdayWindow.MONTH:
        return _("Members get %(gift)s on the first day of their birthday month, from "
                 "06:00.") % {"gift": gift}
    return _("Members get %(gift)s on their birthday, from 06:00.") % {"gift": gift}


def birthday_gift_by_level_lines(*, shop: Shop, rules: ProgramRules | None = None) -> list[str]:
    """The levels that give their own birthday points, in words, lowest first: ["Goud: 500
    points on their birthday", "Brons: no birthday points"]. Empty without such levels."""
    by_level = birthday_points_by_level(shop=shop)
    if not by_level:
        return []
    rules = rules or program_rules_current(shop=shop)
    path = getattr(settings, "TROUW_LEVEL_NAMES", None)
    names = import_string(path)(shop=shop) if path else {}
    lines = []
    for rank, points in sorted(by_level.items()):
        name = names.get(rank) or _("Level %(rank)s") % {"rank": rank}
        if points:
            lines.append(_("%(level)s: %(gift)s on their birthday") % {
                "level": name, "gift": _points_words(rules=rules, points=points)})
        else:
            lines.append(_("%(level)s: no birthday points") % {"level": name})
    return lines


# --- The job ---------------------------------------------------------------------------------


@dataclass
class BirthdayRun:
    """What one run did for a shop."""

    shop_id: int
    local_date: dt.date
    due: int = 0  # members found with a gift due
    given: int = 0  # gifts written by this run
    points: int = 0
    emails: int = 0
    seconds: float = 0.0


def _due_celebrations(*, rules: ProgramRules, through: dt.date,
                      since: dt.date | None = None) -> list[dt.date]:
    """The birthdays (days celebrated) whose gift falls in the catch-up window ending
    ``through``: from ``CATCH_UP_DAYS`` back (or from ``since``, when later) up to and
    including ``through``."""
    first = through - dt.timedelta(days=CATCH_UP_DAYS)
    if since is not None and since > first:
        first = since
    if first > through:
        return []
    days = []
    for offset in range(-CATCH_UP_DAYS - 1, _LOOK_AHEAD_DAYS):
        celebrated = through + dt.timedelta(days=offset)
        if first <= birthday_gift_date(rules=rules, celebrated=celebrated) <= through:
            days.append(celebrated)
    return days


def birthdays_due(*, shop: Shop, rules: ProgramRules, through: dt.date,
                  since: dt.date | None = None, who: Q | None = None) -> list[tuple[int, dt.date]]:
    """(membership id, day celebrated) of every member whose gift is due by ``through`` (the
    shop's local date; with ``since``, on that day or later) and not given: one indexed query
    (the index on shop, month(birthday), day(birthday)), in id order. ``who`` narrows it to
    the cards that get a gift at all (by their level)."""
    celebrations = _due_celebrations(rules=rules, through=through, since=since)
    if not celebrations:
        return []
    zone = shop_zone(shop.time_zone)
    notice = settings.TROUW_BIRTHDAY_NOTICE_DAYS
    match = Q()
    for celebrated in celebrations:
        days = [celebrated.day]
        if celebrated.month == 2 and celebrated.day == 28 and not calendar.isleap(celebrated.year):
            days.append(29)
        # Set or changed at least ``notice`` days before it falls: before the local midnight
        # that starts the day ``notice - 1`` days before it.
        cutoff = day_start(celebrated - dt.timedelta(days=notice - 1), zone)
        match |= (Q(birthday__month=celebrated.month, birthday__day__in=days)
                  & (Q(birthday_set_at__isnull=True) | Q(birthday_set_at__lt=cutoff)))
    last_gift = (BirthdayGift.objects.filter(membership=OuterRef("pk"))
                 .order_by("-birthday").values("birthday")[:1])
    rows = (Membership.objects.filter(shop=shop, birthday__isnull=False).filter(match)
            .filter(who or Q())
            .annotate(last_gift=Subquery(last_gift))
            .values_list("pk", "birthday", "last_gift").order_by("pk"))
    wanted = set(celebrations)
    years = sorted({day.year for day in celebrations})
    due = []
    for pk, birthday, last in rows:
        for year in years:
            celebrated = birthday_in_year(birthday, year)
            if celebrated not in wanted:
                continue
            # One gift a year, and none within 365 days of the last (a changed birthday).
            if last is None or (celebrated - last).days >= GIFT_GAP_DAYS:
                due.append((pk, celebrated))
            break
    return due


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _in(ids) -> tuple[str, list]:
    """``IN`` a list of ids: on PostgreSQL one array parameter (``= ANY(%s)``: a statement of a
    thousand placeholders costs the driver more than the database), elsewhere a list."""
    ids = list(ids)
    if connection.vendor == "postgresql":
        return "= ANY(%s)", [ids]
    return f"IN ({', '.join(['%s'] * len(ids))})", ids


def _execute(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _gifts_insert(*, shop: Shop, rows: list[tuple[int, int, dt.date, int]],
                  now: dt.datetime) -> dict[int, int]:
    """Insert (membership id, year, day celebrated, points) gift rows, skipping those the
    database has (unique membership + year). Returns {membership id: new gift id} of the rows
    really inserted. The same statement on PostgreSQL and SQLite (3.35+)."""
    if not rows:
        return {}
    columns = ["shop_id", "membership_id", "year", "birthday", "points", "extras", "given_at"]
    extras = BirthdayGift._meta.get_field("extras").get_db_prep_save([], connection)
    given_at = BirthdayGift._meta.get_field("given_at").get_db_prep_save(now, connection)
    birthday_field = BirthdayGift._meta.get_field("birthday")
    if connection.vendor == "postgresql":
        # One array per column (unnest): five parameters instead of seven per row.
        members, years, days, points = (list(column) for column in zip(*rows, strict=True))
        source = ("SELECT %s, m, y, d, p, %s, %s FROM unnest(%s::bigint[], %s::int[],"
                  " %s::date[], %s::int[]) AS r(m, y, d, p)")
        params = [shop.pk, extras, given_at, members, years, days, points]
    else:
        params = []
        for membership_id, year, celebrated, points in rows:
            params.extend([shop.pk, membership_id, year,
                           birthday_field.get_db_prep_save(celebrated, connection), points,
                           extras, given_at])
        source = "VALUES " + ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    sql = (f"INSERT INTO {_q(BirthdayGift._meta.db_table)}"  # noqa: S608 (identifiers only)
           f" ({', '.join(_q(c) for c in columns)}) {source}"
           f" ON CONFLICT ({_q('membership_id')}, {_q('year')}) DO NOTHING"
           f" RETURNING {_q('id')}, {_q('membership_id')}")
    return {membership_id: gift_id for gift_id, membership_id in _execute(sql, params)}


def _points_write(*, rules: ProgramRules, gift_of: dict[int, int],
                  now: dt.datetime) -> dict[int, int]:
    """For the new gifts (``gift_of``: {membership id: gift id}) with points: their ledger
    entries, the entries' lots (with the rules' expiry terms), the cached balances and the
    gifts' link to their entry, each one statement read from the gift rows (no row by row).
    Returns {gift id: entry id}."""
    gift_ids = list(gift_of.values())
    gifts, entries, lots, members = (_q(m._meta.db_table) for m in (
        BirthdayGift, LedgerEntry, PointLot, Membership))
    in_gifts, ids = _in(gift_ids)
    at = LedgerEntry._meta.get_field("created_at").get_db_prep_save(now, connection)
    # The entry's idempotency key repeats the gift's uniqueness: "birthday:<card id>:<year>".
    key = f"'birthday:' || g.{_q('membership_id')} || ':' || g.{_q('year')}"
    rows = _execute(
        f"INSERT INTO {entries} ({_q('shop_id')}, {_q('membership_id')}, {_q('points')},"  # noqa: S608
        f" {_q('kind')}, {_q('reference')}, {_q('note')}, {_q('customer_note')},"
        f" {_q('idempotency_key')}, {_q('created_at')})"
        f" SELECT g.{_q('shop_id')}, g.{_q('membership_id')}, g.{_q('points')}, %s,"
        f" 'loyalty.birthdaygift:' || g.{_q('id')}, '', '', {key}, %s"
        f" FROM {gifts} g WHERE g.{_q('id')} {in_gifts} AND g.{_q('points')} > 0"
        f" RETURNING {_q('id')}, {_q('membership_id')}",
        [EntryKind.BIRTHDAY, at, *ids])
    if not rows:
        return {}
    # The expiry terms of points arriving now (never retroactive), as every lot gets them.
    expires_at, inactivity_months = lot_terms(rules=rules, time_zone=rules.shop.time_zone,
                                              earned_at=now, available_at=now)
    terms = {"expires_at": expires_at, "inactivity_months": inactivity_months}
    date_prep = PointLot._meta.get_field("available_at").get_db_prep_save
    in_entries, entry_ids = _in(row[0] for row in rows)
    _execute(
        f"INSERT INTO {lots} ({_q('membership_id')}, {_q('entry_id')}, {_q('points')},"  # noqa: S608
        f" {_q('remaining')}, {_q('available_at')}, {_q('expires_at')},"
        f" {_q('inactivity_months')})"
        f" SELECT e.{_q('membership_id')}, e.{_q('id')}, e.{_q('points')}, e.{_q('points')},"
        f" %s, %s, %s FROM {entries} e WHERE e.{_q('id')} {in_entries}",
        [date_prep(now, connection), date_prep(terms["expires_at"], connection),
         terms["inactivity_months"], *entry_ids])
    balance = _q("points_balance")
    _execute(
        f"UPDATE {members} SET {balance} = {balance} + g.{_q('points')}"  # noqa: S608
        f" FROM {gifts} g WHERE g.{_q('membership_id')} = {members}.{_q('id')}"
        f" AND g.{_q('id')} {in_gifts} AND g.{_q('points')} > 0", ids)
    if connection.vendor == "postgresql":
        # Each gift gets its entry by the gift's key (the entries' insert returned them).
        entry_of = {gift_of[membership_id]: entry_id for entry_id, membership_id in rows}
        _execute(
            f"UPDATE {gifts} SET {_q('entry_id')} = r.e"  # noqa: S608
            f" FROM unnest(%s::bigint[], %s::bigint[]) AS r(g, e)"
            f" WHERE {gifts}.{_q('id')} = r.g", [list(entry_of), list(entry_of.values())])
        return entry_of
    linked = _execute(
        f"UPDATE {gifts} SET {_q('entry_id')} = e.{_q('id')} FROM {entries} e"  # noqa: S608
        f" WHERE e.{_q('shop_id')} = {gifts}.{_q('shop_id')}"
        f" AND e.{_q('idempotency_key')} = 'birthday:' || {gifts}.{_q('membership_id')}"
        f" || ':' || {gifts}.{_q('year')}"
        f" AND {gifts}.{_q('id')} {in_gifts}"
        f" RETURNING {gifts}.{_q('id')}, {gifts}.{_q('entry_id')}", ids)
    return dict(linked)


# What the batch reads of each card: its balance (the cap, last), its level (the level's own
# birthday points) and what the e-mail needs.
_MEMBER_FIELDS = ("id", "shop_id", "card_number", "name", "email", "language",
                  "marketing_consent", "level_rank", "points_balance")
# What a batch returns of each gift it wrote: the gift's row, then its card's _MEMBER_FIELDS
# (the balance after the gift).
_GIFT_FIELDS = ("id", "membership_id", "year", "birthday", "points", "entry_id")


def _batch_write_statements(*, shop: Shop, rules: ProgramRules, by_level: dict[int, int],
                            batch: list[tuple[int, dt.date]], now: dt.datetime) -> list[tuple]:
    """The batch's writes in a few statements, on any database: lock the cards (id order),
    insert the gifts (skipping those that exist), then for the inserted ones their entries,
    lots and balances. Returns a row per gift written: ``_GIFT_FIELDS`` + ``_MEMBER_FIELDS``."""
    celebrated_of = dict(batch)
    in_members, ids = _in(celebrated_of)
    members = {row[0]: row for row in _execute(
        f"SELECT {', '.join(_q(f) for f in _MEMBER_FIELDS)}"  # noqa: S608 (identifiers)
        f" FROM {_q(Membership._meta.db_table)} WHERE {_q('shop_id')} = %s"
        f" AND {_q('id')} {in_members} ORDER BY {_q('id')}{sql.for_update()}",
        [shop.pk, *ids])}
    rows = []
    for pk, member in members.items():
        room = max(MAX_BALANCE - member[-1], 0)
        gift = birthday_points_for(rules=rules, by_level=by_level,
                                   level_rank=member[_MEMBER_FIELDS.index("level_rank")])
        points = min(gift, room)  # a full card gets what still fits
        celebrated = celebrated_of[pk]
        rows.append((pk, celebrated.year, celebrated, points))
    inserted = _gifts_insert(shop=shop, rows=rows, now=now)
    if not inserted:
        return []
    entry_of = _points_write(rules=rules, gift_of=inserted, now=now)
    return [(inserted[pk], pk, year, celebrated, points, entry_of.get(inserted[pk]),
             *members[pk][:-1], members[pk][-1] + points)
            for pk, year, celebrated, points in rows if pk in inserted]


@functools.cache
def _one_statement_sql() -> str:
    """The batch's writes as one PostgreSQL statement: data-modifying CTEs, each reading what
    the one before returned. The gifts draw their entries' ids from the entries' sequence, so
    the entries are written with them and no gift is updated afterwards."""
    q = _q
    cards, gifts, entries, lots = (q(m._meta.db_table) for m in (
        Membership, BirthdayGift, LedgerEntry, PointLot))
    columns = ", ".join(f"c.{q(f)}" for f in _MEMBER_FIELDS[:-1])
    return f"""
WITH cards AS (
    SELECT {", ".join(q(f) for f in _MEMBER_FIELDS)} FROM {cards}
    WHERE {q("shop_id")} = %(shop)s AND {q("id")} = ANY(%(ids)s)
    ORDER BY {q("id")} FOR UPDATE
), due AS (
    SELECT c.{q("id")} AS m, r.y, r.d,
           LEAST(COALESCE((%(levels)s::int[])[c.{q("level_rank")}], %(points)s),
                 GREATEST(%(max)s - c.{q("points_balance")}, 0)) AS p
    FROM cards c JOIN unnest(%(ids)s::bigint[], %(years)s::int[], %(days)s::date[])
         AS r(m, y, d) ON r.m = c.{q("id")}
), gifts AS (
    INSERT INTO {gifts} ({q("shop_id")}, {q("membership_id")}, {q("year")}, {q("birthday")},
                         {q("points")}, {q("extras")}, {q("given_at")}, {q("entry_id")})
    SELECT %(shop)s, m, y, d, p, %(extras)s, %(at)s,
           CASE WHEN p > 0 THEN nextval(%(sequence)s::regclass) END
    FROM due ORDER BY m
    ON CONFLICT ({q("membership_id")}, {q("year")}) DO NOTHING
    RETURNING {", ".join(q(f) for f in _GIFT_FIELDS)}
), entries AS (
    INSERT INTO {entries} ({q("id")}, {q("shop_id")}, {q("membership_id")}, {q("points")},
                           {q("kind")}, {q("reference")}, {q("note")}, {q("customer_note")},
                           {q("idempotency_key")}, {q("created_at")})
    SELECT {q("entry_id")}, %(shop)s, {q("membership_id")}, {q("points")}, %(kind)s,
           'loyalty.birthdaygift:' || {q("id")}, '', '',
           'birthday:' || {q("membership_id")} || ':' || {q("year")}, %(at)s
    FROM gifts WHERE {q("entry_id")} IS NOT NULL
    RETURNING {q("id")}, {q("membership_id")}, {q("points")}
), lots AS (
    INSERT INTO {lots} ({q("membership_id")}, {q("entry_id")}, {q("points")}, {q("remaining")},
                        {q("available_at")}, {q("expires_at")}, {q("inactivity_months")})
    SELECT {q("membership_id")}, {q("id")}, {q("points")}, {q("points")}, %(at)s, %(expires)s,
           %(months)s
    FROM entries
), balances AS (
    UPDATE {cards} SET {q("points_balance")} = {cards}.{q("points_balance")} + e.{q("points")}
    FROM entries e WHERE {cards}.{q("id")} = e.{q("membership_id")}
)
SELECT {", ".join(f"g.{q(f)}" for f in _GIFT_FIELDS)}, {columns},
       c.{q("points_balance")} + g.{q("points")}
FROM gifts g JOIN cards c ON c.{q("id")} = g.{q("membership_id")}
ORDER BY g.{q("membership_id")}"""  # noqa: S608 (identifiers only)


def _batch_write_one_statement(*, shop: Shop, rules: ProgramRules, by_level: dict[int, int],
                               batch: list[tuple[int, dt.date]],
                               now: dt.datetime) -> list[tuple]:
    """What ``_batch_write_statements`` does, in one round trip (PostgreSQL). The levels' own
    points are an array by rank (NULL: the shop's points; rank 0 or beyond it reads NULL)."""
    expires_at, inactivity_months = lot_terms(rules=rules, time_zone=shop.time_zone,
                                              earned_at=now, available_at=now)
    entry_table = LedgerEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [entry_table])
        sequence = cursor.fetchone()[0]
    return _execute(_one_statement_sql(), {
        "shop": shop.pk, "ids": [pk for pk, _day in batch],
        "years": [day.year for _pk, day in batch], "days": [day for _pk, day in batch],
        "points": rules.birthday_points, "max": MAX_BALANCE,
        "levels": [by_level.get(rank) for rank in range(1, max(by_level, default=0) + 1)],
        "extras": BirthdayGift._meta.get_field("extras").get_db_prep_save([], connection),
        "at": now, "sequence": sequence, "kind": EntryKind.BIRTHDAY,
        "expires": expires_at, "months": inactivity_months,
    })


def _from_row(model, names: tuple[str, ...], values) -> models.Model:
    """A model instance of the named columns (the others deferred), as a query makes it."""
    value_of = dict(zip(names, values, strict=True))
    fields = [f.attname for f in model._meta.concrete_fields if f.attname in value_of]
    return model.from_db("default", fields, [value_of[name] for name in fields])


def _batch_give(*, shop: Shop, rules: ProgramRules, by_level: dict[int, int],
                batch: list[tuple[int, dt.date]], now: dt.datetime, run: BirthdayRun) -> None:
    """One batch, one transaction: lock the cards (id order), insert the new gifts, then their
    points (entries, lots, balances) — on PostgreSQL in one statement — and, for the gifts
    really written, the ``birthday`` moment and the e-mails."""
    write = (_batch_write_one_statement if connection.vendor == "postgresql"
             else _batch_write_statements)
    with transaction.atomic():
        written = write(shop=shop, rules=rules, by_level=by_level, batch=batch, now=now)
        if not written:
            return
        width = len(_GIFT_FIELDS)
        gifts = []
        for row in written:
            member = _from_row(Membership, _MEMBER_FIELDS, row[width:])
            member.shop = shop
            gift = _from_row(BirthdayGift, (*_GIFT_FIELDS, "shop_id", "extras", "given_at"),
                             (*row[:width], shop.pk, [], now))
            gift.shop, gift.membership = shop, member
            gifts.append(gift)
        moments.announce("birthday", shop=shop, gifts=gifts)
        run.emails += outbox_write_many(shop=shop, kind="birthday", messages=[{
            "key": f"birthday:{g.membership.card_number}:{g.year}",
            "to": g.membership.email, "language": g.membership.language,
            "membership": g.membership,
            "context": {"gift_id": g.pk, "points": g.points, "year": g.year,
                        "extras": g.extras},
        } for g in gifts])
        run.given += len(gifts)
        run.points += sum(g.points for g in gifts)


def _who_gets_points(rules: ProgramRules, by_level: dict[int, int]) -> Q | None:
    """Without a voucher, the cards whose level gives them birthday points (a level of 0
    points, or no points from the shop for the others, is no gift and no e-mail)."""
    nothing = [rank for rank, points in by_level.items() if not points]
    if rules.birthday_points:
        return ~Q(level_rank__in=nothing) if nothing else None
    return Q(level_rank__in=[rank for rank, points in by_level.items() if points])


def birthday_gifts_give(*, shop: Shop, now: dt.datetime | None = None,
                        batch_size: int | None = None) -> BirthdayRun:
    """Give ``shop``'s birthday gifts that are due: today's from 06:00 on the shop's clock, and
    those of up to 7 days back that a missed run did not give. Safe to run any number of times,
    at once too: what was given is never given again."""
    started = time.monotonic()
    now = now or timezone.now()
    batch_size = batch_size or settings.TROUW_BIRTHDAY_BATCH_SIZE
    local = shop_local_now(shop=shop, now=now)
    run = BirthdayRun(shop_id=shop.pk, local_date=local.date())
    rules = program_rules_current(shop=shop)
    by_level = birthday_points_by_level(shop=shop)  # once per run: {level rank: points}
    extras = bool(birthday_gift_extras_words(shop=shop))
    if rules.birthday_points or extras or any(by_level.values()):
        through = local.date() if local.hour >= GIFT_HOUR else local.date() - dt.timedelta(days=1)
        # The days up to the mark were given by a completed run under these rules: a birthday
        # entered since then falls within the notice days and counts from next year, so only
        # the days after it can hold a gift due (the hourly runs after the day's first find
        # nothing without a query).
        mark = (Shop.objects.filter(pk=shop.pk, current_rules=rules)
                .values_list("birthdays_given_through", flat=True).first()
                if _mark_holds(rules) else None)
        since = mark + dt.timedelta(days=1) if mark else None
        due = birthdays_due(shop=shop, rules=rules, through=through, since=since,
                            who=None if extras else _who_gets_points(rules, by_level))
        run.due = len(due)
        for start in range(0, len(due), batch_size):
            _batch_give(shop=shop, rules=rules, by_level=by_level,
                        batch=due[start:start + batch_size], now=now, run=run)
        if _mark_holds(rules) and (not mark or mark < through):
            # Only while these rules are in force, and never backwards (two runs at once).
            (Shop.objects.filter(pk=shop.pk, current_rules=rules)
             .filter(Q(birthdays_given_through__isnull=True)
                     | Q(birthdays_given_through__lt=through))
             .update(birthdays_given_through=through))
    run.seconds = time.monotonic() - started
    logger.info("birthdays shop=%s local_date=%s due=%s given=%s points=%s emails=%s "
                "duration=%.3fs", shop.pk, run.local_date, run.due, run.given, run.points,
                run.emails, run.seconds)
    return run


def birthdays_give_all(*, now: dt.datetime | None = None,
                       shop_id: int | None = None) -> list[BirthdayRun]:
    """The hourly job: every shop (or the one ``shop_id``) whose clock shows 06:00 or later
    gives its due gifts. Shops before 06:00 wait for a later hour."""
    now = now or timezone.now()
    shops = Shop.objects.select_related("current_rules").order_by("pk")
    if shop_id is not None:
        shops = shops.filter(pk=shop_id)
    return [birthday_gifts_give(shop=shop, now=now) for shop in shops
            if shop_local_now(shop=shop, now=now).hour >= GIFT_HOUR]
