"""End-to-end checks of the live setup, each answered with OK or FAIL and a hint.

Unlike the system checks (settings alone), these talk to Rocket.Chat. Each check is a function
``(Doctor) -> Finding`` so other commands can run a subset; :data:`CHECKS` is the full order,
and a check whose prerequisite failed is reported as SKIP.
"""

from __future__ import annotations

import textwrap
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.core.cache import caches
from django.utils.crypto import get_random_string

from rocketchat_sso.conf import LOGIN_METHOD_CREATE_TOKEN, conf
from rocketchat_sso.exceptions import (
    RocketChatAPIError,
    RocketChatAuthenticationFailed,
    RocketChatError,
    RocketChatPermissionDenied,
    RocketChatTwoFactorRequired,
    SiteUnreachable,
    SiteURLMissing,
)
from rocketchat_sso.operations.rules import (
    cookie_dropped_by_browsers,
    same_site,
    samesite_none,
    session_cookie_samesite,
    valid_http_url,
)
from rocketchat_sso.rocketchat import capabilities
from rocketchat_sso.rocketchat import remote_settings as remote
from rocketchat_sso.rocketchat.client import (
    LIST_MAX_PAGES,
    LIST_PAGE_SIZE,
    RocketChatClient,
    invalid_params,
)

if TYPE_CHECKING:
    from django.core.management.base import BaseCommand

OK, FAIL, SKIP = "OK", "FAIL", "SKIP"
# A user id Rocket.Chat can never have (Random.id() is 17 characters): users.update on it is
# refused after the 2FA check and can change nothing.
PROBE_USER_ID = "rocketchat-sso-doctor-probe"
# Below this many calls per minute per route, the rate limiter throttles a busy site's logins.
MIN_CALLS_PER_MINUTE = 60
SECONDS_PER_DAY = 86400
DEFAULT_LOGIN_EXPIRATION_DAYS = 90


@dataclass(frozen=True)
class Finding:
    """One check's answer; ``title`` is the check's, filled in by :meth:`Doctor.run`."""

    status: str
    detail: str = ""
    hint: str = ""
    title: str = ""


@dataclass(frozen=True)
class SiteResponse:
    """This site's answer to a request from this server: status and headers (names lowercased,
    repeated headers joined with ", ")."""

    status: int
    headers: Mapping[str, str]


# (method, url, headers) -> SiteResponse. Injectable, so tests can answer with the test client.
SiteFetch = Callable[[str, str, Mapping[str, str]], SiteResponse]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Report a redirect as it is: browsers follow none on a CORS preflight."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _headers(message: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in message.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def fetch_site(method: str, url: str, headers: Mapping[str, str]) -> SiteResponse:
    """Request ``url`` over the network as a browser would reach it (stdlib, no redirects)."""
    if not valid_http_url(url):
        raise SiteUnreachable(f"{url} is not an http(s) URL")
    opener = urllib.request.build_opener(_NoRedirects)
    request = urllib.request.Request(url, method=method, headers=dict(headers))
    try:
        with opener.open(request, timeout=conf.ROCKETCHAT_SSO_TIMEOUT) as response:
            return SiteResponse(response.status, _headers(response.headers))
    except urllib.error.HTTPError as error:
        return SiteResponse(error.code, _headers(error.headers))
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SiteUnreachable(f"{method} {url}: {reason}") from None


