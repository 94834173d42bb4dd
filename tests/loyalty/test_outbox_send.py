"""The outbox's sending side: claim, render, send (text + HTML), mark sent; transient failures
retried with backoff, permanent ones recorded; renderers with nothing to send; marketing
consent checked again at send time; the sweep and the drain."""

from __future__ import annotations

import datetime as dt
import smtplib

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from loyalty import services, tasks
from loyalty.models import ConsentSource, OutboxMessage, OutboxStatus
from loyalty.services import outbox
from tests.factories import MembershipFactory
from tests.loyalty.mail_backends import CountingBackend, FailingBackend

pytestmark = pytest.mark.django_db

FAILING = "tests.loyalty.mail_backends.FailingBackend"


@pytest.fixture
def failing(settings):
    settings.EMAIL_BACKEND = FAILING
    FailingBackend.sends = 0
    yield FailingBackend
    FailingBackend.error = None


def _welcome(shop, membership=None, key="welcome:t", to="ann@example.com"):
    membership = membership or MembershipFactory(shop=shop, email=to, name="Ann")
    return services.outbox_write(shop=shop, kind="welcome", key=key, to=to,
                                 language="nl", membership=membership)


def _reminder(shop, membership, key="voucher_expiring:t"):
    return services.outbox_write(shop=shop, kind="voucher_expiring", key=key,
                                 to=membership.email, language=membership.language,
                                 membership=membership, context={"voucher_id": 0})


def _state(message):
    message.refresh_from_db()
    return message.status, message.attempts, message.last_error.split(":", 1)[0]


class TestSendOne:
    def test_sends_text_and_inlined_html_from_the_shop_and_marks_it_sent(self, shop):
        shop.email = "hallo@noord.example"
        shop.save()
        message = _welcome(shop)
        assert services.outbox_send_one(message_id=message.pk) == OutboxStatus.SENT

        assert len(mail.outbox) == 1
        sent = mail.outbox[0]
        assert sent.to == ["ann@example.com"]
        assert sent.from_email == "Bakkerij Noord <no-reply@trouw.local>"
        assert sent.reply_to == ["hallo@noord.example"]
        assert "Bakkerij Noord" in sent.subject
        assert message.membership.card_number_display in sent.body
        html, mimetype = sent.alternatives[0]
        assert mimetype == "text/html"
        assert "<style" not in html and 'style="' in html  # inlined by css-inline
        assert shop.brand_color in html
        message.refresh_from_db()
        assert (message.status, message.attempts, message.last_error) == (
            OutboxStatus.SENT, 1, "")
        assert message.sent_at is not None and message.claimed_at is None

    def test_a_second_run_sends_nothing(self, shop):
        message = _welcome(shop)
        assert services.outbox_send_one(message_id=message.pk) == OutboxStatus.SENT
        assert services.outbox_send_one(message_id=message.pk) is None
        assert tasks.outbox_send(message.pk) is None
        assert len(mail.outbox) == 1

    def test_a_message_another_worker_holds_is_left_alone(self, shop):
        message = _welcome(shop)
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=OutboxStatus.SENDING, claimed_at=timezone.now())
        assert services.outbox_send_one(message_id=message.pk) is None
        assert mail.outbox == []
        assert _state(message)[0] == OutboxStatus.SENDING

    def test_a_message_not_due_yet_waits(self, shop):
        message = _welcome(shop)
        OutboxMessage.objects.filter(pk=message.pk).update(
            next_attempt_at=timezone.now() + dt.timedelta(minutes=5))
        assert services.outbox_send_one(message_id=message.pk) is None
        assert mail.outbox == []

    def test_the_member_language_is_used(self, shop):
        membership = MembershipFactory(shop=shop, email="sven@example.com", language="sv")
        message = services.outbox_write(shop=shop, kind="welcome", key="welcome:sv",
                                        to=membership.email, language="sv",
                                        membership=membership)
        services.outbox_send_one(message_id=message.pk)
        html = mail.outbox[0].alternatives[0][0]
        assert 'lang="sv"' in html


