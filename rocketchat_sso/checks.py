"""Django system checks: configuration mistakes reported by ``manage.py check``, with hints.

Every id is listed in docs/checks.rst (tests/docs/ compares them).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.urls import NoReverseMatch, reverse

from rocketchat_sso.conf import (
    LOGIN_METHODS,
    LOGIN_PAGE_URL_NAME,
    ON_USER_DELETE_CHOICES,
    TOKEN_URL_NAME,
    conf,
)

CORS_MIDDLEWARE = "corsheaders.middleware.CorsMiddleware"
COMMON_MIDDLEWARE = "django.middleware.common.CommonMiddleware"
DUMMY_CACHE = "django.core.cache.backends.dummy.DummyCache"
LOCMEM_CACHE = "django.core.cache.backends.locmem.LocMemCache"
SHARED_CACHES_HINT = (
    "Use a cache every worker process shares: Redis "
    "(django.core.cache.backends.redis.RedisCache), Memcached "
    "(django.core.cache.backends.memcached.PyMemcacheCache) or the database cache "
    "(django.core.cache.backends.db.DatabaseCache). See docs/deploying.rst, 'Deploying'."
)
# A third of Rocket.Chat's default Accounts_LoginExpiration (90 days): beyond it a cached token
# may outlive a shortened expiry setting.
MAX_TOKEN_CACHE_TIMEOUT = 30 * 24 * 60 * 60


def _valid_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def check_settings(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """The app's own settings: URLs, credentials, login method, user mapper, timeout."""
    errors: list[CheckMessage] = []
    url = conf.ROCKETCHAT_SSO_URL
    if not url:
        errors.append(
            Error(
                "ROCKETCHAT_SSO_URL is not set.",
                hint="Set it to the URL this server uses to reach Rocket.Chat, "
                "e.g. ROCKETCHAT_SSO_URL = 'https://chat.example.com'.",
                id="rocketchat_sso.E001",
            )
        )
    elif not _valid_http_url(url):
        errors.append(
            Error(
                f"ROCKETCHAT_SSO_URL {url!r} is not an http(s) URL.",
                hint="Use the full URL with scheme and host, e.g. 'https://chat.example.com'.",
                id="rocketchat_sso.E002",
            )
        )
    public = getattr(settings, "ROCKETCHAT_SSO_PUBLIC_URL", None)
    if public and not _valid_http_url(str(public)):
        errors.append(
            Error(
                f"ROCKETCHAT_SSO_PUBLIC_URL {public!r} is not an http(s) URL.",
                hint="Use Rocket.Chat's URL as browsers open it, e.g. 'https://chat.example.com'.",
                id="rocketchat_sso.E003",
            )
        )
    if not conf.ROCKETCHAT_SSO_ADMIN_USER_ID or not conf.ROCKETCHAT_SSO_ADMIN_TOKEN:
        errors.append(
            Error(
                "ROCKETCHAT_SSO_ADMIN_USER_ID and ROCKETCHAT_SSO_ADMIN_TOKEN must both be set.",
                hint="Create a personal access token for a Rocket.Chat admin (My Account > "
                "Personal Access Tokens, with 'Ignore Two Factor Authentication') and set "
                "its user id and token, e.g. from environment variables.",
                id="rocketchat_sso.E004",
            )
        )
    if conf.ROCKETCHAT_SSO_LOGIN_METHOD not in LOGIN_METHODS:
        errors.append(
            Error(
                f"ROCKETCHAT_SSO_LOGIN_METHOD {conf.ROCKETCHAT_SSO_LOGIN_METHOD!r} is unknown.",
                hint=f"Use one of: {', '.join(repr(m) for m in LOGIN_METHODS)}.",
                id="rocketchat_sso.E005",
            )
        )
    try:
        conf.user_mapper  # noqa: B018 - importing is the check
    except ImportError as exc:
        errors.append(
            Error(
                f"ROCKETCHAT_SSO_USER_MAPPER {conf.ROCKETCHAT_SSO_USER_MAPPER!r} cannot be "
                f"imported: {exc}",
                hint="Give the dotted path of a function taking a user and returning a "
                "rocketchat_sso.services.RocketChatProfile.",
                id="rocketchat_sso.E008",
            )
        )
    try:
        timeout_ok = conf.ROCKETCHAT_SSO_TIMEOUT > 0
    except (TypeError, ValueError):
        timeout_ok = False
    if not timeout_ok:
        errors.append(
            Error(
                "ROCKETCHAT_SSO_TIMEOUT must be a positive number of seconds.",
                hint="The default is 5; keep it below your web server's own request timeout.",
                id="rocketchat_sso.E009",
            )
        )
    return errors


