"""Stored answers of Idempotency-Keys are kept TROUW_IDEMPOTENCY_KEEP_DAYS and then deleted by a
daily task; a key sent again after that still records nothing twice."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from loyalty import tasks
from loyalty.celery import app
from loyalty.models import IdempotentRequest, LedgerEntry, Purchase
from loyalty.services import api_key_create, idempotent_requests_prune
from tests.helpers import balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def raw_key(shop):
    return api_key_create(shop=shop, name="till-1")[1]


def earn(client, raw_key, card, key):
    return client.post("/api/v1/purchases/",
                       data=json.dumps({"member": card, "amount": "27.50"}),
                       content_type="application/json",
                       headers={"Authorization": f"Api-Key {raw_key}", "Idempotency-Key": key})


def age(key: str, days: float) -> None:
    IdempotentRequest.objects.filter(key=key).update(
        created_at=timezone.now() - dt.timedelta(days=days))


def test_answers_older_than_the_keep_days_are_deleted(settings, client, raw_key, member):
    settings.TROUW_IDEMPOTENCY_KEEP_DAYS = 30
    for key in ("old-1", "old-2", "recent"):
        assert earn(client, raw_key, member.card_number, key).status_code == 201
    age("old-1", 31)
    age("old-2", 30.01)
    age("recent", 29.9)

    assert idempotent_requests_prune() == 2

    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["recent"]
    assert Purchase.objects.count() == 3  # only the stored answers go
    assert idempotent_requests_prune() == 0  # safe to run again


def test_it_deletes_in_batches_until_none_is_left(client, raw_key, member):
    for n in range(5):
        earn(client, raw_key, member.card_number, f"k-{n}")
        age(f"k-{n}", 40)

    assert idempotent_requests_prune(batch=2) == 5
    assert not IdempotentRequest.objects.exists()


def test_within_the_keep_days_a_replay_gets_the_stored_answer(client, raw_key, member):
    first = earn(client, raw_key, member.card_number, "k-1")
    age("k-1", 29)
    idempotent_requests_prune()

    replay = earn(client, raw_key, member.card_number, "k-1")

    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"


def test_after_the_keep_days_a_replay_is_refused_and_counts_nothing_twice(client, raw_key, member):
    earn(client, raw_key, member.card_number, "k-1")
    points = balance(member)
    age("k-1", 31)
    idempotent_requests_prune()

    replay = earn(client, raw_key, member.card_number, "k-1")

    assert replay.status_code == 409
    assert replay.json()["error"]["code"] == "idempotency_key_reused"
    assert Purchase.objects.count() == 1
    assert LedgerEntry.objects.filter(membership=member).count() == 1
    assert balance(member) == points


def test_the_daily_task_prunes(client, raw_key, member):
    earn(client, raw_key, member.card_number, "k-1")
    age("k-1", 31)

    assert tasks.idempotent_requests_prune.apply().get() == 1
    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "loyalty.tasks.idempotent_requests_prune" in schedule
