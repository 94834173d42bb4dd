"""The birthday job on PostgreSQL at scale: the day's gifts, a 7-day catch-up, and a naive
per-member loop on the same data for comparison. Every measurement runs inside a transaction
that is rolled back, so the data stays as seeded and each figure starts from the same state.

    .venv/bin/python bench/jobs_birthdays.py                     # 1,000,000 members
    .venv/bin/python bench/jobs_birthdays.py --members 100000    # quicker

Builds (once) the database ``trouw_bench_birthdays`` with ``seed_demo`` (60% of the members
have a birthday, on days 1–28); ``--database`` picks another.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")

SHOP = "bench-birthdays"


DAY = dt.date(2027, 3, 17)  # a Wednesday
NOON = dt.datetime(2027, 3, 17, 11, tzinfo=dt.UTC)  # 12:00 in Amsterdam


def naive_loop(*, shop, day, limit=0):
    """The day's members one by one, as a naive job would: a query per card, points_credit (its
    own transaction), a gift row and an e-mail each. Returns (given, looked at, seconds)."""
    from loyalty import services
    from loyalty.models import BirthdayGift, EntryKind, Membership

    started = time.perf_counter()
    given = 0
    rules = services.program_rules_current(shop=shop)
    ids = list(Membership.objects.filter(shop=shop, birthday__month=day.month,
                                         birthday__day=day.day).values_list("pk", flat=True))
    if limit:
        ids = ids[:limit]
    for pk in ids:
        member = Membership.objects.get(pk=pk)
        if BirthdayGift.objects.filter(membership=member, year=day.year).exists():
            continue
        entry = services.points_credit(shop=shop, membership_id=pk,
                                       points=rules.birthday_points, kind=EntryKind.BIRTHDAY)
        BirthdayGift.objects.create(shop=shop, membership=member, year=day.year,
                                    birthday=day, points=rules.birthday_points, entry=entry)
        services.outbox.outbox_write(shop=shop, kind="birthday",
                                     key=f"naive:{member.card_number}:{day.year}",
                                     to=member.email, language=member.language,
                                     membership=member,
                                     context={"points": rules.birthday_points})
        given += 1
    return given, len(ids), time.perf_counter() - started


def measure_committed(kind: str) -> None:
    """``--measure day|naive`` on a copy of the database: the day before is given first, then
    the day's job (batches committed) or the naive loop (each member committed on its own, as
    a job without an outer transaction does). Prints "given seconds"."""
    import django

    django.setup()
    from loyalty import services
    from loyalty.models import Shop

    shop = Shop.objects.get(slug=SHOP)
    services.birthday_gifts_give(shop=shop, now=NOON - dt.timedelta(days=1))
    shop.refresh_from_db()
    if kind == "day":
        started = time.perf_counter()
        run = services.birthday_gifts_give(shop=shop, now=NOON)
        print(run.given, time.perf_counter() - started)
    else:
        given, _looked, seconds = naive_loop(shop=shop, day=DAY)
        print(given, seconds)


class Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--database", default="trouw_bench_birthdays")
    parser.add_argument("--measure", choices=["day", "naive"],
                        help="(internal) one committed measurement on --database")
    parser.add_argument("--committed", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure both with real commits, each on a copy of the "
                             "database (about 10 s of copying each)")
    parser.add_argument("--naive-limit", type=int, default=0,
                        help="time the naive loop on this many members only (0: all of the day)")
    args = parser.parse_args()
    url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ["DATABASE_URL"] = url
    # As a worker runs: no query log, templates compiled once (DEBUG off).
    os.environ.setdefault("DJANGO_DEBUG", "false")
    if args.measure:
        measure_committed(args.measure)
        return
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.database],
                   stderr=subprocess.DEVNULL, check=False)
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)

    import django

    django.setup()
    from django.db import connection, transaction

    from loyalty import services
    from loyalty.models import BirthdayGift, Membership, Shop

    shop = Shop.objects.filter(slug=SHOP).first()
    if shop is None:
        subprocess.run([*manage, "seed_demo", "--members", str(args.members), "--purchases",
                        str(args.members // 5), "--shop", SHOP], env=env, check=True)
        shop = Shop.objects.get(slug=SHOP)
    members = Membership.objects.filter(shop=shop).count()
    services.program_rules_update(shop=shop, by=None, birthday_points=250)
    shop.refresh_from_db()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE loyalty_membership")  # rolled-back runs leave dead rows
    # A Wednesday, 12:00 in Amsterdam.
    day, noon = DAY, NOON
    print(f"shop {shop.slug}: {members:,} members; the day: {day} (Europe/Amsterdam)")

    def rolled_back(work):
        try:
            with transaction.atomic():
                result = work()
                raise Rollback
        except Rollback:
            return result

    # 1. The day's job: the days before were given (the hourly runs of the week), today's not.
    def day_job():
        services.birthday_gifts_give(shop=shop, now=noon - dt.timedelta(days=1))
        started = time.perf_counter()
        run = services.birthday_gifts_give(shop=shop, now=noon)
        return run, time.perf_counter() - started

    # Each figure is measured warm (the members' pages in PostgreSQL's cache), as the naive
    # loop at the end is: one unmeasured run of the day's job first.
    rolled_back(day_job)
    run, seconds = rolled_back(day_job)
    print(f"day's job:      {run.given:6,} gifts, {run.emails:6,} e-mails  {seconds:7.3f} s"
          f"  (goal < 2 s)")
    day_seconds, day_given = seconds, run.given

    # 2. A 7-day catch-up: nothing given for a week; today's and the 7 days before.
    def catch_up():
        started = time.perf_counter()
        run = services.birthday_gifts_give(shop=shop, now=noon)
        return run, time.perf_counter() - started

    run, seconds = rolled_back(catch_up)
    print(f"7-day catch-up: {run.given:6,} gifts, {run.emails:6,} e-mails  {seconds:7.3f} s"
          f"  (goal < 10 s)")

    # 3. Naive: today's members one by one (a query per card, points_credit, a gift row and
    # an e-mail each), on the same data.
    def naive():
        services.birthday_gifts_give(shop=shop, now=noon - dt.timedelta(days=1))
        return naive_loop(shop=shop, day=day, limit=args.naive_limit)

    given, looked, seconds = rolled_back(naive)
    scale = day_given / looked if looked else 1
    naive_day = seconds * scale
    print(f"naive loop:     {given:6,} gifts  {seconds:7.3f} s"
          + (f" for {looked:,} (the day's {day_given:,}: ~{naive_day:.2f} s)" if scale != 1
             else ""))
    print(f"set-based is {naive_day / day_seconds:.0f}x faster than the naive loop (goal ≥ 20x)")
    plan = Membership.objects.filter(shop=shop, birthday__isnull=False,
                                     birthday__month=3, birthday__day__in=[17]).explain()
    print("plan of the day's query:", " | ".join(line.strip() for line in plan.splitlines()[:3]))
    # The runs were rolled back: the data is as seeded, and it reconciles.
    assert not BirthdayGift.objects.filter(shop=shop).exists()
    from loyalty import selectors
    print("ledger mismatches:", len(selectors.ledger_mismatches(shop=shop)))
    if not args.committed:
        return

    # 4. With real commits: a job runs outside any outer transaction, so the naive loop commits
    # every member (points_credit, the gift, the e-mail) and the set-based job every batch.
    # Each on a fresh copy of the database (CREATE DATABASE … TEMPLATE), dropped afterwards.
    from django.db import connections

    for conn in connections.all():  # the pool's connections too: a template must be unused
        conn.close()
        if hasattr(conn, "close_pool"):
            conn.close_pool()
    figures = {}
    for kind in ("day", "naive"):
        copy = f"{args.database}_copy"
        pg = ["-h", "127.0.0.1", "-U", "postgres"]
        subprocess.run(["dropdb", *pg, "--if-exists", copy], check=True)
        subprocess.run(["createdb", *pg, "-T", args.database, copy], check=True)
        try:
            out = subprocess.run(
                [sys.executable, __file__, "--measure", kind, "--database", copy],
                env={**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{copy}",
                     "LOG_LEVEL": "WARNING"},
                check=True, capture_output=True, text=True).stdout.split()
        finally:
            subprocess.run(["dropdb", *pg, "--if-exists", copy], check=True)
        figures[kind] = (int(out[-2]), float(out[-1]))
    (day_given, day_s), (naive_given, naive_s) = figures["day"], figures["naive"]
    print(f"committed, day's job: {day_given:6,} gifts  {day_s:7.3f} s")
    print(f"committed, naive:     {naive_given:6,} gifts  {naive_s:7.3f} s")
    print(f"committed: set-based is {naive_s / day_s:.0f}x faster than the naive loop"
          " (goal ≥ 20x)")


if __name__ == "__main__":
    main()
