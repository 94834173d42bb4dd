"""The core's moments and what they do in other apps.

The core announces its moments — a purchase, a refund, an enrolment, a birthday, … — and the
effects of each are an ordered list of dotted paths in ``settings.TROUW_EFFECTS``, the one place
that shows everything a moment does. An effect runs inside the moment's own transaction: when it
raises, the moment is undone with it. The core imports no feature app; the apps plug in here.

Each moment passes keyword arguments of its own (documented beside the setting):
``purchase`` → ``effect(*, purchase)``; ``refund`` → ``effect(*, refund)``;
``enrolment`` → ``effect(*, membership)``; ``birthday`` → ``effect(*, shop, gifts)``
(the day's gifts of one shop, a batch); ``referral`` → ``effect(*, membership, count)`` (a
member's referred friends now number ``count``: announced by the referrals, once they exist,
with the card locked in the caller's transaction).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.utils.module_loading import import_string

MOMENTS = ("purchase", "refund", "enrolment", "birthday", "referral")


def effects(moment: str) -> list[Callable]:
    """The functions named for ``moment`` in settings.TROUW_EFFECTS, in order."""
    if moment not in MOMENTS:
        raise ValueError(f"Unknown moment {moment!r}: one of {', '.join(MOMENTS)}")
    return [import_string(path) for path in settings.TROUW_EFFECTS.get(moment, ())]


def earn_reads() -> list[tuple[str, Callable]]:
    """The functions named in settings.TROUW_EARN_READS, with their paths, in order: what the
    purchase's effects ask to have read in the earn's own statement (see the setting)."""
    return [(path, import_string(path)) for path in getattr(settings, "TROUW_EARN_READS", ())]


def announce(moment: str, **arguments) -> None:
    """Run the moment's effects, in order, in the caller's transaction."""
    for effect in effects(moment):
        effect(**arguments)
