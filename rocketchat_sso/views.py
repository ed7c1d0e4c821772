"""HTTP endpoints: the token endpoint Rocket.Chat (or our script) calls, and the loading page.

Views stay thin: they read the request and shape the response; the work is in
:mod:`rocketchat_sso.signin`.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods

from rocketchat_sso import budgets, csp, tokens
from rocketchat_sso.client import RocketChatClient
from rocketchat_sso.conf import TOKEN_URL_NAME, conf, origin_of
from rocketchat_sso.exceptions import (
    BudgetExhausted,
    CacheUnavailable,
    RocketChatAccountConflict,
    RocketChatAuthenticationFailed,
    RocketChatBadResponse,
    RocketChatError,
    RocketChatPermissionDenied,
    RocketChatRateLimited,
    RocketChatTimeout,
    RocketChatUnavailable,
    RocketChatUserInactive,
    TokenPending,
)

logger = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = 10
DATABASE_RETRY_AFTER = 1
TOKEN_METHODS = ("GET", "POST")
LOGOUT_METHODS = ("POST",)
# ``?recheck=1``: ask Rocket.Chat whether the cached token still works before handing it out
# (the loading page always does: Rocket.Chat shows it only when it is not signed in).
RECHECK_PARAMETER = "recheck"
LOGIN_TEMPLATE = "rocketchat_sso/login.html"
HANDOFF_PARAMETER = "handoff"  # the loading page as a top-level window that hands a token back
TOKEN_PENDING_RETRY_AFTER = 1  # the other request is nearly done
# Fetch metadata (Sec-Fetch-Site) of requests another site made: an <img>, a link, a form.
FOREIGN_FETCH_SITES = ("cross-site", "same-site")

# What the loading page tells a person, by the token endpoint's ``error`` code (or the page's
# own: ``network``, ``login_refused`` when Rocket.Chat refused the token, ``default``). Plain
# words and something to do; the codes themselves are for administrators and logs.
UNREACHABLE = _("The chat server cannot be reached at the moment. Please try again in a minute.")
MISCONFIGURED = _("The chat is not set up correctly. Please let the site's administrators know.")
SITE_BUSY = _("The site is very busy. Please try again in a moment.")
LOADING_PAGE_REASONS: dict[str, Promise] = {
    "rocketchat_timeout": UNREACHABLE,
    "rocketchat_unavailable": UNREACHABLE,
    "rocketchat_rate_limited": _("The chat is very busy. Please try again in a minute."),
    "database_unavailable": SITE_BUSY,
    "token_pending": SITE_BUSY,
    "token_cache_unavailable": SITE_BUSY,
    budgets.RECHECK_BUDGET: SITE_BUSY,
    budgets.MINT_BUDGET: _(
        "The chat was signed in too often in a short time. Please wait a minute and try again."
    ),
    "cross_site_request": MISCONFIGURED,
    "rocketchat_misconfigured": MISCONFIGURED,
    "rocketchat_error": MISCONFIGURED,
    "rocketchat_bad_response": MISCONFIGURED,
    "origin_not_allowed": MISCONFIGURED,
    "user_inactive": _("Your account is disabled, so you cannot use the chat."),
    "rocketchat_user_inactive": _(
        "Your chat account is deactivated. Please contact the site's administrators."
    ),
    "rocketchat_account_conflict": _(
        "Your chat account could not be matched to your account on this site. Please contact "
        "the site's administrators."
    ),
    "network": _(
        "The connection to the site was interrupted. Check your connection and try again."
    ),
    "login_refused": _(
        "The chat did not accept the sign-in. Try again; if it keeps failing, please let the "
        "site's administrators know."
    ),
    "default": _("Something went wrong. Please try again."),
}


def error_response(
    status: int, code: str, message: str, *, retry_after: float | None = None
) -> JsonResponse:
    """The JSON error every failure of this app answers with: a stable ``error`` code."""
    response = JsonResponse({"error": code, "message": message}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(max(1, round(retry_after)))
    return response


def cache_unavailable_response() -> JsonResponse:
    """The token cache (``ROCKETCHAT_SSO_CACHE``) did not answer: Redis or Memcached down."""
    return error_response(
        503,
        "token_cache_unavailable",
        "The site's cache is not reachable right now.",
        retry_after=DEFAULT_RETRY_AFTER,
    )


def allowed_origin(request: HttpRequest) -> bool:
    """No ``Origin`` (a same-origin GET), this site's own origin, or Rocket.Chat's."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    own = origin_of(request.build_absolute_uri("/"))
    return origin in (own, conf.public_origin)


