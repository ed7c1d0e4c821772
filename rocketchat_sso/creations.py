"""What this site recorded of the Rocket.Chat users it is creating, in the shared cache.

Two requests of one user (two sessions, or a sign-in beside the sync command) may both try to
create their Rocket.Chat user; the loser finds the winner's account by its address. Whether
that account is the user's own is decided from what the site recorded, never by trying a
password on it: a failed login counts against the account and the site's address in
Rocket.Chat (``Block_Multiple_Failed_Logins_*``), and the account may be anyone's. Recorded
here: how many creations for the user are under way, and the id of every account one of them
created (kept for a day). The link itself (``RocketChatAccount``) is the other record.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from django.core.cache import caches

from rocketchat_sso.conf import conf
from rocketchat_sso.exceptions import CacheUnavailable
from rocketchat_sso.locks import GuardedCache, poll
from rocketchat_sso.models import RocketChatAccount

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.core.cache import BaseCache

logger = logging.getLogger(__name__)

IN_FLIGHT_PREFIX = "rocketchat_sso:creating:"
CREATED_PREFIX = "rocketchat_sso:created:"
CREATED_TIMEOUT = 24 * 60 * 60  # seconds: long past any request that could race the creation
# An in-flight mark whose request died expires after this many ROCKETCHAT_SSO_TIMEOUTs.
IN_FLIGHT_TIMEOUTS = 3


def _cache() -> BaseCache:
    return GuardedCache(caches[conf.ROCKETCHAT_SSO_CACHE])


def _created(cache: BaseCache, user: AbstractBaseUser) -> list[str]:
    value = cache.get(f"{CREATED_PREFIX}{user.pk}")
    return [str(item) for item in value] if isinstance(value, list) else []


@contextmanager
def creating(user: AbstractBaseUser) -> Iterator[None]:
    """Mark a ``users.create`` for ``user`` as under way for as long as the block runs."""
    key = f"{IN_FLIGHT_PREFIX}{user.pk}"
    cache = _cache()
    marked = False
    try:
        cache.add(key, 0, IN_FLIGHT_TIMEOUTS * conf.ROCKETCHAT_SSO_TIMEOUT)
        cache.incr(key)
        marked = True
    except (CacheUnavailable, ValueError):
        logger.warning("Could not mark a Rocket.Chat creation under way for user %s", user.pk)
    try:
        yield
    finally:
        if marked:  # should the mark have expired, or the cache gone, it times out by itself
            with suppress(CacheUnavailable, ValueError):
                cache.incr(key, -1)


def note_created(user: AbstractBaseUser, rocketchat_user_id: str) -> None:
    """Record that this site just created ``rocketchat_user_id`` for ``user``."""
    cache = _cache()
    try:
        ids = _created(cache, user)
        cache.set(f"{CREATED_PREFIX}{user.pk}", [*ids, rocketchat_user_id], CREATED_TIMEOUT)
    except CacheUnavailable:
        logger.warning("Could not record the Rocket.Chat user created for user %s", user.pk)


def created_for(user: AbstractBaseUser, rocketchat_user_id: str) -> bool:
    """Whether this site created or linked ``rocketchat_user_id`` for ``user``, by its records.

    While another creation for ``user`` is under way, waits (up to ``ROCKETCHAT_SSO_TIMEOUT``)
    for it to record its account. Call it outside :func:`creating`, or the wait is for itself.
    """
    cache = _cache()
    linked = RocketChatAccount.objects.filter(
        user_id=user.pk, rocketchat_user_id=rocketchat_user_id
    )

    def recorded() -> bool | None:
        try:
            # Read the mark before the ids: a creation notes its id before it unmarks itself.
            under_way = bool(cache.get(f"{IN_FLIGHT_PREFIX}{user.pk}"))
            if rocketchat_user_id in _created(cache, user):
                return True
        except CacheUnavailable:
            under_way = False
        if linked.exists():
            return True
        return None if under_way else False

    return bool(poll(recorded, time.monotonic() + conf.ROCKETCHAT_SSO_TIMEOUT))