@dataclass
class Doctor:
    """The state the checks share: one client, the site's URL, what is known so far."""

    client: RocketChatClient
    site_url: str | None = None
    fetch: SiteFetch = fetch_site
    min_calls_per_minute: int = MIN_CALLS_PER_MINUTE
    unmet: set[str] = field(default_factory=set)  # checks that failed or were skipped

    def setting(self, setting_id: str) -> Any:
        return self.client.get_setting(setting_id)

    def urls(self) -> remote.SiteURLs:
        """This site's URLs; the checks using them need :func:`site_url` to have passed."""
        return remote.site_urls(self.site_url)

    def run(self, checks: list[Check] | None = None) -> Iterator[Finding]:
        """Run ``checks`` (default: all) in order, skipping those whose prerequisite failed."""
        for check in checks or CHECKS:
            missing = [name for name in check.needs if name in self.unmet]
            if missing:
                self.unmet.add(check.name)
                yield Finding(SKIP, f"needs: {', '.join(missing)}", title=check.title)
                continue
            try:
                finding = check.run(self)
            except RocketChatError as error:
                finding = Finding(FAIL, error.message, _hint_for(error))
            if finding.status == FAIL:
                self.unmet.add(check.name)
            yield replace(finding, title=check.title)


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    run: Callable[[Doctor], Finding]
    needs: tuple[str, ...] = ()


def _hint_for(error: RocketChatError) -> str:
    if isinstance(error, RocketChatTwoFactorRequired):
        return (
            "Create the admin's personal access token with 'Ignore Two Factor Authentication' "
            "(My Account > Personal Access Tokens)."
        )
    if isinstance(error, RocketChatPermissionDenied):
        return "The admin of ROCKETCHAT_SSO_ADMIN_USER_ID lacks a permission this needs."
    return "See the message; `python manage.py check` reports mistakes in the settings."


def site_url(doctor: Doctor) -> Finding:
    try:
        urls = doctor.urls()
    except SiteURLMissing as exc:
        return Finding(FAIL, "unknown", str(exc))
    return Finding(OK, urls.origin)


def reachable(doctor: Doctor) -> Finding:
    try:
        info = doctor.client.server_info()
    except RocketChatError as error:
        return Finding(
            FAIL,
            f"ROCKETCHAT_SSO_URL = {conf.ROCKETCHAT_SSO_URL}: {error.message}",
            f"Check ROCKETCHAT_SSO_URL ({conf.ROCKETCHAT_SSO_URL}), the setting that says where "
            "Rocket.Chat is, and that this server can reach it (DNS, firewall, proxy).",
        )
    version = info.get("version") or "version hidden"
    return Finding(OK, f"ROCKETCHAT_SSO_URL = {conf.ROCKETCHAT_SSO_URL}, {version}")


def admin_credentials(doctor: Doctor) -> Finding:
    try:
        me = doctor.client.me()
    except RocketChatAuthenticationFailed as error:
        return Finding(
            FAIL,
            error.message,
            "ROCKETCHAT_SSO_ADMIN_USER_ID / ROCKETCHAT_SSO_ADMIN_TOKEN are refused: create a "
            "personal access token for a Rocket.Chat admin and set both.",
        )
    if "admin" not in (me.get("roles") or []):
        return Finding(
            FAIL,
            f"{me.get('username')} is not an administrator",
            "Use a personal access token of a user with the admin role.",
        )
    return Finding(
        OK,
        f"the token of ROCKETCHAT_SSO_ADMIN_USER_ID = {conf.ROCKETCHAT_SSO_ADMIN_USER_ID} is "
        f"accepted (/api/v1/me): user {me.get('username')!r}, with the admin role",
    )


def two_factor(doctor: Doctor) -> Finding:
    """``users.update`` is twoFactorRequired: a token without the bypass cannot edit users."""
    try:
        doctor.client.update_user(PROBE_USER_ID, {"name": "probe"})
    except RocketChatTwoFactorRequired as error:
        return Finding(
            FAIL,
            f"users.update asks for a 2FA code ({error.error_type})",
            _hint_for(error),
        )
    except RocketChatPermissionDenied as error:
        return Finding(FAIL, error.message, _hint_for(error))
    except RocketChatAPIError:
        pass  # the probe user does not exist: the 2FA check came before and passed
    return Finding(OK, "users.update does not ask for a 2FA code")