def foreign_fetch(request: HttpRequest) -> bool:
    """A request without ``Origin`` that the browser says another site made.

    Browsers send ``Origin`` with every cross-origin ``fetch`` (Rocket.Chat's call carries it),
    but not with an ``<img>``, a link or a top-level navigation: those are refused when their
    fetch metadata says they came from another origin. Browsers without fetch metadata send
    none, and an address typed by the user says ``none``.
    """
    if "Origin" in request.headers:
        return False
    return request.headers.get("Sec-Fetch-Site", "").lower() in FOREIGN_FETCH_SITES


def method_not_allowed(allowed: tuple[str, ...]) -> JsonResponse:
    """A JSON 405 with ``Allow`` (``require_http_methods`` would answer in HTML)."""
    refused = error_response(405, "method_not_allowed", f"Use {' or '.join(allowed)}.")
    refused["Allow"] = ", ".join(allowed)
    return refused


def _no_response(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


def csrf_refused(request: HttpRequest) -> bool:
    """Django's CSRF check, answered by the caller in JSON rather than the HTML failure view."""
    middleware = CsrfViewMiddleware(_no_response)
    middleware.process_request(request)
    return middleware.process_view(request, _no_response, (), {}) is not None


def rocketchat_error_response(error: RocketChatError) -> JsonResponse:
    """Map a Rocket.Chat failure to a 4xx/5xx JSON answer with a reason a person can act on."""
    if isinstance(error, RocketChatTimeout):
        return error_response(
            504,
            "rocketchat_timeout",
            "Rocket.Chat did not answer in time.",
            retry_after=DEFAULT_RETRY_AFTER,
        )
    if isinstance(error, RocketChatRateLimited):
        return error_response(
            503,
            "rocketchat_rate_limited",
            "Rocket.Chat is busy; try again shortly.",
            retry_after=error.retry_after if error.retry_after is not None else DEFAULT_RETRY_AFTER,
        )
    if isinstance(error, RocketChatUnavailable):
        if error.status is None or error.status == 503:
            return error_response(
                503,
                "rocketchat_unavailable",
                "Rocket.Chat is not reachable right now.",
                retry_after=error.retry_after or DEFAULT_RETRY_AFTER,
            )
        return error_response(502, "rocketchat_error", "Rocket.Chat answered with an error.")
    if isinstance(error, RocketChatBadResponse):
        return error_response(
            502, "rocketchat_bad_response", "Rocket.Chat's answer could not be understood."
        )
    if isinstance(error, RocketChatUserInactive):
        return error_response(403, "rocketchat_user_inactive", error.message)
    if isinstance(error, RocketChatAccountConflict):
        return error_response(409, "rocketchat_account_conflict", error.message)
    if isinstance(error, (RocketChatAuthenticationFailed, RocketChatPermissionDenied)):
        return error_response(
            502,
            "rocketchat_misconfigured",
            "Rocket.Chat refused this site's credentials; an administrator must check the "
            "settings (python manage.py rocketchat_sso_doctor).",
        )
    return error_response(502, "rocketchat_error", "Rocket.Chat refused the request.")


# Rocket.Chat's cross-origin fetch carries no CSRF token. The endpoint does change state (it
# may create the Rocket.Chat user, set their password, mint a token), so it answers only
# Rocket.Chat's origin and the site's own (CORS and ``allowed_origin``), and refuses what
# another site's page made the browser send without ``Origin`` (``foreign_fetch``).
@csrf_exempt
@never_cache
@sensitive_variables("login_token")
def token(request: HttpRequest) -> HttpResponse:
    """Answer ``{"loginToken": ...}`` for the session's own user, as Rocket.Chat expects.

    The session keeps reusing its token while Rocket.Chat accepts it (:mod:`rocketchat_sso.tokens`).
    The body never carries a ``token`` key: Rocket.Chat would run a second, failing login.
    """
    if request.method not in TOKEN_METHODS:
        return method_not_allowed(TOKEN_METHODS)
    if not allowed_origin(request):
        return error_response(403, "origin_not_allowed", "This origin may not request tokens.")
    if foreign_fetch(request):
        return error_response(
            403, "cross_site_request", "Another site's page may not request tokens."
        )
    user: Any = request.user
    if not user.is_authenticated:
        return error_response(401, "not_authenticated", "Log in to the site first.")
    if not user.is_active:
        return error_response(403, "user_inactive", "This account is disabled.")
    try:
        login_token = tokens.session_login_token(
            request.session, user, recheck=request.GET.get(RECHECK_PARAMETER) == "1"
        )
    except CacheUnavailable as error:
        logger.warning("No Rocket.Chat token for user %s: %s", user.pk, error)
        return cache_unavailable_response()
    except BudgetExhausted as error:
        return error_response(429, error.code, error.message, retry_after=error.retry_after)
    except TokenPending:
        return error_response(
            503,
            "token_pending",
            "Another request of this session is getting the token; try again.",
            retry_after=TOKEN_PENDING_RETRY_AFTER,
        )
    except RocketChatError as error:
        logger.warning("No Rocket.Chat token for user %s: %s", user.pk, error.message)
        return rocketchat_error_response(error)
    except OperationalError as error:  # e.g. SQLite's "database is locked": worth a retry
        logger.warning("No Rocket.Chat token for user %s: database: %s", user.pk, error)
        return error_response(
            503,
            "database_unavailable",
            "The site's database is busy; try again shortly.",
            retry_after=DATABASE_RETRY_AFTER,
        )
    return JsonResponse({"loginToken": login_token.auth_token})


@xframe_options_exempt  # Rocket.Chat frames it; frame-ancestors below names who may
@never_cache
@require_http_methods(["GET"])
def login_page(request: HttpRequest) -> HttpResponse:
    """The page Rocket.Chat shows in place of its login form ("Iframe URL").

    Signed in, its script fetches a token and posts it to Rocket.Chat; signed out, it offers
    the site's login, which brings the user back here and on to Rocket.Chat.
    """
    user: Any = request.user
    login_url = resolve_url(settings.LOGIN_URL)
    site_url = conf.ROCKETCHAT_SSO_SITE_URL + "/" if conf.ROCKETCHAT_SSO_SITE_URL else ""
    site_url = site_url or request.build_absolute_uri("/")
    context = {
        "authenticated": bool(user.is_authenticated),
        "rocketchat_origin": conf.public_origin,
        "rocketchat_url": conf.ROCKETCHAT_SSO_PUBLIC_URL + "/",
        "token_url": reverse(TOKEN_URL_NAME),
        "login_url": login_url,
        "login_next_url": redirect_to_login(request.get_full_path(), login_url)["Location"],
        "redirect_field_name": REDIRECT_FIELD_NAME,
        "csp_nonce": csp.nonce_of(request),
        "reasons": {code: str(text) for code, text in LOADING_PAGE_REASONS.items()},
        # Where a person whose browser refuses the site's cookies in the frame opens the chat.
        "site_url": site_url,
        "site_name": urlsplit(site_url).hostname or site_url,
        # Who framed the page, as the browser says (fetch metadata): "cross-site" when the
        # frame may be kept from the site's cookies; blank where the browser does not say.
        "fetch_site": request.headers.get("Sec-Fetch-Site", ""),
    }
    response = render(request, LOGIN_TEMPLATE, context)
    # The site's own pages may frame it too: there the chat is embedded and signed out.
    csp.allow_framing_by(response, [csp.SELF, conf.public_origin])
    if HANDOFF_PARAMETER in request.GET:
        # The window the framed page opened hands it the token through window.opener, which
        # Django's default policy ("same-origin") would cut for an opener framed by another site.
        response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response


@csrf_exempt  # checked below, to answer a failure in JSON
@never_cache
def logout(request: HttpRequest) -> HttpResponse:
    """Revoke the session's Rocket.Chat token, for the embed script's ``logout()``.

    The user stays logged in to the site; the next token request mints a new token. Only this
    site's own pages may call it (same origin, CSRF token): Rocket.Chat's origin may not.
    """
    if request.method not in LOGOUT_METHODS:
        return method_not_allowed(LOGOUT_METHODS)
    origin = request.headers.get("Origin")
    if origin is not None and origin != origin_of(request.build_absolute_uri("/")):
        return error_response(403, "origin_not_allowed", "Only this site's pages may log out.")
    if csrf_refused(request):
        return error_response(403, "csrf_failed", "The CSRF token is missing or wrong.")
    user: Any = request.user
    session_key = request.session.session_key
    if not user.is_authenticated or not session_key:
        return JsonResponse({"revoked": False})
    try:
        with RocketChatClient(retries=0) as client:  # the user is waiting: no retries
            revoked = tokens.revoke_session_token(session_key, user, client=client)
    except CacheUnavailable as error:
        logger.warning("Could not revoke the Rocket.Chat token of user %s: %s", user.pk, error)
        return cache_unavailable_response()
    return JsonResponse({"revoked": revoked})
