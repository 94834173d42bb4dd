"""Periodic work of the levels app; safe to run twice. One log line per run."""

import logging
import time

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=1800)
def levels_reevaluate_due() -> dict:
    """Hourly in UTC: each shop with levels on, once per its local day."""
    started = time.monotonic()
    counts = services.levels_reevaluate_due()
    logger.info("levels_reevaluate_due shops=%(shops)s down=%(down)s kept=%(kept)s "
                "manual_ended=%(manual_ended)s reminders=%(reminders)s duration=%(duration).3fs",
                {**counts, "duration": time.monotonic() - started})
    return counts
