"""The outbox: what a transaction decides must happen after its commit (an e-mail), written as
a row in that same transaction. Nothing is sent here: on commit the message's id is handed to
Celery, and a periodic sweep hands on whatever was written while the broker was away.

One message per ``key`` ever (the database's unique key): writing the same occasion twice (a
retried job, a double tap) writes it once. A marketing kind is written only for a member who has
given marketing consent.

Sending (``outbox_send_one``, ``outbox_drain``, ``outbox_sweep``; the tasks in loyalty/tasks.py
call them) is *at most once*: a message is claimed (``pending`` → ``sending``, committed) before
it is handed to the mail server, and only then marked ``sent``. A transient failure (the server
is away, a 4xx answer) puts it back to ``pending`` with a later ``next_attempt_at``
(exponential backoff); a permanent one (the address refused, or too many attempts) marks it
``failed``. A message left in ``sending`` — the worker was killed while it talked to the mail
server — cannot be known to have arrived or not: the sweep marks it ``failed`` with that said,
rather than risk sending it twice. ``last_error`` starts with a reason code (``REASONS``) that
the dashboard shows in the owner's words."""

from __future__ import annotations

import datetime as dt
import json
import logging
import smtplib
import time
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from ..models import Membership, OutboxMessage, OutboxStatus, Shop

logger = logging.getLogger(__name__)

SEND_TASK = "loyalty.tasks.outbox_send"
DRAIN_TASK = "loyalty.tasks.outbox_drain"


def email_kind(kind: str) -> dict:
    """The settings of an e-mail kind (settings.TROUW_EMAIL_KINDS); an unknown kind is a
    programming error."""
    try:
        return settings.TROUW_EMAIL_KINDS[kind]
    except KeyError:
        raise ValueError(f"Unknown e-mail kind {kind!r}: add it to TROUW_EMAIL_KINDS") from None


def is_marketing(kind: str) -> bool:
    return bool(email_kind(kind).get("marketing"))


def outbox_write(*, shop: Shop, kind: str, key: str, to: str, language: str,
                 membership: Membership | None = None,
                 context: dict | None = None) -> OutboxMessage | None:
    """Write one message to send after the commit. Returns None (and writes nothing) when the
    key was written before, when there is no address, or when a marketing kind meets a member
    without marketing consent."""
    if not to or (is_marketing(kind) and not (membership and membership.marketing_consent)):
        return None
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(
                shop=shop, membership=membership, kind=kind, key=key, to=to,
                language=language or shop.language, context=context or {})
    except IntegrityError:
        if not OutboxMessage.objects.filter(key=key).exists():
            raise
        return None
    transaction.on_commit(lambda: _enqueue(SEND_TASK, message.pk))
    return message


def outbox_write_many(*, shop: Shop, kind: str, messages: list[dict]) -> int:
    """Write a batch (each a dict of ``key``, ``to``, ``language``, ``membership`` and
    ``context``) in one statement, skipping keys written before; after the commit one task
    drains them (no round trip to the broker per message). Marketing kinds keep only members
    with consent. Returns how many were offered after the consent filter."""
    marketing = is_marketing(kind)
    rows = [
        (getattr(m.get("membership"), "pk", None), m["key"], m["to"],
         m.get("language") or shop.language, json.dumps(m.get("context") or {}))
        for m in messages
        if m.get("to") and (not marketing or (m.get("membership") is not None
                                              and m["membership"].marketing_consent))
    ]
    for start in range(0, len(rows), _MANY_BATCH):
        _rows_insert(shop=shop, kind=kind, rows=rows[start:start + _MANY_BATCH])
    if rows:
        transaction.on_commit(lambda: _enqueue(DRAIN_TASK))
    return len(rows)


_MANY_BATCH = 1000
# The columns outbox_write_many fills: a new message, pending and due now.
_MANY_COLUMNS = ("shop_id", "membership_id", "kind", "key", "to", "language", "context",
                 "status", "attempts", "next_attempt_at", "last_error", "created_at")