def signin_paths(doctor: Doctor) -> Finding:
    """The Rocket.Chat version (asked as the admin) and the paths sign-in takes on it."""
    version = doctor.client.server_version()
    capabilities.remember_version(version)
    lookup = capabilities.email_lookup_path(version)
    if lookup == capabilities.LOOKUP_USERS_LIST_PAGES:
        lookup += (
            f" ({LIST_PAGE_SIZE} users a page, at most {LIST_MAX_PAGES} pages; Rocket.Chat "
            "8.6+ looks addresses up directly)"
        )
    return Finding(
        OK,
        f"Rocket.Chat {version}. New user: users.create, then the login (2 calls); an address "
        f"already taken is looked up with {lookup}. Known user's new session: "
        f"{capabilities.login_path()}",
    )


def _probe_create_token(doctor: Doctor) -> tuple[str, str]:
    """Mint a token for the admin with users.createToken and revoke it: ``("", "")`` if that
    worked, else Rocket.Chat's refusal and the fix for this Rocket.Chat version."""
    client = doctor.client
    try:
        token = client.create_token(client.user_id, secret=conf.ROCKETCHAT_SSO_CREATE_TOKEN_SECRET)
    except (RocketChatPermissionDenied, RocketChatTwoFactorRequired) as error:
        return error.message, capabilities.create_token_fix(client.version())
    except RocketChatAPIError as error:
        if not invalid_params(error.error_type):
            raise
        return error.message, capabilities.create_token_fix(client.version())
    client.revoke_token(token)  # the probe's token for the admin must not linger
    return "", ""


def login_method(doctor: Doctor) -> Finding:
    """Which login path sign-in uses, and whether ``create_token`` is usable here."""
    method = conf.ROCKETCHAT_SSO_LOGIN_METHOD
    refusal, fix = _probe_create_token(doctor)
    if method != LOGIN_METHOD_CREATE_TOKEN:
        if refusal:
            usable = f"create_token is not usable here ({refusal})\nto use it: {fix}"
        else:
            usable = (
                "create_token would work here (not rate-limited): set "
                "ROCKETCHAT_SSO_LOGIN_METHOD = 'create_token'"
            )
        return Finding(
            OK,
            f"{method}: users log in over /api/v1/login with derived passwords\n"
            "all of this site's sign-ins share Rocket.Chat's rate limit on that route (10 a "
            f"minute by default)\n{usable}",
        )
    if refusal:
        return Finding(FAIL, f"{method}: users.createToken is not authorized ({refusal})", fix)
    return Finding(OK, f"{method}: users.createToken works (the probe's token was revoked)")


def email_two_factor(doctor: Doctor) -> Finding:
    """Whether Rocket.Chat's e-mail two-factor refuses this site's password logins.

    Rocket.Chat opts every new user in when ``remote.TWO_FACTOR_ENABLED``,
    ``remote.TWO_FACTOR_BY_EMAIL`` and ``remote.TWO_FACTOR_AUTO_OPT_IN`` are on (all three by
    default), and then refuses each password login of an opted-in user with a verified address
    while the first two stay on (app/2fa/server/code/EmailCheck.ts @063ff50). Three reads as
    the admin (not rate-limited)."""
    values = {key: doctor.setting(key) for key in remote.TWO_FACTOR_SETTINGS}
    on = [key for key, value in values.items() if value is True]
    asks = values[remote.TWO_FACTOR_ENABLED] is True and values[remote.TWO_FACTOR_BY_EMAIL] is True
    state = f"on ({', '.join(on)})" if asks else "off"
    if conf.ROCKETCHAT_SSO_LOGIN_METHOD == LOGIN_METHOD_CREATE_TOKEN:
        return Finding(
            OK, f"create_token mints resume tokens, which two-factor never asks; e-mail 2FA {state}"
        )
    if not asks:
        return Finding(OK, "e-mail two-factor is off: password logins are not asked for a code")
    if conf.vouches_for_addresses():
        version = doctor.client.version()
        return Finding(
            FAIL,
            f"e-mail two-factor is {state} and ROCKETCHAT_SSO_EMAIL_VERIFIED sends verified "
            "addresses: Rocket.Chat refuses the password login of every such user it opted in "
            "(totp-required) and e-mails them a code this site cannot type",
            "Set ROCKETCHAT_SSO_LOGIN_METHOD = 'create_token' ("
            f"{capabilities.create_token_requirements(version)}). Or turn off "
            f"{remote.TWO_FACTOR_BY_EMAIL} in Rocket.Chat (Administration > Settings > Accounts "
            f"> Two Factor Authentication); turning off {remote.TWO_FACTOR_AUTO_OPT_IN} alone "
            "spares only users created afterwards.",
        )
    return Finding(
        OK,
        f"e-mail two-factor is {state}; this site sends no verified address, but a user whose "
        "address Rocket.Chat has verified (linked by an administrator, or verified in "
        "Rocket.Chat) will be refused password logins: create_token avoids it",
    )


