"""Benchmark the earn endpoint (POST /api/v1/purchases/) against "the floor".

    .venv/bin/python bench/earn_api.py [--members 100000 --purchases 1000000
                                        --concurrency 8 --duration 30]

1. Creates (or reuses) the PostgreSQL database ``trouw_bench`` (``--database``), migrates it
   and seeds a shop with ``seed_demo`` (skipped when the shop is already seeded at that size;
   a shop of another size means the bench database is dropped and built again).
2. Creates an API key (``create_api_key``) and samples member card numbers.
3. Serves the product (``loyalty.wsgi``, production settings over plain HTTP) with gunicorn,
   warms it up, and drives it with ``wrk`` for ``--duration`` seconds: every request a unique
   Idempotency-Key and a random member's card.
4. Does the same for ``bench/floor_app.py`` — the same database writes as raw SQL, no
   Django — served by the same gunicorn configuration.
5. Prints requests/s, p50, p99 and errors (any answer but 201) for both, the ratio, the CPU
   time per request of the app and of PostgreSQL, the SQL queries of one earn, and checks the
   ledger with ``reconcile_ledger``.

Only 127.0.0.1 is contacted; every phase ends by itself (``wrk -d``, timeouts).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
DB_NAME = "trouw_bench"  # --database
SERVER_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DSN = f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}"
GOAL_RATIO, GOAL_P99_MS = 0.5, 50.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def django_env() -> dict[str, str]:
    """Production settings, served over plain HTTP on 127.0.0.1."""
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def manage(*args: str, timeout: float = 3600, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=django_env(), timeout=timeout, check=True,
        stdout=subprocess.PIPE if capture else None, text=True,
    )
    return result.stdout or ""


# --- Database and data --------------------------------------------------------------------


def database_use(name: str) -> None:
    global DB_NAME, BENCH_DSN
    if not name.replace("_", "").isalnum():
        raise SystemExit("--database: letters, digits and _ only")
    DB_NAME, BENCH_DSN = name, f"postgresql://postgres@127.0.0.1:5432/{name}"


def database_ensure(*, drop: bool = False) -> None:
    with psycopg.connect(SERVER_DSN, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (DB_NAME,)).fetchone()
        if exists and drop:
            log(f"dropping database {DB_NAME}")
            conn.execute(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)')
            exists = None
        if not exists:
            log(f"creating database {DB_NAME}")
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def shop_size(slug: str) -> tuple[int, int] | None:
    with psycopg.connect(BENCH_DSN) as conn:
        row = conn.execute("SELECT id FROM loyalty_shop WHERE slug = %s", (slug,)).fetchone()
        if row is None:
            return None
        members = conn.execute("SELECT count(*) FROM loyalty_membership WHERE shop_id = %s",
                               row).fetchone()[0]
        purchases = conn.execute("SELECT count(*) FROM loyalty_purchase WHERE shop_id = %s",
                                 row).fetchone()[0]
    return members, purchases


def data_ensure(args) -> dict:
    database_ensure()
    log("migrating")
    manage("migrate", "--noinput", "-v", "0")
    size = shop_size(args.shop)
    seeded = size is not None and size[0] == args.members and size[1] >= args.purchases
    seed_seconds = None
    if not seeded:
        if size is not None:
            log(f"shop {args.shop} has {size[0]:,} members and {size[1]:,} purchases, not "
                f"{args.members:,} and {args.purchases:,}: rebuilding the bench database")
            database_ensure(drop=True)
            manage("migrate", "--noinput", "-v", "0")
        log(f"seeding {args.members:,} members and {args.purchases:,} purchases")
        started = time.monotonic()
        manage("seed_demo", "--members", str(args.members), "--purchases", str(args.purchases),
               "--shop", args.shop)
        seed_seconds = time.monotonic() - started
        log(f"seeded in {seed_seconds:.1f} s")
        with psycopg.connect(BENCH_DSN, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    else:
        log(f"shop {args.shop} is seeded already ({size[0]:,} members, {size[1]:,} purchases)")
    raw_key = manage("create_api_key", "--shop", args.shop, "--name", "bench",
                     capture=True).strip().splitlines()[-1]
    with psycopg.connect(BENCH_DSN) as conn:
        cards = [row[0] for row in conn.execute(
            "SELECT card_number FROM loyalty_membership m JOIN loyalty_shop s ON s.id = m.shop_id"
            " WHERE s.slug = %s ORDER BY random() LIMIT %s", (args.shop, args.sample),
        )]
    return {"raw_key": raw_key, "cards": cards, "seed_seconds": seed_seconds}


# --- Load ------------------------------------------------------------------------------------

WRK_SCRIPT = r"""
local cards = {%(cards)s}
local run = "%(run)s"
local auth = "Api-Key %(key)s"
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  non201 = 0
  math.randomseed(id * 7919 + os.time())
