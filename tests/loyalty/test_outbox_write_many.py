"""outbox_write_many: a batch of messages in one statement — one row per key ever (a key written
before is skipped, in the same batch or an earlier one), marketing kinds only for members with
consent, the context stored as given, and one drain enqueued after the commit."""

from __future__ import annotations

import pytest

from loyalty.models import OutboxMessage, OutboxStatus
from loyalty.services import outbox_write_many
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def message(member, key, **more):
    return {"key": key, "to": member.email, "language": "nl", "membership": member,
            "context": {"points": 250, "extras": [{"kind": "voucher", "code": "AB-CD"}]},
            **more}


def test_a_batch_is_written_once_per_key_and_as_given(shop, django_capture_on_commit_callbacks):
    yes = MembershipFactory(shop=shop, marketing_consent=True)
    also = MembershipFactory(shop=shop, marketing_consent=True)
    with django_capture_on_commit_callbacks() as callbacks:
        assert outbox_write_many(shop=shop, kind="birthday", messages=[
            message(yes, "birthday:1"), message(also, "birthday:2")]) == 2
    assert len(callbacks) == 1  # one drain for the batch, not one task a message
    row = OutboxMessage.objects.get(key="birthday:1")
    assert (row.shop, row.membership, row.kind, row.to, row.language, row.status,
            row.attempts) == (shop, yes, "birthday", yes.email, "nl", OutboxStatus.PENDING, 0)
    assert row.context == {"points": 250, "extras": [{"kind": "voucher", "code": "AB-CD"}]}
    assert row.next_attempt_at is not None and row.created_at is not None

    # Written again (a job run twice): nothing new, nothing changed.
    outbox_write_many(shop=shop, kind="birthday", messages=[
        message(yes, "birthday:1", context={"points": 1})])
    assert OutboxMessage.objects.count() == 2
    assert OutboxMessage.objects.get(key="birthday:1").context["points"] == 250


def test_marketing_needs_consent_and_every_message_an_address(shop):
    consenting = MembershipFactory(shop=shop, marketing_consent=True)
    silent = MembershipFactory(shop=shop, marketing_consent=False)
    assert outbox_write_many(shop=shop, kind="birthday", messages=[
        message(consenting, "b:1"), message(silent, "b:2"),
        message(consenting, "b:3", to="")]) == 1
    assert list(OutboxMessage.objects.values_list("key", flat=True)) == ["b:1"]


def test_a_transactional_kind_goes_to_everyone_with_an_address(shop):
    silent = MembershipFactory(shop=shop, marketing_consent=False)
    assert outbox_write_many(shop=shop, kind="welcome", messages=[message(silent, "w:1")]) == 1
    assert OutboxMessage.objects.get().membership == silent


def test_nothing_to_write_enqueues_nothing(shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        assert outbox_write_many(shop=shop, kind="birthday", messages=[]) == 0
    assert callbacks == []


def test_a_web_process_finds_the_outbox_tasks_without_having_imported_them():
    """A web process (gunicorn, runserver) imports no tasks module, and the services never
    import the tasks: the enqueue on commit must still find them, or every e-mail would wait
    for the sweep. In a fresh interpreter, as a web process starts."""
    import os
    import subprocess
    import sys

    code = ("import django; django.setup(); import sys; "
            "assert 'loyalty.tasks' not in sys.modules; "
            "from loyalty.services.outbox import DRAIN_TASK, SEND_TASK, registered_task; "
            "print(registered_task(SEND_TASK).name, registered_task(DRAIN_TASK).name)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, env={**os.environ,
                                            "DJANGO_SETTINGS_MODULE": "loyalty.settings"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["loyalty.tasks.outbox_send", "loyalty.tasks.outbox_drain"]
