"""The birthday job on a real Celery worker on Redis and PostgreSQL: a worker killed with
SIGKILL half-way leaves only whole batches; restarted, the job run again — twice at once, on two
workers — gives every eligible member exactly one gift, and the ledger reconciles."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
import uuid
import zoneinfo
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from loyalty import selectors, services
from loyalty.celery import app
from loyalty.models import BirthdayGift, EntryKind, LedgerEntry, Membership
from members.services import card_number_new
from tests.conftest import require_service
from tests.factories import ShopFactory
from tests.test_celery import _redis_up

REPO = Path(__file__).resolve().parent.parent
MEMBERS = 3000
BATCH = 100
ZONES = ("Europe/Amsterdam", "Asia/Tokyo", "Pacific/Auckland", "America/Los_Angeles",
         "America/New_York", "Asia/Kolkata")


def _zone_past_six() -> str:
    """A time zone whose clock shows 06:00–22:59 now (far from midnight, so the day holds)."""
    for zone in ZONES:
        hour = timezone.now().astimezone(zoneinfo.ZoneInfo(zone)).hour
        if 6 <= hour <= 22:
            return zone
    raise AssertionError("some zone is always between 06:00 and 23:00")


def _worker(env, queue):
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "loyalty", "worker", "-P", "solo", "-Q", queue,
         "--loglevel=INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stop(worker) -> str:
    if worker.poll() is None:
        worker.terminate()
    try:
        return worker.communicate(timeout=20)[0]
    except subprocess.TimeoutExpired:
        worker.kill()
        return worker.communicate()[0]


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_killed_restarted_and_twice_at_once_is_one_gift_each(tmp_path):
    redis_url = os.environ.get("REDIS_URL", "")
    require_service(bool(redis_url) and _redis_up(redis_url), "Redis (REDIS_URL)")
    require_service(connection.vendor == "postgresql",
                    "PostgreSQL (DATABASE_URL), shared with the worker processes")
    queue = f"trouw-test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loyalty.settings",
        "DJANGO_ENV": "development",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": redis_url,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "TROUW_VAR_DIR": str(tmp_path / "var"),
        "TROUW_BIRTHDAY_BATCH_SIZE": str(BATCH),
    }
    shop = ShopFactory(time_zone=_zone_past_six())
    services.program_rules_update(shop=shop, by=None, birthday_points=100)
    today = services.shop_local_now(shop=shop).date()
    born = services.birthday_in_year(dt.date(2000, today.month, today.day), 1990) if (
        (today.month, today.day) != (2, 29)) else dt.date(1992, 2, 29)
    Membership.objects.bulk_create([
        Membership(shop=shop, card_number=card_number_new(), name=f"Member {i}",
                   email=f"m{i}@example.com", birthday=born, marketing_consent=i % 2 == 0)
        for i in range(MEMBERS)], batch_size=1000)
    # Not eligible: the birthday is tomorrow, or was entered yesterday.
    not_yet = Membership.objects.create(shop=shop, card_number=card_number_new(), name="Later",
                                        email="later@example.com",
                                        birthday=born + dt.timedelta(days=1))
    too_late = Membership.objects.create(shop=shop, card_number=card_number_new(), name="New",
                                         email="new@example.com", birthday=born,
                                         birthday_set_at=timezone.now() - dt.timedelta(days=1))
    old_eager, old_queue = app.conf.task_always_eager, app.conf.task_default_queue
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    workers = []
    try:
        # 1. One worker, killed with SIGKILL half-way through the job.
        first = _worker(env, queue)
        workers.append(first)
        app.send_task("loyalty.tasks.birthdays_give", args=[shop.pk], queue=queue)
        deadline = time.monotonic() + 60
        while BirthdayGift.objects.filter(shop=shop).count() < MEMBERS // 4:
            assert time.monotonic() < deadline, _stop(first)
            assert first.poll() is None, first.stdout.read()
            time.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        given = BirthdayGift.objects.filter(shop=shop).count()
        assert 0 < given < MEMBERS, "the worker was not killed half-way: make the job longer"
        assert given % BATCH == 0  # only whole batches: a killed batch left nothing
        assert LedgerEntry.objects.filter(kind=EntryKind.BIRTHDAY).count() == given
        assert selectors.ledger_mismatches(shop=shop) == []

        # 2. Restarted, two workers, the job sent twice at once.
        second, third = _worker(env, queue), _worker(env, queue)
        workers += [second, third]
        app.send_task("loyalty.tasks.birthdays_give", args=[shop.pk], queue=queue)
        app.send_task("loyalty.tasks.birthdays_give", args=[shop.pk], queue=queue)
        deadline = time.monotonic() + 90
        logs = ""
        while True:
            assert time.monotonic() < deadline, "the job did not finish in 90 s"
            time.sleep(0.5)
            if BirthdayGift.objects.filter(shop=shop).count() == MEMBERS:
                break
        time.sleep(3)  # let the second run finish too
        logs = _stop(second) + _stop(third)
        runs = [int(m) for m in re.findall(rf"birthdays shop={shop.pk} .*? given=(\d+)", logs)]
        assert len(runs) == 2, logs
        assert sum(runs) == MEMBERS - given  # together they gave the rest, nothing twice

        eligible = Membership.objects.filter(shop=shop).exclude(pk__in=[not_yet.pk, too_late.pk])
        gifts = BirthdayGift.objects.filter(shop=shop)
        assert gifts.count() == MEMBERS
        assert set(gifts.values_list("membership_id", flat=True)) == set(
            eligible.values_list("pk", flat=True))
        assert not gifts.filter(membership__in=[not_yet, too_late]).exists()
        assert LedgerEntry.objects.filter(kind=EntryKind.BIRTHDAY).count() == MEMBERS
        assert set(eligible.values_list("points_balance", flat=True)) == {100}
        assert selectors.ledger_mismatches(shop=shop) == []
    finally:
        app.conf.task_always_eager = old_eager
        app.conf.task_default_queue = old_queue
        for worker in workers:
            _stop(worker)