end

function request()
  counter = counter + 1
  local card = cards[math.random(#cards)]
  local body = '{"member": "' .. card .. '", "amount": "27.50", "currency": "EUR", '
    .. '"reference": "B-' .. id .. '-' .. counter .. '"}'
  return wrk.format("POST", "/api/v1/purchases/", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = auth,
    ["Idempotency-Key"] = run .. "-" .. id .. "-" .. counter,
  }, body)
end

function response(status, headers, body)
  if status ~= 201 then
    non201 = non201 + 1
    if non201 <= 3 then io.stderr:write("non-201: " .. status .. " " .. body .. "\n") end
  end
end

function done(summary, latency, requests)
  local non = 0
  for _, thread in ipairs(threads) do non = non + thread:get("non201") end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p90_us": %%d, '
    .. '"p99_us": %%d, "max_us": %%d, "mean_us": %%.1f, "non201": %%d, '
    .. '"socket_errors": %%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, non,
    e.connect + e.read + e.write + e.timeout))
end
"""


def wrk_script(directory: Path, cards: list[str], raw_key: str, run: str) -> Path:
    path = directory / f"earn-{run}.lua"
    path.write_text(WRK_SCRIPT % {
        "cards": ",".join(f'"{card}"' for card in cards), "run": run, "key": raw_key,
    })
    return path


def wrk(url: str, script: Path, *, concurrency: int, duration: int) -> dict:
    threads = max(1, min(concurrency, 2))
    result = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{duration}s",
         "--timeout", "10s", "-s", str(script), url],
        capture_output=True, text=True, timeout=duration + 60, check=True,
    )
    for line in result.stderr.splitlines()[:3]:
        log(f"wrk: {line}")
    line = next(line for line in result.stdout.splitlines() if line.startswith("WRK_JSON "))
    stats = json.loads(line.removeprefix("WRK_JSON "))
    seconds = stats["duration_us"] / 1e6
    return {
        "requests": stats["requests"], "seconds": seconds,
        "rps": stats["requests"] / seconds if seconds else 0.0,
        "p50_ms": stats["p50_us"] / 1000, "p90_ms": stats["p90_us"] / 1000,
        "p99_ms": stats["p99_us"] / 1000, "max_ms": stats["max_us"] / 1000,
        "mean_ms": stats["mean_us"] / 1000,
        "errors": stats["non201"] + stats["socket_errors"],
    }


# --- CPU accounting (whose CPU does a request use, on a machine this small) ------------------


def _proc_stat(pid: int) -> tuple[str, int, float] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1: raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    ppid, utime, stime = int(fields[1]), int(fields[11]), int(fields[12])
    return comm, ppid, (utime + stime) / CLK_TCK


def bench_backends() -> set[int]:
    """PostgreSQL backends connected to the bench database (the app's connections), so that
    other databases' work on the same server is not counted."""
    with psycopg.connect(BENCH_DSN, autocommit=True) as conn:
        return {row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (DB_NAME,),
        )}


