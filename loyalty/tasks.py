"""Celery tasks of the core: thin, idempotent wrappers around services. They take ids and log
one line per run."""

from __future__ import annotations

import logging
import time

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)

# The outbox's tasks: short (a drain stops after TROUW_OUTBOX_DRAIN_SECONDS), so their limits
# are far below the broker's visibility timeout and the sweep's "stuck" age.
OUTBOX_LIMITS = {"soft_time_limit": 110, "time_limit": 120}


@shared_task(**OUTBOX_LIMITS)
def outbox_send(message_id: int) -> str | None:
    """Send one outbox message (enqueued when its transaction commits). Safe twice: a
    message already sent, or held by another worker, is left alone."""
    started = time.monotonic()
    status = services.outbox_send_one(message_id=message_id)
    logger.info("outbox_send message=%s status=%s duration=%.3fs", message_id, status,
                time.monotonic() - started)
    return status


@shared_task(**OUTBOX_LIMITS)
def outbox_drain() -> dict:
    """Send due messages in a batch; when more are due, hand on another drain."""
    started = time.monotonic()
    counts = services.outbox_drain()
    logger.info("outbox_drain sent=%(sent)s retry=%(retry)s failed=%(failed)s "
                "skipped=%(skipped)s more=%(more)s duration=%(duration).3fs",
                {**counts, "duration": time.monotonic() - started})
    if counts["more"]:
        outbox_drain.apply_async(retry=False)
    return counts


@shared_task(**OUTBOX_LIMITS)
def outbox_sweep() -> dict:
    """Every minute: hand on what the broker missed, settle what a killed worker left."""
    started = time.monotonic()
    counts = services.outbox_sweep()
    logger.info("outbox_sweep due=%(due)s drains=%(drains)s lost=%(lost)s "
                "duration=%(duration).3fs", {**counts, "duration": time.monotonic() - started})
    return counts


@shared_task
def staff_invitations_expire() -> int:
    return services.staff_invitations_expire()


@shared_task
def idempotent_requests_prune() -> int:
    return services.idempotent_requests_prune()


# --- Birthday gifts (loyalty/services/birthdays.py) ---
@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=1800, soft_time_limit=1700)
def birthdays_give(shop_id: int | None = None) -> int:
    """Hourly: every shop whose clock shows 06:00 or later gives its due birthday gifts (or only
    ``shop_id``'s). Safe to run twice, at once too: each gift is written once a year."""
    return sum(run.given for run in services.birthdays_give_all(shop_id=shop_id))


# --- Points expiry: hourly in UTC; each shop's local day decides (services.expiry) ---------------


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1500, time_limit=1800)
def points_expire(shop_ids: list[int] | None = None) -> int:
    """Expire the lots whose terms have run out; safe twice (the remaining going to 0)."""
    return sum(row["lots"] for row in services.points_expire(shop_ids=shop_ids))


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=600, time_limit=900)
def points_expiring_remind(shop_ids: list[int] | None = None) -> int:
    """Write the reminders 30 and 7 days before points expire; safe twice (the outbox's keys)."""
    return sum(row["reminders"] for row in services.points_expiring_remind(shop_ids=shop_ids))
