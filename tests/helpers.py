"""Small helpers shared by the tests."""

from __future__ import annotations

import json
import threading

from django.db import connection
from django.test import Client


def assert_error(response, status: int, code: str, field: str | None) -> dict:
    """The one error shape: {"error": {"code", "message", "field"}} and nothing else."""
    assert response.status_code == status, response.content
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code
    assert body["error"]["field"] == field
    assert isinstance(body["error"]["message"], str) and body["error"]["message"].strip()
    return body["error"]


def text(response) -> str:
    return response.content.decode()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def balance(membership) -> int:
    membership.refresh_from_db(fields=["points_balance"])
    return membership.points_balance


def run_at_once(jobs, timeout: float = 60) -> list:
    """Run each job in its own thread, all released at the same moment (for tests of real row
    locks on PostgreSQL). Returns, per job, ("ok", value) or ("error", exception)."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def worker(index, job):
        try:
            barrier.wait(timeout=timeout)
            results[index] = ("ok", job())
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            results[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


def post_at_once(requests: list[tuple[str, dict | None, dict]]) -> list[tuple[int, dict,
                                                                              str | None]]:
    """POST every (path, JSON body or None, headers) with its own client in its own thread,
    all released at once (run_at_once). Returns (status, JSON body, Idempotent-Replayed header)
    per request, in order."""
    def job(path: str, body: dict | None, headers: dict):
        def post():
            client = Client()
            if body is None:
                response = client.post(path, headers=headers)
            else:
                response = client.post(path, data=json.dumps(body),
                                       content_type="application/json", headers=headers)
            return (response.status_code, response.json(),
                    response.headers.get("Idempotent-Replayed"))
        return post

    results = run_at_once([job(*request) for request in requests])
    assert [value for kind, value in results if kind == "error"] == []
    return [value for _kind, value in results]