def iframe_login(doctor: Doctor) -> Finding:
    urls = doctor.urls()
    wrong = []
    if doctor.setting(remote.IFRAME_ENABLED) is not True:
        wrong.append(f"{remote.IFRAME_ENABLED} is off")
    for setting_id, expected in (
        (remote.IFRAME_URL, urls.login_url),
        (remote.IFRAME_API_URL, urls.token_url),
    ):
        value = doctor.setting(setting_id)
        if value != expected:
            wrong.append(f"{setting_id} is {value!r}, expected {expected!r}")
    method = doctor.setting(remote.IFRAME_API_METHOD)
    if str(method).upper() not in ("GET", "POST"):
        wrong.append(f"{remote.IFRAME_API_METHOD} is {method!r}, expected 'POST'")
    if wrong:
        return Finding(
            FAIL,
            "; ".join(wrong),
            "Run `python manage.py rocketchat_sso_configure`, then turn on "
            f"{remote.IFRAME_ENABLED} (Administration > Settings > Accounts > Iframe).",
        )
    return Finding(OK, f"{urls.token_url}, {urls.login_url}")


def iframe_integration(doctor: Doctor) -> Finding:
    urls = doctor.urls()
    wrong = []
    for setting_id in (remote.SEND_ENABLE, remote.RECEIVE_ENABLE):
        if doctor.setting(setting_id) is not True:
            wrong.append(f"{setting_id} is off")
    target = doctor.setting(remote.SEND_TARGET_ORIGIN)
    if target != urls.origin:
        wrong.append(f"{remote.SEND_TARGET_ORIGIN} is {target!r}, expected {urls.origin!r}")
    receive = doctor.setting(remote.RECEIVE_ORIGIN)
    if receive == remote.ANY_ORIGIN or urls.origin not in remote.origins_of(receive):
        wrong.append(f"{remote.RECEIVE_ORIGIN} is {receive!r}, must list {urls.origin!r}")
    if wrong:
        return Finding(
            FAIL,
            "; ".join(wrong),
            "Run `python manage.py rocketchat_sso_configure` ('*' would let any site read "
            "Rocket.Chat's events or send it commands).",
        )
    return Finding(OK, f"events to and commands from {urls.origin}")


def framing(doctor: Doctor) -> Finding:
    urls = doctor.urls()
    if urls.origin == conf.public_origin or doctor.setting(remote.RESTRICT_ACCESS) is not True:
        return Finding(OK, "no X-Frame-Options forbids it")
    return Finding(
        FAIL,
        f"{remote.RESTRICT_ACCESS} is on: Rocket.Chat sends X-Frame-Options: "
        f"{doctor.setting(remote.X_FRAME_OPTIONS)}",
        f"To embed Rocket.Chat in this site's pages turn off {remote.RESTRICT_ACCESS} "
        f"(Administration > Settings > General) and send 'Content-Security-Policy: "
        f"frame-ancestors {urls.origin}' from Rocket.Chat's proxy instead.",
    )


