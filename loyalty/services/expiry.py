"""Points expiry: the terms a lot gets when its points arrive (never retroactive: a lot keeps the
terms it was earned under), the nightly job that writes the ``expiry`` entries, and the
reminders 30 and 7 days before.

A lot expires at the start of a day in the shop's time zone: "N months after earning" is the
local day N months after the local day the points were earned (31 January + 1 month is the end
of February), and never before the day after the points become spendable. "After N months
without a purchase" counts from the later of the card's last purchase and the lot's arrival."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import zoneinfo

from ..models import ExpiryPolicy, ProgramRules


@functools.lru_cache(maxsize=512)
def shop_zone(time_zone: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(time_zone)


def months_add(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months; a day the month lacks becomes its last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month,
                       day=min(day.day, calendar.monthrange(year, month)[1]))


def day_start(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The instant a local day begins, in UTC (a clock-change night has no gap at midnight in
    the zones Trouw serves; ``fold=0`` takes the first midnight if one repeats)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def local_date(instant: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.date:
    return instant.astimezone(zone).date()


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
