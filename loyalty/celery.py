"""The Celery app. Its beat schedule lives here, in code; tasks are thin wrappers of services."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")

app = Celery("trouw")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "expire-staff-invitations": {
        "task": "loyalty.tasks.staff_invitations_expire",
        "schedule": crontab(minute=5),
    },
    "prune-idempotency-answers": {
        "task": "loyalty.tasks.idempotent_requests_prune",
        "schedule": crontab(hour=3, minute=35),
    },
    # The outbox's safety net: messages written while the broker was away, tasks lost,
    # retries come due, sends a killed worker left half-way (loyalty/services/outbox.py).
    "outbox-sweep": {
        "task": "loyalty.tasks.outbox_sweep",
        "schedule": 60.0,
    },
    # Hourly in UTC; each shop's local date and 06:00 are worked out in code.
    "give-birthday-gifts": {
        "task": "loyalty.tasks.birthdays_give",
        "schedule": crontab(minute=0),
    },
    # Points expiry: hourly in UTC, each shop's local day decides what is due.
    "expire-points": {
        "task": "loyalty.tasks.points_expire",
        "schedule": crontab(minute=2),
    },
    "remind-points-expiring": {
        "task": "loyalty.tasks.points_expiring_remind",
        "schedule": crontab(minute=25),
    },
    # Named by string: the core does not import the rewards app.
    "expire-vouchers": {
        "task": "rewards.tasks.vouchers_expire",
        "schedule": crontab(minute=15),
    },
    # Levels (tiers app, by name): hourly, each shop's local day re-evaluated once.
    "reevaluate-levels": {
        "task": "tiers.tasks.levels_reevaluate_due",
        "schedule": crontab(minute=40),
    },
    # Voucher expiry reminders (hourly; each shop's local hour decides, in code).
    "remind-expiring-vouchers": {
        "task": "rewards.tasks.voucher_reminders_write",
        "schedule": crontab(minute=25),
    },
}