def rate_limiter(doctor: Doctor) -> Finding:
    """Every route is limited per client address unless the caller bypasses it (the admin
    does): the users' own calls from this server, /login and /me, share one bucket each."""
    if doctor.setting(remote.RATE_LIMITER) is not True:
        return Finding(OK, f"{remote.RATE_LIMITER} is off")
    calls = int(doctor.setting(remote.RATE_LIMIT_CALLS) or 0)
    window_ms = int(doctor.setting(remote.RATE_LIMIT_MS) or 0)
    if not calls or not window_ms:
        return Finding(OK, "no default limit set")
    per_minute = calls * 60_000 / window_ms
    limit = f"{calls} calls per {window_ms} ms: {per_minute:g} per minute"
    overspend = _site_count_overspends(calls, window_ms)
    if overspend is not None:
        return overspend
    if conf.ROCKETCHAT_SSO_LOGIN_METHOD == LOGIN_METHOD_CREATE_TOKEN:
        # Sign-ins are the admin's users.createToken, which the limiter lets through
        # (api-bypass-rate-limit, checked with the login method); only the users' own token
        # rechecks are counted, and a recheck the limiter refuses costs no sign-in.
        return Finding(
            OK,
            "sign-ins are the admin's users.createToken calls, not rate-limited\n"
            f"token rechecks (/api/v1/me): {limit}, for all users of this site together",
        )
    detail = (
        f"{limit} on /api/v1/login (password method) and /api/v1/me (token reuse), "
        "for all users of this site together"
    )
    if per_minute < doctor.min_calls_per_minute:
        return Finding(
            FAIL,
            detail,
            f"Raise {remote.RATE_LIMIT_CALLS} (Administration > Settings > Rate Limiter) to at "
            f"least {doctor.min_calls_per_minute * window_ms // 60_000} for this window, or turn "
            f"off {remote.RATE_LIMITER}, or use ROCKETCHAT_SSO_LOGIN_METHOD = 'create_token' "
            "(sign-ins the limiter does not count); beyond it users wait in line (503).",
        )
    return Finding(OK, detail)


def _site_count_overspends(calls: int, window_ms: int) -> Finding | None:
    """The site's own count of the users' calls (:mod:`rocketchat_sso.sessions.budgets`) must not
    allow more than Rocket.Chat's bucket, or Rocket.Chat refuses what the site let through, for
    everyone at once."""
    site_calls = conf.ROCKETCHAT_SSO_RATE_LIMIT_CALLS
    site_window = conf.ROCKETCHAT_SSO_RATE_LIMIT_WINDOW
    if site_calls <= 0 or site_window <= 0:
        return None  # not counted: the check below says what the bucket leaves
    if site_calls <= calls and site_window * 1000 >= window_ms:
        return None
    return Finding(
        FAIL,
        f"this site counts {site_calls} calls per {site_window} s; Rocket.Chat allows "
        f"{calls} per {window_ms} ms",
        f"Set ROCKETCHAT_SSO_RATE_LIMIT_CALLS = {calls} and ROCKETCHAT_SSO_RATE_LIMIT_WINDOW = "
        f"{-(-window_ms // 1000)} (Rocket.Chat's {remote.RATE_LIMIT_CALLS} and "
        f"{remote.RATE_LIMIT_MS}), so one user's calls never spend everyone's.",
    )


def token_reuse(doctor: Doctor) -> Finding:
    timeout = conf.ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT
    if timeout <= 0:
        return Finding(
            FAIL,
            "off (ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT = 0): every chat opening mints a token",
            "Rocket.Chat drops a user's oldest tokens over its cap, signing them out of their "
            "other devices; set ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT (default 86400).",
        )
    cache = caches[conf.ROCKETCHAT_SSO_CACHE]
    probe_key, probe = f"rocketchat_sso:doctor:{get_random_string(12)}", get_random_string(12)
    cache.set(probe_key, probe, 30)
    kept = cache.get(probe_key) == probe
    cache.delete(probe_key)
    if not kept:
        return Finding(
            FAIL,
            f"the cache {conf.ROCKETCHAT_SSO_CACHE!r} does not keep values",
            "Point ROCKETCHAT_SSO_CACHE at a working shared cache (Redis, Memcached, database).",
        )
    days = doctor.setting(remote.LOGIN_EXPIRATION_DAYS)
    if not isinstance(days, (int, float)) or days <= 0:
        days = DEFAULT_LOGIN_EXPIRATION_DAYS  # Rocket.Chat's fallback for non-positive values
    reuse = f"tokens reused for {timeout / SECONDS_PER_DAY:g} day(s) per session"
    expiry = f"Rocket.Chat expires them after {days:g} day(s)"
    if timeout >= days * SECONDS_PER_DAY / 2:
        return Finding(
            FAIL,
            f"{reuse}; {expiry}",
            f"Lower ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT well below {remote.LOGIN_EXPIRATION_DAYS}.",
        )
    return Finding(OK, f"{reuse}; {expiry}")


