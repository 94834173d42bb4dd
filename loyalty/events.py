"""Bonus-point events as people read them (reads only): each event of the rules in words
("×2 points · Tuesdays · 16:00–18:00 · 1 December – 24 December") and its state on the shop's
clock (on now, coming, on its days, ended), for the owner's page, the portal's "How it works"
and the public page. The events themselves are part of the program rules
(``ProgramRules.bonus_events``, checked by ``services.rules.bonus_events_clean``); the earn
applies them (``points.points_for_purchase``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import formats, timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .localdays import shop_zone
from .points import bonus_event_applies
from .services.common import points_display

ON_NOW, COMING, ON_ITS_DAYS, ENDED = "on", "coming", "days", "ended"


@dataclass(frozen=True)
class EventShown:
    event: dict
    what: str  # "×2 points", "+25 points"
    when: str  # "Tuesdays · 16:00–18:00 · 1 December – 24 December", or "" (always)
    state: str  # ON_NOW, COMING, ON_ITS_DAYS or ENDED
    state_text: str  # "On now", "From 20 December", "On its days", "Ended"

    @property
    def sentence(self) -> str:
        return " · ".join(part for part in (self.what, self.when) if part)


def _number(value) -> str:
    value = Decimal(str(value))
    value = value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()
    return formats.number_format(value, use_l10n=True)  # 2, 1.5 (1,5 in Dutch)


def event_what(event: dict, *, stamps: bool = False) -> str:
    """What the event gives: "×2 points" or "+25 points" ("stamps" on a stamp card)."""
    if event["kind"] == "multiplier":
        return (_("×%(times)s stamps") if stamps else _("×%(times)s points")) % {
            "times": _number(event["value"])}
    value = int(event["value"])
    return (ngettext("+%(points)s stamp", "+%(points)s stamps", value) if stamps
            else ngettext("+%(points)s point", "+%(points)s points", value)) % {
        "points": points_display(value)}


def event_when(event: dict) -> str:
    """When and on what the event counts, in words; "" when always and on everything."""
    parts = []
    if event.get("weekdays"):
        parts.append(", ".join(str(WEEKDAYS[day]) for day in event["weekdays"]))
    if event.get("from_hour") is not None or event.get("to_hour") is not None:
        start = event.get("from_hour") or 0
        end = event["to_hour"] if event.get("to_hour") is not None else 24
        parts.append(f"{start:02d}:00–{end:02d}:00")
    starts, ends = event.get("starts_on"), event.get("ends_on")

    def day(text):
        return formats.date_format(dt.date.fromisoformat(text), "j F Y")

    if starts and ends:
        parts.append(_("%(first)s – %(last)s") % {"first": day(starts), "last": day(ends)})
    elif starts:
        parts.append(_("from %(first)s") % {"first": day(starts)})
    elif ends:
        parts.append(_("until %(last)s") % {"last": day(ends)})
    if event.get("categories"):
        parts.append(_("on %(categories)s") % {"categories": ", ".join(event["categories"])})
    return " · ".join(parts)


def event_state(event: dict, at_local: dt.datetime) -> tuple[str, str]:
    """(state, words) of the event at ``at_local`` on the shop's clock."""
    today = at_local.date()
    if event.get("ends_on") and today > dt.date.fromisoformat(event["ends_on"]):
        return ENDED, _("Ended")
    if event.get("starts_on") and today < dt.date.fromisoformat(event["starts_on"]):
        first = formats.date_format(dt.date.fromisoformat(event["starts_on"]), "j F")
        return COMING, _("From %(day)s") % {"day": first}
    if bonus_event_applies(event, at_local):
        return ON_NOW, _("On now")
    return ON_ITS_DAYS, _("On its days and hours")


def events_shown(*, rules, now: dt.datetime | None = None,
                 include_ended: bool = False) -> list[EventShown]:
    """The rules' events in words with their state now (the shop's clock): the ones on now
    first, then the coming ones, then those waiting for their days; ended ones only with
    ``include_ended`` (the owner's page)."""
    at_local = (now or timezone.now()).astimezone(shop_zone(rules.shop.time_zone))
    order = {ON_NOW: 0, COMING: 1, ON_ITS_DAYS: 2, ENDED: 3}
    shown = []
    for event in rules.bonus_events or []:
        state, words = event_state(event, at_local)
        if state == ENDED and not include_ended:
            continue
        shown.append(EventShown(event=event, what=event_what(event, stamps=rules.is_stamp_card),
                                when=event_when(event), state=state, state_text=words))
    return sorted(shown, key=lambda item: order[item.state])
