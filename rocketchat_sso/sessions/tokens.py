"""One Rocket.Chat login token per Django session, reused until it dies.

Every Rocket.Chat login adds a resume token to the user, and Rocket.Chat drops the oldest over
its cap, signing the user out of their phone and desktop apps. So a session keeps the token it
was given, server-side in Django's cache (``ROCKETCHAT_SSO_CACHE``), keyed by a hash of the
session key, for ``ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT`` seconds: far less than Rocket.Chat's
``Accounts_LoginExpiration``.

A cached token checked less than ``ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL`` seconds ago is handed
out again without a Rocket.Chat call: Rocket.Chat rate-limits ``/me`` per client address like
every REST route, and the whole site is one client. Older, or when the caller asks for a
recheck, Rocket.Chat is asked whether it still accepts the token (``GET /api/v1/me`` as its
user); a refused token (revoked, expired, logged out in Rocket.Chat, user deactivated) is dropped
and a fresh one issued. The loading page always asks for a recheck: Rocket.Chat only shows it
when it is not signed in, i.e. when the token it had (if any) failed. So a dead token can
never send the loading page round in circles.

Everything about the cache lives here, the lock included: one request of a session at a time
checks or mints its token, whichever worker process or machine it reaches, because the lock is a
key in the same shared cache (:mod:`rocketchat_sso.sessions.locks`). The session's other requests
wait for that one and take the token it minted.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.contrib.sessions.backends.base import UpdateError
from django.core.cache import BaseCache, caches
from django.db import connections, router
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from rocketchat_sso.conf import LOGIN_METHOD_CREATE_TOKEN, conf
from rocketchat_sso.exceptions import (
    CacheUnavailable,
    CallShareExhausted,
    RocketChatAuthenticationFailed,
    RocketChatError,
    RocketChatRateLimited,
    SessionEnded,
    TokenPending,
)
from rocketchat_sso.models import IssuedToken, RocketChatAccount
from rocketchat_sso.rocketchat import call_shares
from rocketchat_sso.rocketchat.client import LoginToken, RocketChatClient
from rocketchat_sso.sessions import budgets, minting, revocation, signout
from rocketchat_sso.sessions.locks import CacheLock, GuardedCache, poll

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.contrib.sessions.backends.base import SessionBase

logger = logging.getLogger(__name__)

CACHE_KEY_PREFIX = "rocketchat_sso:token:"
LOCK_KEY_PREFIX = "rocketchat_sso:lock:"
# A lock whose holder died expires after this many ROCKETCHAT_SSO_TIMEOUTs: longer than a
# holder's few Rocket.Chat calls normally take, short enough not to stall the session for long.
LOCK_TIMEOUTS = 3


@dataclass(frozen=True)
class CachedToken:
    """A session's token and the Django user it was issued for."""

    user_pk: str
    token: LoginToken
    checked_at: float = 0.0

    def belongs_to(self, user: AbstractBaseUser) -> bool:
        return self.user_pk == str(user.pk)


def _session_hash(session_key: str) -> str:
    return revocation.session_hash(session_key)


def cache_key(session_key: str) -> str:
    """The cache key of a session: a hash, so the cache never holds a usable session key."""
    return CACHE_KEY_PREFIX + _session_hash(session_key)


def _cache() -> BaseCache:
    """The token cache; whatever its backend raises arrives as
    :class:`~rocketchat_sso.exceptions.CacheUnavailable`."""
    return GuardedCache(caches[conf.ROCKETCHAT_SSO_CACHE])


@sensitive_variables("value", "token")
def get_cached(session_key: str) -> CachedToken | None:
    value = _cache().get(cache_key(session_key))
    if not isinstance(value, dict):
        return None
    try:
        token = LoginToken(user_id=str(value["user_id"]), auth_token=str(value["auth_token"]))
        return CachedToken(
            user_pk=str(value["user_pk"]),
            token=token,
            checked_at=float(value.get("checked_at", 0.0)),
        )
    except (KeyError, TypeError, ValueError):
        return None


