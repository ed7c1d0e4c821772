"""What this site recorded of the Rocket.Chat users it creates, in the shared cache.

Two requests of one user (two sessions, or a sign-in beside the sync command) may both try to
create their Rocket.Chat user, and a ``users.create`` whose answer was lost may have created it
all the same; the next attempt then finds the account by its address. Whether that account is
the user's own is decided from what the site recorded, never by trying a password on it: a
failed login counts against the account and the site's address in Rocket.Chat
(``Block_Multiple_Failed_Logins_*``), and the account may be anyone's. Recorded here, for a
day: every creation asked for (username, address, when), the id of every account created, and
how many creations for the user are under way. The link itself (``RocketChatAccount``) is the
other record.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.cache import caches

from rocketchat_sso.conf import conf
from rocketchat_sso.exceptions import (
    CacheUnavailable,
    RocketChatBadResponse,
    RocketChatError,
    RocketChatRateLimited,
    RocketChatUnavailable,
)
from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.rocketchat.addresses import address_key
from rocketchat_sso.sessions.locks import GuardedCache, poll

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.core.cache import BaseCache

logger = logging.getLogger(__name__)

IN_FLIGHT_PREFIX = "rocketchat_sso:creating:"
CREATED_PREFIX = "rocketchat_sso:created:"
ASKED_PREFIX = "rocketchat_sso:create-asked:"
RECORD_TIMEOUT = 24 * 60 * 60  # seconds: long past any request that could race the creation
# An in-flight mark whose request died expires after this many ROCKETCHAT_SSO_TIMEOUTs.
IN_FLIGHT_TIMEOUTS = 3
# An account older than the creation asked for (by more than the clocks may disagree) is not it.
CLOCK_SKEW_SECONDS = 300


# The records only ever help (without them a raced or unanswered creation ends in a 409, never
# in a login attempt): writing them is best effort, and no failure of the cache, whatever it
# raises, fails a sign-in here.
RECORD_FAILURES = (Exception,)


def _cache() -> BaseCache:
    return GuardedCache(caches[conf.ROCKETCHAT_SSO_CACHE])


def _records(cache: BaseCache, prefix: str, user: AbstractBaseUser) -> list[Any]:
    value = cache.get(f"{prefix}{user.pk}")
    return list(value) if isinstance(value, list) else []


def _append(prefix: str, user: AbstractBaseUser, item: Any) -> None:
    cache = _cache()
    try:
        items = _records(cache, prefix, user)
        cache.set(f"{prefix}{user.pk}", [*items, item], RECORD_TIMEOUT)
    except RECORD_FAILURES:
        logger.warning("Could not record a Rocket.Chat creation for user %s", user.pk)


def _forget_asked(user: AbstractBaseUser, nonce: str) -> None:
    cache = _cache()
    try:
        items = [item for item in _records(cache, ASKED_PREFIX, user) if item[3:4] != [nonce]]
        cache.set(f"{ASKED_PREFIX}{user.pk}", items, RECORD_TIMEOUT)
    except RECORD_FAILURES:
        pass  # the record stays: it only ever matches an account with this username and address


def _maybe_acted(error: RocketChatError) -> bool:
    """Whether Rocket.Chat may have created the user although the call failed: no answer (a
    timeout, a dropped connection) or one that was not Rocket.Chat's (a proxy's page)."""
    if isinstance(error, RocketChatRateLimited):
        return False  # refused before the route ran
    return isinstance(error, (RocketChatUnavailable, RocketChatBadResponse))


@contextmanager
def creating(user: AbstractBaseUser, username: str, email: str) -> Iterator[None]:
    """Record a ``users.create`` of ``username``/``email`` for ``user``, and mark it under way
    for as long as the block runs. A creation Rocket.Chat refused is forgotten again: only one
    that may have happened unanswered is kept."""
    nonce = secrets.token_hex(8)
    _append(ASKED_PREFIX, user, [username, address_key(email), time.time(), nonce])
    try:
        with _under_way(user):
            yield
    except RocketChatError as error:
        if not _maybe_acted(error):
            _forget_asked(user, nonce)
        raise


@contextmanager
def _under_way(user: AbstractBaseUser) -> Iterator[None]:
    key = f"{IN_FLIGHT_PREFIX}{user.pk}"
    cache = _cache()
    marked = False
    try:
        cache.add(key, 0, IN_FLIGHT_TIMEOUTS * conf.ROCKETCHAT_SSO_TIMEOUT)
        cache.incr(key)
        marked = True
    except RECORD_FAILURES:
        logger.warning("Could not mark a Rocket.Chat creation under way for user %s", user.pk)
    try:
        yield
    finally:
        if marked:  # should the mark have expired, or the cache gone, it times out by itself
            with suppress(*RECORD_FAILURES):
                cache.incr(key, -1)


def note_created(user: AbstractBaseUser, rocketchat_user_id: str) -> None:
    """Record that this site just created ``rocketchat_user_id`` for ``user``."""
    _append(CREATED_PREFIX, user, rocketchat_user_id)


def _created_at(rc_user: dict[str, Any]) -> float | None:
    try:
        return datetime.fromisoformat(str(rc_user["createdAt"]).replace("Z", "+00:00")).timestamp()
    except (KeyError, ValueError):
        return None


def _asked_for(asked: list[Any], rc_user: dict[str, Any]) -> bool:
    """Whether ``rc_user`` is an account this site asked Rocket.Chat to create (the answer may
    have been lost): its username and address, created no earlier than the request."""
    created = _created_at(rc_user)
    addresses = {
        address_key(str(entry.get("address", ""))) for entry in rc_user.get("emails") or []
    }
    for item in asked:
        try:
            username, email, when = str(item[0]), str(item[1]), float(item[2])
        except (IndexError, TypeError, ValueError):
            continue
        if (
            rc_user.get("username") == username
            and email in addresses
            and (created is None or created >= when - CLOCK_SKEW_SECONDS)
        ):
            return True
    return False


def created_for(user: AbstractBaseUser, rc_user: dict[str, Any]) -> bool:
    """Whether this site created or linked ``rc_user`` for ``user``, by its records.

    While another creation for ``user`` is under way, waits (up to ``ROCKETCHAT_SSO_TIMEOUT``)
    for it to record its account. Call it outside :func:`creating`, or the wait is for itself.
    """
    rocketchat_user_id = str(rc_user.get("_id", ""))
    cache = _cache()
    linked = RocketChatAccount.objects.filter(
        user_id=user.pk, rocketchat_user_id=rocketchat_user_id
    )

    def recorded() -> bool | None:
        try:
            # Read the mark before the ids: a creation notes its id before it unmarks itself.
            under_way = bool(cache.get(f"{IN_FLIGHT_PREFIX}{user.pk}"))
            if rocketchat_user_id in _records(cache, CREATED_PREFIX, user):
                return True
            if _asked_for(_records(cache, ASKED_PREFIX, user), rc_user) and not under_way:
                return True
        except CacheUnavailable:
            under_way = False
        if linked.exists():
            return True
        return None if under_way else False

    return bool(poll(recorded, time.monotonic() + conf.ROCKETCHAT_SSO_TIMEOUT))
