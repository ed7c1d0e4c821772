"""Every exception the app raises, in one place.

Typed errors for everything that can go wrong talking to Rocket.Chat (:class:`RocketChatError`
and its subclasses), signing a user in, this site's own cache and budgets, and the commands'
live checks. Messages never contain a token or a password: they are safe to log and to show to
operators.
"""

from __future__ import annotations

import math


class RocketChatError(Exception):
    """Base class: Rocket.Chat did not do what we asked.

    ``status`` is the HTTP status Rocket.Chat answered (``None`` when there was no answer) and
    ``error_type`` Rocket.Chat's ``errorType`` code when it sent one.
    """

    def __init__(
        self, message: str, *, status: int | None = None, error_type: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type


class RocketChatUnavailable(RocketChatError):
    """Rocket.Chat could not be reached or answered 5xx: try again later."""

    retry_after: float | None = None


class RocketChatTimeout(RocketChatUnavailable):
    """Rocket.Chat did not answer within ``ROCKETCHAT_SSO_TIMEOUT``."""


class RocketChatRateLimited(RocketChatUnavailable):
    """Rocket.Chat's rate limiter refused the call (HTTP 429)."""

    def __init__(self, message: str, *, retry_after: float | None, status: int = 429) -> None:
        super().__init__(message, status=status, error_type="error-too-many-requests")
        self.retry_after = retry_after


class RocketChatLoginBlocked(RocketChatUnavailable):
    """Rocket.Chat refuses logins for this account or this address for a while after repeated
    failed logins (``Block_Multiple_Failed_Logins_*``): a wait, never a wrong password."""


class CallShareExhausted(RocketChatRateLimited):
    """This site's own count of Rocket.Chat's rate-limit bucket refused a call made with a
    user's credentials before it was sent: the user's share, or the site's, is spent
    (:mod:`rocketchat_sso.sessions.budgets`). A rate limit like Rocket.Chat's, so it is handled as
    one; ``code`` says whose share."""

    def __init__(self, code: str, message: str, retry_after: float) -> None:
        super().__init__(message, retry_after=max(1, math.ceil(retry_after)), status=429)
        self.code = code


class RocketChatBadResponse(RocketChatError):
    """Rocket.Chat answered something that is not its JSON API (a proxy page, a cut body)."""


class RocketChatAuthenticationFailed(RocketChatError):
    """The credentials were refused (HTTP 401): a bad admin token, or a bad user login."""


class RocketChatPermissionDenied(RocketChatError):
    """The admin lacks a permission, or the server refuses the call (HTTP 403)."""


class RocketChatAPIError(RocketChatError):
    """Rocket.Chat refused the request (``success: false``), usually HTTP 400."""


class RocketChatTwoFactorRequired(RocketChatAPIError):
    """Rocket.Chat asks the admin for a 2FA code (``totp-required``).

    The admin's personal access token was created without *Ignore Two Factor Authentication*.
    """


class RocketChatLoginTwoFactorRequired(RocketChatError):
    """Rocket.Chat asks a user's password login for a second factor (``totp-required``,
    usually an e-mailed code: e-mail two-factor is on by default for every user with a
    verified address). The site cannot give the code: the ``password`` method cannot sign this
    user in, and the password was not wrong."""


class RocketChatUserNotFound(RocketChatAPIError):
    """No Rocket.Chat user matches."""


class RocketChatFieldUnavailable(RocketChatAPIError):
    """A username or email is already taken in Rocket.Chat (``error-field-unavailable``)."""


# -- linking and signing in (rocketchat_sso.accounts.signin)
# ----------------------------------------


class RocketChatAccountConflict(RocketChatFieldUnavailable):
    """The Rocket.Chat user we would use belongs to someone else, or may not be linked."""


class RocketChatUserInactive(RocketChatError):
    """The Rocket.Chat user was deactivated in Rocket.Chat: we do not overrule that."""


class RocketChatCreateTokenRefused(RocketChatPermissionDenied):
    """``users.createToken`` refused: the message names what to set on this version."""


# -- this site's token machinery: cache, lock, budgets -------------------------------------


class RoomUnmanageable(RocketChatAPIError):
    """A mapped private group exists in Rocket.Chat but the admin is not in it, so Rocket.Chat
    lets it neither see nor change the members (``groups.ts``, ``addUsersToRoom.ts``); the
    message says how to fix it."""


class CacheUnavailable(Exception):
    """The shared cache did not answer (Redis or Memcached down, the cache table missing...)."""


class SessionEnded(Exception):
    """The session was deleted (a logout in another tab) while its token was being minted: the
    token is revoked, and the user must sign in again."""


class TokenPending(Exception):
    """Another request of the session is still getting its token: ask again in a moment."""


class SignedOutOfRocketChat(Exception):
    """The user logged out inside Rocket.Chat: no token until they ask to sign in again."""


class BudgetExhausted(Exception):
    """The session or user spent their budget of Rocket.Chat calls: ask again later."""

    def __init__(self, code: str, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = max(1, math.ceil(retry_after))


# -- the commands' live checks -------------------------------------------------------------


class SiteURLMissing(ValueError):
    """Neither ``ROCKETCHAT_SSO_SITE_URL`` nor ``--site-url`` says where this site is."""


class SnapshotMissing(LookupError):
    """No recorded Rocket.Chat settings to restore (``rocketchat_sso_configure --disable``)."""


class SiteUnreachable(Exception):
    """This server could not reach the site at its public URL."""
