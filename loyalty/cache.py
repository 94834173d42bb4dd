"""The cache on Redis that carries on while Redis is down.

allauth keeps its sign-in rate limits in the cache and fails closed: when it cannot take its
cache lock it answers 429 Too Many Requests. On Django's own Redis cache a dead Redis would so
lock everybody out, the owner and the staff at the counter included (and every call would wait
for the connect timeout). This backend falls back to a cache in the process's memory while
Redis does not answer: the rate limits keep counting, per process, and nobody is locked out.
After a failure it does not try Redis again for ``PAUSE_SECONDS``, so a request pays the
connect timeout at most once in that time. What was cached in Redis is simply a miss
meanwhile; a cache holds nothing that cannot be made again."""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

PAUSE_SECONDS = 30.0
_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisWithLocalFallback(BaseCache):
    """Django's Redis cache, with the process's memory standing in while Redis is down."""

    def __init__(self, server, params):
        super().__init__(params)
        self._redis = RedisCache(server, params)
        self._local = LocMemCache(f"trouw-fallback-{id(self)}", params)
        self._down_until = 0.0

    def _call(self, name, *args, **kwargs):
        if time.monotonic() >= self._down_until:
            try:
                return getattr(self._redis, name)(*args, **kwargs)
            except _DOWN as error:
                self._down_until = time.monotonic() + PAUSE_SECONDS
                logger.warning("cache: Redis does not answer (%s); the process's memory "
                               "stands in for %.0f s", error, PAUSE_SECONDS)
        return getattr(self._local, name)(*args, **kwargs)

    def redis_is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call("get", key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", key, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", key, version)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", keys, version)

    def clear(self):
        self._local.clear()
        return self._call("clear")

    def close(self, **kwargs):
        self._redis.close(**kwargs)