def token_records(doctor: Doctor) -> Finding:
    """Rocket.Chat must not keep a token longer than this site keeps what revokes it.

    A phone's token (docs/apps.rst) lives as long as Rocket.Chat's ``Accounts_LoginExpiration``
    allows; its record is dropped after ``ROCKETCHAT_SSO_LOGIN_EXPIRATION_DAYS``. Shorter, and
    a password change or the user's deactivation on the site no longer finds it.
    """
    days = doctor.setting(remote.LOGIN_EXPIRATION_DAYS)
    if not isinstance(days, (int, float)) or days <= 0:
        days = DEFAULT_LOGIN_EXPIRATION_DAYS  # Rocket.Chat's fallback for non-positive values
    kept = conf.ROCKETCHAT_SSO_LOGIN_EXPIRATION_DAYS
    detail = f"kept {kept:g} day(s); Rocket.Chat expires tokens after {days:g} day(s)"
    if kept < days:
        return Finding(
            FAIL,
            detail,
            f"Set ROCKETCHAT_SSO_LOGIN_EXPIRATION_DAYS = {days:g} ({remote.LOGIN_EXPIRATION_DAYS}):"
            " phones' tokens would outlive their record, and a password change would not end "
            "them (docs/apps.rst).",
        )
    return Finding(OK, detail)


# -- the site as Rocket.Chat's browsers reach it: what must hold before iframe login is on -----

SITE_HINT = (
    "This server must reach the site at its public URL (ROCKETCHAT_SSO_SITE_URL or "
    "--site-url) as browsers do; check DNS and the proxy, or run the command where it can."
)
PREFLIGHT_HEADERS = "content-type"  # Rocket.Chat 6.x-7.x sends it, which forces a preflight


def token_preflight(doctor: Doctor) -> Finding:
    """Rocket.Chat's credentialed fetch of the token endpoint, preflighted from its origin."""
    urls = doctor.urls()
    origin = conf.public_origin
    request = {
        "Origin": origin,
        "Access-Control-Request-Method": remote.API_METHOD,
        "Access-Control-Request-Headers": PREFLIGHT_HEADERS,
    }
    try:
        answer = doctor.fetch("OPTIONS", urls.token_url, request)
    except SiteUnreachable as error:
        return Finding(FAIL, str(error), SITE_HINT)
    wrong = []
    if not 200 <= answer.status < 300:
        wrong.append(f"the preflight got {answer.status}")
    allowed = answer.headers.get("access-control-allow-origin")
    if allowed != origin:
        wrong.append(f"Access-Control-Allow-Origin is {allowed!r}, expected {origin!r}")
    credentials = answer.headers.get("access-control-allow-credentials")
    if credentials != "true":
        wrong.append(f"Access-Control-Allow-Credentials is {credentials!r}, expected 'true'")
    if wrong:
        return Finding(
            FAIL,
            f"{urls.token_url}: " + "; ".join(wrong),
            "Put django-cors-headers' CorsMiddleware first in MIDDLEWARE with "
            "CORS_ALLOW_CREDENTIALS = True (docs/installation.rst, 'Installation'), check "
            "ROCKETCHAT_SSO_PUBLIC_URL, and let a proxy in front pass OPTIONS and the "
            "Access-Control-* headers through.",
        )
    return Finding(OK, f"{urls.token_url} allows {origin} with credentials")