class TestFailures:
    @pytest.mark.parametrize("error", [
        smtplib.SMTPServerDisconnected("gone"),
        smtplib.SMTPConnectError(421, b"busy"),
        ConnectionRefusedError(111, "refused"),
        TimeoutError("timed out"),
        smtplib.SMTPDataError(451, b"try later"),
        smtplib.SMTPRecipientsRefused({"ann@example.com": (452, b"mailbox full")}),
    ])
    def test_a_transient_error_is_retried_later_with_backoff(self, shop, failing, error):
        failing.error = error
        message = _welcome(shop)
        before = timezone.now()
        assert services.outbox_send_one(message_id=message.pk) == OutboxStatus.PENDING
        status, attempts, reason = _state(message)
        assert (status, attempts, reason) == (OutboxStatus.PENDING, 1, outbox.REASON_RETRYING)
        assert message.next_attempt_at >= before + dt.timedelta(seconds=60)
        assert message.claimed_at is None

    def test_the_wait_doubles_and_is_capped(self, settings):
        settings.TROUW_OUTBOX_BACKOFF_SECONDS = 60
        waits = [outbox.outbox_backoff(n).total_seconds() for n in (1, 2, 3, 4, 20)]
        assert waits == [60, 120, 240, 480, 6 * 3600]

    @pytest.mark.parametrize("error", [
        smtplib.SMTPRecipientsRefused({"ann@example.com": (550, b"no such user")}),
        smtplib.SMTPDataError(554, b"rejected"),
    ])
    def test_a_permanent_refusal_fails_at_once(self, shop, failing, error):
        failing.error = error
        message = _welcome(shop)
        assert services.outbox_send_one(message_id=message.pk) == OutboxStatus.FAILED
        assert _state(message) == (OutboxStatus.FAILED, 1, outbox.REASON_REFUSED)
        assert "550" in message.last_error or "554" in message.last_error

    def test_anymail_refusals_are_permanent_by_name(self):
        class AnymailRecipientsRefused(Exception):
            pass

        assert outbox.is_permanent_error(AnymailRecipientsRefused())
        assert not outbox.is_permanent_error(RuntimeError("bug"))

    def test_too_many_attempts_fail_it_for_good(self, shop, failing, settings):
        settings.TROUW_OUTBOX_MAX_ATTEMPTS = 3
        failing.error = smtplib.SMTPServerDisconnected("gone")
        message = _welcome(shop)
        for attempt in (1, 2, 3):
            OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
            services.outbox_send_one(message_id=message.pk)
            assert _state(message)[1] == attempt
        assert _state(message) == (OutboxStatus.FAILED, 3, outbox.REASON_ATTEMPTS)
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        assert services.outbox_send_one(message_id=message.pk) is None
        assert failing.sends == 3

    def test_a_retried_message_goes_out_when_the_server_is_back(self, shop, failing, settings):
        failing.error = smtplib.SMTPServerDisconnected("gone")
        message = _welcome(shop)
        services.outbox_send_one(message_id=message.pk)
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert services.outbox_drain() ["sent"] == 0  # not due yet
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=2)):
            assert services.outbox_drain()["sent"] == 1
        assert _state(message) == (OutboxStatus.SENT, 2, "")
        assert len(mail.outbox) == 1

    def test_a_drain_stops_when_the_server_is_away_and_spends_no_attempt_on_the_rest(
        self, shop, failing
    ):
        failing.error = ConnectionRefusedError(111, "refused")
        first = _welcome(shop, key="w:1", to="a@example.com")
        rest = [_welcome(shop, key=f"w:{n}", to=f"{n}@example.com") for n in (2, 3)]
        counts = services.outbox_drain()
        assert (counts["retry"], counts["sent"]) == (1, 0)
        assert _state(first)[:2] == (OutboxStatus.PENDING, 1)
        assert [_state(m)[:2] for m in rest] == [(OutboxStatus.PENDING, 0)] * 2


class TestNothingToSend:
    def test_a_renderer_returning_none_marks_it_skipped(self, shop):
        # The voucher this reminder is about does not exist (any more).
        membership = MembershipFactory(shop=shop, email="b@example.com", marketing_consent=True)
        message = _reminder(shop, membership)
        assert services.outbox_send_one(message_id=message.pk) == OutboxStatus.SKIPPED
        assert _state(message) == (OutboxStatus.SKIPPED, 1, outbox.REASON_NOTHING)
        assert mail.outbox == []

    def test_marketing_is_checked_again_at_send_time(self, shop):
        membership = MembershipFactory(shop=shop, email="b@example.com", marketing_consent=True)
        message = _reminder(shop, membership)
        assert message is not None
        services.membership_marketing_consent_set(membership=membership, consent=False,
                                                  source=ConsentSource.UNSUBSCRIBE)
        assert services.outbox_send_one(message_id=message.pk) == OutboxStatus.SKIPPED
        assert _state(message)[2] == outbox.REASON_NO_CONSENT
        assert mail.outbox == []

    def test_a_marketing_kind_is_not_written_without_consent(self, shop):
        membership = MembershipFactory(shop=shop, email="b@example.com", marketing_consent=False)
        assert _reminder(shop, membership) is None
        assert not OutboxMessage.objects.exists()


