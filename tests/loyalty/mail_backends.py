"""E-mail backends for the outbox's tests: one that fails as told, one that counts opens."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class FailingBackend(BaseEmailBackend):
    """Raises ``FailingBackend.error`` on every send (set it in the test)."""

    error: BaseException | None = None
    sends = 0

    def send_messages(self, messages):
        FailingBackend.sends += 1
        if FailingBackend.error is not None:
            raise FailingBackend.error
        return len(messages)


class CountingBackend(LocmemBackend):
    """The locmem backend, counting how often a connection is opened."""

    opened = 0

    def open(self):
        CountingBackend.opened += 1
        return True
