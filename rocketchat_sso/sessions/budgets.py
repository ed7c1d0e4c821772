"""Budgets that keep one session, or one user, from spending Rocket.Chat's limiter on tokens.

Rocket.Chat counts calls per client address and route (10 a minute by default), and to it the
whole site is one client. So:

* a session asks Rocket.Chat about its token at most once per
  ``ROCKETCHAT_SSO_RECHECK_MIN_INTERVAL`` seconds, whatever asks (the warm path after the recheck
  interval, ``?recheck=1`` from the loading page);
* a user gets at most ``ROCKETCHAT_SSO_USER_MINT_LIMIT`` new tokens per
  ``ROCKETCHAT_SSO_USER_MINT_WINDOW`` seconds, over all their sessions.

Both are counted in the shared token cache (``ROCKETCHAT_SSO_CACHE``), like the session lock, so
they hold across worker processes and machines. Each call itself is counted against the user's
and the site's share of Rocket.Chat's buckets by :mod:`rocketchat_sso.rocketchat.call_shares`.
"""

from __future__ import annotations

import time

from django.core.cache import BaseCache

from rocketchat_sso.conf import conf
from rocketchat_sso.exceptions import BudgetExhausted

CHECK_KEY_PREFIX = "rocketchat_sso:check:"
MINT_KEY_PREFIX = "rocketchat_sso:mints:"
RECHECK_BUDGET = "token_recheck_budget"
MINT_BUDGET = "token_mint_budget"


def take_check(cache: BaseCache, session_hash: str) -> float | None:
    """Spend the session's one check of the interval: None if it was there, else the seconds
    until the next one."""
    interval = conf.ROCKETCHAT_SSO_RECHECK_MIN_INTERVAL
    if interval <= 0:
        return None
    now = time.time()
    key = CHECK_KEY_PREFIX + session_hash
    if cache.add(key, now, interval):
        return None
    since = cache.get(key)
    if not isinstance(since, (int, float)):
        return float(interval)
    return max(1.0, interval - (now - since))


def take_mint(cache: BaseCache, user_pk: object) -> float | None:
    """Count one mint for the user: None within the budget, else the seconds until the window
    ends (the attempt is counted either way: it was going to cost calls)."""
    limit = conf.ROCKETCHAT_SSO_USER_MINT_LIMIT
    window = conf.ROCKETCHAT_SSO_USER_MINT_WINDOW
    if limit <= 0 or window <= 0:
        return None
    now = time.time()
    key = f"{MINT_KEY_PREFIX}{user_pk}:{int(now // window)}"
    cache.add(key, 0, window + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: a new window
        cache.add(key, 1, window + 1)
        count = 1
    if count <= limit:
        return None
    return window - (now % window)


def recheck_exhausted(retry_after: float) -> BudgetExhausted:
    return BudgetExhausted(
        RECHECK_BUDGET,
        "This session asked Rocket.Chat about its token moments ago; try again shortly.",
        retry_after,
    )


def mint_exhausted(retry_after: float) -> BudgetExhausted:
    return BudgetExhausted(
        MINT_BUDGET,
        f"Too many new Rocket.Chat sign-ins for this user (at most "
        f"{conf.ROCKETCHAT_SSO_USER_MINT_LIMIT} per {conf.ROCKETCHAT_SSO_USER_MINT_WINDOW} s); "
        "try again shortly.",
        retry_after,
    )