class TestSweep:
    def test_a_message_stuck_in_sending_fails_honestly_and_is_never_sent_twice(
        self, shop, settings
    ):
        message = _welcome(shop)
        claimed = timezone.now() - dt.timedelta(seconds=settings.TROUW_OUTBOX_STUCK_SECONDS + 1)
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=OutboxStatus.SENDING, claimed_at=claimed, attempts=1)
        fresh = _welcome(shop, key="w:fresh", to="c@example.com")
        OutboxMessage.objects.filter(pk=fresh.pk).update(
            status=OutboxStatus.SENDING, claimed_at=timezone.now(), attempts=1)

        counts = services.outbox_sweep()
        assert counts["lost"] == 1
        assert _state(message) == (OutboxStatus.FAILED, 1, outbox.REASON_LOST)
        assert _state(fresh)[0] == OutboxStatus.SENDING  # its worker may still be at it
        assert services.outbox_sweep()["lost"] == 0
        assert mail.outbox == []

    def test_hands_due_pending_messages_to_a_drain(self, shop):
        # Written and committed while nothing was enqueued (the broker was away).
        messages = [_welcome(shop, key=f"w:{n}", to=f"{n}@example.com") for n in range(3)]
        counts = tasks.outbox_sweep()  # eager: the drain runs at once
        assert (counts["due"], counts["drains"]) == (3, 1)
        assert {_state(m)[0] for m in messages} == {OutboxStatus.SENT}
        assert len(mail.outbox) == 3
        assert tasks.outbox_sweep()["due"] == 0

    def test_the_sweep_is_on_the_beat_every_minute(self):
        from loyalty.celery import app

        entry = app.conf.beat_schedule["outbox-sweep"]
        assert entry["task"] == "loyalty.tasks.outbox_sweep"
        assert entry["schedule"] == 60.0


class TestDrain:
    def test_sends_all_due_over_one_connection(self, shop, settings):
        settings.EMAIL_BACKEND = "tests.loyalty.mail_backends.CountingBackend"
        CountingBackend.opened = 0
        for n in range(5):
            _welcome(shop, key=f"w:{n}", to=f"{n}@example.com")
        counts = services.outbox_drain()
        assert counts == {"sent": 5, "retry": 0, "failed": 0, "skipped": 0, "more": 0}
        assert len(mail.outbox) == 5
        assert CountingBackend.opened == 5  # open() is asked each time, and is a no-op when open

    def test_stops_at_its_limit_and_says_there_is_more(self, shop):
        for n in range(3):
            _welcome(shop, key=f"w:{n}", to=f"{n}@example.com")
        counts = services.outbox_drain(limit=2)
        assert (counts["sent"], counts["more"]) == (2, 1)
        assert OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count() == 1

    def test_the_task_hands_on_until_all_are_sent(self, shop, settings):
        settings.TROUW_OUTBOX_BATCH = 2
        for n in range(5):
            _welcome(shop, key=f"w:{n}", to=f"{n}@example.com")
        tasks.outbox_drain()
        assert len(mail.outbox) == 5


@pytest.mark.django_db(transaction=True)
class TestEnqueueOnCommit:
    def test_a_committed_message_is_sent_after_the_commit(self, shop):
        with transaction.atomic():
            message = _welcome(shop)
            assert mail.outbox == []  # not before the commit
        assert len(mail.outbox) == 1
        assert _state(message)[0] == OutboxStatus.SENT

    def test_nothing_is_written_or_enqueued_when_the_transaction_rolls_back(self, shop):
        membership = MembershipFactory(shop=shop, email="ann@example.com")
        with pytest.raises(RuntimeError), transaction.atomic():
            _welcome(shop, membership=membership)
            raise RuntimeError("the purchase failed")
        assert not OutboxMessage.objects.exists()
        assert mail.outbox == []

    def test_the_same_key_twice_writes_and_sends_once(self, shop):
        membership = MembershipFactory(shop=shop, email="ann@example.com")
        assert _welcome(shop, membership=membership) is not None
        assert _welcome(shop, membership=membership) is None
        assert OutboxMessage.objects.count() == 1
        assert len(mail.outbox) == 1
