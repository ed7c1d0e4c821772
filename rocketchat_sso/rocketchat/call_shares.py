"""Each user's and the site's share of Rocket.Chat's rate-limit buckets, counted before a call.

Rocket.Chat counts calls per client address and route (10 a minute by default), and to it the
whole site is one client: every ``/me`` that checks a user's token, every ``/login`` that mints
one and every ``/logout`` that revokes one comes out of the same buckets. So every call made
with a user's credentials (:func:`take_call`, from the client) counts against Rocket.Chat's
bucket as this site sees it: at most ``ROCKETCHAT_SSO_RATE_LIMIT_CALLS`` per
``ROCKETCHAT_SSO_RATE_LIMIT_WINDOW`` for the site (per forwarded browser address, when there is
one), of which one user, over all their sessions, spends at most
``ROCKETCHAT_SSO_USER_CALL_SHARE``; and a user's second and later calls of a window (and the
site's own, made for no user: commands, password changes) never take the last half of the
bucket, which stays for other users' first call. So fewer than 7 users cannot empty a bucket
of 10 (see docs/tokens.rst).

The calls are counted in the shared token cache (``ROCKETCHAT_SSO_CACHE``), so they hold across
worker processes and machines, as sliding windows: each call holds one of the bucket's slots (a
cache key added atomically) for the window, so no window of Rocket.Chat's, wherever its clock
starts, sees more than the bucket. (A call that reaches Rocket.Chat a few milliseconds before
its window ends, latency being uneven, is refused there and waited out by the client, within
``ROCKETCHAT_SSO_RATE_LIMIT_WAIT``.) The per-session and per-user budgets of tokens are
:mod:`rocketchat_sso.sessions.budgets`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.cache import BaseCache, caches

from rocketchat_sso.conf import conf
from rocketchat_sso.exceptions import CallShareExhausted
from rocketchat_sso.rocketchat.forwarding import client_address

logger = logging.getLogger(__name__)

CALLS_KEY_PREFIX = "rocketchat_sso:calls:"
USER_SHARE = "rocketchat_user_share"
SITE_SHARE = "rocketchat_site_share"
# The bucket as the site sees it when no browser address is forwarded: the site's own.
SITE_OWNER = "site"

# The Django user on whose behalf the Rocket.Chat calls of this context are made (None: the
# site's own work, e.g. a command).
_spender: ContextVar[str | None] = ContextVar("rocketchat_sso_spender", default=None)


@contextmanager
def spending_for(user_pk: object) -> Iterator[None]:
    """Count the user-credential calls made inside against ``user_pk``'s share."""
    token = _spender.set(str(user_pk))
    try:
        yield
    finally:
        _spender.reset(token)


def take_call(route: str) -> None:
    """Count one call to ``route`` (``"me"``, ``"login"``, ``"logout"``) made with a user's
    credentials; raise :class:`CallShareExhausted` instead if it would overspend the user's share
    or the site's bucket. A cache that fails lets the call through: Rocket.Chat's own limiter
    still stands behind it."""
    _count_call(route, take=True)


def expect_call(route: str) -> None:
    """Raise :class:`CallShareExhausted` now if a call to ``route`` would be refused, counting
    nothing: so a sign-in that could not log in does not create the Rocket.Chat user first."""
    _count_call(route, take=False)


def _count_call(route: str, *, take: bool) -> None:
    calls = conf.ROCKETCHAT_SSO_RATE_LIMIT_CALLS
    window = conf.ROCKETCHAT_SSO_RATE_LIMIT_WINDOW
    if calls <= 0 or window <= 0:
        return
    cache = caches[conf.ROCKETCHAT_SSO_CACHE]
    try:
        _take_call(cache, route, calls, window, take=take)
    except CallShareExhausted:
        raise
    except Exception as error:  # each backend raises its own types
        logger.warning(
            "Rocket.Chat call budget not counted: the cache failed (%s)", type(error).__name__
        )


def _take_call(cache: BaseCache, route: str, calls: int, window: int, *, take: bool) -> None:
    now = time.time()
    ttl = window  # whole seconds: Redis and Memcached truncate timeouts to them
    user = _spender.get()
    share = conf.ROCKETCHAT_SSO_USER_CALL_SHARE
    held: str | None = None
    first = False  # the site's own calls never take the reserve
    if user is not None and share > 0:
        keys = [f"{CALLS_KEY_PREFIX}{route}:user:{user}:{slot}" for slot in range(share)]
        held, used, wait = _take_slot(cache, keys, now, ttl, keep_free=0, take=take)
        if held is None:
            raise CallShareExhausted(
                USER_SHARE,
                f"You used your share of this site's calls to Rocket.Chat ({share} per "
                f"{window} s); try again shortly.",
                wait,
            )
        first = used == 0
    elif user is not None:
        first = True
    owner = client_address() or SITE_OWNER
    keys = [f"{CALLS_KEY_PREFIX}{route}:{owner}:{slot}" for slot in range(calls)]
    reserve = 0 if first else calls // 2
    taken, _, wait = _take_slot(cache, keys, now, ttl, keep_free=reserve, take=take)
    if taken is None:
        if held is not None and take:
            cache.delete(held)  # not spent after all
        raise CallShareExhausted(
            SITE_SHARE,
            "The chat is very busy: this site's share of Rocket.Chat's rate limit is spent for "
            "the moment; try again shortly.",
            wait,
        )


def _take_slot(
    cache: BaseCache, keys: list[str], now: float, ttl: int, *, keep_free: int, take: bool
) -> tuple[str | None, int, float]:
    """Hold one free slot of ``keys`` for ``ttl`` seconds, leaving more than ``keep_free``
    free; returns it (None if refused), how many were held before, and the seconds until the
    oldest is free again. Without ``take``, only whether one is free (the first, not held)."""
    held = cache.get_many(keys)
    since = [value for value in held.values() if isinstance(value, (int, float))]
    wait = max(1.0, min(since) + ttl - now) if since else 1.0
    free = [key for key in keys if key not in held]
    if len(free) > keep_free:
        if not take:
            return free[0], len(held), wait
        for key in free:
            if cache.add(key, now, ttl):
                return key, len(held), wait
    return None, len(held), wait
