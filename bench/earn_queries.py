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
    print("each query through Django's cursor (BEGIN and COMMIT are not; parameters as %s):")
    for index, (ms, sql) in enumerate(timings, start=1):
        sql = sql if args.verbose else " ".join(sql.split())[:100]
        print(f"{index:3}. {ms:6.2f} ms  {sql}")

if __name__ == "__main__":
    main()
