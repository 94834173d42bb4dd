"""The Redis cache that carries on while Redis is down (loyalty/cache.py): on a live Redis the
values are in Redis; on a dead one the process's memory stands in at once, and for a while
Redis is not tried again, so a request pays the connect timeout at most once."""

from __future__ import annotations

import os
import time
import uuid

from loyalty import cache as trouw_cache
from loyalty.cache import RedisWithLocalFallback
from tests.conftest import require_service
from tests.test_celery import _redis_up

OPTIONS = {"OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}


def test_a_dead_redis_is_stood_in_for_by_memory_and_not_tried_again_for_a_while():
    cache = RedisWithLocalFallback("redis://127.0.0.1:1/0", OPTIONS)
    assert cache.add("lock", True, timeout=10) is True  # allauth's lock: taken, not refused
    assert cache.add("lock", True, timeout=10) is False  # and held
    assert cache.redis_is_down()
    started = time.monotonic()
    cache.set("history", [1, 2], 60)
    assert cache.get("history") == [1, 2]
    cache.delete("lock")
    assert cache.add("lock", True, timeout=10) is True
    assert time.monotonic() - started < 0.5  # no connect attempt while paused


def test_redis_is_tried_again_after_the_pause(monkeypatch):
    cache = RedisWithLocalFallback("redis://127.0.0.1:1/0", OPTIONS)
    cache.get("anything")
    assert cache.redis_is_down()
    monkeypatch.setattr(trouw_cache.time, "monotonic",
                        lambda: cache._down_until + 1)  # the pause is over
    assert not cache.redis_is_down()


def test_on_a_live_redis_the_values_are_in_redis():
    url = os.environ.get("REDIS_URL", "")
    require_service(bool(url) and _redis_up(url), "Redis (REDIS_URL)")
    cache = RedisWithLocalFallback(url, OPTIONS)
    key = f"trouw-test-{uuid.uuid4().hex}"
    cache.set(key, {"a": 1}, 30)
    other = RedisWithLocalFallback(url, OPTIONS)  # another process: another memory
    assert other.get(key) == {"a": 1}
    assert not cache.redis_is_down()
    cache.delete(key)
    assert other.get(key) is None
