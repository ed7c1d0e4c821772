"""A lock that holds across worker processes and machines: one key in the shared cache.

Also :class:`GuardedCache`, which turns any cache backend's failure into one exception.

``cache.add()`` stores a key only if it is absent, atomically in Redis (``SET NX``), Memcached
(``add``) and the database cache (its primary key). The first request to add the key holds
the lock; the key expires by itself should its holder die. Only the holder deletes it.
With the local-memory cache the lock holds within one process only (system check W040).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.core.cache import BaseCache
from django.core.cache.backends.base import DEFAULT_TIMEOUT

from rocketchat_sso.exceptions import CacheUnavailable

T = TypeVar("T")

# Polling a shared cache: first look soon (the holder is usually done within a few Rocket.Chat
# round trips), then back off so a crowd of waiters does not hammer the cache.
FIRST_POLL_SECONDS = 0.01
MAX_POLL_SECONDS = 0.1


@contextmanager
def _guarded() -> Iterator[None]:
    try:
        yield
    except Exception as error:  # each backend raises its own types: redis-py's, the database's
        # The type only: a backend's message may carry its URL, password included.
        raise CacheUnavailable(f"The cache failed ({type(error).__name__}).") from error


class GuardedCache(BaseCache):
    """``cache`` with every failure of its backend raised as :class:`CacheUnavailable`."""

    def __init__(self, cache: BaseCache) -> None:
        super().__init__({})
        self.cache = cache

    def get(self, key: Any, default: Any | None = None, version: int | None = None) -> Any:
        with _guarded():
            return self.cache.get(key, default, version)

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        with _guarded():
            self.cache.set(key, value, timeout, version)

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        with _guarded():
            return self.cache.add(key, value, timeout, version)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        try:
            with _guarded():
                return self.cache.incr(key, delta, version)
        except CacheUnavailable as error:
            if isinstance(error.__cause__, ValueError):  # the key is missing: not a failure
                raise error.__cause__ from None
            raise

    def delete(self, key: Any, version: int | None = None) -> bool:
        with _guarded():
            return self.cache.delete(key, version)


class CacheLock:
    """A named lock in ``cache``, held for at most ``timeout`` seconds."""

    def __init__(self, cache: BaseCache, key: str, timeout: float) -> None:
        self.cache = cache
        self.key = key
        self.timeout = timeout
        self._owner = secrets.token_hex(16)
        self.held = False

    def acquire(self) -> bool:
        """Take the lock if nobody holds it; never waits."""
        self.held = bool(self.cache.add(self.key, self._owner, self.timeout))
        return self.held

    def locked(self) -> bool:
        """Whether anyone (this lock included) holds it right now."""
        return self.cache.get(self.key) is not None

    def release(self) -> None:
        """Give the lock up, unless it expired meanwhile and is someone else's now."""
        if self.held and self.cache.get(self.key) == self._owner:
            self.cache.delete(self.key)
        self.held = False


def poll(check: Callable[[], T | None], deadline: float) -> T | None:
    """Call ``check`` until it returns something, or ``deadline`` (``time.monotonic()``) passes."""
    pause = FIRST_POLL_SECONDS
    while True:
        result = check()
        remaining = deadline - time.monotonic()
        if result is not None or remaining <= 0:
            return result
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, MAX_POLL_SECONDS)