def _rows_insert(*, shop: Shop, kind: str, rows: list[tuple]) -> None:
    """Insert (membership id, key, to, language, context as JSON text) rows in one statement,
    skipping keys the table has (``ON CONFLICT (key) DO NOTHING``), without a model instance
    each: the birthday job and the reminders write thousands at once. PostgreSQL takes the
    varying columns as five arrays (``unnest``), SQLite a VALUES list."""
    if not rows:
        return
    quote = connection.ops.quote_name
    now = OutboxMessage._meta.get_field("created_at").get_db_prep_save(timezone.now(),
                                                                       connection)
    fixed = [shop.pk, kind, OutboxStatus.PENDING, 0, now, "", now]
    table = quote(OutboxMessage._meta.db_table)
    columns = ", ".join(quote(OutboxMessage._meta.get_field(name.removesuffix("_id")).column)
                        for name in _MANY_COLUMNS)
    if connection.vendor == "postgresql":
        source = ("SELECT %s, m, %s, k, t, l, c::jsonb, %s, %s, %s, %s, %s FROM unnest("
                  "%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[])"
                  " AS r(m, k, t, l, c)")
        params = [*fixed[:2], *fixed[2:], *(list(column) for column in zip(*rows, strict=True))]
    else:
        source = "VALUES " + ", ".join(["(" + ", ".join(["%s"] * 12) + ")"] * len(rows))
        params = []
        for membership_id, key, to, language, context in rows:
            params += [shop.pk, membership_id, kind, key, to, language, context, *fixed[2:]]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) {source}"  # noqa: S608 (identifiers)
                       f" ON CONFLICT ({quote('key')}) DO NOTHING", params)


# After the broker failed once, this process does not try again for a while: a purchase recorded
# while Redis is down then costs no connect attempt at all (the sweep sends the rows later).
BROKER_PAUSE_SECONDS = 10.0
_broker_paused_until = 0.0


def registered_task(task_name: str):
    """The task of that name from Celery's registry. A web process imports no task module of
    its own (a worker does, at start): the first time, the apps' task modules are loaded, as a
    worker loads them (``import_default_modules``: Celery's autodiscovery of ``tasks.py``)."""
    from celery import current_app

    if task_name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[task_name]


def _enqueue(task_name: str, *args) -> bool:
    """Hand a task to the broker after the commit. The broker being away is no error here: the
    row is written, and the periodic sweep sends it when the broker is back. The task is found
    by name in Celery's registry (no import: the tasks call these services, not the other way
    round). Returns whether the task was handed on."""
    global _broker_paused_until

    if time.monotonic() < _broker_paused_until:
        return False
    try:
        registered_task(task_name).apply_async(args=args, retry=False)
    except Exception:  # noqa: BLE001 — any broker failure; the sweep is the fallback
        _broker_paused_until = time.monotonic() + BROKER_PAUSE_SECONDS
        logger.warning("outbox: could not enqueue %s%s now; the sweep will", task_name, args,
                       exc_info=True)
        return False
    return True


def broker_pause_reset() -> None:
    """Forget an earlier broker failure (tests; a worker that just reached the broker)."""
    global _broker_paused_until
    _broker_paused_until = 0.0


# --- Sending ------------------------------------------------------------------------------------

# Why a message was not sent, as the first word of ``last_error`` (the rest is the detail for a
# developer). The dashboard shows these in the owner's words (loyalty.selectors).
REASON_REFUSED = "refused"        # the mail server refused the address
REASON_ATTEMPTS = "attempts"      # transient failures, and too many of them
REASON_RETRYING = "retrying"      # a transient failure; it will be tried again
REASON_LOST = "lost"              # the worker stopped mid-send: it may not have arrived
REASON_NO_CONSENT = "no-consent"  # a marketing e-mail to a member who has since said no
REASON_NOTHING = "nothing"        # the renderer found nothing to send any more
REASONS = (REASON_REFUSED, REASON_ATTEMPTS, REASON_RETRYING, REASON_LOST, REASON_NO_CONSENT,
           REASON_NOTHING)

# Exceptions of other mail backends that mean "this address will never take it" (django-anymail).
PERMANENT_ERROR_NAMES = frozenset({"AnymailRecipientsRefused", "AnymailInvalidAddress"})


def outbox_max_attempts() -> int:
    return settings.TROUW_OUTBOX_MAX_ATTEMPTS


