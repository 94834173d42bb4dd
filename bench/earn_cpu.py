"""CPU of the app per earn, in process: no HTTP server, no load generator, no other threads —
the steadiest figure for comparing two versions of the code (gunicorn under load multiplies
it, see docs/benchmarks.md). Calls the WSGI application that gunicorn serves
(``loyalty.wsgi.application``) directly with a prepared request.

    .venv/bin/python bench/earn_cpu.py                  # the earn as served
    .venv/bin/python bench/earn_cpu.py --drf-cycle      # with DRF's full request cycle

Needs the bench database (``bench/earn_api.py`` builds it). Prints the minimum and the median
of ``--rounds`` rounds of ``--requests`` earns (CPU time of this process, PostgreSQL not
included). Every earn is recorded through the real engine, like a till's.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.update({
    "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL",
                                   "postgres://postgres@127.0.0.1:5432/trouw_bench"),
    "DJANGO_ENV": "production", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_DEBUG": "false", "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "loyalty.settings",
})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shop", default="bench-bakkerij")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--drf-cycle", action="store_true",
                        help="serve the earn through DRF's whole request cycle")
    parser.add_argument("--random-cards", action="store_true",
                        help="a different random card for each earn (members part-way up the "
                             "levels and badges), instead of the same 500 again and again")
    parser.add_argument("--profile-sort", default="tottime",
                        help="cProfile's order: tottime (own time) or cumulative")
    parser.add_argument("--profile-filter", default="",
                        help="print only functions whose file matches (e.g. 'tiers|loyalty')")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="then cProfile N earns and print the top own-time functions")
    args = parser.parse_args()

    import django

    django.setup()
    from loyalty.api import PurchasesView
    from loyalty.models import Membership, Shop
    from loyalty.services import api_key_create

    if args.drf_cycle:
        PurchasesView.lean_methods = ()
    from loyalty.wsgi import application
    shop = Shop.objects.get(slug=args.shop)
    _key, raw = api_key_create(shop=shop, name="bench-cpu")
    if args.random_cards:
        cards = list(Membership.objects.filter(shop=shop).order_by("?").values_list(
            "card_number", flat=True)[:args.requests * args.rounds + args.profile + 100])
    else:
        cards = list(Membership.objects.filter(shop=shop).values_list("card_number",
                                                                     flat=True)[:500])

    taken = iter(range(10**9))  # each earn the next card (with --random-cards, a new one)

    def earn(n: int) -> None:
        card = cards[next(taken) % len(cards)]
        body = json.dumps({"member": card, "amount": "27.50", "currency": "EUR",
                           "reference": f"C-{n}"}).encode()
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/purchases/", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/json", "HTTP_AUTHORIZATION": f"Api-Key {raw}",
            "HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4()),
        }
        status = []
        answer = application(environ, lambda line, headers, *rest: status.append(line))
        b"".join(answer)
        answer.close()
        if not status[0].startswith("201"):
            raise SystemExit(f"an earn answered {status[0]}")

    for n in range(100):  # warm up: imports, prepared statements, caches
        earn(n)
    figures = []
    for _round in range(args.rounds):
        started = time.process_time()
        for n in range(args.requests):
            earn(n)
        figures.append((time.process_time() - started) * 1000 / args.requests)
    figures.sort()
    print(f"earn{' (DRF request cycle)' if args.drf_cycle else ''}: "
          f"{figures[0]:.3f} ms CPU per request (min of {args.rounds} rounds of "
          f"{args.requests}), median {figures[len(figures) // 2]:.3f} ms")
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(args.profile):
            earn(n)
        profiler.disable()
        stats = pstats.Stats(profiler)
        calls = sum(row[1] for row in stats.stats.values())
        print(f"{calls / args.profile:,.0f} function calls per earn (cProfile)")
        restrictions = [args.profile_filter] if args.profile_filter else []
        stats.sort_stats(args.profile_sort).print_stats(*restrictions, 40)


if __name__ == "__main__":
    main()
