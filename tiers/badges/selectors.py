"""Reads for badges: a member's history in one aggregate (the facts every template needs), each
badge's progress in the member's terms, the owner's list, the portal's achievements and the
points-over-time chart."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.templatetags.static import static
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from loyalty.kept import KeptPerShop
from loyalty.localdays import day_start, shop_zone
from loyalty.models import LedgerEntry, Membership, Purchase, PurchaseItem, Shop
from loyalty.services import points_display
from loyalty.sql import fetch_all, table
from loyalty.templatetags.trouw import money

from .models import BUILTIN_ICONS, Badge, BadgeAward, BadgeTemplate


@dataclass
class MemberFacts:
    """What a member's purchases add up to, on the shop's clock: per local day the net amount
    (net of refunds) and whether a purchase of that day still counts as a visit (not refunded
    in full); the number of product categories bought from."""

    days: dict[dt.date, tuple[Decimal, bool]] = field(default_factory=dict)
    categories: int = 0
    held: set[int] = field(default_factory=set)
    measure: int | None = None  # the statement's integer of ``member_facts(measure=…)``
    referrals: int = 0  # friends referred (the referral moment's count; none before it)

    @property
    def visit_days(self) -> list[dt.date]:
        return sorted(day for day, (_net, visit) in self.days.items() if visit)

    @property
    def visits(self) -> int:
        return len(self.visit_days)

    @property
    def spent(self) -> Decimal:
        return sum((net for net, _visit in self.days.values()), Decimal(0))

    def spent_between(self, first: dt.date, end: dt.date) -> Decimal:
        """Net spent on the local days from ``first`` up to, not including, ``end``."""
        return sum((net for day, (net, _v) in self.days.items() if first <= day < end),
                   Decimal(0))

    @property
    def longest_week_streak(self) -> int:
        """The most ISO weeks (Monday to Sunday on the shop's clock) in a row with a visit."""
        mondays = sorted({day - dt.timedelta(days=day.weekday()) for day in self.visit_days})
        best = run = 0
        previous = None
        for monday in mondays:
            run = run + 1 if previous and monday - previous == dt.timedelta(days=7) else 1
            best, previous = max(best, run), monday
        return best

    @property
    def weekdays(self) -> int:
        return len({day.weekday() for day in self.visit_days})


@functools.cache
def _facts_sql(categories: bool, held: bool, vendor: str, in_earn: bool = False) -> str:
    """The member's history as one plain statement, built once per shape (the ORM's grouped
    query cost the earn more CPU than PostgreSQL spent on it: docs/benchmarks.md, session 8).
    Rows of three kinds: 0 — a local day with its net amount in whole cents and how many of its
    purchases still count; 1 — a badge the member holds; 2 — the number of categories.
    Parameters: the time zone's, the card, then the card again for each further kind (with
    the categories, then also the new purchase's categories, ``in_earn``).

    ``in_earn``: the shape read inside the earn's own statement (settings.TROUW_EARN_READS),
    which does not see the purchase it writes: that purchase is added from the statement's
    ``p``, its categories (its lines are written after the statement) as a parameter."""
    day, _params = connection.ops.datetime_cast_date_sql("p.created_at", (), "zone")
    purchase, item, award = table(Purchase), table(PurchaseItem), table(BadgeAward)
    history = f"{purchase} p WHERE p.membership_id = %s"
    if in_earn:
        history = ("(SELECT h.created_at, h.amount, h.refunded_amount"  # noqa: S608
                   f" FROM {purchase} h WHERE h.membership_id = %s UNION ALL"
                   " SELECT n.created_at, n.amount, n.refunded_amount FROM p n) p")
    # Identifiers only in the text; every value is a parameter.
    parts = [
        "SELECT 0 AS kind, d.day AS day, SUM(d.net) AS net,"  # noqa: S608
        " SUM(d.kept) AS kept, NULL AS n"
        f" FROM (SELECT {day} AS day,"
        " CAST(ROUND((p.amount - p.refunded_amount) * 100) AS BIGINT) AS net,"
        " CASE WHEN p.refunded_amount < p.amount THEN 1 ELSE 0 END AS kept"
        f" FROM {history}) d GROUP BY d.day",
    ]
    if held:
        parts.append(f"SELECT 1, NULL, NULL, NULL, a.badge_id FROM {award} a"  # noqa: S608
                     " WHERE a.membership_id = %s AND a.revoked_at IS NULL")
    if categories:
        bought = (f"SELECT i.category AS c FROM {item} i"  # noqa: S608
                  f" JOIN {purchase} p ON p.id = i.purchase_id"
                  " WHERE p.membership_id = %s AND p.refunded_amount < p.amount")
        if in_earn:
            bought += " UNION ALL SELECT unnest(CAST(%s AS text[]))"
        parts.append(f"SELECT 2, NULL, NULL, NULL, COUNT(DISTINCT b.c) FROM ({bought}) b"  # noqa: S608
                     " WHERE b.c <> ''")
    return " UNION ALL ".join(parts)


def facts_statement(*, membership: Membership, shop: Shop, categories: bool = True,
                    held: bool = False, measure: tuple[str, list] | None = None,
                    new_categories: list[str] | None = None) -> tuple[str, list]:
    """``member_facts``' statement and its parameters. With ``new_categories`` (the new
    purchase's categories, or ``[]``), the shape for the earn's own statement
    (``_facts_sql(in_earn=True)``), which gives the rows as one JSON array
    (``facts_from_rows``); ``measure`` must then be read in that shape too."""
    in_earn = new_categories is not None
    _day, zone_params = connection.ops.datetime_cast_date_sql("", (), shop.time_zone)
    params = [*zone_params, membership.pk]
    if held:
        params.append(membership.pk)
    if categories:
        params.append(membership.pk)
        if in_earn:
            params.append(new_categories)
    statement = _facts_sql(categories, held, connection.vendor, in_earn)
    if measure is not None:
        statement += f" UNION ALL SELECT 3, NULL, NULL, NULL, ({measure[0]})"
        params += measure[1]
    if in_earn:
        statement = ("SELECT json_agg(json_build_array(f.kind, f.day, f.net, f.kept, f.n))"  # noqa: S608
                     f" FROM ({statement}) f")
    return statement, params


def facts_from_rows(rows) -> MemberFacts:
    """The facts of the statement's rows (``(kind, day, net, kept, n)``: tuples, or the lists
    of the earn's JSON array, whose days are text)."""
    facts = MemberFacts()
    for kind, day, net, kept, n in rows or ():
        if kind == 0:
            if isinstance(day, str):  # SQLite, and JSON, give the day as text
                day = dt.date.fromisoformat(day)
            facts.days[day] = (Decimal(int(net)).scaleb(-2), int(kept) > 0)
        elif kind == 1:
            facts.held.add(int(n))
        elif kind == 2:
            facts.categories = int(n or 0)
        else:
            facts.measure = int(n or 0)
    return facts


def member_facts(*, membership: Membership, shop: Shop, categories: bool = True,
                 held: bool = False, measure: tuple[str, list] | None = None) -> MemberFacts:
    """The member's history in one statement: per local day of the shop's time zone, the net
    amount and how many purchases still count; with ``categories``, how many product
    categories the member bought from (of purchases not refunded in full); with ``held``, the
    badges the member holds (``facts.held``); with ``measure`` (a statement of one integer
    and its parameters: the level's measure, ``tiers.selectors.measure_statement``), its
    value (``facts.measure``), in the same round trip."""
    statement, params = facts_statement(membership=membership, shop=shop,
                                        categories=categories, held=held, measure=measure)
    return facts_from_rows(fetch_all(statement, params))


def challenge_window(badge: Badge, shop: Shop) -> tuple[dt.datetime, dt.datetime]:
    """A challenge's start and end (the end excluded): local midnights, ``days`` days apart."""
    zone = shop_zone(shop.time_zone)
    return (day_start(badge.starts_on, zone),
            day_start(badge.starts_on + dt.timedelta(days=badge.days), zone))


def challenge_running(badge: Badge, shop: Shop, now: dt.datetime) -> bool:
    start, end = challenge_window(badge, shop)
    return start <= now < end


@dataclass
class Progress:
    current: Decimal | int
    target: Decimal | int

    @property
    def done(self) -> bool:
        return self.current >= self.target

    @property
    def percent(self) -> int:
        if not self.target:
            return 0
        return min(100, int(Decimal(self.current) * 100 / Decimal(self.target)))


def badge_progress(badge: Badge, facts: MemberFacts) -> Progress:
    """How far the member is toward ``badge`` by its template (whether a challenge is still
    running is the caller's question: see ``challenge_running``)."""
    template = badge.template
    if template == BadgeTemplate.FIRST_PURCHASE:
        return Progress(min(facts.visits, 1), 1)
    if template == BadgeTemplate.VISITS:
        return Progress(facts.visits, badge.count)
    if template == BadgeTemplate.SPEND_TOTAL:
        return Progress(facts.spent, badge.amount)
    if template == BadgeTemplate.SPEND_WITHIN:
        return Progress(facts.spent_between(
            badge.starts_on, badge.starts_on + dt.timedelta(days=badge.days)), badge.amount)
    if template == BadgeTemplate.WEEK_STREAK:
        return Progress(facts.longest_week_streak, badge.count)
    if template == BadgeTemplate.WEEKDAYS:
        return Progress(facts.weekdays, badge.count)
    if template == BadgeTemplate.CATEGORIES:
        return Progress(facts.categories, badge.count)
    return Progress(facts.referrals, badge.count or 1)  # referrals: the referral moment's


def progress_words(badge: Badge, progress: Progress, currency: str) -> str:
    """"7 of 10 visits", in the member's terms."""
    current, target = progress.current, progress.target
    template = badge.template
    if template in (BadgeTemplate.SPEND_TOTAL, BadgeTemplate.SPEND_WITHIN):
        return _("%(current)s of %(target)s") % {
            "current": money(min(current, target), currency), "target": money(target, currency)}
    values = {"current": points_display(min(current, target)), "target": points_display(target)}
    if template == BadgeTemplate.WEEK_STREAK:
        return ngettext("%(current)s of %(target)s week in a row",
                        "%(current)s of %(target)s weeks in a row", target) % values
    if template == BadgeTemplate.WEEKDAYS:
        return ngettext("%(current)s of %(target)s weekday",
                        "%(current)s of %(target)s weekdays", target) % values
    if template == BadgeTemplate.CATEGORIES:
        return ngettext("%(current)s of %(target)s category",
                        "%(current)s of %(target)s categories", target) % values
    if template == BadgeTemplate.REFERRALS:
        return ngettext("%(current)s of %(target)s friend",
                        "%(current)s of %(target)s friends", target) % values
    return ngettext("%(current)s of %(target)s visit",
                    "%(current)s of %(target)s visits", target) % values


def badge_sentence(badge: Badge, currency: str) -> str:
    """What earns the badge, in one sentence (the owner's list and the portal)."""
    template = badge.template
    n = badge.count or 0
    if template == BadgeTemplate.FIRST_PURCHASE:
        return _("Make a first purchase.")
    if template == BadgeTemplate.VISITS:
        return ngettext("Visit %(n)s time.", "Visit on %(n)s different days.", n) % {
            "n": points_display(n)}
    if template == BadgeTemplate.SPEND_TOTAL:
        return _("Spend %(amount)s in total.") % {"amount": money(badge.amount, currency)}
    if template == BadgeTemplate.SPEND_WITHIN:
        last = badge.starts_on + dt.timedelta(days=badge.days - 1)
        return ngettext(
            "Spend %(amount)s within %(days)s day, from %(start)s to %(end)s.",
            "Spend %(amount)s within %(days)s days, from %(start)s to %(end)s.", badge.days,
        ) % {"amount": money(badge.amount, currency), "days": badge.days,
             "start": date_format(badge.starts_on, "j M"), "end": date_format(last, "j M Y")}
    if template == BadgeTemplate.WEEK_STREAK:
        return ngettext("Visit in %(n)s week.", "Visit in %(n)s weeks in a row.", n) % {"n": n}
    if template == BadgeTemplate.WEEKDAYS:
        return ngettext("Visit on %(n)s weekday.", "Visit on %(n)s different weekdays.", n) % {
            "n": n}
    if template == BadgeTemplate.CATEGORIES:
        return ngettext("Buy from %(n)s product category.",
                        "Buy from %(n)s different product categories.", n) % {"n": n}
    return ngettext("Refer %(n)s friend.", "Refer %(n)s friends.", n) % {"n": n}


def badge_icon_path(badge: Badge) -> str:
    """The static path of a built-in icon (a star for an unknown key)."""
    return f"tiers/badges/{badge.icon if badge.icon in BUILTIN_ICONS else 'star'}.svg"


def badge_icon_url(badge: Badge) -> str:
    """The badge's icon: its upload, else its built-in SVG (a star for an unknown key)."""
    if badge.icon_upload:
        return badge.icon_upload.url
    return static(badge_icon_path(badge))


def badge_icon_news(badge: Badge) -> dict[str, str]:
    """The icon as a purchase's news item carries it: an upload's URL, or a built-in icon's
    static path for the page to resolve. The earn never asks the static files' manifest (an
    API earn has no page to show it on)."""
    if badge.icon_upload:
        return {"icon_url": badge.icon_upload.url}
    return {"icon_static": badge_icon_path(badge)}


def badges_for_owner(*, shop: Shop) -> QuerySet[Badge]:
    """The shop's badges with how many members hold each (live awards)."""
    return Badge.objects.for_shop(shop).annotate(
        earned_count=Count("awards", filter=Q(awards__revoked_at__isnull=True)))


# --- The shop's active badges, kept per process ------------------------------------------------

def _badges_load(*, shop: Shop) -> tuple[Badge, ...]:
    return tuple(Badge.objects.filter(shop=shop, active=True).order_by("pk"))


_kept: KeptPerShop[tuple[Badge, ...]] = KeptPerShop(_badges_load)


def badges_forget(*, shop: Shop) -> None:
    """Drop this process's copy of the shop's badges (after one changed)."""
    _kept.forget(shop)


def badges_forget_all() -> None:
    _kept.forget_all()


def badges_active(*, shop: Shop) -> tuple[Badge, ...]:
    """The shop's active badges as this process last read them (``loyalty.kept``): at most
    ``TROUW_API_KEY_CACHE_SECONDS`` old; a change made in this process is seen at once.
    Read-only instances: never save them."""
    return _kept.get(shop)


def achievements(*, membership: Membership, now: dt.datetime | None = None) -> dict:
    """The portal's page: earned badges (with dates), locked ones with progress, and the active
    challenges with the days left. A hidden challenge shows only once earned; a badge switched
    off shows only if earned."""
    now = now or timezone.now()
    shop = membership.shop
    awards = list(BadgeAward.objects.filter(membership=membership, revoked_at__isnull=True)
                  .select_related("badge").order_by("-earned_at", "-pk"))
    held = {award.badge_id for award in awards}
    open_badges = [badge for badge in Badge.objects.filter(shop=shop, active=True)
                   if badge.pk not in held]
    facts = member_facts(membership=membership, shop=shop) if open_badges else MemberFacts()
    zone = shop_zone(shop.time_zone)
    today = now.astimezone(zone).date()
    locked, challenges = [], []
    for badge in open_badges:
        if badge.template == BadgeTemplate.REFERRALS:
            continue  # not earnable until referrals exist: not shown as a goal either
        progress = badge_progress(badge, facts)
        row = {"badge": badge, "progress": progress, "icon": badge_icon_url(badge),
               "words": progress_words(badge, progress, shop.currency),
               "sentence": badge_sentence(badge, shop.currency)}
        if badge.is_challenge:
            if badge.hidden or not challenge_running(badge, shop, now):
                continue
            end = badge.starts_on + dt.timedelta(days=badge.days)
            days_left = (end - today).days
            row["days_left"] = days_left
            row["countdown"] = ngettext("%(n)s day left", "%(n)s days left", days_left) % {
                "n": days_left}
            challenges.append(row)
        else:
            locked.append(row)
    return {
        "earned": [{"award": award, "badge": award.badge, "icon": badge_icon_url(award.badge),
                    "sentence": badge_sentence(award.badge, shop.currency)} for award in awards],
        "locked": locked,
        "challenges": challenges,
    }


def points_chart(*, membership: Membership, width: int = 320, height: int = 120,
                 now: dt.datetime | None = None) -> dict | None:
    """The member's balance over time, as the points of an SVG polyline (a step line, one step
    per ledger entry) with the axis' labels; None before the first entry."""
    now = now or timezone.now()
    rows = list(LedgerEntry.objects.filter(membership=membership)
                .order_by("created_at", "pk").values_list("created_at", "points"))
    if not rows:
        return None
    start = rows[0][0]
    span = max((now - start).total_seconds(), 1.0)
    balance = 0
    series = []
    for at, points in rows:
        balance += points
        series.append((at, balance))
    top = max(max(b for _at, b in series), 1)
    pad = 4
    inner_w, inner_h = width - 2 * pad, height - 2 * pad

    def x(at):
        return round(pad + inner_w * (at - start).total_seconds() / span, 1)

    def y(value):
        return round(pad + inner_h * (1 - max(value, 0) / top), 1)

    coordinates = [(x(start), y(0))]
    previous = 0
    for at, value in series:
        coordinates += [(x(at), y(previous)), (x(at), y(value))]
        previous = value
    coordinates.append((x(now), y(previous)))
    zone = shop_zone(membership.shop.time_zone)
    return {
        "width": width, "height": height,
        "points": " ".join(f"{a},{b}" for a, b in coordinates),
        "area": " ".join(f"{a},{b}" for a, b in
                         [*coordinates, (x(now), y(0)), (x(start), y(0))]),
        "top": top, "balance": previous,
        "start": start.astimezone(zone).date(), "end": now.astimezone(zone).date(),
        "baseline": y(0), "left": pad, "right": width - pad, "top_y": y(top),
    }


__all__ = [
    "MemberFacts", "Progress", "achievements", "badge_icon_news", "badge_icon_path",
    "badge_icon_url", "badge_progress",
    "badge_sentence", "badges_active", "badges_for_owner", "badges_forget", "badges_forget_all",
    "challenge_running",
    "challenge_window", "member_facts", "points_chart", "progress_words",
]