def outbox_backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed try: 1, 2, 4, 8 … minutes, at most 6
    hours. The wait is held in the row (``next_attempt_at``), never as a Celery ETA."""
    base = settings.TROUW_OUTBOX_BACKOFF_SECONDS
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 3600))


def is_permanent_error(exc: BaseException) -> bool:
    """A refusal that no retry will change: a 5xx answer about the recipient (or the message),
    or another backend's 'recipients refused'. Everything else — the server away, a timeout, a
    4xx 'try later', an error we do not know — is worth another try (up to the limit)."""
    if any(cls.__name__ in PERMANENT_ERROR_NAMES for cls in type(exc).__mro__):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPServerDisconnected):
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500 and not isinstance(exc, smtplib.SMTPSenderRefused)
    return False


def _claim(due, count: int = 1) -> list[OutboxMessage]:
    """Claim up to ``count`` due messages: lock them (skipping rows another worker holds), mark
    them ``sending`` and commit, so that no other worker takes them while they are on their
    way. One commit for the batch: a drain pays two commits per batch, not per message."""
    now = timezone.now()
    with transaction.atomic():
        messages = list(due.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
                        .order_by("next_attempt_at", "pk")
                        .select_for_update(skip_locked=True, of=("self",))[:count])
        if not messages:
            return []
        claimed = OutboxMessage.objects.filter(
            pk__in=[m.pk for m in messages], status=OutboxStatus.PENDING
        ).update(status=OutboxStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
        if claimed != len(messages):  # SQLite has no row locks: a race; try again later
            transaction.set_rollback(True)
            return []
    for message in messages:
        message.status, message.claimed_at = OutboxStatus.SENDING, now
        message.attempts += 1
    return messages


def _mark_sent(messages: list[OutboxMessage]) -> None:
    """Mark delivered messages sent (one statement) and run their kinds' ``sent`` hooks."""
    if not messages:
        return
    now = timezone.now()
    OutboxMessage.objects.filter(pk__in=[m.pk for m in messages],
                                 status=OutboxStatus.SENDING).update(
        status=OutboxStatus.SENT, sent_at=now, claimed_at=None, last_error="")
    for message in messages:
        message.status, message.sent_at = OutboxStatus.SENT, now
        if hook := email_kind(message.kind).get("sent"):
            import_string(hook)(message)  # e.g. the invitation's "sent at" on the team page


def _settle(message: OutboxMessage, **fields) -> None:
    """Write a claimed message's outcome (only while it is still ours: ``sending``)."""
    OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.SENDING).update(
        claimed_at=None, **fields)


def _from_address(shop: Shop) -> str:
    """The site's sending address, with the shop's name as the name people see."""
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((shop.name, address))


def _member_consents(message: OutboxMessage) -> bool:
    return Membership.objects.filter(pk=message.membership_id, marketing_consent=True).exists()


def _connection_lost(exc: BaseException) -> bool:
    """The mail server is away (not: it refused this one message)."""
    return isinstance(exc, OSError | smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError)


def _deliver(message: OutboxMessage, connection) -> str:
    """Compose and send one claimed message; record what happened. Returns the new status.
    Raises MailServerAway (after recording the retry) when the server could not be reached."""
    from celery.exceptions import SoftTimeLimitExceeded

    if is_marketing(message.kind) and not (message.membership_id and _member_consents(message)):
        _settle(message, status=OutboxStatus.SKIPPED,
                last_error=f"{REASON_NO_CONSENT}: no marketing consent at send time")
        return OutboxStatus.SKIPPED
    try:
        email = import_string(email_kind(message.kind)["render"])(message)
        if email is None:
            _settle(message, status=OutboxStatus.SKIPPED,
                    last_error=f"{REASON_NOTHING}: the renderer found nothing to send")
            return OutboxStatus.SKIPPED
        mail = EmailMultiAlternatives(
            subject=email.subject, body=email.text, from_email=_from_address(message.shop),
            to=[message.to], headers=email.headers, connection=connection,
            reply_to=[message.shop.email] if message.shop.email else None)
        mail.attach_alternative(email.html, "text/html")
        connection.open()  # no-op when open: a drain sends all over one connection
        mail.send()
    except SoftTimeLimitExceeded:
        raise  # left in ``sending``: the sweep settles it (it may have gone out)
    except Exception as exc:  # noqa: BLE001 — every failure is recorded on the row
        detail = f"{type(exc).__name__}: {exc}"[:2000]
        if is_permanent_error(exc):
            _settle(message, status=OutboxStatus.FAILED, last_error=f"{REASON_REFUSED}: {detail}")
            return OutboxStatus.FAILED
        if message.attempts >= outbox_max_attempts():
            _settle(message, status=OutboxStatus.FAILED,
                    last_error=f"{REASON_ATTEMPTS}: {message.attempts} tries; last: {detail}")
            return OutboxStatus.FAILED
        _settle(message, status=OutboxStatus.PENDING, last_error=f"{REASON_RETRYING}: {detail}",
                next_attempt_at=timezone.now() + outbox_backoff(message.attempts))
        if _connection_lost(exc):
            connection.close()
            raise MailServerAway(detail) from exc
        return OutboxStatus.PENDING
    return OutboxStatus.SENT  # marked by the caller (_mark_sent), a batch at a time


