"""Revoke each session's Rocket.Chat token whatever the token cache remembers.

Rocket.Chat keeps a login token for ``Accounts_LoginExpiration`` days (90 by default), and its
only way to remove one token is ``POST /api/v1/logout`` sent *with that token*: Rocket.Chat
stores a hash of each token, but no API takes the hash (``apps/meteor/app/api/server/ApiClass.ts``,
the ``logout`` route, pulls ``services.resume.loginTokens.hashedToken`` of the caller's own
token; ``users.logout`` removes every token of the user). So every token minted for a session
is kept as an :class:`~rocketchat_sso.models.IssuedToken`, encrypted (Fernet, from the
``cryptography`` package: AES-128-CBC with HMAC-SHA256) under a key derived from
``ROCKETCHAT_SSO_TOKEN_KEY`` (default ``SECRET_KEY``), until Rocket.Chat would have expired
it. The database never holds a token or a session key in plain text.

A session's token is revoked when the session ends: Django logout, a password change (the
user's other sessions; the one Django keeps through ``update_session_auth_hash`` keeps its
token), and sessions that expired or were deleted (``manage.py rocketchat_sso_revoke``, run
after ``clearsessions``). A revocation Rocket.Chat could not do (down, rate-limited) stays
pending, visible in the admin, and is retried by the command, the sync command, the admin
action and the user's next logout. Tokens Rocket.Chat already expired are dropped without a
call.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import CookieError, SimpleCookie
from importlib import import_module
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.debug import sensitive_variables

from rocketchat_sso.conf import conf
from rocketchat_sso.exceptions import (
    RocketChatAuthenticationFailed,
    RocketChatError,
    RocketChatRateLimited,
)
from rocketchat_sso.models import MAX_ERROR_LENGTH, IssuedToken
from rocketchat_sso.rocketchat.client import LoginToken, RocketChatClient

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.contrib.sessions.backends.base import SessionBase

logger = logging.getLogger(__name__)

# Where a session keeps the slot of its IssuedToken: session data survives cycle_key().
SESSION_SLOT_KEY = "_rocketchat_sso_slot"
KDF_INFO = b"rocketchat_sso.revocation: issued tokens"
# Pending revocations retried at a user's next logout, after the session's own.
RETRIES_AT_LOGOUT = 3


def session_hash(session_key: str) -> str:
    """SHA-256 of a session key: what the token cache and the database know a session by."""
    return hashlib.sha256(session_key.encode()).hexdigest()


# -- encryption -------------------------------------------------------------------------------


def _fernet_key(secret: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KDF_INFO).derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(derived)


def _fernet() -> MultiFernet:
    """The current key first (encrypts), then the fallbacks (decrypt only)."""
    keys = [conf.ROCKETCHAT_SSO_TOKEN_KEY, *conf.ROCKETCHAT_SSO_TOKEN_KEY_FALLBACKS]
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys])


@sensitive_variables("text")
def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


@sensitive_variables()
def decrypt(ciphertext: str) -> str | None:
    """The plain text, or None when no current or fallback key opens it."""
    if not ciphertext:
        return None
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def rotate(row: IssuedToken) -> bool:
    """Re-encrypt ``row`` under the current key; whether anything changed."""
    fernet = _fernet()
    changed = []
    for name in ("encrypted_token", "encrypted_session_key"):
        value = getattr(row, name)
        if not value:
            continue
        try:
            rotated = fernet.rotate(value.encode()).decode()
        except InvalidToken:
            continue
        setattr(row, name, rotated)
        changed.append(name)
    if changed:
        row.save(update_fields=changed)
    return bool(changed)


def rotate_all() -> int:
    """Re-encrypt every stored token under ``ROCKETCHAT_SSO_TOKEN_KEY``; how many changed."""
    return sum(rotate(row) for row in IssuedToken.objects.iterator())


# -- sessions --------------------------------------------------------------------------------


def _auth_fingerprint(user: AbstractBaseUser) -> str:
    """Changes when the password does (Django's session auth hash, hashed once more)."""
    return hashlib.sha256(user.get_session_auth_hash().encode()).hexdigest()


def _accepted_hashes(user: AbstractBaseUser) -> list[str]:
    """The session auth hashes Django accepts for ``user``: the current key's and fallbacks'."""
    accepted = [user.get_session_auth_hash()]
    by_secret = getattr(user, "_get_session_auth_hash", None)  # Django 4.1+
    if by_secret is not None:
        accepted += [by_secret(secret=key) for key in settings.SECRET_KEY_FALLBACKS]
    return accepted


def _session_store(session_key: str | None) -> SessionBase:
    engine = import_module(settings.SESSION_ENGINE)
    store: SessionBase = engine.SessionStore(session_key)
    return store


@sensitive_variables("session_key")
def session_is_logged_in(row: IssuedToken, user: AbstractBaseUser | None) -> bool | None:
    """Whether Django would still let the row's session in as ``user``.

    ``None`` when the session no longer exists (expired, flushed, or given a new key).
    """
    session_key = decrypt(row.encrypted_session_key)
    if not session_key:
        return None
    data = _session_store(session_key).load()
    if not data:
        return None
    if user is None or str(data.get(SESSION_KEY)) != str(user.pk):
        return False
    stored = str(data.get(HASH_SESSION_KEY, ""))
    return any(constant_time_compare(stored, accepted) for accepted in _accepted_hashes(user))


# -- issuing ---------------------------------------------------------------------------------


@sensitive_variables("token", "session_key")
def record(session: SessionBase, user: AbstractBaseUser, token: LoginToken) -> IssuedToken:
    """Keep what it takes to revoke ``token``, minted for ``session``; mark the session."""
    session_key = str(session.session_key)
    now = timezone.now()
    row = IssuedToken.objects.create(
        user_id=user.pk,
        rocketchat_user_id=token.user_id,
        session_hash=session_hash(session_key),
        slot=secrets.token_hex(16),
        encrypted_session_key=encrypt(session_key),
        encrypted_token=encrypt(token.auth_token),
        auth_fingerprint=_auth_fingerprint(user),
        issued_at=now,
        expires_at=now + timedelta(days=conf.ROCKETCHAT_SSO_LOGIN_EXPIRATION_DAYS),
    )
    session[SESSION_SLOT_KEY] = row.slot
    return row


@sensitive_variables("token")
def record_app(user: AbstractBaseUser, token: LoginToken, app: str) -> IssuedToken:
    """Keep what it takes to revoke ``token``, handed to one of Rocket.Chat's apps.

    Tied to no session (no session key, no slot): a logout, the session's expiry and the sweep
    leave it alone. It ends with the user's password (its fingerprint), their deactivation or
    deletion, :func:`end_everything`, or Rocket.Chat's own expiry (``expires_at``).
    """
    now = timezone.now()
    return IssuedToken.objects.create(
        user_id=user.pk,
        rocketchat_user_id=token.user_id,
        session_hash="",
        slot=secrets.token_hex(16),
        encrypted_token=encrypt(token.auth_token),
        auth_fingerprint=_auth_fingerprint(user),
        issued_at=now,
        expires_at=now + timedelta(days=conf.ROCKETCHAT_SSO_LOGIN_EXPIRATION_DAYS),
        app=app,
    )


def app_row_is_current(row: IssuedToken, user: AbstractBaseUser | None) -> bool:
    """Whether an app's token may live on: its user exists, is active, kept their password."""
    if user is None or not getattr(user, "is_active", False):
        return False
    return constant_time_compare(row.auth_fingerprint, _auth_fingerprint(user))


def end_everything(user_pk: Any) -> list[IssuedToken]:
    """Rocket.Chat removed every token of the user (``users.logout``): nothing left to revoke.

    Marks all the user's rows revoked without a call, apps' included; returns them, so the
    caller can forget the sessions' cached tokens.
    """
    rows = list(IssuedToken.objects.filter(user_id=user_pk, revoked_at__isnull=True))
    mark_dead(rows)
    return rows


def live_rows(session: SessionBase, user: AbstractBaseUser) -> list[IssuedToken]:
    """The session's tokens Rocket.Chat may still accept, newest first.

    Found by the session key's hash, else by the slot in the session's data: a session whose key
    Django cycled claims its row back (and the row learns the new key).
    """
    key = session.session_key
    if not key:
        return []
    alive = IssuedToken.objects.filter(
        user_id=user.pk, ended_at__isnull=True, expires_at__gt=timezone.now()
    )
    rows = list(alive.filter(session_hash=session_hash(key)))
    slot = session.get(SESSION_SLOT_KEY)
    if not rows and isinstance(slot, str) and slot:
        rows = list(alive.filter(slot=slot))
        for row in rows:
            _rebind(row, key, user)
    return rows


@sensitive_variables("session_key")
def _rebind(row: IssuedToken, session_key: str, user: AbstractBaseUser) -> None:
    row.session_hash = session_hash(session_key)
    row.encrypted_session_key = encrypt(session_key)
    row.auth_fingerprint = _auth_fingerprint(user)
    row.claim_until = None
    row.save(
        update_fields=["session_hash", "encrypted_session_key", "auth_fingerprint", "claim_until"]
    )


@sensitive_variables()
def token_of(row: IssuedToken) -> LoginToken | None:
    auth_token = decrypt(row.encrypted_token)
    if auth_token is None:
        return None
    return LoginToken(user_id=row.rocketchat_user_id, auth_token=auth_token)


def mark_dead(rows: Iterable[IssuedToken]) -> None:
    """Rocket.Chat refused these tokens already (or they were replaced): nothing to revoke."""
    pks = [row.pk for row in rows]
    if pks:
        now = timezone.now()
        IssuedToken.objects.filter(pk__in=pks).update(
            ended_at=now, revoked_at=now, encrypted_token="", encrypted_session_key=""
        )


# -- revoking --------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one pass of revocations did."""

    revoked: int = 0
    failed: int = 0
    dropped: int = 0
    kept: int = 0
    calls: int = 0
    rate_limited: bool = False
    errors: list[str] = field(default_factory=list)


def end(rows: Iterable[IssuedToken]) -> list[IssuedToken]:
    """The sessions of ``rows`` ended: their tokens are due for revocation."""
    ended = []
    now = timezone.now()
    for row in rows:
        if row.ended_at is None:
            row.ended_at = now
            row.save(update_fields=["ended_at"])
        if row.revoked_at is None:
            ended.append(row)
    return ended


def revoke(row: IssuedToken, client: RocketChatClient, outcome: Outcome | None = None) -> bool:
    """``POST /api/v1/logout`` with the row's token; whether Rocket.Chat no longer has it.

    A token Rocket.Chat refuses (expired, already logged out) counts as revoked. Any other
    failure is recorded on the row, which stays pending for the next attempt; a rate-limited one
    raises :class:`RocketChatRateLimited` after recording, so a pass stops spending the bucket.
    """
    outcome = outcome if outcome is not None else Outcome()
    now = timezone.now()
    if row.expires_at <= now:
        _drop(row)
        outcome.dropped += 1
        return True
    token = token_of(row)
    if token is None:  # not decryptable: its key was dropped from the fallbacks
        _fail(row, "The token cannot be decrypted with the current or fallback keys.")
        outcome.failed += 1
        return False
    outcome.calls += 1
    try:
        client.revoke_token(token)
    except RocketChatAuthenticationFailed:
        pass  # already dead in Rocket.Chat
    except RocketChatError as error:
        _fail(row, error.message)
        outcome.failed += 1
        outcome.errors.append(error.message)
        if isinstance(error, RocketChatRateLimited):
            outcome.rate_limited = True
            raise
        return False
    row.revoked_at = now
    row.encrypted_token = row.encrypted_session_key = row.last_error = ""
    row.last_attempt_at = now
    row.attempts += 1
    row.save(
        update_fields=[
            "revoked_at",
            "encrypted_token",
            "encrypted_session_key",
            "last_error",
            "last_attempt_at",
            "attempts",
        ]
    )
    outcome.revoked += 1
    return True


def _fail(row: IssuedToken, message: str) -> None:
    row.last_error = message[:MAX_ERROR_LENGTH]
    row.last_attempt_at = timezone.now()
    row.attempts += 1
    row.save(update_fields=["last_error", "last_attempt_at", "attempts"])
    logger.warning(
        "Could not revoke Rocket.Chat token #%s of Django user %s (kept for a retry): %s",
        row.pk,
        row.user_id,
        message,
    )


def _drop(row: IssuedToken) -> None:
    """Rocket.Chat expired the token itself: forget it, no call."""
    row.delete()


def revoke_all(rows: Iterable[IssuedToken], client: RocketChatClient) -> Outcome:
    """Revoke each row in turn; stop at the first rate-limited call (the rest stay pending)."""
    outcome = Outcome()
    for row in rows:
        try:
            revoke(row, client, outcome)
        except RocketChatRateLimited:
            break
    return outcome


def pending(user_pk: Any = None) -> Any:
    """Rows whose session ended and whose token Rocket.Chat may still have, oldest first."""
    rows = IssuedToken.objects.filter(ended_at__isnull=False, revoked_at__isnull=True)
    if user_pk is not None:
        rows = rows.filter(user_id=user_pk)
    return rows.order_by("ended_at", "pk")


def end_session(
    session: SessionBase | None, user: AbstractBaseUser, client: RocketChatClient
) -> Outcome:
    """A Django session of ``user`` ends (logout): revoke its tokens, then retry the user's
    pending ones."""
    rows = end(live_rows(session, user)) if session is not None else []
    outcome = revoke_all(rows, client)
    if not outcome.rate_limited:
        retry = [row for row in pending(user.pk)[:RETRIES_AT_LOGOUT] if row not in rows]
        more = revoke_all(retry, client)
        outcome.revoked += more.revoked
        outcome.failed += more.failed
        outcome.dropped += more.dropped
        outcome.calls += more.calls
    return outcome


# -- password changes ------------------------------------------------------------------------


@dataclass
class _RequestState:
    """The request being served: its session cookie, and users whose password changed in it."""

    cookie: str
    users: list[Any] = field(default_factory=list)


_request: contextvars.ContextVar[_RequestState | None] = contextvars.ContextVar(
    "rocketchat_sso_request", default=None
)


def request_started(environ: dict[str, Any] | None = None) -> None:
    _request.set(_RequestState(cookie=str((environ or {}).get("HTTP_COOKIE", ""))))


def request_finished() -> None:
    state = _request.get()
    _request.set(None)
    if state is None or not state.users:
        return
    from django.contrib.auth import get_user_model

    session_key = _cookie_session_key(state.cookie)
    for user in get_user_model()._default_manager.filter(pk__in=state.users):
        sessions_changed(user, current_session_key=session_key)


def _cookie_session_key(cookie: str) -> str | None:
    try:
        morsel = SimpleCookie(cookie).get(settings.SESSION_COOKIE_NAME)
    except CookieError:
        return None
    return morsel.value if morsel is not None else None


def user_saved(user: AbstractBaseUser) -> None:
    """After a save of ``user``: if their password changed, end the sessions it logged out.

    Within a request this waits for the request's end, so that the session Django keeps
    (``update_session_auth_hash`` gives it a new key) is known and keeps its token.
    """
    fingerprint = _auth_fingerprint(user)
    stale = IssuedToken.objects.filter(user_id=user.pk, ended_at__isnull=True).exclude(
        auth_fingerprint=fingerprint
    )
    if not stale.exists():
        return
    state = _request.get()
    if state is not None:
        if user.pk not in state.users:
            state.users.append(user.pk)
        return
    sessions_changed(user)


@sensitive_variables("current_session_key")
def sessions_changed(user: AbstractBaseUser, *, current_session_key: str | None = None) -> Outcome:
    """Revoke the tokens of ``user``'s sessions Django no longer lets in (a new password).

    The request's own session, if Django gave it a new key, may claim its token back for as long
    as a session lives; its other sessions' tokens are revoked now.
    """
    fingerprint = _auth_fingerprint(user)
    stale = list(
        IssuedToken.objects.filter(user_id=user.pk, ended_at__isnull=True).exclude(
            auth_fingerprint=fingerprint
        )
    )
    current = session_hash(current_session_key) if current_session_key else None
    dead = []
    for row in stale:
        logged_in = session_is_logged_in(row, user)
        if logged_in:
            row.auth_fingerprint = fingerprint
            row.save(update_fields=["auth_fingerprint"])
        elif logged_in is None and row.session_hash == current:
            row.session_hash = ""  # claimed back through the slot in the session's data
            row.claim_until = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
            row.save(update_fields=["session_hash", "claim_until"])
        else:
            dead.append(row)
    with RocketChatClient(retries=0) as client:
        return revoke_all(end(dead), client)


def session_replaced(user: AbstractBaseUser, session_key: str | None) -> Outcome | None:
    """``user`` logged in: the browser's previous session, if another user's, ended.

    Django's ``login()`` flushes a session of another user without ``user_logged_out``; its
    key is the one the request's cookie brought (the shared computer, without a logout).
    """
    state = _request.get()
    previous = _cookie_session_key(state.cookie) if state is not None else None
    if not previous or previous == session_key:
        return None
    rows = IssuedToken.objects.filter(session_hash=session_hash(previous), ended_at__isnull=True)
    ended = end(rows.exclude(user_id=user.pk))
    if not ended:
        return None
    with RocketChatClient(retries=0) as client:
        return revoke_all(ended, client)


# -- the sweep: expired and deleted sessions, pending revocations ----------------------------


def retry(client: RocketChatClient) -> Outcome:
    """Drop the tokens Rocket.Chat expired itself (no call), then retry pending revocations."""
    dropped, _ = IssuedToken.objects.filter(expires_at__lte=timezone.now()).delete()
    outcome = revoke_all(pending(), client)
    outcome.dropped += dropped
    return outcome


def sweep(client: RocketChatClient) -> Outcome:
    """End the sessions that expired or were deleted without a logout, then :func:`retry`."""
    now = timezone.now()
    outcome = Outcome()
    live = IssuedToken.objects.filter(ended_at__isnull=True, expires_at__gt=now)
    live = live.select_related("user")
    for row in live.iterator():
        if row.app:
            # An app's token outlives the session that minted it (record_app).
            if app_row_is_current(row, row.user):
                outcome.kept += 1
            else:
                end([row])
            continue
        if row.claim_until is not None and row.claim_until > now:
            outcome.kept += 1
            continue
        if session_is_logged_in(row, row.user):
            outcome.kept += 1
            continue
        end([row])
    more = retry(client)
    more.kept = outcome.kept
    return more
