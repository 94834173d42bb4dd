"""Count and list the SQL queries of one earn request (POST /api/v1/purchases/), through the
whole stack (middleware, DRF, authentication, idempotency, the points engine).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trouw_bench \
        .venv/bin/python bench/earn_queries.py --shop bench-bakkerij

Run by ``bench/earn_api.py`` after the load; it records one purchase, like a request would.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shop", default="bench-bakkerij")
    parser.add_argument("--verbose", action="store_true", help="print every query in full")
    parser.add_argument("--repeat", type=int, default=0,
                        help="then time this many earns in process (CPU ms per request)")
    parser.add_argument("--profile", action="store_true",
                        help="with --repeat: cProfile them and print the top costs")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from loyalty.models import Membership, Shop
    from loyalty.services import api_key_create

    shop = Shop.objects.get(slug=args.shop)
    _key, raw = api_key_create(shop=shop, name="bench-queries")
    cards = list(Membership.objects.filter(shop=shop).order_by("?")
                 .values_list("card_number", flat=True)[:3])
    host = settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else "testserver"
    client = Client(HTTP_HOST=host)

    def earn(card):
        return client.post(
            "/api/v1/purchases/", content_type="application/json",
            data=json.dumps({"member": card, "amount": "27.50", "currency": "EUR",
                             "reference": "Q-1"}),
            headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": str(uuid.uuid4())},
        )

    timings: list[tuple[float, str]] = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append(((time.perf_counter() - started) * 1000, sql))

    earn(cards[0])  # warm: first-request work is not what we count
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timed):
        response = earn(cards[1])
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 201, response.content
    db_ms = sum(ms for ms, _sql in timings)
    print(f"{len(captured)} queries (BEGIN/COMMIT and savepoints included); "
          f"{db_ms:.1f} ms waiting on them of {elapsed_ms:.1f} ms for the request "
          f"(one request, in process, with the query capture's own overhead)")
    print(f"(the API key's row was kept from the warm-up earn; a process looks a key up again "
          f"every {settings.TROUW_API_KEY_CACHE_SECONDS} s: one more SELECT)")
    print("each query through Django's cursor (BEGIN and COMMIT are not; parameters as %s):")
    for index, (ms, sql) in enumerate(timings, start=1):
        sql = sql if args.verbose else " ".join(sql.split())[:100]
        print(f"{index:3}. {ms:6.2f} ms  {sql}")

    if args.repeat > 0:
        repeat(args, earn, cards)


def repeat(args, earn, cards) -> None:
    """CPU time of the process per earn: Django, DRF, our code and psycopg, not PostgreSQL."""
    import cProfile
    import pstats

    profiler = cProfile.Profile() if args.profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for n in range(args.repeat):
        response = earn(cards[n % len(cards)])
        assert response.status_code == 201, response.content
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"\n{args.repeat} earns in process: {cpu * 1000 / args.repeat:.2f} ms CPU and "
          f"{wall * 1000 / args.repeat:.2f} ms wall per request"
          + (" (under cProfile: slower)" if profiler else ""))
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(45)

if __name__ == "__main__":
    main()