def _frame_ancestors(policies: str) -> list[list[str]]:
    """The frame-ancestors sources of each policy in a (possibly comma-joined) CSP header."""
    found = []
    for policy in policies.split(","):
        for directive in policy.split(";"):
            name, _, sources = directive.strip().partition(" ")
            if name.lower() == "frame-ancestors":
                found.append(sources.split())
    return found


def loading_page_framing(doctor: Doctor) -> Finding:
    """The loading page, which Rocket.Chat frames in place of its login form."""
    urls = doctor.urls()
    origin = conf.public_origin
    try:
        answer = doctor.fetch("GET", urls.login_url, {})
    except SiteUnreachable as error:
        return Finding(FAIL, str(error), SITE_HINT)
    wrong = []
    if answer.status != 200:
        wrong.append(f"it answered {answer.status}")
    frame_options = answer.headers.get("x-frame-options", "").upper()
    if "DENY" in frame_options or ("SAMEORIGIN" in frame_options and urls.origin != origin):
        wrong.append(f"X-Frame-Options: {frame_options}")
    for sources in _frame_ancestors(answer.headers.get("content-security-policy", "")):
        if origin not in sources and "*" not in sources:
            wrong.append(f"frame-ancestors {' '.join(sources)} leaves out {origin}")
    if wrong:
        return Finding(
            FAIL,
            f"{urls.login_url}: " + "; ".join(wrong),
            "Rocket.Chat would show a blank or broken login: keep the view's own headers (no "
            "proxy adding X-Frame-Options or frame-ancestors for it); docs/embedding.rst, "
            "'Content Security Policy'.",
        )
    return Finding(OK, f"{urls.login_url} may be framed by {origin}")


def session_cookie(doctor: Doctor) -> Finding:
    """Whether browsers send the session cookie with Rocket.Chat's calls, for this topology."""
    site = urlsplit(doctor.urls().origin)
    chat = urlsplit(conf.public_origin)
    samesite = session_cookie_samesite()
    if cookie_dropped_by_browsers():
        return Finding(
            FAIL,
            "SESSION_COOKIE_SAMESITE is 'None' without SESSION_COOKIE_SECURE",
            "Browsers drop such a cookie: set SESSION_COOKIE_SECURE = True (HTTPS).",
        )
    if same_site(doctor.urls().origin, conf.public_origin):
        return Finding(OK, f"same site as Rocket.Chat: SameSite={samesite} reaches its calls")
    if not samesite_none():
        return Finding(
            FAIL,
            f"{site.hostname} and {chat.hostname} are different sites and "
            f"SESSION_COOKIE_SAMESITE is {samesite!r}: the session never reaches the token "
            "endpoint from Rocket.Chat",
            "Serve Rocket.Chat on a subdomain of the site (recommended), or set "
            "SESSION_COOKIE_SAMESITE = 'None' and SESSION_COOKIE_SECURE = True; docs/flows.rst, "
            "'Browsers, cookies and which flow to use'.",
        )
    return Finding(
        OK,
        "cross-site with SameSite=None; Secure (browsers blocking third-party cookies still "
        "show the loading page's login: embed the chat for those users)",
    )


def mapped_rooms(doctor: Doctor) -> Finding:
    """Rooms from groups (:mod:`rocketchat_sso.rooms`): each mapped room is one the admin can
    manage, or not created yet."""
    from rocketchat_sso.rooms import mapping, membership

    if not mapping.configured():
        return Finding(OK, "no room mapped (ROCKETCHAT_SSO_GROUP_ROOMS)")
    fine, problems = membership.room_problems(doctor.client)
    if problems:
        return Finding(
            FAIL,
            f"the admin cannot manage {', '.join(sorted(problems))}",
            " ".join(problems.values()),
        )
    return Finding(OK, ", ".join(fine))


