"""Rocket.Chat's own logout, respected (RocketChat/Rocket.Chat#28006).

A user who logs out inside Rocket.Chat (web client, desktop app, phone) removes the token this
site gave their session: Rocket.Chat's ``logout`` method deletes that one resume token. Its web
client then asks the token endpoint straight away (RocketChat/Rocket.Chat,
``apps/meteor/client/views/root/hooks/useIframeLoginListener.ts`` at commit 46a90ce:
``userStorage.on('change')`` runs ``tryLogin()`` once the stored login token is gone), and a
site that minted a fresh token would sign the user straight back in. So the first time a
session's token is found dead at Rocket.Chat (``/me`` refuses it) and the site can tell no
other cause, the session is marked signed out of the chat: the token endpoint answers ``403
rocketchat_signed_out`` without a Rocket.Chat call until the user asks to sign in again (the
loading page's or the embed's one button, which sends ``?signin=1``) or logs in to the site
anew.

What the site can tell apart: a token it revoked itself (logout, password change, the
commands) is forgotten before anyone checks it, so it is never found dead; a token past
``Accounts_LoginExpiration`` (``IssuedToken.expires_at``) expired, and a new one is minted
without a click; one admin call tells a user deactivated or deleted in Rocket.Chat. What it
cannot: Rocket.Chat answers ``/me`` with the same 401 after the user's
logout, an administrator's "log out other user", a password change made in Rocket.Chat and the
eviction of the oldest token over the per-user cap. All of these count as a logout: the cost of
a wrong guess is one click, the cost of the other guess a user signed back in against their will.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from rocketchat_sso.conf import conf
from rocketchat_sso.exceptions import (
    CacheUnavailable,
    RocketChatUserInactive,
    RocketChatUserNotFound,
    SignedOutOfRocketChat,
)
from rocketchat_sso.models import IssuedToken
from rocketchat_sso.sessions import revocation
from rocketchat_sso.sessions.locks import GuardedCache

if TYPE_CHECKING:
    from rocketchat_sso.rocketchat.client import LoginToken, RocketChatClient

logger = logging.getLogger(__name__)

# The mark, in the shared token cache (ROCKETCHAT_SSO_CACHE) by the session key's hash, so the
# session's concurrent requests on any worker see it at once, and a new login to the site (a
# new session key) starts without it. Its value: when the token was found dead (epoch seconds).
CACHE_KEY_PREFIX = "rocketchat_sso:signed-out:"
# The token endpoint's parameter for "the user asked to sign in to the chat again".
SIGN_IN_PARAMETER = "signin"
MESSAGE = "You signed out of the chat. Sign in again to use it."


def _cache() -> BaseCache:
    return GuardedCache(caches[conf.ROCKETCHAT_SSO_CACHE])


def _key(session_key: str) -> str:
    return CACHE_KEY_PREFIX + revocation.session_hash(session_key)


def is_signed_out(session_key: str) -> bool:
    """Whether the session's user logged out of Rocket.Chat and has not asked back in."""
    return _cache().get(_key(session_key)) is not None


def asked_to_sign_in(request: HttpRequest) -> bool:
    """The request is the user's own "Sign in to the chat" (``?signin=1``)."""
    return request.GET.get(SIGN_IN_PARAMETER) == "1"


def clear(session_key: str) -> None:
    """Forget the mark: the user asked to sign in to the chat again."""
    _cache().delete(_key(session_key))


def refuse() -> SignedOutOfRocketChat:
    return SignedOutOfRocketChat(MESSAGE)


@sensitive_variables("token")
def _expired(session_key: str, token: LoginToken, now: datetime) -> bool:
    """The session's stored copy of ``token`` is past its ``expires_at``."""
    expired = IssuedToken.objects.filter(
        session_hash=revocation.session_hash(session_key),
        rocketchat_user_id=token.user_id,
        expires_at__lte=now,
    )
    for row in expired:
        stored = revocation.token_of(row)
        if stored is not None and stored.auth_token == token.auth_token:
            return True
    return False


@sensitive_variables("token")
def token_found_dead(session_key: str, token: LoginToken, *, client: RocketChatClient) -> None:
    """Rocket.Chat refused the session's token: mark the session signed out and raise
    :class:`SignedOutOfRocketChat`, unless the site can tell another cause.

    The session's stored copy of the token past its ``expires_at`` (Accounts_LoginExpiration as
    the site knows it) expired: return, a new token is due. One admin call (``users.info``,
    exempt from the rate limiter) tells a deactivated user (raises
    :class:`RocketChatUserInactive`, as a mint would) and a deleted one (return: the mint
    creates the account again) from a logout.
    """
    now = timezone.now()
    if _expired(session_key, token, now):
        return  # past Accounts_LoginExpiration: not the user's choice, a new token is due
    try:
        rc_user = client.user_info(user_id=token.user_id)
    except RocketChatUserNotFound:
        return
    if rc_user.get("active") is False:
        raise RocketChatUserInactive(
            "This user is deactivated in Rocket.Chat.", error_type="error-user-is-not-activated"
        )
    # As long as the session may live: the mark must not lapse while the site still
    # remembers the user.
    _cache().set(_key(session_key), int(now.timestamp()), settings.SESSION_COOKIE_AGE)
    raise refuse()


def logged_in(sender: object, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """``user_logged_in``: a new login to the site signs the chat in again. (Django keeps the
    session key when the same user logs in over their own session, so the mark would stay.)"""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if not session_key:
        return
    try:
        clear(session_key)
    except CacheUnavailable as error:  # logging in works without the cache
        logger.warning("Could not clear the chat sign-out mark of user %s: %s", user.pk, error)
