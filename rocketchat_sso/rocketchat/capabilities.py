"""What the Rocket.Chat server in use can do, by its version: email lookup, ``createToken``.

How the app learns the version: ``GET /api/info`` **with the admin's headers**, remembered in
``ROCKETCHAT_SSO_CACHE`` for :data:`VERSION_CACHE_SECONDS` (and on the client for its lifetime).

Why this way:

- The version is needed only off the hot path: when Rocket.Chat says a new user's address is
  taken (which lookup to use) and when ``users.createToken`` is refused (which fix to name).
  Sign-in itself never asks, so the call counts of a sign-in do not include it.
- ``/api/info`` answers the version on every release read: major.minor to anyone, the full
  version (and ``info``) to a caller with ``view-statistics``, such as the admin
  (``apps/meteor/app/api/server/lib/getServerInfo.ts``, ``removePatchInfo``). Major.minor is
  all the decisions need; the admin headers make the answer complete where a proxy or an older
  release answers anonymous callers less. It is not a ``/api/v1`` route, and the admin bypasses
  the rate limiter anyway (``api-bypass-rate-limit``).
- The alternative, trying ``users.info?email=`` and falling back on its refusal, would spend a
  refused call on every lookup on 7.0-8.5 forever, and cannot tell 7.x from 8.x for
  ``createToken``. It is kept only for an answer without a version (a proxy in between).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from dataclasses import dataclass

from django.core.cache import caches

from rocketchat_sso.conf import LOGIN_METHOD_CREATE_TOKEN, conf

logger = logging.getLogger(__name__)

VERSION_CACHE_SECONDS = 60 * 60
VERSION_CACHE_PREFIX = "rocketchat_sso:version:"
UNKNOWN_VERSION = ""

# Email lookup paths (docs/rocketchat.rst, "Per Rocket.Chat version").
LOOKUP_USERS_INFO_EMAIL = "users.info?email="  # 8.6+ (rest-typings 8.6.1)
LOOKUP_USERS_LIST_QUERY = "users.list?query="  # before 7.0: parseJsonQuery.ts honours it
LOOKUP_USERS_LIST_PAGES = "users.list pages"  # 7.0-8.5: query silently ignored, no email param
LOOKUP_PROBE = "users.info?email=, then users.list pages if refused"  # version unknown

# Released lines where the behaviour changes (docs/rocketchat.rst; Rocket.Chat's
# apps/meteor/server/api/lib/parseJsonQuery.ts and, per line, app/lib/server/methods/createToken.ts
# (7.x) or server/meteor-methods/auth/createToken.ts (8.x), both under apps/meteor/).
EMAIL_PARAM_SINCE = (8, 6)
QUERY_IGNORED_SINCE = (7, 0)
CREATE_TOKEN_SECRET_SINCE = (8, 0)

_VERSION_RE = re.compile(r"^\s*v?(\d+)\.(\d+)")


@dataclass(frozen=True)
class Version:
    """A Rocket.Chat release as ``/api/info`` reports it (``"8.8"``, ``"7.10.2"``)."""

    text: str

    @property
    def parts(self) -> tuple[int, int] | None:
        match = _VERSION_RE.match(self.text)
        return (int(match.group(1)), int(match.group(2))) if match else None

    @property
    def known(self) -> bool:
        return self.parts is not None

    def at_least(self, other: tuple[int, int]) -> bool:
        parts = self.parts
        return parts is not None and parts >= other

    def before(self, other: tuple[int, int]) -> bool:
        parts = self.parts
        return parts is not None and parts < other

    def __str__(self) -> str:
        return self.text or "unknown (hidden)"


def _cache_key() -> str:
    return VERSION_CACHE_PREFIX + hashlib.sha256(conf.ROCKETCHAT_SSO_URL.encode()).hexdigest()


def cached_version() -> Version | None:
    """The version remembered from an earlier ``/api/info``, without asking Rocket.Chat."""
    try:
        value = caches[conf.ROCKETCHAT_SSO_CACHE].get(_cache_key())
    except Exception:  # a cache that is down only costs the lookup again  # noqa: BLE001
        return None
    return Version(value) if isinstance(value, str) else None


def remember_version(version: Version) -> None:
    try:
        caches[conf.ROCKETCHAT_SSO_CACHE].set(_cache_key(), version.text, VERSION_CACHE_SECONDS)
    except Exception:  # noqa: BLE001 - see cached_version
        logger.debug("Could not cache Rocket.Chat's version")


def forget_version() -> None:
    with contextlib.suppress(Exception):  # see cached_version
        caches[conf.ROCKETCHAT_SSO_CACHE].delete(_cache_key())


def email_lookup_path(version: Version) -> str:
    """Which way a user is found by email on ``version``."""
    if not version.known:
        return LOOKUP_PROBE
    if version.at_least(EMAIL_PARAM_SINCE):
        return LOOKUP_USERS_INFO_EMAIL
    if version.before(QUERY_IGNORED_SINCE):
        return LOOKUP_USERS_LIST_QUERY
    return LOOKUP_USERS_LIST_PAGES


def login_path(method: str | None = None) -> str:
    """How a known user's new session gets its token, and what it costs."""
    method = method or conf.ROCKETCHAT_SSO_LOGIN_METHOD
    if method == LOGIN_METHOD_CREATE_TOKEN:
        return (
            "users.createToken as the admin (not rate-limited), after users.info: "
            "2 Rocket.Chat calls per new session"
        )
    return (
        "POST /api/v1/login with the derived password; its answer's data.me carries the "
        "profile and active state: 1 Rocket.Chat call per new session, within Rocket.Chat's "
        "rate limit on /api/v1/login (10 a minute by default) for the whole site"
    )


def create_token_fix(version: Version) -> str:
    """What to set so that ``users.createToken`` works on ``version``."""
    return f"{create_token_requirements(version)}. Or use ROCKETCHAT_SSO_LOGIN_METHOD = 'password'."


def create_token_requirements(version: Version) -> str:
    """What ``users.createToken`` needs on ``version``: the server's environment, the admin's
    permission and token."""
    permission = (
        "the admin's role needs the permission 'user-generate-access-token' (admins have it)"
    )
    two_factor = (
        "the admin's personal access token must be created with 'Ignore Two Factor "
        "Authentication' (newer releases ask for a second factor on this route)"
    )
    if version.before(CREATE_TOKEN_SECRET_SINCE):
        env = (
            f"Rocket.Chat {version} needs the server environment variable "
            "CREATE_TOKENS_FOR_USERS=true (then restart it); leave "
            "ROCKETCHAT_SSO_CREATE_TOKEN_SECRET empty"
        )
    elif version.known:
        env = (
            f"Rocket.Chat {version} needs the server environment variable "
            "CREATE_TOKENS_FOR_USERS_SECRET=<a long random secret> (then restart it) and the "
            "same value in ROCKETCHAT_SSO_CREATE_TOKEN_SECRET"
        )
    else:
        env = (
            "Rocket.Chat 7.x needs the server environment variable CREATE_TOKENS_FOR_USERS=true; "
            "8.x needs CREATE_TOKENS_FOR_USERS_SECRET=<secret> and the same value in "
            "ROCKETCHAT_SSO_CREATE_TOKEN_SECRET"
        )
    return f"{env}; {permission}; {two_factor}"
