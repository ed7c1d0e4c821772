"""Django system checks: configuration mistakes reported by ``manage.py check``, with hints.

Every id is listed in docs/checks.rst (tests/docs/ compares them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.module_loading import import_string

from rocketchat_sso._moved import new_path
from rocketchat_sso.conf import (
    LOGIN_METHOD_PASSWORD,
    LOGIN_METHODS,
    LOGIN_PAGE_URL_NAME,
    MIN_RECHECK_MIN_INTERVAL,
    ON_USER_DELETE_CHOICES,
    PRIVILEGED_ROLES,
    TOKEN_URL_NAME,
    conf,
)
from rocketchat_sso.operations.rules import (
    cookie_dropped_by_browsers,
    samesite_none,
    surely_cross_site,
    valid_http_url,
)

CORS_MIDDLEWARE = "corsheaders.middleware.CorsMiddleware"
CLIENT_ADDRESS_MIDDLEWARE = "rocketchat_sso.web.middleware.ClientAddressMiddleware"
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


def _unknown_choice(
    name: str, value: object, choices: Sequence[str], check_id: str
) -> list[CheckMessage]:
    """The error ``check_id`` when setting ``name`` is none of ``choices``."""
    if value in choices:
        return []
    return [
        Error(
            f"{name} {value!r} is unknown.",
            hint=f"Use one of: {', '.join(repr(choice) for choice in choices)}.",
            id=check_id,
        )
    ]


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
    elif not valid_http_url(url):
        errors.append(
            Error(
                f"ROCKETCHAT_SSO_URL {url!r} is not an http(s) URL.",
                hint="Use the full URL with scheme and host, e.g. 'https://chat.example.com'.",
                id="rocketchat_sso.E002",
            )
        )
    public = getattr(settings, "ROCKETCHAT_SSO_PUBLIC_URL", None)
    if public and not valid_http_url(str(public)):
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
    errors += _unknown_choice(
        "ROCKETCHAT_SSO_LOGIN_METHOD",
        conf.ROCKETCHAT_SSO_LOGIN_METHOD,
        LOGIN_METHODS,
        "rocketchat_sso.E005",
    )
    try:
        conf.user_mapper  # noqa: B018 - importing is the check
    except ImportError as exc:
        errors.append(
            Error(
                f"ROCKETCHAT_SSO_USER_MAPPER {conf.ROCKETCHAT_SSO_USER_MAPPER!r} cannot be "
                f"imported: {exc}",
                hint="Give the dotted path of a function taking a user and returning a "
                "rocketchat_sso.accounts.profiles.RocketChatProfile.",
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


VOUCHING_HINT = (
    "Set ROCKETCHAT_SSO_EMAIL_VERIFIED = True only if the site verifies every address; else "
    "the dotted path of a callable taking a user and returning True when their address is "
    "verified, e.g. 'rocketchat_sso.accounts.verification.allauth_email_verified'; or False (the "
    "default: existing Rocket.Chat accounts are linked only by an administrator)."
)


def check_linking(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Who may be linked to an existing Rocket.Chat account: vouching and linkable roles."""
    errors: list[CheckMessage] = []
    value = getattr(settings, "ROCKETCHAT_SSO_EMAIL_VERIFIED", False)
    problem = ""
    if isinstance(value, str) and value:
        try:
            target = import_string(new_path(value))  # an old path is W150's to report
        except ImportError as exc:
            problem = f"cannot be imported: {exc}"
        else:
            if not callable(target):
                problem = "is not callable"
    elif not isinstance(value, bool):
        problem = "is neither True, False nor a dotted path"
    if problem:
        errors.append(
            Error(
                f"ROCKETCHAT_SSO_EMAIL_VERIFIED {value!r} {problem}.",
                hint=VOUCHING_HINT,
                id="rocketchat_sso.E011",
            )
        )
    roles = getattr(settings, "ROCKETCHAT_SSO_LINKABLE_ROLES", ["user"])
    if (
        isinstance(roles, str)
        or not isinstance(roles, (list, tuple))
        or not all(isinstance(role, str) and role for role in roles)
    ):
        errors.append(
            Error(
                f"ROCKETCHAT_SSO_LINKABLE_ROLES {roles!r} is not a list of role names.",
                hint="Use a list of Rocket.Chat role ids, e.g. ['user'] (the default).",
                id="rocketchat_sso.E012",
            )
        )
    else:
        privileged = sorted(set(roles) & set(PRIVILEGED_ROLES))
        if privileged:
            errors.append(
                Warning(
                    f"ROCKETCHAT_SSO_LINKABLE_ROLES lists privileged roles {privileged}; "
                    "they are ignored.",
                    hint="Accounts with admin, bot, app or livechat roles are never linked to "
                    "a Django user by their address: link them yourself, deliberately, or not "
                    "at all. Remove them from the setting.",
                    id="rocketchat_sso.W012",
                )
            )
    return errors


