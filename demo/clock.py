"""Time for the demo's history: the services run at a moment in the past (``at``), and bulk
inserts keep the timestamps they are given (``explicit_timestamps``)."""

from __future__ import annotations

import contextlib
import datetime as dt

from django.core.management.base import CommandError


@contextlib.contextmanager
def at(moment: dt.datetime):
    """Run the services as if it were ``moment``: every ``timezone.now()``, ``auto_now_add``
    and ``default=timezone.now`` gives it (time-machine, a development dependency, as is the
    demo)."""
    try:
        import time_machine
    except ImportError:  # pragma: no cover - a production install without the dev extras
        raise CommandError("The demo needs the development dependencies: "
                           "pip install -e '.[dev]' (make run does).") from None
    with time_machine.travel(moment, tick=False):
        yield


@contextlib.contextmanager
def explicit_timestamps(*fields):
    """Let ``bulk_create`` keep the ``auto_now_add`` values we set (it overwrites them with
    'now' otherwise). Process-wide while it lasts: meant for the demo's commands only."""
    saved = [(field, field.auto_now_add) for field in fields]
    try:
        for field, _value in saved:
            field.auto_now_add = False
        yield
    finally:
        for field, value in saved:
            field.auto_now_add = value
