"""A shop's week: when it is open, which days are busy, the hours of its peaks, the seasons.

The demo draws every visit from it, so the history has the rhythm of a real shop (a bakery
busiest on Saturday morning and closed on Sunday, a café with its morning coffee and fika)."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from dataclasses import dataclass, field

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)


@dataclass(frozen=True)
class Rhythm:
    time_zone: str
    # weekday → (opening, closing) in local hours (7.5 is half past seven); no entry: closed.
    hours: dict[int, tuple[float, float]]
    # weekday → how busy the day is, relative to the others.
    day_weights: dict[int, float]
    # local hour → how busy the hour is, on weekdays and (if given) at the weekend.
    hour_weights: dict[int, float]
    weekend_hour_weights: dict[int, float] | None = None
    # month → more or fewer visits than usual (December, the summer holidays).
    season: dict[int, float] = field(default_factory=dict)
    # (month, day) of the holidays the shop is closed on.
    closed_on: frozenset[tuple[int, int]] = frozenset()

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def is_open(self, day: dt.date) -> bool:
        return day.weekday() in self.hours and (day.month, day.day) not in self.closed_on

    def open_from(self, day: dt.date) -> dt.date:
        """``day``, or the first day after it the shop is open."""
        while not self.is_open(day):
            day += dt.timedelta(days=1)
        return day

    def visit_chance(self, day: dt.date, visits_per_week: float) -> float:
        """The chance that a customer who comes ``visits_per_week`` times comes on ``day``."""
        if not self.is_open(day):
            return 0.0
        week = sum(self.day_weights[weekday] for weekday in self.hours)
        chance = visits_per_week * self.day_weights[day.weekday()] / week
        return min(chance * self.season.get(day.month, 1.0), 0.95)

    def moment(self, day: dt.date, rng: random.Random) -> dt.datetime:
        """A moment on ``day`` while the shop is open, drawn by the busy-ness of its hours."""
        opening, closing = self.hours[day.weekday()]
        weights = self.hour_weights
        if day.weekday() >= SATURDAY and self.weekend_hour_weights:
            weights = self.weekend_hour_weights
        hours = [hour for hour in weights if hour + 1 > opening and hour < closing]
        hour = rng.choices(hours, weights=[weights[hour] for hour in hours])[0]
        start, end = max(hour, opening), min(hour + 1, closing)
        minutes = (start + rng.random() * (end - start)) * 60
        local = dt.datetime.combine(day, dt.time(), self.zone) + dt.timedelta(minutes=minutes)
        return local.replace(second=rng.randrange(60)).astimezone(dt.UTC)

    def evening(self, day: dt.date, rng: random.Random) -> dt.datetime:
        """A moment in the evening of ``day`` (when members look at their card at home)."""
        local = dt.datetime.combine(day, dt.time(19), self.zone)
        return (local + dt.timedelta(minutes=rng.randrange(210))).astimezone(dt.UTC)

    def local_date(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.zone).date()