@sensitive_variables("token", "value")
def store(
    session_key: str,
    user: AbstractBaseUser,
    token: LoginToken,
    *,
    checked_at: float | None = None,
) -> None:
    """Cache the session's token; ``checked_at`` when Rocket.Chat last accepted it (default:
    just now, issued or answered ``/me``)."""
    timeout = conf.ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT
    if timeout <= 0:
        return
    value = {
        "user_pk": str(user.pk),
        "user_id": token.user_id,
        "auth_token": token.auth_token,
        "checked_at": time.time() if checked_at is None else checked_at,
    }
    _cache().set(cache_key(session_key), value, timeout)


def forget(session_key: str) -> None:
    _cache().delete(cache_key(session_key))


def session_lock(session_key: str) -> CacheLock:
    """The lock that lets one request of a session at a time check and mint its token.

    A key in the shared cache, so it holds across worker processes and machines; it expires by
    itself should its holder die.
    """
    timeout = LOCK_TIMEOUTS * conf.ROCKETCHAT_SSO_TIMEOUT
    return CacheLock(_cache(), LOCK_KEY_PREFIX + _session_hash(session_key), timeout)


def _wait_for_holder(
    session_key: str, lock: CacheLock, user: AbstractBaseUser
) -> LoginToken | None:
    """Wait, up to ``ROCKETCHAT_SSO_TIMEOUT``, for the request holding the session's lock.

    Returns the token that request stored meanwhile, or None once this request holds the lock
    itself (the holder kept the token that was there, which is checked again, or it failed).
    Raises :class:`TokenPending` if the holder is still at work at the deadline.
    """
    before = get_cached(session_key)

    def settled() -> CachedToken | CacheLock | None:
        current = get_cached(session_key)
        if current is not None and current != before and current.belongs_to(user):
            return current
        return lock if lock.acquire() else None

    outcome = poll(settled, time.monotonic() + conf.ROCKETCHAT_SSO_TIMEOUT)
    if outcome is None:
        raise TokenPending("Another request of this session is getting its Rocket.Chat token.")
    return outcome.token if isinstance(outcome, CachedToken) else None


def ensure_session_key(session: SessionBase) -> str:
    """The session's key, saving the session first if it has none yet."""
    if not session.session_key:
        session.save()
    return str(session.session_key)


@sensitive_variables("cached", "token", "login_token")
def session_login_token(
    session: SessionBase,
    user: AbstractBaseUser,
    *,
    client: RocketChatClient | None = None,
    recheck: bool = False,
    respect_logout: bool = False,
) -> LoginToken:
    """The session's Rocket.Chat token: the cached one while Rocket.Chat accepts it, else new.

    Warm path: no Rocket.Chat call within the recheck interval; after it (or with ``recheck``)
    one (``/me``), plus one only if the profile drifted, and at most one per
    ``ROCKETCHAT_SSO_RECHECK_MIN_INTERVAL`` (:mod:`rocketchat_sso.sessions.budgets`). When the cache
    forgot the token, the session's stored one (:mod:`rocketchat_sso.sessions.revocation`) is
    checked instead of minting another. A cached token is never handed to another user, nor for
    another Rocket.Chat user than the linked one.

    If Rocket.Chat's rate limiter refuses the check (``/me``'s bucket is empty) on the warm
    path, the cached token is handed out unchecked: it was fine at the last check, and should it
    have died since, Rocket.Chat refuses it and shows the loading page, whose ``recheck``
    replaces it. A ``recheck`` is never answered with an unchecked token.

    Raises :class:`~rocketchat_sso.exceptions.BudgetExhausted` when the session's check or the
    user's mints are spent, and :class:`~rocketchat_sso.exceptions.CallShareExhausted` when a
    call with the user's credentials would overspend their share of Rocket.Chat's rate limit,
    or the site's (:func:`rocketchat_sso.rocketchat.call_shares.take_call`). With ``respect_logout``
    (the token endpoint), a token Rocket.Chat refuses is taken for the user's logout in Rocket.Chat,
    unless it expired: the session is marked and
    :class:`~rocketchat_sso.exceptions.SignedOutOfRocketChat` raised instead of a mint
    (:mod:`rocketchat_sso.sessions.signout`).
    """
    session_key = ensure_session_key(session)
    cached = get_cached(session_key)
    if cached is not None and not recheck and _recently_checked(cached, user):
        return cached.token  # no Rocket.Chat call, so no lock and no client either
    with call_shares.spending_for(user.pk):  # the user's calls come out of the user's share
        return _checked_or_minted(
            session, session_key, user, client, recheck=recheck, respect_logout=respect_logout
        )


