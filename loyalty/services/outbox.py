"""The outbox: what a transaction decides must happen after its commit (an e-mail), written as
a row in that same transaction. Nothing is sent here: on commit the message's id is handed to
Celery, and a periodic sweep hands on whatever was written while the broker was away.

One message per ``key`` ever (the database's unique key): writing the same occasion twice (a
retried job, a double tap) writes it once. A marketing kind is written only for a member who has
given marketing consent."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction

from ..models import Membership, OutboxMessage, Shop

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
        OutboxMessage(shop=shop, kind=kind, key=m["key"], to=m["to"],
                      language=m.get("language") or shop.language,
                      membership=m.get("membership"), context=m.get("context") or {})
        for m in messages
        if m.get("to") and (not marketing or (m.get("membership") is not None
                                              and m["membership"].marketing_consent))
    ]
    if rows:
        OutboxMessage.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        transaction.on_commit(lambda: _enqueue(DRAIN_TASK))
    return len(rows)


def _enqueue(task_name: str, *args) -> None:
    """Hand a task to the broker after the commit. The broker being away is no error here: the
    row is written, and the periodic sweep sends it when the broker is back. The task is found
    by name in Celery's registry (no import: the tasks call these services, not the other way
    round)."""
    from celery import current_app

    try:
        current_app.tasks[task_name].apply_async(args=args, retry=False)
    except Exception:  # noqa: BLE001 — any broker failure; the sweep is the fallback
        logger.warning("outbox: could not enqueue %s%s now; the sweep will", task_name, args,
                       exc_info=True)
