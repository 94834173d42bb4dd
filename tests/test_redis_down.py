"""Redis down: recording a purchase, a redemption and an enrolment still succeeds — through the
API and the public page, no 500, quickly — the outbox rows are written, and they go out when
the broker is back (the sweep). The broker is pointed at a port where nothing listens."""

from __future__ import annotations

import json
import time

import pytest
from django.conf import settings
from django.core import mail

from loyalty import tasks
from loyalty.celery import app
from loyalty.models import Membership, OutboxMessage, OutboxStatus, Purchase
from loyalty.services import api_key_create, outbox, purchase_record
from rewards import services as rewards_services
from rewards.models import RewardKind, Voucher

DEAD_BROKER = "redis://127.0.0.1:1/0"
# A request may not wait for the broker: far less than a connect timeout with retries.
QUICK_SECONDS = 3.0


def _reset_producers():
    app._pool = None
    app.amqp._producer_pool = None
    outbox.broker_pause_reset()


@pytest.fixture
def dead_broker():
    keys = ("task_always_eager", "broker_url", "broker_transport_options")
    old = {key: app.conf[key] for key in keys}
    app.conf.task_always_eager = False
    app.conf.broker_url = DEAD_BROKER
    app.conf.broker_transport_options = dict(settings.REDIS_BROKER_TRANSPORT_OPTIONS)
    _reset_producers()
    yield
    for key, value in old.items():
        app.conf[key] = value
    _reset_producers()


@pytest.fixture
def api(client, shop):
    _key, raw = api_key_create(shop=shop, name="till")

    def post(path, data, key):
        started = time.monotonic()
        response = client.post(path, data=json.dumps(data), content_type="application/json",
                               headers={"Authorization": f"Api-Key {raw}",
                                        "Idempotency-Key": key})
        return response, time.monotonic() - started

    return post


def _broker_is_dead():
    with pytest.raises(Exception):  # noqa: B017,PT011 — kombu's OperationalError, whatever kind
        app.send_task("loyalty.tasks.outbox_drain", retry=False)


@pytest.mark.django_db(transaction=True)
def test_purchase_redemption_and_enrolment_succeed_with_redis_down_and_mail_goes_out_later(
    dead_broker, api, client, shop, member, caplog
):
    _broker_is_dead()
    reward = rewards_services.reward_create(
        shop=shop, kind=RewardKind.FREE_PRODUCT, name="Gratis koffie", points_cost=100,
        product_name="Koffie")
    outbox.broker_pause_reset()

    # A purchase through the API.
    response, took = api("/api/v1/purchases/", {"member": member.card_number,
                                                "amount": "25.00"}, "buy-1")
    assert response.status_code == 201, response.content
    assert took < QUICK_SECONDS
    assert Purchase.objects.filter(membership=member).count() == 1
    member.refresh_from_db()
    assert member.points_balance == 250

    # A redemption through the API: a voucher, and its e-mail waiting in the outbox.
    outbox.broker_pause_reset()  # every request meets the dead broker afresh
    response, took = api("/api/v1/redemptions/", {"member": member.card_number,
                                                  "reward": reward.pk}, "redeem-1")
    assert response.status_code == 201, response.content
    assert took < QUICK_SECONDS
    voucher = Voucher.objects.get(membership=member)

    # An enrolment on the public page, with an e-mail address: the welcome waits too.
    outbox.broker_pause_reset()
    started = time.monotonic()
    response = client.post(f"/s/{shop.slug}/", {
        "name": "Noor de Vries", "email": "noor@example.com", "password": "a-long-pass-phrase-9",
        "marketing_consent": "on"})
    assert response.status_code in (200, 302), response.content
    assert time.monotonic() - started < QUICK_SECONDS
    noor = Membership.objects.get(shop=shop, email="noor@example.com")

    # An enrolment through the API as well.
    outbox.broker_pause_reset()
    response, took = api("/api/v1/members/", {"name": "Piet", "email": "piet@example.com"},
                         "enrol-1")
    assert response.status_code == 201, response.content
    assert took < QUICK_SECONDS

    waiting = dict(OutboxMessage.objects.values_list("key", "status"))
    assert waiting == {
        f"voucher_issued:{voucher.pk}": OutboxStatus.PENDING,
        f"welcome:{noor.pk}": OutboxStatus.PENDING,
        f"welcome:{Membership.objects.get(email='piet@example.com').pk}": OutboxStatus.PENDING,
    }
    assert caplog.text.count("could not enqueue loyalty.tasks.outbox_send") == 3
    ours = [m for m in mail.outbox if "Welcome" in m.subject or "voucher" in m.subject.lower()]
    assert ours == []  # nothing went out: there is no broker to hand it to

    # The broker is back (a worker runs the tasks: eager here); the beat's sweep sends them.
    app.conf.task_always_eager = True
    _reset_producers()
    counts = tasks.outbox_sweep()
    assert counts["due"] == 3
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}
    sent_to = sorted(m.to[0] for m in mail.outbox if m.alternatives)
    assert sent_to == ["member@example.com", "noor@example.com", "piet@example.com"]
    assert tasks.outbox_sweep()["due"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_failed_enqueue_pauses_further_tries_for_a_while(dead_broker, shop, member):
    outbox.broker_pause_reset()
    assert outbox._enqueue(outbox.DRAIN_TASK) is False
    started = time.monotonic()
    assert outbox._enqueue(outbox.DRAIN_TASK) is False  # no connect attempt at all now
    assert time.monotonic() - started < 0.05
    purchase_record(shop=shop, amount="5.00", membership_id=member.pk)
    member.refresh_from_db()
    assert member.points_balance == 50


def test_the_redis_broker_fails_fast():
    options = settings.REDIS_BROKER_TRANSPORT_OPTIONS
    assert options["max_retries"] == 0
    assert options["socket_connect_timeout"] <= 2
    assert options["visibility_timeout"] > settings.CELERY_TASK_TIME_LIMIT
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert settings.CELERY_TASK_PUBLISH_RETRY is False
    assert tasks.OUTBOX_LIMITS["time_limit"] < settings.TROUW_OUTBOX_STUCK_SECONDS
