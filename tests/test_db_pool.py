"""Database connections stay bounded on PostgreSQL: a process borrows them from one pool
(``DATABASES["default"]["OPTIONS"]["pool"]``, psycopg_pool; ``DATABASE_POOL_MAX_SIZE``).

The development server that ``make run`` starts makes a thread per client connection, and
with persistent connections each thread opened its own database connection and left it open:
some thousand requests from two clients ended in "sorry, too many clients already" and 500s.
Here that server (``manage.py runserver`` in a subprocess, on the test database) takes a few
thousand requests from several clients, each on a new TCP connection (a new server thread),
while ``pg_stat_activity`` is sampled: never more connections than the pool's maximum, and no
answer but the expected one. The settings tests check the configuration in a fresh process."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from loyalty.services import api_key_create, program_rules_current
from tests.conftest import require_service
from tests.factories import MembershipFactory, ShopFactory

REPO = Path(__file__).resolve().parent.parent
POOL_MAX = 4
CLIENTS = 8
REQUESTS_PER_CLIENT = 300  # 2,400 in all
APP_NAME = "trouw-pool-test"


# --- The settings ------------------------------------------------------------------------------


def _settings_in_process(env_extra: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update({"TROUW_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "loyalty.settings",
                **env_extra})
    code = ("import json; from django.conf import settings; d = settings.DATABASES['default']; "
            "print(json.dumps({'age': d.get('CONN_MAX_AGE', 0), 'options': d.get('OPTIONS', {})}))")
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)


def _database(env_extra, tmp_path) -> dict:
    result = _settings_in_process(env_extra, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


PG = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/trouw"}


class TestSettings:
    def test_postgresql_gets_a_pool_and_no_persistent_connections(self, tmp_path):
        database = _database(PG, tmp_path)

        assert database["age"] == 0  # Django refuses a pool with persistent connections
        assert database["options"]["pool"] == {"min_size": 1, "max_size": 8, "timeout": 10}
        # Prepared statements live per connection, and pooled connections live on.
        assert database["options"]["server_side_binding"] is True
        assert database["options"]["prepare_threshold"] == 5

    def test_the_pools_size_is_configurable(self, tmp_path):
        database = _database({**PG, "DATABASE_POOL_MAX_SIZE": "12"}, tmp_path)

        assert database["options"]["pool"]["max_size"] == 12

    def test_size_0_means_no_pool(self, tmp_path):
        database = _database({**PG, "DATABASE_POOL_MAX_SIZE": "0",
                              "DATABASE_SERVER_SIDE_BINDING": "false"}, tmp_path)

        assert database == {"age": 0, "options": {}}

    @pytest.mark.parametrize("value", ["many", "-1", "4.5", "1001"])
    def test_a_bad_size_stops_the_start(self, value, tmp_path):
        result = _settings_in_process({**PG, "DATABASE_POOL_MAX_SIZE": value}, tmp_path)

        assert result.returncode != 0
        assert "DATABASE_POOL_MAX_SIZE must be a whole number" in result.stderr

    def test_sqlite_has_no_pool(self, tmp_path):
        database = _database({}, tmp_path)

        assert "pool" not in database["options"]


# --- The bound, under load ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(port: int) -> dict[str, str]:
    """The test database, seen by a server in another process (the test's data is committed:
    a transactional test)."""
    db = connection.settings_dict
    url = (f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
           f"{db['NAME']}?application_name={APP_NAME}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "loyalty.settings_test", "DATABASE_URL": url,
                "DATABASE_POOL_MAX_SIZE": str(POOL_MAX), "DJANGO_DEBUG": "false",
                "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"})
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def _wait_until_up(process: subprocess.Popen, port: int, log: Path,
                   timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail("runserver did not answer /healthz in time")


@pytest.fixture
def runserver(tmp_path):
    """``manage.py runserver`` (threaded, as ``make run`` starts it) on a free port; its log
    (a line per request) goes to a file."""
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    port = _free_port()
    log = tmp_path / "runserver.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload",
             "--skip-checks"],
            cwd=REPO, env=_server_env(port), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_up(process, port, log)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _sample_connections(dsn: str, database: str, stop: threading.Event, samples: list,
                        bound: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.is_set():
            count = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                " AND application_name = %s", (database, APP_NAME)).fetchone()[0]
            samples.append(count)
            if count > bound:
                stop.set()  # the bound is broken already: no need to use up the server's
            time.sleep(0.01)


def _client(port: int, number: int, cards: list[str], raw_key: str, stop: threading.Event,
            statuses: list) -> None:
    auth = {"Authorization": f"Api-Key {raw_key}"}
    for n in range(REQUESTS_PER_CLIENT):
        if stop.is_set():
            return
        card = cards[(number + n) % len(cards)]
        # A new TCP connection each time: a new thread of the development server.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            if n % 2:
                conn.request("GET", f"/api/v1/members/{card}/", headers=auth)
                expected = 200
            else:
                body = json.dumps({"member": card, "amount": "4.50", "reference": f"P-{n}"})
                conn.request("POST", "/api/v1/purchases/", body=body, headers={
                    **auth, "Content-Type": "application/json",
                    "Idempotency-Key": f"pool-{number}-{n}"})
                expected = 201
            response = conn.getresponse()
            response.read()
            statuses.append((expected, response.status))
        except OSError as exc:
            statuses.append((expected, repr(exc)))
        finally:
            conn.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_threaded_server_never_holds_more_connections_than_the_pool(runserver):
    shop = ShopFactory(slug="druk-bezocht")
    program_rules_current(shop=shop)
    cards = [MembershipFactory(shop=shop).card_number for _ in range(20)]
    _api_key, raw_key = api_key_create(shop=shop, name="till-1")

    db = connection.settings_dict
    dsn = (f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
           f"{db['NAME']}")
    stop, samples, statuses = threading.Event(), [], []
    sampler = threading.Thread(target=_sample_connections,
                               args=(dsn, db["NAME"], stop, samples, POOL_MAX))
    sampler.start()
    clients = [threading.Thread(target=_client,
                                args=(runserver, number, cards, raw_key, stop, statuses))
               for number in range(CLIENTS)]
    try:
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=600)
    finally:
        stop.set()
        sampler.join(timeout=30)

    assert max(samples) <= POOL_MAX, f"{max(samples)} connections (the pool's max: {POOL_MAX})"
    assert len(statuses) == CLIENTS * REQUESTS_PER_CLIENT
    wrong = [status for status in statuses if status[0] != status[1]]
    assert wrong == [], f"{len(wrong)} unexpected answers, e.g. {wrong[:5]}"
    assert len(samples) > 50  # sampled all along the load
    assert max(samples) >= 2  # the requests did overlap: the pool was shared
    assert shop.purchases.count() == CLIENTS * REQUESTS_PER_CLIENT // 2
