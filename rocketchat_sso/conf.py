"""Settings of django-rocketchat-sso, read lazily on every access.

Every value is looked up in ``django.conf.settings`` when it is used, never at import time,
so ``override_settings`` in tests and late configuration both just work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.utils.module_loading import import_string

from rocketchat_sso._moved import new_path

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

LOGIN_METHOD_PASSWORD = "password"
LOGIN_METHOD_CREATE_TOKEN = "create_token"
LOGIN_METHODS = (LOGIN_METHOD_PASSWORD, LOGIN_METHOD_CREATE_TOKEN)

DEFAULT_USER_MAPPER = "rocketchat_sso.accounts.profiles.default_profile"
# Where the default mapper lived before services.py was split (older settings may still name it;
# the paths the subpackages moved are mapped by rocketchat_sso._moved, and W150 reports them).
FORMER_USER_MAPPERS = {"rocketchat_sso.services.default_profile": DEFAULT_USER_MAPPER}


@dataclass(frozen=True)
class RocketChatProfile:
    """What a Django user looks like in Rocket.Chat: what ``ROCKETCHAT_SSO_USER_MAPPER`` returns.

    Defined here, with the setting, so that conf needs nothing of
    :mod:`rocketchat_sso.accounts.profiles` (which reads conf); import it from there.
    """

    username: str
    email: str
    name: str


# URL names of rocketchat_sso.urls.
TOKEN_URL_NAME = "rocketchat_sso:token"
LOGIN_PAGE_URL_NAME = "rocketchat_sso:login"
LOGOUT_URL_NAME = "rocketchat_sso:logout"
APP_TOKEN_URL_NAME = "rocketchat_sso:app_token"
SIGN_OUT_EVERYWHERE_URL_NAME = "rocketchat_sso:sign_out_everywhere"

ON_USER_DELETE_DEACTIVATE = "deactivate"
ON_USER_DELETE_DELETE = "delete"
ON_USER_DELETE_CHOICES = (ON_USER_DELETE_DEACTIVATE, ON_USER_DELETE_DELETE)

# Roles a Rocket.Chat account may hold and still be linked to a Django user by its address.
DEFAULT_LINKABLE_ROLES = ("user",)
# Never linkable, whatever ROCKETCHAT_SSO_LINKABLE_ROLES says (operations/checks.py reports them).
PRIVILEGED_ROLES = ("admin", "bot", "app", "livechat-agent", "livechat-manager", "livechat-monitor")

# Rocket.Chat's setting UTF8_Channel_Names_Validation, default (getValidRoomName.ts).
DEFAULT_ROOM_NAME_VALIDATION = "[0-9a-zA-Z-_.]+"
ROOMS_RUN_AUTO = "auto"  # django.tasks where the site configured TASKS, else a thread
ROOMS_RUN_TASKS = "tasks"
ROOMS_RUN_THREAD = "thread"
ROOMS_RUN_INLINE = "inline"  # after the commit, in the request (tests, small sites)
ROOMS_RUN_CHOICES = (ROOMS_RUN_AUTO, ROOMS_RUN_TASKS, ROOMS_RUN_THREAD, ROOMS_RUN_INLINE)

DEFAULT_CACHE_ALIAS = "default"
# One day: far below Rocket.Chat's Accounts_LoginExpiration (90 days by default), so a cached
# token never outlives Rocket.Chat's own expiry.
DEFAULT_TOKEN_CACHE_TIMEOUT = 24 * 60 * 60
DEFAULT_TOKEN_RECHECK_INTERVAL = 5 * 60
# Rocket.Chat's Accounts_LoginExpiration default: how long it keeps a login token.
DEFAULT_LOGIN_EXPIRATION_DAYS = 90
# Budgets that keep one user from spending the site's share of Rocket.Chat's rate limiter
# (10 calls a minute per route by default): a session asks Rocket.Chat about its token at most
# once per interval, and a user gets so many new tokens per window.
DEFAULT_RECHECK_MIN_INTERVAL = 15
MIN_RECHECK_MIN_INTERVAL = 10
DEFAULT_USER_MINT_LIMIT = 3
DEFAULT_USER_MINT_WINDOW = 60
# Rocket.Chat's REST rate limiter at its defaults: API_Enable_Rate_Limiter_Limit_Calls_Default
# (10) per API_Enable_Rate_Limiter_Limit_Time_Default (60,000 ms), per route and client address
# (RocketChat/Rocket.Chat, apps/meteor/server/settings/rate.ts at commit
# d645562737250812650bd6b615041d0657d88a1d; the defaults the stand-in plays for 7.10 to 8.8).
DEFAULT_RATE_LIMIT_CALLS = 10
DEFAULT_RATE_LIMIT_WINDOW = 60
# What one user may spend of each such bucket per window, over all their sessions: as many as
# the mint budget allows logins.
DEFAULT_USER_CALL_SHARE = 3


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: what browsers send in ``Origin``.

    Default ports are dropped, as browsers do (``https://x:443`` is ``https://x``).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


class Settings:
    """The app's settings, each a property with its documented default."""

    @property
    def ROCKETCHAT_SSO_URL(self) -> str:
        """Base URL the Django server uses for Rocket.Chat's REST API (required)."""
        return str(getattr(django_settings, "ROCKETCHAT_SSO_URL", "")).rstrip("/")

    @property
    def ROCKETCHAT_SSO_PUBLIC_URL(self) -> str:
        """Rocket.Chat's URL as browsers see it; defaults to ``ROCKETCHAT_SSO_URL``."""
        value = getattr(django_settings, "ROCKETCHAT_SSO_PUBLIC_URL", None)
        return str(value).rstrip("/") if value else self.ROCKETCHAT_SSO_URL

    @property
    def public_origin(self) -> str:
        """The only origin that gets CORS answers, tokens and postMessage commands."""
        return origin_of(self.ROCKETCHAT_SSO_PUBLIC_URL)

    @property
    def ROCKETCHAT_SSO_ADMIN_USER_ID(self) -> str:
        return str(getattr(django_settings, "ROCKETCHAT_SSO_ADMIN_USER_ID", ""))

    @property
    def ROCKETCHAT_SSO_ADMIN_TOKEN(self) -> str:
        return str(getattr(django_settings, "ROCKETCHAT_SSO_ADMIN_TOKEN", ""))

    @property
    def ROCKETCHAT_SSO_LOGIN_METHOD(self) -> str:
        return str(getattr(django_settings, "ROCKETCHAT_SSO_LOGIN_METHOD", LOGIN_METHOD_PASSWORD))

    @property
    def ROCKETCHAT_SSO_CREATE_TOKEN_SECRET(self) -> str:
        """Rocket.Chat 8.x ``CREATE_TOKENS_FOR_USERS_SECRET``; empty for 7.x and older."""
        return str(getattr(django_settings, "ROCKETCHAT_SSO_CREATE_TOKEN_SECRET", ""))

    @property
    def ROCKETCHAT_SSO_PASSWORD_KEY(self) -> str:
        """Key the Rocket.Chat passwords are derived from; defaults to ``SECRET_KEY``."""
        value = getattr(django_settings, "ROCKETCHAT_SSO_PASSWORD_KEY", "")
        return str(value or django_settings.SECRET_KEY)

    @property
    def ROCKETCHAT_SSO_TIMEOUT(self) -> float:
        return float(getattr(django_settings, "ROCKETCHAT_SSO_TIMEOUT", 5))

    @property
    def ROCKETCHAT_SSO_RETRIES(self) -> int:
        """Retries of idempotent requests after a connection error or a 502/503/504."""
        return int(getattr(django_settings, "ROCKETCHAT_SSO_RETRIES", 2))

    @property
    def ROCKETCHAT_SSO_RATE_LIMIT_WAIT(self) -> float:
        """Seconds a request may wait in all for Rocket.Chat's rate limiter to let it through."""
        return max(0.0, float(getattr(django_settings, "ROCKETCHAT_SSO_RATE_LIMIT_WAIT", 2)))

    @property
    def ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS(self) -> str:
        """The ``request.META`` key of the browser's address, sent to Rocket.Chat as
        ``X-Real-IP`` on the calls made with a user's token (``ClientAddressMiddleware``):
        ``"REMOTE_ADDR"``, or a header the site's own proxy sets; empty (default): off."""
        value = getattr(django_settings, "ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS", None)
        return value if isinstance(value, str) else ""

    @property
    def ROCKETCHAT_SSO_USER_MAPPER(self) -> str:
        return str(getattr(django_settings, "ROCKETCHAT_SSO_USER_MAPPER", DEFAULT_USER_MAPPER))

    @property
    def user_mapper(self) -> Callable[[AbstractBaseUser], RocketChatProfile]:
        path = self.ROCKETCHAT_SSO_USER_MAPPER
        mapper: Callable[[AbstractBaseUser], RocketChatProfile] = import_string(
            new_path(FORMER_USER_MAPPERS.get(path, path))  # an old path, read at its new place
        )
        return mapper

    @property
    def ROCKETCHAT_SSO_JOIN_DEFAULT_CHANNELS(self) -> bool:
        return bool(getattr(django_settings, "ROCKETCHAT_SSO_JOIN_DEFAULT_CHANNELS", True))

    @property
    def ROCKETCHAT_SSO_EMAIL_VERIFIED(self) -> object:
        """Whether the site vouches for its users' addresses: ``True``, ``False`` (default), or
        the dotted path of a callable ``user -> bool``. Only a vouched address links an
        existing Rocket.Chat account, and is sent to Rocket.Chat as verified."""
        return getattr(django_settings, "ROCKETCHAT_SSO_EMAIL_VERIFIED", False)

    def vouches_for_addresses(self) -> bool:
        """Whether the site may send some user's address to Rocket.Chat as verified."""
        value = self.ROCKETCHAT_SSO_EMAIL_VERIFIED
        return value is True or (isinstance(value, str) and bool(value))

    def email_verified(self, user: AbstractBaseUser) -> bool:
        """Whether the site vouches that ``user`` owns their address (see above)."""
        value = self.ROCKETCHAT_SSO_EMAIL_VERIFIED
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value:
            # An old path (W150) is read at its new place, without the stub's warning.
            vouch: Callable[[AbstractBaseUser], object] = import_string(new_path(value))
            return vouch(user) is True
        return False  # anything else is refused by the system check rocketchat_sso.E011

    @property
    def ROCKETCHAT_SSO_LINKABLE_ROLES(self) -> tuple[str, ...]:
        """Roles an existing Rocket.Chat account may have and still be linked (``["user"]``).

        Privileged roles (admin, bot, app, livechat) are never linkable, listed or not."""
        value = getattr(django_settings, "ROCKETCHAT_SSO_LINKABLE_ROLES", DEFAULT_LINKABLE_ROLES)
        if isinstance(value, str):
            value = (value,)
        return tuple(str(role) for role in value or ())

    @property
    def ROCKETCHAT_SSO_CACHE(self) -> str:
        """Alias in ``CACHES`` of the cache that keeps each session's Rocket.Chat token."""
        return str(getattr(django_settings, "ROCKETCHAT_SSO_CACHE", DEFAULT_CACHE_ALIAS))

    @property
    def ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT(self) -> int:
        """Seconds a session reuses its Rocket.Chat token; 0 mints one per request."""
        return int(
            getattr(
                django_settings, "ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT", DEFAULT_TOKEN_CACHE_TIMEOUT
            )
        )

    @property
    def ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL(self) -> int:
        """Seconds a cached token is handed out again without asking Rocket.Chat (``/me``)."""
        return int(
            getattr(
                django_settings,
                "ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL",
                DEFAULT_TOKEN_RECHECK_INTERVAL,
            )
        )

    @property
    def ROCKETCHAT_SSO_RECHECK_MIN_INTERVAL(self) -> int:
        """Seconds between two Rocket.Chat calls checking one session's token, whatever asks."""
        return int(
            getattr(
                django_settings,
                "ROCKETCHAT_SSO_RECHECK_MIN_INTERVAL",
                DEFAULT_RECHECK_MIN_INTERVAL,
            )
        )

    @property
    def ROCKETCHAT_SSO_USER_MINT_LIMIT(self) -> int:
        """New Rocket.Chat tokens one user may get per ``ROCKETCHAT_SSO_USER_MINT_WINDOW``."""
        return int(
            getattr(django_settings, "ROCKETCHAT_SSO_USER_MINT_LIMIT", DEFAULT_USER_MINT_LIMIT)
        )

    @property
    def ROCKETCHAT_SSO_USER_MINT_WINDOW(self) -> int:
        """Seconds of the window ``ROCKETCHAT_SSO_USER_MINT_LIMIT`` counts in."""
        return int(
            getattr(django_settings, "ROCKETCHAT_SSO_USER_MINT_WINDOW", DEFAULT_USER_MINT_WINDOW)
        )

    @property
    def ROCKETCHAT_SSO_RATE_LIMIT_CALLS(self) -> int:
        """Rocket.Chat's calls per route and client per window, as this site counts them for
        the calls made with users' credentials (``/login``, ``/me``, ``/logout``); 0: uncounted."""
        return int(
            getattr(django_settings, "ROCKETCHAT_SSO_RATE_LIMIT_CALLS", DEFAULT_RATE_LIMIT_CALLS)
        )

    @property
    def ROCKETCHAT_SSO_RATE_LIMIT_WINDOW(self) -> int:
        """Seconds of Rocket.Chat's rate-limit window (``..._Limit_Time_Default`` / 1000)."""
        return int(
            getattr(django_settings, "ROCKETCHAT_SSO_RATE_LIMIT_WINDOW", DEFAULT_RATE_LIMIT_WINDOW)
        )

    @property
    def ROCKETCHAT_SSO_USER_CALL_SHARE(self) -> int:
        """Calls one user may spend of each such bucket per window, over all their sessions."""
        return int(
            getattr(django_settings, "ROCKETCHAT_SSO_USER_CALL_SHARE", DEFAULT_USER_CALL_SHARE)
        )

    @property
    def ROCKETCHAT_SSO_LOGIN_EXPIRATION_DAYS(self) -> int:
        """Rocket.Chat's ``Accounts_LoginExpiration``: how long an issued token is kept."""
        return int(
            getattr(
                django_settings,
                "ROCKETCHAT_SSO_LOGIN_EXPIRATION_DAYS",
                DEFAULT_LOGIN_EXPIRATION_DAYS,
            )
        )

    @property
    def ROCKETCHAT_SSO_TOKEN_KEY(self) -> str:
        """Key the stored tokens are encrypted with; defaults to ``SECRET_KEY``."""
        value = getattr(django_settings, "ROCKETCHAT_SSO_TOKEN_KEY", "")
        return str(value or django_settings.SECRET_KEY)

    @property
    def ROCKETCHAT_SSO_TOKEN_KEY_FALLBACKS(self) -> list[str]:
        """Former keys, still read: defaults to ``SECRET_KEY_FALLBACKS``."""
        value = getattr(django_settings, "ROCKETCHAT_SSO_TOKEN_KEY_FALLBACKS", None)
        if value is None:
            value = getattr(django_settings, "SECRET_KEY_FALLBACKS", [])
        return [str(key) for key in value]

    @property
    def ROCKETCHAT_SSO_LOGOUT_EVERYWHERE(self) -> bool:
        """Whether a Django logout also ends every Rocket.Chat session of the user."""
        return bool(getattr(django_settings, "ROCKETCHAT_SSO_LOGOUT_EVERYWHERE", False))

    @property
    def ROCKETCHAT_SSO_ON_USER_DELETE(self) -> str:
        """What a deleted Django user becomes in Rocket.Chat: deactivated or deleted."""
        return str(
            getattr(django_settings, "ROCKETCHAT_SSO_ON_USER_DELETE", ON_USER_DELETE_DEACTIVATE)
        )

    @property
    def ROCKETCHAT_SSO_SYNC_ON_SAVE(self) -> bool:
        """Whether saving a user pushes a changed profile to Rocket.Chat after the commit."""
        return bool(getattr(django_settings, "ROCKETCHAT_SSO_SYNC_ON_SAVE", False))

    @property
    def ROCKETCHAT_SSO_SITE_URL(self) -> str:
        """This site's public URL as browsers see it, for the doctor and configure commands."""
        return str(getattr(django_settings, "ROCKETCHAT_SSO_SITE_URL", "") or "").rstrip("/")

    # -- rooms from groups (rocketchat_sso.rooms) -------------------------------------------

    @property
    def ROCKETCHAT_SSO_GROUP_ROOMS(self) -> object:
        """Django group name -> Rocket.Chat private group: ``{"Staff": "staff"}``, a value may
        be ``{"name": ..., "read_only": True, "moderators": "<group>"}``; or the dotted path of a
        callable returning such a mapping. Empty (default): no rooms are managed."""
        return getattr(django_settings, "ROCKETCHAT_SSO_GROUP_ROOMS", {})

    @property
    def ROCKETCHAT_SSO_ROOM_NAME_VALIDATION(self) -> str:
        """Rocket.Chat's ``UTF8_Channel_Names_Validation``, for the checks of room names."""
        value = getattr(django_settings, "ROCKETCHAT_SSO_ROOM_NAME_VALIDATION", None)
        return str(value) if value else DEFAULT_ROOM_NAME_VALIDATION

    @property
    def ROCKETCHAT_SSO_ROOMS_RUN(self) -> str:
        """Where membership work runs after the commit: ``"auto"`` (default: ``django.tasks``
        where the site configured ``TASKS``, else a thread), ``"tasks"``, ``"thread"`` or
        ``"inline"`` (in the request, after the commit)."""
        return str(getattr(django_settings, "ROCKETCHAT_SSO_ROOMS_RUN", ROOMS_RUN_AUTO))


conf = Settings()