@sensitive_variables("cached", "token", "login_token")
def _checked_or_minted(
    session: SessionBase,
    session_key: str,
    user: AbstractBaseUser,
    client: RocketChatClient | None,
    *,
    recheck: bool,
    respect_logout: bool,
) -> LoginToken:
    """The slow path of :func:`session_login_token`, under the session's lock."""
    client = client or RocketChatClient()
    lock = session_lock(session_key)
    if not lock.acquire():
        minted = _wait_for_holder(session_key, lock, user)
        if minted is not None:
            return minted
    try:
        if respect_logout and signout.is_signed_out(session_key):
            raise signout.refuse()  # marked meanwhile by a request that held the lock
        cached = get_cached(session_key)  # again: the previous holder may have replaced it
        rows = revocation.live_rows(session, user)
        if cached is None and conf.ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT > 0:
            cached = _stored(rows, user)  # the cache forgot it; the database did not
        if cached is not None:
            token, checked = _check(session_key, cached, user, client, recheck=recheck)
            if token is not None:
                # An unchecked hand-out keeps the time of the last real check.
                store(session_key, user, token, checked_at=None if checked else cached.checked_at)
                return token
            forget(session_key)
            held = [row for row in rows if _holds(row, cached.token)]
            if checked:
                revocation.mark_dead(held)  # Rocket.Chat refused it: nothing to revoke
                if respect_logout:
                    # Raises unless it expired or the account is gone.
                    signout.token_found_dead(session_key, cached.token, client=client)
            else:
                revocation.end(held)  # not this link's any more (relinked): revoked later
            rows = [row for row in rows if row not in held]
        exhausted = budgets.take_mint(_cache(), user.pk)
        if exhausted is not None:
            raise budgets.mint_exhausted(exhausted)
        if conf.ROCKETCHAT_SSO_LOGIN_METHOD != LOGIN_METHOD_CREATE_TOKEN:
            call_shares.expect_call("login")  # refused now, before a Rocket.Chat user is created
        login_token = minting.accounts().issue_login_token(user, client=client)
        # Another Rocket.Chat user's token (the account was relinked): revoked later. The
        # session's other tokens stay until it ends (older than the reuse timeout, or reuse off).
        revocation.end(row for row in rows if row.rocketchat_user_id != login_token.user_id)
        revocation.record(session, user, login_token)
        store(session_key, user, login_token)
        return login_token
    finally:
        lock.release()


@sensitive_variables("cached")
def _check(
    session_key: str,
    cached: CachedToken,
    user: AbstractBaseUser,
    client: RocketChatClient,
    *,
    recheck: bool,
) -> tuple[LoginToken | None, bool]:
    """The cached token if Rocket.Chat accepts it (or need not be asked), else None; and
    whether Rocket.Chat was asked just now."""
    if not recheck and _recently_checked(cached, user):
        return cached.token, False
    usable = cached.belongs_to(user) and _linked(cached, user)
    if not usable:
        return None, False
    wait = budgets.take_check(_cache(), _session_hash(session_key))
    if wait is not None:
        if recheck:
            # Rocket.Chat may have dropped the token since it last accepted it, moments ago or
            # not: the caller waits in line (429, Retry-After) rather than get it unchecked.
            raise budgets.recheck_exhausted(wait)
        # The warm path: checked again once the session's budget allows.
        return cached.token, False
    try:
        return _still_valid(cached, user, client), True
    except RocketChatRateLimited:
        if recheck:
            raise
        logger.info("Rocket.Chat's /me bucket is empty: the cached token is handed out unchecked")
        return cached.token, False


@sensitive_variables("token")
def _holds(row: IssuedToken, token: LoginToken) -> bool:
    stored = revocation.token_of(row)
    return stored is not None and stored.auth_token == token.auth_token


