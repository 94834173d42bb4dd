"""What a process keeps of a shop's settings for a few seconds, so that the earn reads them
without a query: a feature's program (the levels, the badges) as the process last loaded it.

The same promise as the API keys' cache and the earn rules it carries: at most
``TROUW_API_KEY_CACHE_SECONDS`` old in other processes (0: load on every call); a change made
in this process is seen at once, because the writing service calls ``forget``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from django.conf import settings

T = TypeVar("T")


class KeptPerShop(Generic[T]):
    """``kept.get(shop)`` → ``load(shop=shop)``, kept per shop for a few seconds."""

    def __init__(self, load: Callable[..., T]):
        self._load = load
        self._values: dict[tuple, tuple[float, T]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(shop) -> tuple:
        # The creation time too: a test database reuses ids after a rollback.
        return (shop.pk, shop.created_at)

    def get(self, shop) -> T:
        seconds = settings.TROUW_API_KEY_CACHE_SECONDS
        key = self._key(shop)
        if seconds > 0:
            found = self._values.get(key)
            if found is not None and found[0] > time.monotonic():
                return found[1]
        value = self._load(shop=shop)
        if seconds > 0:
            with self._lock:
                self._values[key] = (time.monotonic() + seconds, value)
        return value

    def forget(self, shop) -> None:
        """Drop this process's copy for ``shop`` (after it changed)."""
        with self._lock:
            self._values.pop(self._key(shop), None)

    def forget_all(self) -> None:
        with self._lock:
            self._values.clear()
