"""Celery: the beat schedule names real tasks, and a real worker on Redis runs an enqueued task."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from loyalty.celery import app
from loyalty.models import StaffInvitation
from loyalty.services import staff_invite
from tests.conftest import require_service
from tests.factories import OwnerFactory, ShopFactory

REPO = Path(__file__).resolve().parent.parent


def test_beat_schedule_names_registered_tasks():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert scheduled, "the beat schedule is empty"
    assert scheduled <= set(app.tasks), scheduled - set(app.tasks)


def _redis_up(url: str) -> bool:
    try:
        import redis

        return redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_sends_the_staff_invitation(tmp_path, settings):
    redis_url = os.environ.get("REDIS_URL", "")
    require_service(bool(redis_url) and _redis_up(redis_url), "Redis (REDIS_URL)")
    require_service(connection.vendor == "postgresql",
                    "PostgreSQL (DATABASE_URL), shared with the worker process")

    queue = f"trouw-test-{uuid.uuid4().hex[:8]}"
    mail_dir = tmp_path / "mail"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loyalty.settings",
        "DJANGO_ENV": "development",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": redis_url,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "TROUW_VAR_DIR": str(tmp_path / "var"),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "loyalty", "worker", "-P", "solo", "-Q", queue,
         "--loglevel=INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    old_eager, old_queue = app.conf.task_always_eager, app.conf.task_default_queue
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    try:
        shop = ShopFactory(language="nl")
        owner = OwnerFactory(shop=shop).user
        invitation = staff_invite(shop=shop, email="bakker@example.com", invited_by=owner)

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            invitation.refresh_from_db()
            if invitation.sent_at is not None:
                break
            assert worker.poll() is None, worker.stdout.read()
            time.sleep(0.25)
        if invitation.sent_at is None:
            worker.terminate()
            output = worker.communicate()[0]
            pytest.fail(f"the worker did not send the invitation in 20 s:\n{output}")
        mails = list(mail_dir.glob("*.log"))
        assert len(mails) == 1
        body = mails[0].read_text()
        assert "bakker@example.com" in body
        assert "/invite/" in body
        assert StaffInvitation.objects.get(pk=invitation.pk).status == "pending"
    finally:
        app.conf.task_always_eager = old_eager
        app.conf.task_default_queue = old_queue
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