def check_two_factor(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """W140: the ``password`` method with vouched addresses. A default Rocket.Chat opts every new
    user in to e-mail two-factor, and then refuses each password login of a user with a verified
    address (``totp-required``; apps/meteor/app/2fa/server/code/EmailCheck.ts). Settings alone
    cannot tell whether this Rocket.Chat has it on: the doctor reads it."""
    if conf.ROCKETCHAT_SSO_LOGIN_METHOD != LOGIN_METHOD_PASSWORD:
        return []
    if not conf.vouches_for_addresses():
        return []  # nothing vouched (or not a valid setting: E011 says so)
    return [
        Warning(
            "ROCKETCHAT_SSO_LOGIN_METHOD is 'password' and the site vouches for addresses "
            "(ROCKETCHAT_SSO_EMAIL_VERIFIED): Rocket.Chat's e-mail two-factor, on by default, "
            "refuses every password login of a user whose address is verified.",
            hint="Set ROCKETCHAT_SSO_LOGIN_METHOD = 'create_token' (docs/rocketchat.rst, "
            "'E-mail two-factor'), or turn off Accounts_TwoFactorAuthentication_By_Email_Enabled "
            "in Rocket.Chat and silence rocketchat_sso.W140 (python manage.py "
            "rocketchat_sso_doctor reads the setting).",
            id="rocketchat_sso.W140",
        )
    ]


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


def check_browser(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """What browsers need for both flows: the session cookie's SameSite/Secure, and HTTPS."""
    errors: list[CheckMessage] = []
    if cookie_dropped_by_browsers():
        errors.append(
            Error(
                "SESSION_COOKIE_SAMESITE is 'None' but SESSION_COOKIE_SECURE is not True.",
                hint="Browsers drop a SameSite=None cookie without Secure, so nobody stays "
                "logged in. Set SESSION_COOKIE_SECURE = True (and serve the site over HTTPS).",
                id="rocketchat_sso.E020",
            )
        )
    public_url = conf.ROCKETCHAT_SSO_PUBLIC_URL
    if not valid_http_url(public_url):  # reported by E001-E003
        return errors
    parts = urlsplit(public_url)
    chat_host = parts.hostname or ""
    if not samesite_none() and surely_cross_site(chat_host):
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
    """The token endpoint and the loading page must be reachable (the embed tag reverses them),
    and so must LOGIN_URL, the loading page's "Log in" link."""
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
    return _check_login_url()


def _resolves(path: str) -> bool:
    script_name = str(getattr(settings, "FORCE_SCRIPT_NAME", None) or "").rstrip("/")
    if script_name and path.startswith(script_name + "/"):
        path = path[len(script_name) :]
    # Under i18n_patterns LocaleMiddleware sends /accounts/login/ on to /<language>/accounts/...
    for candidate in (path, f"/{settings.LANGUAGE_CODE}{path}"):
        try:
            resolve(candidate)
        except Resolver404:
            continue
        return True
    return False


def _check_login_url() -> list[CheckMessage]:
    """W022: the loading page links to LOGIN_URL; a path this site does not serve is a 404."""
    consequence = "the loading page's 'Log in' link (shown in Rocket.Chat to visitors who are "
    consequence += "not logged in) would be a 404"
    try:
        parts = urlsplit(str(resolve_url(settings.LOGIN_URL)))
    except NoReverseMatch:  # resolve_url raises for a bare name nobody has
        parts = urlsplit("")
        consequence = "the loading page cannot render (NoReverseMatch)"
    if parts.scheme or parts.netloc:  # a login on another host: nothing to resolve here
        return []
    if parts.path.startswith("/") and _resolves(parts.path):
        return []
    return [
        Warning(
            f"LOGIN_URL {settings.LOGIN_URL!r} does not resolve to a view of this site: "
            f"{consequence}.",
            hint="Set LOGIN_URL to your login view's URL name or path, e.g. LOGIN_URL = 'login' "
            "with path('accounts/', include('django.contrib.auth.urls')) in your urls.py.",
            id="rocketchat_sso.W022",
        )
    ]


def check_site_url(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """W034: outside development the site's own URL must be known (ROCKETCHAT_SSO_SITE_URL).

    rocketchat_sso_doctor and rocketchat_sso_configure stop at their first step without it
    (they tell Rocket.Chat the token and loading-page URLs, and check Rocket.Chat reaches
    them).
    """
    if settings.DEBUG or conf.ROCKETCHAT_SSO_SITE_URL:
        return []
    return [
        Warning(
            "ROCKETCHAT_SSO_SITE_URL is not set (and DEBUG is off).",
            hint="Set it to this site's URL as browsers open it, e.g. "
            "ROCKETCHAT_SSO_SITE_URL = 'https://www.example.com': rocketchat_sso_doctor and "
            "rocketchat_sso_configure need it to tell Rocket.Chat the token endpoint and "
            "loading page URLs (else pass --site-url).",
            id="rocketchat_sso.W034",
        )
    ]


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
    errors += _unknown_choice(
        "ROCKETCHAT_SSO_ON_USER_DELETE",
        conf.ROCKETCHAT_SSO_ON_USER_DELETE,
        ON_USER_DELETE_CHOICES,
        "rocketchat_sso.E032",
    )
    site_url = conf.ROCKETCHAT_SSO_SITE_URL
    if site_url and not valid_http_url(site_url):
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


def _int_setting(name: str) -> int | None:
    try:
        return int(getattr(conf, name))
    except (TypeError, ValueError):
        return None


def _check_call_shares() -> list[CheckMessage]:
    """The site's count of Rocket.Chat's rate-limit buckets, and one user's share of each."""
    calls = _int_setting("ROCKETCHAT_SSO_RATE_LIMIT_CALLS")
    window = _int_setting("ROCKETCHAT_SSO_RATE_LIMIT_WINDOW")
    share = _int_setting("ROCKETCHAT_SSO_USER_CALL_SHARE")
    if None in (calls, window, share) or min(calls or 0, window or 0, share or 0) < 0:
        return [
            Error(
                "ROCKETCHAT_SSO_RATE_LIMIT_CALLS, ROCKETCHAT_SSO_RATE_LIMIT_WINDOW and "
                "ROCKETCHAT_SSO_USER_CALL_SHARE must be whole numbers >= 0.",
                hint="Set the first two to Rocket.Chat's API_Enable_Rate_Limiter_Limit_Calls_"
                "Default and _Limit_Time_Default / 1000 (defaults 10 and 60); the share "
                "defaults to 3 calls per user and window.",
                id="rocketchat_sso.E130",
            )
        ]
    if calls and share == 0:
        return [
            Warning(
                "ROCKETCHAT_SSO_USER_CALL_SHARE is 0: one user may spend the site's whole "
                "share of Rocket.Chat's rate limit on /me, /login or /logout.",
                hint="Set a share (default 3 calls per user and window).",
                id="rocketchat_sso.W130",
            )
        ]
    return []


def check_revocation(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """The budgets of Rocket.Chat calls, and what revocation keeps and encrypts with."""
    errors: list[CheckMessage] = []
    interval = _int_setting("ROCKETCHAT_SSO_RECHECK_MIN_INTERVAL")
    if interval is None or interval < 0:
        errors.append(
            Error(
                "ROCKETCHAT_SSO_RECHECK_MIN_INTERVAL must be a whole number of seconds, 0 or more.",
                hint="The default is 15: each session asks Rocket.Chat about its token at most "
                "once per 15 seconds.",
                id="rocketchat_sso.E050",
            )
        )
    elif interval < MIN_RECHECK_MIN_INTERVAL:
        errors.append(
            Warning(
                f"ROCKETCHAT_SSO_RECHECK_MIN_INTERVAL is {interval} seconds: one session can "
                "spend the site's share of Rocket.Chat's rate limit on /me (10 calls a minute "
                "per route by default, for the whole site).",
                hint=f"Use {MIN_RECHECK_MIN_INTERVAL} seconds or more (default 15).",
                id="rocketchat_sso.W050",
            )
        )
    limit = _int_setting("ROCKETCHAT_SSO_USER_MINT_LIMIT")
    window = _int_setting("ROCKETCHAT_SSO_USER_MINT_WINDOW")
    if limit is None or limit < 0 or window is None or window < 1:
        errors.append(
            Error(
                "ROCKETCHAT_SSO_USER_MINT_LIMIT must be a whole number >= 0 and "
                "ROCKETCHAT_SSO_USER_MINT_WINDOW a whole number of seconds >= 1.",
                hint="The defaults are 3 new tokens per user per 60 seconds.",
                id="rocketchat_sso.E051",
            )
        )
    elif limit == 0:
        errors.append(
            Warning(
                "ROCKETCHAT_SSO_USER_MINT_LIMIT is 0: a user may get new Rocket.Chat tokens "
                "without bound, and with the password method spend the whole site's logins "
                "(Rocket.Chat allows 10 a minute per client address by default).",
                hint="Set a limit (default 3 per ROCKETCHAT_SSO_USER_MINT_WINDOW, 60 s).",
                id="rocketchat_sso.W051",
            )
        )
    errors += _check_call_shares()
    days = _int_setting("ROCKETCHAT_SSO_LOGIN_EXPIRATION_DAYS")
    if days is None or days < 1:
        errors.append(
            Error(
                "ROCKETCHAT_SSO_LOGIN_EXPIRATION_DAYS must be a whole number of days >= 1.",
                hint="Set it to Rocket.Chat's Accounts_LoginExpiration (90 by default): issued "
                "tokens are kept, encrypted, that long so they can be revoked.",
                id="rocketchat_sso.E052",
            )
        )
    fallbacks = getattr(settings, "ROCKETCHAT_SSO_TOKEN_KEY_FALLBACKS", [])
    key = getattr(settings, "ROCKETCHAT_SSO_TOKEN_KEY", "")
    if not isinstance(fallbacks, (list, tuple)) or not isinstance(key, str):
        errors.append(
            Error(
                "ROCKETCHAT_SSO_TOKEN_KEY must be a string and ROCKETCHAT_SSO_TOKEN_KEY_FALLBACKS "
                "a list of strings.",
                hint="Like SECRET_KEY and SECRET_KEY_FALLBACKS, which they default to.",
                id="rocketchat_sso.E053",
            )
        )
    return errors


def check_client_address(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """``ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS``: its middleware, and whose address it reads."""
    value = getattr(settings, "ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS", None)
    if value is None or value == "":
        return []
    if not isinstance(value, str):
        return [
            Error(
                "ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS must be a request.META key (a string).",
                hint="'REMOTE_ADDR' when browsers reach Django directly, or the header the "
                "site's own proxy sets, e.g. 'HTTP_X_REAL_IP'; leave it unset to forward nothing.",
                id="rocketchat_sso.E060",
            )
        ]
    errors: list[CheckMessage] = []
    middleware = [new_path(str(path)) for path in getattr(settings, "MIDDLEWARE", None) or []]
    if CLIENT_ADDRESS_MIDDLEWARE not in middleware:  # its old path works too (W150 says so)
        errors.append(
            Warning(
                "ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS is set but "
                f"{CLIENT_ADDRESS_MIDDLEWARE} is not in MIDDLEWARE: nothing is forwarded.",
                hint=f"Add {CLIENT_ADDRESS_MIDDLEWARE} to MIDDLEWARE.",
                id="rocketchat_sso.W060",
            )
        )
    if value.startswith("HTTP_"):
        errors.append(
            Warning(
                f"ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS reads {value}, a header any browser "
                "can send: unless the site's own proxy sets it on every request, a browser "
                "chooses the address Rocket.Chat's rate limiter counts it under, and can spend "
                "another address's share.",
                hint="Make the proxy in front of Django overwrite this header with the "
                "client's address (nginx: proxy_set_header X-Real-IP $remote_addr;), then "
                "silence rocketchat_sso.W061; or use 'REMOTE_ADDR' where browsers reach "
                "Django directly. docs/rocketchat.rst, 'Rate limits and the client address'.",
                id="rocketchat_sso.W061",
            )
        )
    return errors


def check_moved_paths(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Settings naming a module's old path: it still works until 0.2 (see rocketchat_sso._moved)."""
    named: list[tuple[str, str]] = [
        ("MIDDLEWARE", str(path)) for path in getattr(settings, "MIDDLEWARE", None) or []
    ]
    for name in ("ROCKETCHAT_SSO_USER_MAPPER", "ROCKETCHAT_SSO_EMAIL_VERIFIED"):
        value = getattr(settings, name, None)
        if isinstance(value, str):
            named.append((name, value))
    return [
        Warning(
            f"{name} names {path}, a path that moved; the old path goes in 0.2.",
            hint=f"Use {new_path(path)}. docs/installation.rst, 'Upgrading from a pre-release "
            "checkout'.",
            id="rocketchat_sso.W150",
        )
        for name, path in named
        if new_path(path) != path
    ]
