"""Days in a shop's time zone: where a local day begins, calendar months added to a day, and the
days on which points expire under each kind of terms. Shared by the expiry services, the
selectors and the e-mails."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import zoneinfo


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


def inactivity_boundary(*, months: int, today: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """Lots under "``months`` months without a purchase" whose clock (the later of the card's
    last purchase and the lot's arrival) is before this instant have expired by ``today``: the
    clock's local day plus ``months`` is ``today`` or earlier."""
    last = months_add(today, -months)  # the last clock day that has expired by today …
    while months_add(last + dt.timedelta(days=1), months) <= today:  # … month ends: 3 at most
        last += dt.timedelta(days=1)
    return day_start(last + dt.timedelta(days=1), zone)


def inactivity_expiry_date(*, clock: dt.datetime, months: int,
                           zone: zoneinfo.ZoneInfo) -> dt.date:
    """The local day a lot under inactivity terms expires if nothing is bought meanwhile."""
    return months_add(local_date(clock, zone), months)