def cpu_seconds(app_root: int, db_pids: set[int]) -> dict[str, float]:
    """CPU seconds used so far by the app (gunicorn master and workers) and by its PostgreSQL
    backends (WAL writer and checkpointer not included)."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat:
                stats[int(entry)] = stat
    app = sum(cpu for pid, (_c, ppid, cpu) in stats.items() if app_root in (pid, ppid))
    db = sum(cpu for pid, (_c, _p, cpu) in stats.items() if pid in db_pids)
    return {"app": app, "db": db}


# --- Servers ---------------------------------------------------------------------------------


class Server:
    """A gunicorn serving ``app`` on 127.0.0.1:``port``; stopped on exit."""

    def __init__(self, app: str, port: int, args, *, pythonpath: str | None = None,
                 env_extra: dict[str, str] | None = None):
        command = [GUNICORN, app, "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
                   "--worker-class", args.worker_class, "--log-level", "warning",
                   "--backlog", "256", "--timeout", "30"]
        if args.worker_class == "gthread":
            command += ["--threads", str(args.threads)]
        if pythonpath:
            command += ["--pythonpath", pythonpath]
        env = django_env()
        env.update({"BENCH_DSN": BENCH_DSN, "BENCH_SHOP": args.shop, **(env_extra or {})})
        self.port = port
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn on port {self.port} exited: {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5)
                return
            except urllib.error.HTTPError:
                return  # it answers (the floor has no /healthz)
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"gunicorn on port {self.port} did not start in {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def settle(port: int, data: dict, concurrency: int) -> dict:
    """One earn for every sampled card, each card once (``concurrency`` clients): afterwards
    each sampled member has bought since the badges exist, so that the measured rounds see a
    shop whose badges have run a while. The first earn after a badge appears awards what the
    member already met (the bonus entries and award rows): this pass's own rate is that
    figure."""
    cards = data["cards"]
    token = secrets.token_hex(4)

    def earn_each(part: list[tuple[int, str]]) -> int:
        failed = 0
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for number, card in part:
                body = json.dumps({"member": card, "amount": "27.50", "currency": "EUR",
                                   "reference": f"S-{number}"})
                connection.request("POST", "/api/v1/purchases/", body=body, headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Api-Key {data['raw_key']}",
                    "Idempotency-Key": f"settle-{token}-{number}"})
                answer = connection.getresponse()
                answer.read()
                failed += answer.status != 201
        finally:
            connection.close()
        return failed

    numbered = list(enumerate(cards))
    parts = [numbered[i::concurrency] for i in range(concurrency)]
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        errors = sum(pool.map(earn_each, parts))
    seconds = time.monotonic() - started
    return {"requests": len(cards), "seconds": seconds, "rps": len(cards) / seconds,
            "errors": errors}


def measure(name: str, app: str, port: int, args, data: dict, workdir: Path,
            pythonpath: str | None = None, settle_first: bool = False) -> dict:
    if args.vacuum:
        vacuum(name)
    log(f"{name}: starting gunicorn ({args.workers} × {args.worker_class}"
        + (f", {args.threads} threads" if args.worker_class == "gthread" else "") + ")")
    server = Server(app, port, args, pythonpath=pythonpath)
    try:
        server.wait_ready()
        url = f"http://127.0.0.1:{port}/api/v1/purchases/"
        run = f"{name}-{secrets.token_hex(4)}"
        settled = None
        if settle_first:
            log(f"{name}: settling — one earn for each of the {len(data['cards']):,} sampled "
                "cards")
            settled = settle(port, data, args.concurrency)
            log(f"{name}: settled at {settled['rps']:.1f} req/s ({settled['errors']} errors): "
                "the first earn after the badges appeared")
        if args.warmup:
            log(f"{name}: warming up {args.warmup} s")
            wrk(url, wrk_script(workdir, data["cards"], data["raw_key"], run + "-w"),
                concurrency=args.concurrency, duration=args.warmup)
        log(f"{name}: measuring {args.duration} s at concurrency {args.concurrency}")
        db_pids = bench_backends()  # opened during the warm-up, kept (persistent connections)
        before = cpu_seconds(server.process.pid, db_pids)
        result = wrk(url, wrk_script(workdir, data["cards"], data["raw_key"], run),
                     concurrency=args.concurrency, duration=args.duration)
        after = cpu_seconds(server.process.pid, db_pids)
        done = max(result["requests"], 1)
        result["app_cpu_ms"] = (after["app"] - before["app"]) * 1000 / done
        result["db_cpu_ms"] = (after["db"] - before["db"]) * 1000 / done
        if settled is not None:
            result["settled"] = settled
        return result
    finally:
        server.stop()


def vacuum(name: str) -> None:
    """``VACUUM (ANALYZE)`` of the bench database before each measured phase, the floor's
    included: a switch of the programs rewrites 100,000 cards (their levels), and a server with
    autovacuum off (seen on a machine of session 11) otherwise measures the rounds after a
    switch on tables full of dead rows, and index-only scans on pages never marked all-visible.
    Every phase starts clean the same way; ``--no-vacuum`` skips it."""
    started = time.monotonic()
    with psycopg.connect(BENCH_DSN, autocommit=True) as conn:
        autovacuum = conn.execute("SHOW autovacuum").fetchone()[0]
        conn.execute("VACUUM (ANALYZE)")
    log(f"{name}: VACUUM (ANALYZE) in {time.monotonic() - started:.1f} s"
        f" (the server's autovacuum: {autovacuum})")


def programs(args, state: str) -> None:
    """Issue 12's programs (``on``), issue 13's charity program (``charity``) or none
    (``off``) for the bench shop (bench/programs.py)."""
    result = subprocess.run([PYTHON, str(ROOT / "bench" / "programs.py"), state, "--shop",
                             args.shop], cwd=ROOT, env=django_env(), timeout=300, check=True,
                            capture_output=True, text=True)
    log(result.stdout.strip())


GOAL_RATIO_PROGRAMS = 0.4  # with issue 12's programs on, of the floor; so with issue 13's
# charity program on
STATES = {"off": "earn", "on": "earn+p", "charity": "earn+c"}  # --programs state: result name
LABELS = {"earn+p": "earn with programs", "earn+c": "earn with the charity program"}


def report(results: dict, args) -> bool:
    print()
    print(f"Concurrency {args.concurrency}, {args.duration} s each, gunicorn {args.workers} × "
          f"{args.worker_class}" + (f" ({args.threads} threads)" if args.worker_class == "gthread"
                                    else ""))
    header = (f"{'':6} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} "
              f"{'errors':>7} {'requests':>9} {'app CPU ms/req':>15} {'db CPU ms/req':>14}")
    print(header)
    for name, r in results.items():
        print(f"{name:6} {r['rps']:8.1f} {r['p50_ms']:8.1f} {r['p90_ms']:8.1f} {r['p99_ms']:8.1f} "
              f"{r['max_ms']:8.1f} {r['errors']:7d} {r['requests']:9d} "
              f"{r['app_cpu_ms']:15.2f} {r['db_cpu_ms']:14.2f}")
    ok = True
    if "earn" in results and "floor" in results:
        ratio = results["earn"]["rps"] / results["floor"]["rps"]
        ratio_ok = ratio >= GOAL_RATIO
        print(f"ratio earn/floor (req/s): {ratio:.2f}  (goal ≥ {GOAL_RATIO}: "
              f"{'met' if ratio_ok else 'NOT met'})")
        ok &= ratio_ok
    for name, label in LABELS.items():
        if name not in results or "floor" not in results:
            continue
        ratio = results[name]["rps"] / results["floor"]["rps"]
        ratio_ok = ratio >= GOAL_RATIO_PROGRAMS
        print(f"ratio {label}/floor (req/s): {ratio:.2f}  (goal ≥ "
              f"{GOAL_RATIO_PROGRAMS}: {'met' if ratio_ok else 'NOT met'})")
        ok &= ratio_ok and results[name]["errors"] == 0
    if "earn+p" in results and "floor" in results:
        settled = results["earn+p"].get("settled")
        if settled is not None:
            share = settled["rps"] / results["floor"]["rps"]
            print(f"first earn after the badges appeared (the settle pass, one per sampled "
                  f"card): {settled['rps']:.1f} req/s, {share:.2f} of the floor, "
                  f"{settled['errors']} errors")
            ok &= settled["errors"] == 0
    if "earn" in results:
        p99_ok = results["earn"]["p99_ms"] <= GOAL_P99_MS
        print(f"earn p99: {results['earn']['p99_ms']:.1f} ms  (goal ≤ {GOAL_P99_MS:.0f} ms: "
              f"{'met' if p99_ok else 'NOT met'})")
        ok &= p99_ok and results["earn"]["errors"] == 0
    return ok


def summary(rounds: list[dict]) -> bool:
    """Medians over the rounds: one run can be off by ±10% on a virtual machine."""
    print(f"\nMedians over {len(rounds)} rounds (earn and floor alternating):")
    ok = True
    if all("earn" in r and "floor" in r for r in rounds):
        ratios = sorted(r["earn"]["rps"] / r["floor"]["rps"] for r in rounds)
        ratio = statistics.median(ratios)
        print(f"ratio earn/floor: median {ratio:.2f} (each round: "
              f"{', '.join(f'{x:.2f}' for x in ratios)}; goal ≥ {GOAL_RATIO}: "
              f"{'met' if ratio >= GOAL_RATIO else 'NOT met'})")
        ok &= ratio >= GOAL_RATIO
    for name, label in LABELS.items():
        if not all(name in r and "floor" in r for r in rounds):
            continue
        ratios = sorted(r[name]["rps"] / r["floor"]["rps"] for r in rounds)
        ratio = statistics.median(ratios)
        print(f"ratio {label}/floor: median {ratio:.2f} (each round: "
              f"{', '.join(f'{x:.2f}' for x in ratios)}; goal ≥ {GOAL_RATIO_PROGRAMS}: "
              f"{'met' if ratio >= GOAL_RATIO_PROGRAMS else 'NOT met'})")
        ok &= ratio >= GOAL_RATIO_PROGRAMS
    if all("earn" in r for r in rounds):
        p99 = statistics.median(r["earn"]["p99_ms"] for r in rounds)
        print(f"earn p99: median {p99:.1f} ms (goal ≤ {GOAL_P99_MS:.0f} ms: "
              f"{'met' if p99 <= GOAL_P99_MS else 'NOT met'})")
        ok &= p99 <= GOAL_P99_MS and all(r["earn"]["errors"] == 0 for r in rounds)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=int, default=30, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per app")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (one per core)")
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--shop", default="bench-bakkerij")
    parser.add_argument("--sample", type=int, default=10_000, help="card numbers to draw from")
    parser.add_argument("--only", choices=["earn", "floor"], help="measure one app only")
    parser.add_argument("--port", type=int, default=8701,
                        help="the product's port; the floor's is the next one")
    parser.add_argument("--database", default=DB_NAME,
                        help="the bench database (several checkouts can bench side by side)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure earn and floor this many times, alternating; medians")
    parser.add_argument("--no-settle", dest="settle", action="store_false",
                        help="with programs on, skip the first round's pass of one earn per "
                             "sampled card (see settle())")
    parser.add_argument("--no-vacuum", dest="vacuum", action="store_false",
                        help="skip the VACUUM (ANALYZE) before each measured phase (vacuum())")
    parser.add_argument("--programs", choices=["off", "on", "both", "charity", "all"],
                        default="off",
                        help="issue 12's programs (bonus events, levels, badges; "
                             "bench/programs.py) off, on, or both in every round; charity: "
                             "issue 13's charity program (off, then charity, each round); "
                             "all: off, on and charity each round")
    args = parser.parse_args()
    database_use(args.database)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    if not 1 <= args.duration <= 600 or not 0 <= args.warmup <= 60:
        raise SystemExit("--duration must be 1–600 s, --warmup 0–60 s")
    if not 1 <= args.rounds <= 20:
        raise SystemExit("--rounds must be 1–20")

    data = data_ensure(args)
    log(f"{len(data['cards']):,} card numbers sampled")
    rounds = []
    with tempfile.TemporaryDirectory(prefix="trouw-bench-") as tmp:
        workdir = Path(tmp)
        for number in range(1, args.rounds + 1):
            if args.rounds > 1:
                log(f"round {number} of {args.rounds}")
            results = {}
            if args.only in (None, "earn"):
                states = {"off": ["off"], "on": ["on"], "both": ["off", "on"],
                          "charity": ["off", "charity"],
                          "all": ["off", "on", "charity"]}[args.programs]
                for state in states:
                    programs(args, state)
                    name = STATES[state]
                    results[name] = measure(
                        name, "loyalty.wsgi:application", args.port, args, data, workdir,
                        settle_first=state == "on" and number == 1 and args.settle)
                programs(args, "off")
            if args.only in (None, "floor"):
                results["floor"] = measure("floor", "floor_app:application", args.port + 1,
                                           args, data, workdir,
                                           pythonpath=str(ROOT / "bench"))
            rounds.append(results)
    oks = [report(results, args) for results in rounds]
    ok = all(oks) if args.rounds == 1 else summary(rounds)

    print("\nSQL queries of one earn request:")
    subprocess.run([PYTHON, str(ROOT / "bench" / "earn_queries.py"), "--shop", args.shop],
                   cwd=ROOT, env=django_env(), timeout=120, check=False)
    print("\nreconcile_ledger:")
    started = time.monotonic()
    reconcile = subprocess.run([PYTHON, "manage.py", "reconcile_ledger", "--shop", args.shop],
                               cwd=ROOT, env=django_env(), timeout=900, check=False)
    print(f"(exit {reconcile.returncode}, {time.monotonic() - started:.1f} s)")
    reconciled = reconcile.returncode == 0
    if args.programs in ("charity", "all"):
        print("\nreconcile_donations:")
        donations = subprocess.run(
            [PYTHON, "manage.py", "reconcile_donations", "--shop", args.shop], cwd=ROOT,
            env=django_env(), timeout=900, check=False)
        print(f"(exit {donations.returncode})")
        reconciled &= donations.returncode == 0
    return 0 if ok and reconciled else 1


if __name__ == "__main__":
    sys.exit(main())