@sensitive_variables("token")
def _stored(rows: list[IssuedToken], user: AbstractBaseUser) -> CachedToken | None:
    """The newest stored token of the session, as if cached but never checked, if it is
    younger than ``ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT`` (how long a session reuses a token)."""
    oldest = timezone.now() - timedelta(seconds=conf.ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT)
    for row in rows:
        if row.issued_at < oldest:
            continue
        token = revocation.token_of(row)
        if token is not None:
            return CachedToken(user_pk=str(user.pk), token=token, checked_at=0.0)
    return None


def _linked(cached: CachedToken, user: AbstractBaseUser) -> bool:
    """Whether ``user`` is still linked to the token's Rocket.Chat user.

    Asked of the database on every warm request, never remembered: the link is rewritten with
    ``QuerySet.update()`` (no signal a cached copy could be dropped on). One indexed lookup,
    written as SQL because the warm path's only query cost twice as much through the ORM
    (building and compiling the query; ``benchmarks/README.rst``).
    """
    alias = router.db_for_read(RocketChatAccount)
    connection = connections[alias]
    user_field = RocketChatAccount._meta.get_field("user")
    user_pk = user_field.get_db_prep_value(user.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(_linked_sql(alias), [user_pk, cached.token.user_id])
        return cursor.fetchone() is not None


@functools.cache
def _linked_sql(alias: str) -> str:
    """``SELECT 1`` of the account linking a user to a Rocket.Chat user, quoted for the
    database ``alias``."""
    quote = connections[alias].ops.quote_name
    meta = RocketChatAccount._meta
    table = quote(meta.db_table)
    user = quote(str(meta.get_field("user").column))
    rocketchat_user = quote(str(meta.get_field("rocketchat_user_id").column))
    return f"SELECT 1 FROM {table} WHERE {user} = %s AND {rocketchat_user} = %s"  # noqa: S608


def _recently_checked(cached: CachedToken, user: AbstractBaseUser) -> bool:
    """Rocket.Chat accepted the token within the interval, and it is still this user's link."""
    age = time.time() - cached.checked_at
    if not cached.belongs_to(user) or not 0 <= age < conf.ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL:
        return False
    return _linked(cached, user)


@sensitive_variables("cached", "me")
def _still_valid(
    cached: CachedToken, user: AbstractBaseUser, client: RocketChatClient
) -> LoginToken | None:
    if not cached.belongs_to(user):
        return None
    account = RocketChatAccount.objects.filter(user_id=user.pk).first()
    if account is None or account.rocketchat_user_id != cached.token.user_id:
        return None
    try:
        me = client.user_of_token(cached.token)
    except CallShareExhausted:
        raise  # never sent: nothing to record
    except RocketChatError as error:
        # Rate-limited or down: hand out nothing unchecked, mint nothing.
        account.record_error(error)
        raise
    if me is None or me.get("_id") != cached.token.user_id:
        return None
    try:
        minting.accounts().sync_drift(user, account, me, client=client)
    except RocketChatError as error:
        # The token is good; a profile that could not be written waits for the next sync.
        account.record_error(error)
    else:
        if account.last_error:
            account.clear_error()
    return cached.token


@sensitive_variables("cached")
def revoke_session_token(
    session_key: str, user: AbstractBaseUser, *, client: RocketChatClient | None = None
) -> bool:
    """Revoke the session's Rocket.Chat token (``POST /api/v1/logout``) and forget it.

    The token is found in the cache or, when the cache forgot it (or is down), in the database
    (:mod:`rocketchat_sso.sessions.revocation`). Returns whether a token was revoked. A token
    Rocket.Chat already refuses counts as revoked; other failures are recorded on the account and
    the stored token stays pending, retried by ``rocketchat_sso_revoke`` and the next logout.
    Raises :class:`~rocketchat_sso.exceptions.CacheUnavailable` after revoking when the cache
    is down.
    """
    with call_shares.spending_for(user.pk):
        return _revoke_session_token(session_key, user, client or RocketChatClient())


@sensitive_variables("cached")
def _revoke_session_token(
    session_key: str, user: AbstractBaseUser, client: RocketChatClient
) -> bool:
    cache_error: CacheUnavailable | None = None
    cached = None
    try:
        cached = get_cached(session_key)
        forget(session_key)
    except CacheUnavailable as error:
        cache_error = error
    session = _session_of(session_key)
    rows = revocation.end(revocation.live_rows(session, user))
    legacy = cached is not None and cached.belongs_to(user)
    if legacy and cached is not None and any(_holds(row, cached.token) for row in rows):
        legacy = False  # the stored copy is revoked below
    outcome = revocation.revoke_all(rows, client)
    revoked = outcome.revoked > 0
    errors = list(outcome.errors)
    if legacy and cached is not None and not outcome.rate_limited:
        try:
            client.revoke_token(cached.token)
            revoked = True
        except RocketChatAuthenticationFailed:
            revoked = True  # already dead in Rocket.Chat
        except RocketChatError as error:
            errors.append(error.message)
    if not outcome.rate_limited and not errors:  # the next opportunity for earlier failures
        earlier = revocation.pending(user.pk).exclude(pk__in=[row.pk for row in rows])
        revocation.revoke_all(earlier[: revocation.RETRIES_AT_LOGOUT], client)
    if errors or outcome.rate_limited:
        message = errors[0] if errors else "rate-limited"
        account = RocketChatAccount.objects.filter(user_id=user.pk).first()
        if account is not None:
            account.record_error(RocketChatError(message))
        logger.warning(
            "Could not revoke the Rocket.Chat token of a logged-out session of Django user %s: %s",
            user.pk,
            message,
        )
    if cache_error is not None:
        raise cache_error
    return revoked


def save_session(session: SessionBase, user: AbstractBaseUser, *, cookie_key: str | None) -> None:
    """Save the session now if the mint wrote to it (its token's slot), as SessionMiddleware
    would after the response.

    A logout in another tab may have deleted the session meanwhile: SessionMiddleware would then
    answer Django's HTML 400 (``SessionInterrupted``) and the token just minted would live until
    the expiry sweep. Here the token is revoked and :class:`SessionEnded` raised (a JSON 401).
    Once saved, the session is marked unmodified when its key is the browser's cookie, so the
    middleware does not save it (and race) again; with ``SESSION_SAVE_EVERY_REQUEST`` it still
    does.
    """
    if not session.modified:
        return
    try:
        session.save()
    except UpdateError:
        session.modified = False  # nothing left to save
        revoke_session_token(str(session.session_key), user)
        raise SessionEnded("The session ended while its token was minted.") from None
    if session.session_key == cookie_key:
        session.modified = False


def _session_of(session_key: str) -> SessionBase:
    """The session's store, to read the slot it keeps (its data survives a new key); loaded
    only if the slot is needed."""
    return revocation._session_store(session_key)


# -- tokens for Rocket.Chat's apps (docs/apps.rst) ---------------------------------------------


@sensitive_variables("login_token")
def app_login_token(
    user: AbstractBaseUser, app: str, *, client: RocketChatClient | None = None
) -> LoginToken:
    """A new token for one of Rocket.Chat's apps (``app``: ``"mobile"``), never the session's.

    The app's native login keeps it for ``Accounts_LoginExpiration`` days, long after the
    WebView's short session ended, so it is not the session's token (whose end revokes it): it is
    minted apart and recorded as the app's (:func:`rocketchat_sso.sessions.revocation.record_app`).
    It counts against the user's mint budget like any other. One Rocket.Chat call with the admin's
    token (``createToken``) or one ``/login`` with the user's (``password`` method), plus the
    create or update of :func:`rocketchat_sso.accounts.signin.issue_login_token` where needed.
    """
    exhausted = budgets.take_mint(_cache(), user.pk)
    if exhausted is not None:
        raise budgets.mint_exhausted(exhausted)
    login_token = minting.accounts().issue_login_token(user, client=client or RocketChatClient())
    revocation.record_app(user, login_token, app)
    return login_token


def forget_sessions(rows: list[IssuedToken]) -> None:
    """Forget the cached tokens of the sessions of ``rows`` (Rocket.Chat removed them)."""
    cache = _cache()
    for row_hash in {row.session_hash for row in rows if row.session_hash}:
        cache.delete(CACHE_KEY_PREFIX + row_hash)
