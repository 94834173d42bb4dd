"""Benchmark the expiry night on PostgreSQL: one shop's night in which 100,000 lots expire
(goal < 10 s).

    .venv/bin/python bench/jobs_expiry.py [--lots 100000 --members 50000] [--reuse]

1. Builds the database ``trouw_bench_expiry`` afresh (``--database``): migrate, then
   ``seed_demo`` with enough purchases that ``--lots`` lots have points left. (Built afresh each
   run: the night's expiry entries are append-only, so a night cannot be undone.)
2. Gives the first ``--lots`` lots with points left a date that has passed (terms as
   ``services.lot_terms`` writes them for "N months after earning").
3. Times ``services.points_expire_shop`` — finding the lots, locking the cards in batches,
   writing the entries, zeroing the lots, moving the balances — and runs it a second time (it
   must expire nothing), then checks the ledger (``selectors.ledger_mismatches``).

With ``--reuse`` a database built before is used again: the lots of the last night get their
points back (with an adjustment entry per card, so the ledger still reconciles) and expire
again — seconds instead of minutes of seeding.

Only 127.0.0.1 is contacted. About two to four minutes, most of it seeding.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
SERVER_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
GOAL_SECONDS = 10.0
SHOP = "bench-expiry"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def build(args, env: dict) -> None:
    with psycopg.connect(SERVER_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')
    log(f"database {args.database}: migrating")
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                   check=True, timeout=600)
    purchases = int(args.lots * 1.3)  # some purchases earn nothing (below a step, no card)
    log(f"seeding {args.members:,} members and {purchases:,} purchases")
    started = time.monotonic()
    subprocess.run([PYTHON, "manage.py", "seed_demo", "--members", str(args.members),
                    "--purchases", str(purchases), "--shop", SHOP], cwd=ROOT, env=env,
                   check=True, timeout=1800, stdout=subprocess.DEVNULL)
    log(f"seeded in {time.monotonic() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="trouw_bench_expiry")
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--reuse", action="store_true",
                        help="use the database of an earlier run again (no seeding)")
    args = parser.parse_args()
    if not args.database.replace("_", "").isalnum():
        raise SystemExit("--database: letters, digits and _ only")
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
           "DJANGO_ENV": "production", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_DEBUG": "false", "LOG_LEVEL": "WARNING"}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    if not args.reuse:
        build(args, env)

    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "loyalty.settings"
    import django

    django.setup()
    from django.db import connection

    from loyalty import selectors, services
    from loyalty.models import EntryKind, LedgerEntry, Membership, PointLot, Shop

    shop = Shop.objects.get(slug=SHOP)
    now = dt.datetime.now(dt.UTC)
    with connection.cursor() as cursor:
        if args.reuse:  # the last night's lots get their points back, the ledger in step
            cursor.execute(
                "WITH o AS (SELECT l.id, l.points - l.remaining AS back FROM loyalty_pointlot l"
                " JOIN loyalty_membership m ON m.id = l.membership_id WHERE m.shop_id = %s AND"
                " l.expires_at IS NOT NULL AND l.remaining < l.points),"
                " r AS (UPDATE loyalty_pointlot l SET remaining = l.points FROM o"
                " WHERE l.id = o.id RETURNING l.membership_id, o.back),"
                " per AS (SELECT membership_id, sum(back)::integer AS back FROM r GROUP BY 1),"
                " e AS (INSERT INTO loyalty_ledgerentry (shop_id, membership_id, points, kind,"
                " reference, note, customer_note, created_at) SELECT %s, membership_id, back,"
                " 'adjust', '', 'bench: points back', '', now() FROM per)"
                " UPDATE loyalty_membership m SET points_balance = m.points_balance + per.back"
                " FROM per WHERE m.id = per.membership_id", [shop.pk, shop.pk])
        else:
            cursor.execute(
                "UPDATE loyalty_pointlot SET expires_at = %s WHERE id IN (SELECT l.id FROM"
                " loyalty_pointlot l JOIN loyalty_membership m ON m.id = l.membership_id"
                " WHERE m.shop_id = %s AND l.remaining > 0 ORDER BY l.id LIMIT %s)",
                [now - dt.timedelta(hours=2), shop.pk, args.lots])
        cursor.execute("SELECT count(*) FROM loyalty_pointlot l JOIN loyalty_membership m"
                       " ON m.id = l.membership_id WHERE m.shop_id = %s AND l.remaining > 0"
                       " AND l.expires_at <= %s", [shop.pk, now])
        marked = cursor.fetchone()[0]
        cursor.execute("VACUUM ANALYZE loyalty_pointlot")
        cursor.execute("VACUUM ANALYZE loyalty_membership")
    cards = (PointLot.objects.filter(membership__shop=shop, expires_at__isnull=False)
             .values("membership_id").distinct().count())
    log(f"{marked:,} lots on {cards:,} cards have a date that has passed")

    started = time.monotonic()
    night = services.points_expire_shop(shop=shop, now=now)
    seconds = time.monotonic() - started
    again = services.points_expire_shop(shop=shop, now=now)
    mismatches = selectors.ledger_mismatches(shop=shop)
    entries = LedgerEntry.objects.filter(shop=shop, kind=EntryKind.EXPIRY).count()
    members = Membership.objects.filter(shop=shop).count()
    print(f"expiry night: {night['lots']:,} lots on {night['cards']:,} cards, "
          f"{night['points']:,} points expired in {seconds:.2f} s "
          f"(goal < {GOAL_SECONDS:.0f} s: {'met' if seconds < GOAL_SECONDS else 'MISSED'}); "
          f"{entries:,} expiry entries; a second run expired {again['lots']} lots; "
          f"ledger mismatches: {len(mismatches)} of {members:,} cards")
    if night["lots"] != marked or again["lots"] or mismatches:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
