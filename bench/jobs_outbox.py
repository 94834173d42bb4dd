"""How fast one worker process drains the outbox (goal: ≥ 200 e-mails/s, locmem backend).

    .venv/bin/python bench/jobs_outbox.py [--messages 3000] [--database trouw_bench_outbox]

Creates (or reuses) its own PostgreSQL database, migrates it, seeds one shop with
``--messages`` members with an e-mail address, writes a welcome e-mail for each to the outbox
(one bulk insert), and drains it in this one process with ``services.outbox_drain`` — the same
code the Celery task runs: claim each row (SELECT … FOR UPDATE SKIP LOCKED, then ``sending``),
render it (templates in the member's language, CSS inlined with css-inline), send it through
Django's locmem backend, mark it sent. Prints e-mails/s and checks every message is sent and
each sent once. Takes well under a minute.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--database", default="trouw_bench_outbox")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()

    import psycopg

    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              [args.database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{args.database}"')

    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "loyalty.settings",
        "DJANGO_ENV": "development",
        "DJANGO_DEBUG": "false",  # as a worker runs: templates compiled once (cached loader)
        "DATABASE_URL": f"{args.pg}/{args.database}",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
        "TROUW_VAR_DIR": str(ROOT / "var" / "bench_outbox"),
    })
    import django

    django.setup()
    from django.core import mail
    from django.core.management import call_command
    from django.db.models import Count

    call_command("migrate", verbosity=0)

    from loyalty import services
    from loyalty.models import Membership, OutboxMessage, OutboxStatus, Shop

    shop = Shop.objects.filter(slug="bench-outbox").first()
    if shop is None:
        shop = Shop.objects.create(name="Bakkerij Bench", slug="bench-outbox", language="nl",
                                   currency="EUR")
    have = Membership.objects.filter(shop=shop).count()
    Membership.objects.bulk_create([
        Membership(shop=shop, card_number=f"9{n:012d}", name=f"Lid {n}",
                   email=f"lid{n}@example.com", language=("nl", "en", "sv")[n % 3])
        for n in range(have, args.messages)], batch_size=2000)
    members = list(Membership.objects.filter(shop=shop).order_by("pk")[:args.messages])

    OutboxMessage.objects.filter(shop=shop).delete()
    OutboxMessage.objects.bulk_create([
        OutboxMessage(shop=shop, membership=m, kind="welcome", key=f"bench-welcome:{m.pk}",
                      to=m.email, language=m.language) for m in members], batch_size=2000)

    mail.outbox = []
    started = time.perf_counter()
    sent = 0
    while True:
        counts = services.outbox_drain(limit=100_000, seconds=100)
        sent += counts["sent"]
        if not counts["more"]:
            break
    took = time.perf_counter() - started

    statuses = dict(OutboxMessage.objects.filter(shop=shop).values_list("status")
                    .annotate(n=Count("pk")))
    recipients = [m.to[0] for m in mail.outbox]
    assert statuses == {OutboxStatus.SENT: len(members)}, statuses
    assert len(recipients) == len(set(recipients)) == len(members)
    print(f"outbox drain, 1 process, locmem backend, PostgreSQL: {sent} e-mails in "
          f"{took:.2f} s = {sent / took:.0f} e-mails/s (goal ≥ 200)")
    OutboxMessage.objects.filter(shop=shop).delete()


if __name__ == "__main__":
    main()