def _with_relations(messages):
    """What the renderers read, in the same query: the shop, its rules, the card."""
    return messages.select_related("shop", "shop__current_rules", "membership")


def _unclaim(messages: list[OutboxMessage]) -> None:
    """Give claimed messages that were not tried back to ``pending``, their attempt unspent."""
    if messages:
        OutboxMessage.objects.filter(pk__in=[m.pk for m in messages],
                                     status=OutboxStatus.SENDING).update(
            status=OutboxStatus.PENDING, claimed_at=None, attempts=F("attempts") - 1)


class MailServerAway(Exception):
    """The mail server could not be reached; the message waits for its next try."""


def outbox_send_one(*, message_id: int) -> str | None:
    """Send one message if it is due and nobody else has it. Returns its new status, or None
    when there was nothing to do (sent already, not due yet, another worker has it)."""
    claimed = _claim(_with_relations(OutboxMessage.objects.filter(pk=message_id)))
    if not claimed:
        return None
    connection = get_connection()
    try:
        status = _deliver(claimed[0], connection)
        if status == OutboxStatus.SENT:
            _mark_sent(claimed)
        return status
    except MailServerAway:
        return OutboxStatus.PENDING
    finally:
        connection.close()


def outbox_drain(*, limit: int | None = None, seconds: float | None = None) -> dict[str, int]:
    """Send due messages, oldest first, over one connection to the mail server, until none are
    due, ``limit`` were tried, or ``seconds`` have passed. Several drains may run at once (each
    claim skips rows another holds). Returns counts by outcome, and ``more`` (1 when it
    stopped with messages possibly still due)."""
    limit = limit or settings.TROUW_OUTBOX_BATCH
    seconds = seconds or settings.TROUW_OUTBOX_DRAIN_SECONDS
    counts = {OutboxStatus.SENT: 0, OutboxStatus.PENDING: 0, OutboxStatus.FAILED: 0,
              OutboxStatus.SKIPPED: 0}
    deadline = time.monotonic() + seconds
    due = _with_relations(OutboxMessage.objects.all())
    tried, more = 0, 0
    connection = get_connection()
    try:
        while True:
            if tried >= limit or time.monotonic() >= deadline:
                more = 1
                break
            batch = _claim(due, min(settings.TROUW_OUTBOX_CLAIM_BATCH, limit - tried))
            if not batch:
                break
            sent: list[OutboxMessage] = []
            done = 0
            try:
                for message in batch:
                    tried, done = tried + 1, done + 1
                    status = _deliver(message, connection)
                    counts[status] += 1
                    if status == OutboxStatus.SENT:
                        sent.append(message)
            except MailServerAway:
                # The rest of the batch goes back untouched (no attempt spent on it); the
                # sweep tries again.
                counts[OutboxStatus.PENDING] += 1
                _unclaim(batch[done:])
                break
            finally:
                _mark_sent(sent)
    finally:
        connection.close()
    return {"sent": counts[OutboxStatus.SENT], "retry": counts[OutboxStatus.PENDING],
            "failed": counts[OutboxStatus.FAILED], "skipped": counts[OutboxStatus.SKIPPED],
            "more": more}


def outbox_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The periodic safety net (every minute). Settles messages stuck in ``sending`` longer
    than TROUW_OUTBOX_STUCK_SECONDS (a worker killed mid-send; longer than any task may run)
    as ``failed`` — they may have arrived, so they are not sent again — and hands the due
    pending messages (written while the broker was away, whose task was lost, or waiting for
    their retry) to a drain. Returns the counts."""
    now = now or timezone.now()
    stuck_before = now - dt.timedelta(seconds=settings.TROUW_OUTBOX_STUCK_SECONDS)
    lost = OutboxMessage.objects.filter(
        status=OutboxStatus.SENDING, claimed_at__lt=stuck_before
    ).update(status=OutboxStatus.FAILED, claimed_at=None,
             last_error=f"{REASON_LOST}: the worker stopped while sending; it may or may not "
                        "have arrived, so it is not sent again")
    due = OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now
                                       ).count()
    handed_on = 0
    if due:
        batch = settings.TROUW_OUTBOX_BATCH
        drains = min(-(-due // batch), settings.TROUW_OUTBOX_SWEEP_MAX_DRAINS)
        handed_on = sum(_enqueue(DRAIN_TASK) for _ in range(drains))
    return {"due": due, "drains": handed_on, "lost": lost}
