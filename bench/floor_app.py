"""The floor: the database work of one earn, and nothing else. Not part of the product.

A bare WSGI app for ``bench/earn_api.py``. For each ``POST`` with the same JSON body as
``/api/v1/purchases/`` it runs, in one transaction with psycopg: lock the membership by card
number (SELECT … FOR UPDATE), insert the purchase, its ledger entry and its lot with the columns
the product writes, and move the cached balance. No Django, DRF, API-key check or
Idempotency-Key record: what is left is what the database costs.

    BENCH_DSN=postgresql://... BENCH_SHOP=bench-bakkerij gunicorn --pythonpath bench floor_app
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import threading
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import psycopg

# The product's own points function (pure; loaded by path so that neither the loyalty package
# nor Django is imported).
_spec = importlib.util.spec_from_file_location(
    "trouw_points", Path(__file__).resolve().parent.parent / "loyalty" / "points.py"
)
_points = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_points)
points_for_amount = _points.points_for_amount

DSN = os.environ.get("BENCH_DSN", "postgresql://postgres@127.0.0.1:5432/trouw_bench")
SHOP_SLUG = os.environ.get("BENCH_SHOP", "bench-bakkerij")

_local = threading.local()


def _connection() -> psycopg.Connection:
    """One connection per worker thread, kept open (like Django's CONN_MAX_AGE)."""
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(DSN, autocommit=True)
        _local.shop = _shop_and_rules(conn)
    return conn


def _shop_and_rules(conn) -> SimpleNamespace:
    with conn.transaction():
        shop_id, currency = conn.execute(
            "SELECT id, currency FROM loyalty_shop WHERE slug = %s", (SHOP_SLUG,)
        ).fetchone()
        row = conn.execute(
            "SELECT id, points_per_unit, steps, steps_replace_rate, minimum_amount, "
            "cap_per_purchase, pending_days FROM loyalty_programrules WHERE shop_id = %s "
            "ORDER BY version DESC LIMIT 1", (shop_id,)
        ).fetchone()
    rules = SimpleNamespace(
        id=row[0], points_per_unit=row[1], steps=row[2], steps_replace_rate=row[3],
        minimum_amount=row[4], cap_per_purchase=row[5], pending_days=row[6],
    )
    return SimpleNamespace(id=shop_id, currency=currency, rules=rules)


def _earn(conn, shop, card: str, amount: Decimal, reference: str, key: str) -> dict:
    rules = shop.rules
    points = points_for_amount(rules=rules, amount=amount)
    now = dt.datetime.now(dt.UTC)
    available_at = now + dt.timedelta(days=rules.pending_days)
    with conn.transaction():
        row = conn.execute(
            "SELECT id, points_balance FROM loyalty_membership "
            "WHERE shop_id = %s AND card_number = %s FOR UPDATE", (shop.id, card)
        ).fetchone()
        if row is None:
            return {"status": 404}
        membership_id, balance = row
        (purchase_id,) = conn.execute(
            "INSERT INTO loyalty_purchase (shop_id, membership_id, amount, currency, reference,"
            " rules_id, points_earned, points_available_at, refunded_amount, recorded_by_id,"
            " api_key_id, idempotency_key, created_at, earn_detail)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 0, NULL, NULL, %s, %s, '{}') RETURNING id",
            (shop.id, membership_id, amount, shop.currency, reference, rules.id, points,
             available_at, key, now),
        ).fetchone()
        if points > 0:
            (entry_id,) = conn.execute(
                "INSERT INTO loyalty_ledgerentry (shop_id, membership_id, points, kind,"
                " purchase_id, refund_id, reverses_id, reference, note, customer_note,"
                " actor_user_id, actor_api_key_id, idempotency_key, created_at)"
                " VALUES (%s, %s, %s, 'earn', %s, NULL, NULL, '', '', '', NULL, NULL, %s, %s)"
                " RETURNING id",
                (shop.id, membership_id, points, purchase_id, f"purchase:{key}", now),
            ).fetchone()
            conn.execute(
                "INSERT INTO loyalty_pointlot (membership_id, entry_id, points, remaining,"
                " available_at, expires_at) VALUES (%s, %s, %s, %s, %s, NULL)",
                (membership_id, entry_id, points, points, available_at),
            )
            conn.execute(
                "UPDATE loyalty_membership SET points_balance = points_balance + %s"
                " WHERE id = %s", (points, membership_id),
            )
    return {"status": 201, "id": purchase_id, "member": card, "amount": str(amount),
            "currency": shop.currency, "reference": reference, "points_earned": points,
            "points_available_at": available_at.isoformat(), "balance": balance + points,
            "rules_version": None, "created_at": now.isoformat()}


def _answer(start_response, status: str, body: dict):
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(payload)))])
    return [payload]


def application(environ, start_response):
    if environ["REQUEST_METHOD"] != "POST":
        return _answer(start_response, "405 Method Not Allowed", {"error": "POST only"})
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        data = json.loads(environ["wsgi.input"].read(length))
        card, amount = str(data["member"]), Decimal(str(data["amount"])).quantize(Decimal("0.01"))
    except (ValueError, KeyError, TypeError, ArithmeticError):
        return _answer(start_response, "400 Bad Request", {"error": "bad body"})
    key = environ.get("HTTP_IDEMPOTENCY_KEY", "")
    conn = _connection()
    body = _earn(conn, _local.shop, card, amount, str(data.get("reference", "")), key or None)
    if body.pop("status") == 404:
        return _answer(start_response, "404 Not Found", {"error": "member_not_found"})
    return _answer(start_response, "201 Created", body)
