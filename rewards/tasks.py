"""Periodic work of the rewards app; safe to run twice."""

from celery import shared_task

from . import services


@shared_task
def vouchers_expire() -> int:
    return services.vouchers_expire()
