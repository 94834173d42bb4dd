"""Periodic work of the rewards app; safe to run twice. One log line per run."""

import logging
import time

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task
def vouchers_expire() -> int:
    return services.vouchers_expire()


@shared_task
def voucher_reminders_write() -> dict:
    """Hourly: the expiry reminders of open vouchers, in each shop's daytime."""
    started = time.monotonic()
    counts = services.voucher_reminders_write()
    logger.info("voucher_reminders_write shops=%(shops)s written=%(written)s "
                "duration=%(duration).3fs", {**counts, "duration": time.monotonic() - started})
    return counts
