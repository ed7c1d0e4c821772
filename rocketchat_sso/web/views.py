"""HTTP endpoints: the token endpoint Rocket.Chat (or our script) calls, and the loading page.

Views stay thin: they read the request and shape the response; the work is in
:mod:`rocketchat_sso.sessions.tokens` and :mod:`rocketchat_sso.accounts.signin`, the guards (method,
origin, fetch metadata, CSRF, signed-in user) and the JSON answer of each failure in
:mod:`rocketchat_sso.web.decorators`.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods

from rocketchat_sso.accounts import lifecycle
from rocketchat_sso.conf import APP_TOKEN_URL_NAME, TOKEN_URL_NAME, conf
from rocketchat_sso.rocketchat import call_shares
from rocketchat_sso.rocketchat.client import RocketChatClient
from rocketchat_sso.sessions import budgets, signout, tokens
from rocketchat_sso.web import csp
from rocketchat_sso.web.decorators import (
    answer_bad_requests,
    answer_errors,
    csrf_protect_json,
    own_origin,
    refuse_foreign_fetch,
    require_active_user,
    require_methods,
    require_origin,
    rocketchat_origin,
)

logger = logging.getLogger(__name__)

TOKEN_METHODS = ("GET", "POST")
LOGOUT_METHODS = ("POST",)
# ``?recheck=1``: ask Rocket.Chat whether the cached token still works before handing it out
# (the loading page always does: Rocket.Chat shows it only when it is not signed in).
RECHECK_PARAMETER = "recheck"
LOGIN_TEMPLATE = "rocketchat_sso/login.html"
HANDOFF_PARAMETER = "handoff"  # the loading page as a top-level window that hands a token back
WINDOW_URL_NAME = "rocketchat_sso:window"  # the same, at a URL of its own
# RocketChat/Rocket.Chat, apps/meteor/client/hooks/iframe/useIframe.ts (commit 2bb1afe):
# ``url += `${separator}client=electron``` when navigator.userAgent contains "Electron".
CLIENT_PARAMETER = "client"
ELECTRON = "electron"

# What the loading page tells a person, by the token endpoint's ``error`` code (or the page's
# own: ``network``, ``login_refused`` when Rocket.Chat refused the token, ``default``). Plain
# words and something to do; the codes themselves are for administrators and logs.
UNREACHABLE = _("The chat server cannot be reached at the moment. Please try again in a minute.")
MISCONFIGURED = _("The chat is not set up correctly. Please let the site's administrators know.")
SITE_BUSY = _("The site is very busy. Please try again in a moment.")
SOMETHING_WRONG = _("Something went wrong. Please try again.")
LOADING_PAGE_REASONS: dict[str, Promise] = {
    "rocketchat_timeout": UNREACHABLE,
    "rocketchat_unavailable": UNREACHABLE,
    "rocketchat_rate_limited": _("The chat is very busy. Please try again in a minute."),
    "rocketchat_login_blocked": _(
        "Chat sign-ins are paused for a few minutes after too many failed attempts. Please try "
        "again in five minutes."
    ),
    "database_unavailable": SITE_BUSY,
    "token_pending": SITE_BUSY,
    "token_cache_unavailable": SITE_BUSY,
    budgets.RECHECK_BUDGET: SITE_BUSY,
    call_shares.SITE_SHARE: _("The chat is very busy. Please try again in a minute."),
    call_shares.USER_SHARE: _(
        "The chat was signed in too often in a short time. Please wait a minute and try again."
    ),
    budgets.MINT_BUDGET: _(
        "The chat was signed in too often in a short time. Please wait a minute and try again."
    ),
    "cross_site_request": MISCONFIGURED,
    "rocketchat_misconfigured": MISCONFIGURED,
    "rocketchat_two_factor_required": MISCONFIGURED,
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
    "rocketchat_signed_out": _("You signed out of the chat."),
    "network": _(
        "The connection to the site was interrupted. Check your connection and try again."
    ),
    "login_refused": _(
        "The chat did not accept the sign-in. Try again; if it keeps failing, please let the "
        "site's administrators know."
    ),
    # A malformed request: never the loading page's own, but its URL can be tampered with.
    "bad_request": SOMETHING_WRONG,
    "too_many_fields": SOMETHING_WRONG,
    "request_too_big": SOMETHING_WRONG,
    "default": SOMETHING_WRONG,
}


# Rocket.Chat's cross-origin fetch carries no CSRF token. The endpoint does change state (it
# may create the Rocket.Chat user, set their password, mint a token), so it answers only
# Rocket.Chat's origin and the site's own (CORS and ``require_origin``), and refuses what
# another site's page made the browser send without ``Origin`` (``refuse_foreign_fetch``).
@csrf_exempt
@never_cache
@answer_bad_requests(logger)
@require_methods(*TOKEN_METHODS)
@require_origin(rocketchat_origin, own_origin, message="This origin may not request tokens.")
@refuse_foreign_fetch("Another site's page may not request tokens.")
@require_active_user
@answer_errors(logger, "No Rocket.Chat token for user %s: %s")
@sensitive_variables("login_token")
def token(request: HttpRequest) -> HttpResponse:
    """Answer ``{"loginToken": ...}`` for the session's own user, as Rocket.Chat expects.

    The session keeps reusing its token while Rocket.Chat accepts it
    (:mod:`rocketchat_sso.sessions.tokens`). The body never carries a ``token`` key: Rocket.Chat
    would run a second, failing login. A user who logged out inside Rocket.Chat gets ``403
    rocketchat_signed_out`` until they ask back in with ``?signin=1``
    (:mod:`rocketchat_sso.sessions.signout`).
    """
    user: Any = request.user
    recheck = request.GET.get(RECHECK_PARAMETER) == "1"
    if signout.asked_to_sign_in(request):
        signout.clear(tokens.ensure_session_key(request.session))
    login_token = tokens.session_login_token(
        request.session, user, recheck=recheck, respect_logout=True
    )
    cookie_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    tokens.save_session(request.session, user, cookie_key=cookie_key)
    return JsonResponse({"loginToken": login_token.auth_token})


@xframe_options_exempt  # Rocket.Chat frames it; frame-ancestors below names who may
@never_cache
@require_http_methods(["GET"])
def login_page(request: HttpRequest) -> HttpResponse:
    """The page Rocket.Chat shows in place of its login form ("Iframe URL").

    Signed in, its script fetches a token and posts it to Rocket.Chat; signed out, it offers
    the site's login, which brings the user back here and on to Rocket.Chat.
    """
    return _loading_page(request, handoff=HANDOFF_PARAMETER in request.GET)


@xframe_options_exempt
@never_cache
@require_http_methods(["GET"])
def sign_in_window(request: HttpRequest) -> HttpResponse:
    """The loading page as the window that signs a framed loading page in ("handoff").

    Its own URL, free of the words Rocket.Chat's desktop app may send to the system browser
    (RocketChat/Rocket.Chat.Electron pull request 3088, ``isAuthenticationPopup``: "login",
    "auth", "sso", ...), so that the window stays in the app (docs/apps_desktop.rst).
    """
    return _loading_page(request, handoff=True)


def _loading_page(request: HttpRequest, *, handoff: bool) -> HttpResponse:
    user: Any = request.user
    login_url = resolve_url(settings.LOGIN_URL)
    site_url = conf.ROCKETCHAT_SSO_SITE_URL + "/" if conf.ROCKETCHAT_SSO_SITE_URL else ""
    site_url = site_url or request.build_absolute_uri("/")
    context = {
        "authenticated": bool(user.is_authenticated),
        "rocketchat_origin": conf.public_origin,
        "rocketchat_url": conf.ROCKETCHAT_SSO_PUBLIC_URL + "/",
        "token_url": reverse(TOKEN_URL_NAME),
        "app_token_url": reverse(APP_TOKEN_URL_NAME),
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
        # Rocket.Chat's desktop app adds ?client=electron to the Iframe URL (useIframe.ts).
        "client": ELECTRON if request.GET.get(CLIENT_PARAMETER) == ELECTRON else "",
        "handoff": handoff,
        "window_url": reverse(WINDOW_URL_NAME),
    }
    response = render(request, LOGIN_TEMPLATE, context)
    # The site's own pages may frame it too: there the chat is embedded and signed out.
    csp.allow_framing_by(response, [csp.SELF, conf.public_origin])
    if handoff:
        # The window the framed page opened hands it the token through window.opener, which
        # Django's default policy ("same-origin") would cut for an opener framed by another site.
        response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response


@csrf_exempt  # checked by csrf_protect_json, which answers in JSON
@never_cache
@answer_bad_requests(logger)
@require_methods(*LOGOUT_METHODS)
@require_origin(own_origin, message="Only this site's pages may log out.")
@csrf_protect_json
@answer_errors(logger, "Could not revoke the Rocket.Chat token of user %s: %s")
def logout(request: HttpRequest) -> HttpResponse:
    """Revoke the session's Rocket.Chat token, for the embed script's ``logout()``.

    The user stays logged in to the site; the next token request mints a new token. Only this
    site's own pages may call it (same origin, CSRF token): Rocket.Chat's origin may not.
    """
    user: Any = request.user
    session_key = request.session.session_key
    if not user.is_authenticated or not session_key:
        return JsonResponse({"revoked": False})
    with RocketChatClient(retries=0) as client:  # the user is waiting: no retries
        revoked = tokens.revoke_session_token(session_key, user, client=client)
    return JsonResponse({"revoked": revoked})


# -- Rocket.Chat's apps (docs/apps.rst) ----------------------------------------------------------

# Which of Rocket.Chat's apps may be handed a token of their own (IssuedToken.app).
APPS = ("mobile",)
APP_PARAMETER = "app"


@csrf_exempt  # checked by csrf_protect_json, which answers in JSON
@never_cache
@answer_bad_requests(logger)
@require_methods("POST")
@require_origin(own_origin, message="Only this site's pages may request an app's token.")
@csrf_protect_json
@require_active_user
@answer_errors(logger, "No Rocket.Chat app token for user %s: %s")
@sensitive_variables("login_token")
def app_token(request: HttpRequest) -> HttpResponse:
    """``{"loginToken": ...}``, a new token for one of Rocket.Chat's apps (``?app=mobile``).

    The loading page asks for it, first-party, when it finds itself the top page of the mobile
    app's sign-in WebView: the app keeps the token long after the WebView's session ends, so it
    is not the session's token (:func:`rocketchat_sso.sessions.tokens.app_login_token`). Only the
    site's own pages may ask (same origin, CSRF token), never Rocket.Chat's origin.
    """
    app = request.GET.get(APP_PARAMETER, "")
    if app not in APPS:
        return JsonResponse(
            {"error": "unknown_app", "message": f"Unknown app; one of: {', '.join(APPS)}."},
            status=400,
        )
    user: Any = request.user
    with RocketChatClient(retries=0) as client:  # the user is waiting: no retries
        login_token = tokens.app_login_token(user, app, client=client)
    return JsonResponse({"loginToken": login_token.auth_token})


@csrf_exempt  # checked by csrf_protect_json, which answers in JSON
@never_cache
@answer_bad_requests(logger)
@require_methods("POST")
@require_origin(own_origin, message="Only this site's pages may sign out of all devices.")
@csrf_protect_json
@require_active_user
@answer_errors(logger, "Could not sign user %s out of all devices: %s")
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """Sign the user out of Rocket.Chat on every device (phones and desktops included).

    For a button on the site's account page: a form POST is redirected to its ``next`` (one
    of the site's own URLs) or ``LOGIN_REDIRECT_URL``; a ``fetch`` asking for JSON gets
    ``{"signedOut": bool}``. The user stays logged in to the site.
    """
    user: Any = request.user
    with RocketChatClient(retries=0) as client:
        signed_out = lifecycle.sign_out_everywhere(user, client=client)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"signedOut": signed_out})
    target = request.POST.get(REDIRECT_FIELD_NAME, "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(target if safe else resolve_url(settings.LOGIN_REDIRECT_URL))