def check_cors(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """django-cors-headers must be installed, in the middleware, high enough, with credentials."""
    errors: list[CheckMessage] = []
    if not apps.is_installed("corsheaders"):
        errors.append(
            Error(
                "'corsheaders' is not in INSTALLED_APPS.",
                hint="Add INSTALLED_APPS += ['corsheaders', 'rocketchat_sso']: Rocket.Chat "
                "calls the token endpoint cross-origin and needs its CORS answers.",
                id="rocketchat_sso.E006",
            )
        )
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if CORS_MIDDLEWARE not in middleware:
        errors.append(
            Error(
                f"{CORS_MIDDLEWARE} is not in MIDDLEWARE.",
                hint="Add it as high as possible, before any middleware that can answer "
                "(at least before CommonMiddleware), as django-cors-headers documents.",
                id="rocketchat_sso.E007",
            )
        )
    elif COMMON_MIDDLEWARE in middleware and middleware.index(CORS_MIDDLEWARE) > middleware.index(
        COMMON_MIDDLEWARE
    ):
        errors.append(
            Warning(
                f"{CORS_MIDDLEWARE} comes after {COMMON_MIDDLEWARE}.",
                hint="Move it above CommonMiddleware, or redirects and 404s it answers will "
                "lack CORS headers.",
                id="rocketchat_sso.W001",
            )
        )
    if not getattr(settings, "CORS_ALLOW_CREDENTIALS", False):
        errors.append(
            Error(
                "CORS_ALLOW_CREDENTIALS is not True.",
                hint="Rocket.Chat fetches the token endpoint with credentials: 'include'; "
                "without Access-Control-Allow-Credentials the browser discards the answer. "
                "Set CORS_ALLOW_CREDENTIALS = True (only allowed origins are affected).",
                id="rocketchat_sso.E010",
            )
        )
    return errors


WHICH_FLOW = (
    "See docs/flows.rst, 'Browsers, cookies and which flow to use': put Rocket.Chat on a subdomain "
    "of the site's domain, or embed it with {% rocketchat_iframe %} (flow 2), which needs no "
    "cross-site cookie."
)


def _site_key(host: str) -> str:
    """The part of ``host`` two hosts must share to be one site, as far as we can tell offline.

    A registrable domain has at least two labels, so hosts whose last two labels differ are
    surely different sites; an IP address or a single label is a site of its own.
    """
    host = host.strip("[]").rstrip(".").lower()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return ".".join(host.split(".")[-2:])
    return host


def _surely_cross_site(chat_host: str) -> bool:
    """Whether every host this site answers to (ALLOWED_HOSTS) is another site than Rocket.Chat."""
    hosts = [
        host.lstrip(".")
        for host in getattr(settings, "ALLOWED_HOSTS", None) or []
        if host and "*" not in host
    ]
    return bool(hosts) and all(_site_key(host) != _site_key(chat_host) for host in hosts)


def check_browser(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """What browsers need for both flows: the session cookie's SameSite/Secure, and HTTPS."""
    errors: list[CheckMessage] = []
    samesite = str(getattr(settings, "SESSION_COOKIE_SAMESITE", "Lax")).lower()
    if samesite == "none" and not getattr(settings, "SESSION_COOKIE_SECURE", False):
        errors.append(
            Error(
                "SESSION_COOKIE_SAMESITE is 'None' but SESSION_COOKIE_SECURE is not True.",
                hint="Browsers drop a SameSite=None cookie without Secure, so nobody stays "
                "logged in. Set SESSION_COOKIE_SECURE = True (and serve the site over HTTPS).",
                id="rocketchat_sso.E020",
            )
        )
    public_url = conf.ROCKETCHAT_SSO_PUBLIC_URL
    if not _valid_http_url(public_url):  # reported by E001-E003
        return errors
    parts = urlsplit(public_url)
    chat_host = parts.hostname or ""
    if samesite != "none" and _surely_cross_site(chat_host):
        errors.append(
            Warning(
                f"Rocket.Chat ({chat_host}) is on another site than every host in ALLOWED_HOSTS, "
                f"and SESSION_COOKIE_SAMESITE is {settings.SESSION_COOKIE_SAMESITE!r}: browsers "
                "will not send the session cookie with Rocket.Chat's call to the token endpoint "
                "or to the loading page inside Rocket.Chat, so iframe login (flow 1) cannot work.",
                hint="Use SESSION_COOKIE_SAMESITE = 'None' with SESSION_COOKIE_SECURE = True "
                "(still blocked where third-party cookies are). " + WHICH_FLOW,
                id="rocketchat_sso.W020",
            )
        )
    if parts.scheme == "http" and not settings.DEBUG:
        errors.append(
            Warning(
                f"ROCKETCHAT_SSO_PUBLIC_URL {public_url!r} is not HTTPS.",
                hint="Login tokens travel between the browser, Rocket.Chat and this site: serve "
                "Rocket.Chat over HTTPS in production (SameSite=None cookies need it too).",
                id="rocketchat_sso.W021",
            )
        )
    return errors


def check_urls(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """The token endpoint and the loading page must be reachable (the embed tag reverses them)."""
    try:
        reverse(TOKEN_URL_NAME)
        reverse(LOGIN_PAGE_URL_NAME)
    except NoReverseMatch:
        return [
            Error(
                "The URLs of rocketchat_sso are not included in the URLconf.",
                hint="Add path('rocketchat/', include('rocketchat_sso.urls')) to your urls.py; "
                "keep the 'rocketchat_sso' namespace.",
                id="rocketchat_sso.E021",
            )
        ]
    return []


def check_lifecycle(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Token reuse cache, deletion policy and the site URL the commands use."""
    errors: list[CheckMessage] = []
    caches_setting = getattr(settings, "CACHES", None) or {}
    alias = conf.ROCKETCHAT_SSO_CACHE
    if alias not in caches_setting:
        errors.append(
            Error(
                f"ROCKETCHAT_SSO_CACHE {alias!r} is not a cache in CACHES.",
                hint="Name one of your CACHES aliases (default 'default'); the app keeps each "
                "session's Rocket.Chat token there.",
                id="rocketchat_sso.E030",
            )
        )
    elif caches_setting[alias].get("BACKEND") == DUMMY_CACHE:
        errors.append(
            Warning(
                f"The cache {alias!r} (ROCKETCHAT_SSO_CACHE) is a DummyCache.",
                hint="Sessions cannot reuse their Rocket.Chat token: every chat opening mints "
                "a new one and Rocket.Chat drops the oldest, signing users out of their other "
                "devices. Use a real cache (Redis, Memcached, database).",
                id="rocketchat_sso.W030",
            )
        )
    try:
        timeout = conf.ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT
    except (TypeError, ValueError):
        timeout = -1
    if timeout < 0:
        errors.append(
            Error(
                "ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT must be a whole number of seconds, 0 or more.",
                hint="The default is 86400 (one day); 0 turns token reuse off.",
                id="rocketchat_sso.E031",
            )
        )
    elif timeout > MAX_TOKEN_CACHE_TIMEOUT:
        errors.append(
            Warning(
                f"ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT is {timeout} seconds (over 30 days).",
                hint="Keep it well below Rocket.Chat's Accounts_LoginExpiration (90 days by "
                "default); a day is plenty, since a session rarely lives longer.",
                id="rocketchat_sso.W031",
            )
        )
    if conf.ROCKETCHAT_SSO_ON_USER_DELETE not in ON_USER_DELETE_CHOICES:
        errors.append(
            Error(
                f"ROCKETCHAT_SSO_ON_USER_DELETE {conf.ROCKETCHAT_SSO_ON_USER_DELETE!r} is unknown.",
                hint=f"Use one of: {', '.join(repr(c) for c in ON_USER_DELETE_CHOICES)}.",
                id="rocketchat_sso.E032",
            )
        )
    site_url = conf.ROCKETCHAT_SSO_SITE_URL
    if site_url and not _valid_http_url(site_url):
        errors.append(
            Error(
                f"ROCKETCHAT_SSO_SITE_URL {site_url!r} is not an http(s) URL.",
                hint="Use this site's URL as browsers open it, e.g. 'https://www.example.com'.",
                id="rocketchat_sso.E033",
            )
        )
    return errors


def check_cache(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Outside development the token cache must be one that every worker process shares.

    Each process keeps a local-memory cache to itself: a session's token (and the lock that
    makes its concurrent first requests mint only one) then holds only inside one worker.
    """
    if settings.DEBUG:
        return []
    alias = conf.ROCKETCHAT_SSO_CACHE
    backend = (getattr(settings, "CACHES", None) or {}).get(alias, {}).get("BACKEND")
    if backend != LOCMEM_CACHE:
        return []  # a missing alias is E030, a DummyCache W030
    return [
        Warning(
            f"The cache {alias!r} (ROCKETCHAT_SSO_CACHE) is a LocMemCache, which each worker "
            "process keeps to itself: Rocket.Chat tokens are reused, and concurrent first "
            "requests of a session share one, only within a single process.",
            hint=f"LocMemCache is for development only. {SHARED_CACHES_HINT}",
            id="rocketchat_sso.W040",
        )
    ]
