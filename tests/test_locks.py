"""The cross-process lock: one holder at a time in the shared cache, expiry, safe release."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from django.core.cache import BaseCache, caches

from rocketchat_sso.sessions.locks import CacheLock, poll

KEY = "tests:lock"


@pytest.fixture
def cache() -> Iterator[BaseCache]:
    """The test run's default cache: Redis where REDIS_URL is set, else local memory."""
    default = caches["default"]
    default.delete(KEY)
    yield default
    default.delete(KEY)


def test_one_holder_at_a_time(cache: BaseCache) -> None:
    first, second = CacheLock(cache, KEY, 10), CacheLock(cache, KEY, 10)
    assert first.acquire()
    assert not second.acquire()
    assert second.locked()
    first.release()
    assert not first.locked()
    assert second.acquire()
    second.release()


def test_concurrent_acquirers_get_exactly_one_lock(cache: BaseCache) -> None:
    locks = [CacheLock(cache, KEY, 10) for _ in range(20)]
    start = threading.Barrier(len(locks))
    won: list[bool] = []

    def contend(lock: CacheLock) -> None:
        start.wait()
        won.append(lock.acquire())

    threads = [threading.Thread(target=contend, args=(lock,)) for lock in locks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert won.count(True) == 1


def test_an_expired_lock_is_not_released_by_its_former_holder(cache: BaseCache) -> None:
    stale = CacheLock(cache, KEY, 10)
    assert stale.acquire()
    cache.delete(KEY)  # what expiry does: the holder died or took too long
    current = CacheLock(cache, KEY, 10)
    assert current.acquire()
    stale.release()
    assert current.locked()  # still held by its new owner
    current.release()
    assert not current.locked()


def test_a_lock_never_taken_releases_nothing(cache: BaseCache) -> None:
    holder, bystander = CacheLock(cache, KEY, 10), CacheLock(cache, KEY, 10)
    assert holder.acquire()
    bystander.release()
    assert holder.locked()
    holder.release()


def test_poll_returns_the_first_answer_or_none_at_the_deadline() -> None:
    answers = iter([None, None, "ready"])
    assert poll(lambda: next(answers), time.monotonic() + 5) == "ready"
    started = time.monotonic()
    assert poll(lambda: None, started + 0.05) is None
    assert 0.05 <= time.monotonic() - started < 1
