"""How many PostgreSQL connections a threaded server holds under load (the connection bound).

    .venv/bin/python bench/db_connections.py [--server runserver|gunicorn] [--requests 10000]
                                             [--clients 2] [--pool-max 8]

Builds (or reuses) a small bench database (``--database``, 1,000 members), serves the product
with the development server that ``make run`` starts (``manage.py runserver``, a thread per
client connection) or with gunicorn's gthread workers, and sends ``--requests`` requests from
``--clients`` client threads, each on a new TCP connection: an earn (``POST
/api/v1/purchases/``) and a card lookup, in turn. Meanwhile it samples ``pg_stat_activity``
for the database every 20 ms. Prints the answers by status, the peak of connections, and
whether a "too many clients" error was seen.

With persistent connections per request thread the count climbs with the requests until
PostgreSQL refuses ("sorry, too many clients already"); with the pool it stays at most the
pool's size per process. So that a run of the old code does not take every connection of a
shared PostgreSQL server, the load stops once ``--stop-above`` connections (default 40) are
seen.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import earn_api  # noqa: E402  (same folder: the database, the data and gunicorn)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Runserver:
    """``manage.py runserver`` (threaded, no autoreloader), as ``make run`` starts it."""

    def __init__(self, port: int, env: dict[str, str], log):
        self.port = port
        self.process = subprocess.Popen(
            [earn_api.PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload",
             "--skip-checks"], cwd=earn_api.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)

    wait_ready = earn_api.Server.wait_ready
    stop = earn_api.Server.stop


def sample(database: str, stop: threading.Event, peak: list[int], bound: int) -> None:
    with psycopg.connect(earn_api.BENCH_DSN, autocommit=True) as conn:
        while not stop.is_set():
            (count,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                " AND pid <> pg_backend_pid()", (database,)).fetchone()
            peak.append(count)
            if count > bound:
                stop.set()
            time.sleep(0.02)


def client(port: int, number: int, count: int, cards: list[str], raw_key: str,
           stop: threading.Event, answers: collections.Counter, lock: threading.Lock,
           too_many: list[str]) -> None:
    auth = {"Authorization": f"Api-Key {raw_key}"}
    for n in range(count):
        if stop.is_set():
            return
        card = cards[(number * 7919 + n) % len(cards)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            if n % 2:
                conn.request("GET", f"/api/v1/members/{card}/", headers=auth)
            else:
                conn.request("POST", "/api/v1/purchases/", body=json.dumps(
                    {"member": card, "amount": "4.50", "reference": f"C-{number}-{n}"}),
                    headers={**auth, "Content-Type": "application/json",
                             "Idempotency-Key": f"conn-{time.time_ns()}-{number}-{n}"})
            response = conn.getresponse()
            body = response.read()
            status = str(response.status)
            if b"too many clients" in body:
                too_many.append(body[:200].decode(errors="replace"))
        except OSError as exc:
            status = type(exc).__name__
        finally:
            conn.close()
        with lock:
            answers[status] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=["runserver", "gunicorn"], default="runserver")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--pool-max", type=int, default=8, help="DATABASE_POOL_MAX_SIZE")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--stop-above", type=int, default=40,
                        help="stop the load once this many connections are seen")
    parser.add_argument("--database", default="trouw_bench_connections")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    args = parser.parse_args()
    earn_api.database_use(args.database)

    seed = argparse.Namespace(shop="bench-bakkerij", members=1000, purchases=1000, sample=1000)
    data = earn_api.data_ensure(seed)
    env = earn_api.django_env()
    env["DATABASE_POOL_MAX_SIZE"] = str(args.pool_max)
    port = args.port or free_port()
    with open(Path("/tmp") / f"trouw-db-connections-{port}.log", "w") as log:
        if args.server == "runserver":
            server = Runserver(port, env, log)
        else:
            gunicorn = argparse.Namespace(workers=args.workers, worker_class="gthread",
                                          threads=args.threads, shop=seed.shop)
            server = earn_api.Server("loyalty.wsgi:application", port, gunicorn,
                                     env_extra={"DATABASE_POOL_MAX_SIZE": str(args.pool_max)})
        try:
            server.wait_ready()
            stop, peak = threading.Event(), []
            answers, lock, too_many = collections.Counter(), threading.Lock(), []
            sampler = threading.Thread(target=sample,
                                       args=(args.database, stop, peak, args.stop_above))
            sampler.start()
            per_client = args.requests // args.clients
            started = time.monotonic()
            clients = [threading.Thread(target=client, args=(
                port, number, per_client, data["cards"], data["raw_key"], stop, answers,
                lock, too_many)) for number in range(args.clients)]
            for thread in clients:
                thread.start()
            for thread in clients:
                thread.join()
            seconds = time.monotonic() - started
            stop.set()
            sampler.join()
        finally:
            server.stop()

    done = sum(answers.values())
    bound = args.pool_max * (args.workers if args.server == "gunicorn" else 1)
    print(f"{args.server}, pool max {args.pool_max}"
          + (f", {args.workers} × {args.threads} threads" if args.server == "gunicorn" else "")
          + f": {done:,} of {args.requests:,} requests from {args.clients} clients in "
          f"{seconds:.1f} s ({done / seconds:.0f}/s)")
    print("answers: " + ", ".join(f"{status}: {n:,}" for status, n in sorted(answers.items())))
    print(f"connections to {args.database}: peak {max(peak)} (bound {bound}), "
          f"{len(peak):,} samples")
    if too_many:
        print(f'"too many clients" answered {len(too_many)} times, e.g. {too_many[0]!r}')
    if max(peak) > args.stop_above:
        print(f"stopped early: more than {args.stop_above} connections")
    ok = (max(peak) <= bound and not too_many and done == per_client * args.clients
          and set(answers) <= {"200", "201"})
    print("bound kept" if ok else "bound NOT kept")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