AFTER_ADMIN = ("admin",)
AFTER_ADMIN_AND_SITE = ("admin", "site_url")
CHECKS: list[Check] = [
    Check("site_url", "This site's URL", site_url),
    Check("reachable", "Rocket.Chat reachable", reachable),
    Check("admin", "Admin credentials", admin_credentials, ("reachable",)),
    Check("two_factor", "Admin token needs no 2FA code", two_factor, AFTER_ADMIN),
    Check("signin_paths", "Sign-in on this Rocket.Chat", signin_paths, AFTER_ADMIN),
    Check("login_method", "Login method", login_method, AFTER_ADMIN),
    Check(
        "email_two_factor", "Password logins need no e-mailed code", email_two_factor, AFTER_ADMIN
    ),
    Check("iframe_login", "Iframe login points at this site", iframe_login, AFTER_ADMIN_AND_SITE),
    Check(
        "iframe_integration",
        "Iframe integration with this site",
        iframe_integration,
        AFTER_ADMIN_AND_SITE,
    ),
    Check("framing", "This site may frame Rocket.Chat", framing, AFTER_ADMIN_AND_SITE),
    Check("rate_limiter", "Rate limiter leaves room for logins", rate_limiter, AFTER_ADMIN),
    Check("token_reuse", "Token reuse", token_reuse, AFTER_ADMIN),
    Check("token_records", "Token records outlast Rocket.Chat's", token_records, AFTER_ADMIN),
    Check("rooms", "Rooms from groups", mapped_rooms, AFTER_ADMIN),
]

AFTER_SITE = ("site_url",)
# What ``rocketchat_sso_configure --enable`` requires before Rocket.Chat hands its login page
# over to this site: a failure here would lock users (and admins) out of Rocket.Chat. The login
# method's check also says whether create_token, the method that scales, is usable, and if not
# what to set; e-mail two-factor would refuse every vouched user's password login.
ENABLE_CHECKS: list[Check] = [
    *(
        check
        for check in CHECKS
        if check.name
        in ("site_url", "reachable", "admin", "two_factor", "login_method", "email_two_factor")
    ),
    Check(
        "token_preflight",
        "Token endpoint answers Rocket.Chat's preflight",
        token_preflight,
        AFTER_SITE,
    ),
    Check(
        "loading_page_framing",
        "Rocket.Chat may frame the loading page",
        loading_page_framing,
        AFTER_SITE,
    ),
    Check(
        "session_cookie", "Session cookie reaches Rocket.Chat's calls", session_cookie, AFTER_SITE
    ),
]


# -- what the commands print ---------------------------------------------------------------

STATUS_WIDTH = 5
LINE_WIDTH = 100  # a terminal's width, less a margin: no finding runs on for a screen
INDENT = " " * (STATUS_WIDTH + 1)


def _wrapped(first: str, text: str, indent: str) -> list[str]:
    """``text`` after ``first``, its own lines kept, each wrapped at :data:`LINE_WIDTH`; the
    lines after the first indented."""
    lines: list[str] = []
    for number, paragraph in enumerate(text.split("\n")):
        lines += textwrap.wrap(
            paragraph,
            LINE_WIDTH,
            initial_indent=first if number == 0 else indent,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [first.rstrip()]
    return lines


def write_findings(command: BaseCommand, findings: Iterable[Finding]) -> int:
    """Print each finding as ``OK|FAIL|SKIP title: detail`` (and a hint under a FAIL), in lines
    of at most :data:`LINE_WIDTH` (a longer detail goes on, indented); returns how many
    failed."""
    styles = {OK: command.style.SUCCESS, FAIL: command.style.ERROR}
    failed = 0
    for finding in findings:
        style = styles.get(finding.status, command.style.WARNING)
        padded = finding.status.ljust(STATUS_WIDTH)
        head = f"{padded} {finding.title}" + (":" if finding.detail else "")
        lines = _wrapped(head + " ", finding.detail, INDENT + "  ") if finding.detail else [head]
        lines[0] = style(padded) + lines[0][len(padded) :]
        if finding.status == FAIL:
            failed += 1
            lines += _wrapped(INDENT + "hint: ", finding.hint, INDENT + "      ")
        for text in lines:
            command.stdout.write(text)
    return failed
