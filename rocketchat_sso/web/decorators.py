"""The endpoints' guards as view decorators, and their failures as JSON.

Every refusal and every failure of the token and logout endpoints answers in JSON with a stable
``error`` code (:func:`error_response`), never Django's HTML 403/405/500: Rocket.Chat's web
client and the embed script read the code. Guards, outermost first as the views stack them:

* :func:`require_methods`: Django's ``require_http_methods``, answering a JSON 405;
* :func:`require_origin`: an ``Origin`` header, when the browser sent one, must be one of the
  named origins;
* :func:`refuse_foreign_fetch`: no ``Origin``, but fetch metadata saying another site made the
  request (an ``<img>``, a link, a form);
* :func:`csrf_protect_json`: Django's ``csrf_protect``, answering a JSON 403;
* :func:`require_active_user`: a signed-in, active user;
* :func:`answer_errors`: the exceptions of :data:`ERROR_ANSWERS` become their JSON answers.

Outermost, :func:`answer_bad_requests` answers what Django would answer with its HTML 400 page
(a malformed request: too many parameters, a body too big or unreadable) and a session store
that fails while the guards read the user, in JSON too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.sessions.exceptions import SessionInterrupted
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.db import OperationalError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    UnreadablePostError,
)
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import decorator_from_middleware

from rocketchat_sso.conf import conf, origin_of
from rocketchat_sso.exceptions import (
    BudgetExhausted,
    CacheUnavailable,
    CallShareExhausted,
    RocketChatAccountConflict,
    RocketChatAuthenticationFailed,
    RocketChatBadResponse,
    RocketChatError,
    RocketChatLoginBlocked,
    RocketChatLoginTwoFactorRequired,
    RocketChatPermissionDenied,
    RocketChatRateLimited,
    RocketChatTimeout,
    RocketChatUnavailable,
    RocketChatUserInactive,
    SessionEnded,
    SignedOutOfRocketChat,
    TokenPending,
)

View = Callable[..., HttpResponse]
V = TypeVar("V", bound=View)

DEFAULT_RETRY_AFTER = 10
DATABASE_RETRY_AFTER = 1
TOKEN_PENDING_RETRY_AFTER = 1  # the other request is nearly done
SESSION_ENDED = "session_ended"
# Fetch metadata (Sec-Fetch-Site) of requests another site made: an <img>, a link, a form.
FOREIGN_FETCH_SITES = ("cross-site", "same-site")


def error_response(
    status: int, code: str, message: str, *, retry_after: float | None = None
) -> JsonResponse:
    """The JSON error every failure of this app answers with: a stable ``error`` code."""
    response = JsonResponse({"error": code, "message": message}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(max(1, round(retry_after)))
    return response


# -- guards ------------------------------------------------------------------------------------


def require_methods(*methods: str) -> Callable[[V], V]:
    """Only ``methods``; others get a JSON 405 with ``Allow`` (``require_http_methods`` would
    answer in HTML)."""

    def decorator(view: V) -> V:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                refused = error_response(405, "method_not_allowed", f"Use {' or '.join(methods)}.")
                refused["Allow"] = ", ".join(methods)
                return refused
            return view(request, *args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorator


def own_origin(request: HttpRequest) -> str:
    """This site's origin, as the request reached it."""
    return origin_of(request.build_absolute_uri("/"))


def rocketchat_origin(request: HttpRequest) -> str:
    """Rocket.Chat's origin as browsers see it (``ROCKETCHAT_SSO_PUBLIC_URL``)."""
    return conf.public_origin


def allowed_origin(request: HttpRequest, *origins: Callable[[HttpRequest], str]) -> bool:
    """No ``Origin`` (a same-origin GET), or one of ``origins`` (computed only as needed)."""
    origin = request.headers.get("Origin")
    return origin is None or any(origin == allowed(request) for allowed in origins)


def require_origin(*origins: Callable[[HttpRequest], str], message: str) -> Callable[[V], V]:
    """A request whose ``Origin`` is none of ``origins`` gets a JSON 403 ``origin_not_allowed``
    (a request without ``Origin`` passes: see :func:`refuse_foreign_fetch`)."""

    def decorator(view: V) -> V:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not allowed_origin(request, *origins):
                return error_response(403, "origin_not_allowed", message)
            return view(request, *args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorator


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


def refuse_foreign_fetch(message: str) -> Callable[[V], V]:
    """What another site's page made the browser send without ``Origin``: a JSON 403
    ``cross_site_request``."""

    def decorator(view: V) -> V:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if foreign_fetch(request):
                return error_response(403, "cross_site_request", message)
            return view(request, *args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorator


class JsonCsrfViewMiddleware(CsrfViewMiddleware):
    """Django's CSRF check, refusing in JSON rather than with ``CSRF_FAILURE_VIEW``'s page."""

    def process_view(  # type: ignore[override]  # the stubs say HttpResponseForbidden: a 403
        self,
        request: HttpRequest,
        callback: Callable[..., HttpResponseBase],
        callback_args: tuple[Any, ...],
        callback_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        refused = super().process_view(request, callback, callback_args, callback_kwargs)
        if refused is None:
            return None
        return error_response(403, "csrf_failed", "The CSRF token is missing or wrong.")


# ``csrf_protect`` with a JSON refusal. The view must also be ``csrf_exempt``, or the site's own
# CsrfViewMiddleware refuses first, in HTML.
csrf_protect_json = cast("Callable[[V], V]", decorator_from_middleware(JsonCsrfViewMiddleware))


def _no_response(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


def csrf_refused(request: HttpRequest) -> bool:
    """Whether Django's CSRF check refuses ``request``."""
    middleware = CsrfViewMiddleware(_no_response)
    middleware.process_request(request)
    return middleware.process_view(request, _no_response, (), {}) is not None


def require_active_user(view: V) -> V:
    """A JSON 401 ``not_authenticated`` for anonymous requests, a 403 ``user_inactive`` for a
    disabled account that a permissive authentication backend let in."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user: Any = request.user
        if not user.is_authenticated:
            return error_response(401, "not_authenticated", "Log in to the site first.")
        if not user.is_active:
            return error_response(403, "user_inactive", "This account is disabled.")
        return view(request, *args, **kwargs)

    return guarded  # type: ignore[return-value]


# -- errors ------------------------------------------------------------------------------------


def _own_code(error: Any) -> str:
    return str(error.code)


def _own_message(error: Any) -> str:
    return str(error.message)


def _own_retry_after(error: Any) -> float:
    return float(error.retry_after)


def _rate_limited_retry_after(error: RocketChatRateLimited) -> float:
    return error.retry_after if error.retry_after is not None else DEFAULT_RETRY_AFTER


def _unavailable_retry_after(error: RocketChatUnavailable) -> float:
    return error.retry_after or DEFAULT_RETRY_AFTER


@dataclass(frozen=True)
class ErrorAnswer:
    """What an exception answers: the status, the ``error`` code and message (fixed, or taken
    from the exception), ``Retry-After`` (none, fixed seconds, or from the exception) and
    whether it is logged (``log``: the warning's detail, ``{error}`` the exception's text;
    None: not logged)."""

    status: int
    code: str | Callable[[Any], str]
    message: str | Callable[[Any], str]
    retry_after: float | Callable[[Any], float] | None = None
    log: str | None = "{error}"

    def response(self, error: BaseException) -> JsonResponse:
        code = self.code if isinstance(self.code, str) else self.code(error)
        message = self.message if isinstance(self.message, str) else self.message(error)
        retry_after = self.retry_after
        if callable(retry_after):
            retry_after = retry_after(error)
        return error_response(self.status, code, message, retry_after=retry_after)


ROCKETCHAT_UNREACHABLE = ErrorAnswer(
    503,
    "rocketchat_unavailable",
    "Rocket.Chat is not reachable right now.",
    retry_after=_unavailable_retry_after,
)
ROCKETCHAT_ANSWERED_AN_ERROR = ErrorAnswer(
    502, "rocketchat_error", "Rocket.Chat answered with an error."
)
ROCKETCHAT_MISCONFIGURED = ErrorAnswer(
    502,
    "rocketchat_misconfigured",
    "Rocket.Chat refused this site's credentials; an administrator must check the "
    "settings (python manage.py rocketchat_sso_doctor).",
)


# e.g. SQLite's "database is locked": worth a retry.
DATABASE_UNAVAILABLE = ErrorAnswer(
    503,
    "database_unavailable",
    "The site's database is busy; try again shortly.",
    retry_after=DATABASE_RETRY_AFTER,
    log="database: {error}",
)
SESSION_ENDED_ANSWER = ErrorAnswer(
    401,
    SESSION_ENDED,
    "You were logged out of the site while the chat was signing you in; log in again.",
    log=None,
)


def _unavailable(error: RocketChatUnavailable) -> ErrorAnswer:
    """No answer or a 503: unreachable, ask again later; another 5xx: an error."""
    if error.status is None or error.status == 503:
        return ROCKETCHAT_UNREACHABLE
    return ROCKETCHAT_ANSWERED_AN_ERROR


# The exceptions the endpoints answer, by class; an exception's answer is that of the first
# class of its MRO found here (others propagate). A value is an answer or a function of the
# exception choosing one.
ERROR_ANSWERS: dict[type[BaseException], ErrorAnswer | Callable[[Any], ErrorAnswer]] = {
    # The token cache (ROCKETCHAT_SSO_CACHE) did not answer: Redis or Memcached down.
    CacheUnavailable: ErrorAnswer(
        503,
        "token_cache_unavailable",
        "The site's cache is not reachable right now.",
        retry_after=DEFAULT_RETRY_AFTER,
    ),
    BudgetExhausted: ErrorAnswer(
        429, _own_code, _own_message, retry_after=_own_retry_after, log=None
    ),
    # Never sent: the user's or the site's share of Rocket.Chat's rate limit is spent.
    CallShareExhausted: ErrorAnswer(
        429, _own_code, _own_message, retry_after=_own_retry_after, log=None
    ),
    SessionEnded: SESSION_ENDED_ANSWER,
    TokenPending: ErrorAnswer(
        503,
        "token_pending",
        "Another request of this session is getting the token; try again.",
        retry_after=TOKEN_PENDING_RETRY_AFTER,
        log=None,
    ),
    # The user logged out inside Rocket.Chat (rocketchat_sso.sessions.signout): no retry, a button.
    SignedOutOfRocketChat: ErrorAnswer(
        403, "rocketchat_signed_out", "You signed out of the chat.", log=None
    ),
    OperationalError: DATABASE_UNAVAILABLE,
    RocketChatTimeout: ErrorAnswer(
        504,
        "rocketchat_timeout",
        "Rocket.Chat did not answer in time.",
        retry_after=DEFAULT_RETRY_AFTER,
    ),
    RocketChatRateLimited: ErrorAnswer(
        503,
        "rocketchat_rate_limited",
        "Rocket.Chat is busy; try again shortly.",
        retry_after=_rate_limited_retry_after,
    ),
    # Repeated failed logins (anyone's, at the account or at this site's address) made
    # Rocket.Chat block logins for a few minutes; never answered by resetting the password.
    RocketChatLoginBlocked: ErrorAnswer(
        503,
        "rocketchat_login_blocked",
        "Rocket.Chat has blocked sign-ins for a few minutes after repeated failed logins.",
        retry_after=_unavailable_retry_after,
    ),
    RocketChatUnavailable: _unavailable,
    # Rocket.Chat's e-mail two-factor (on by default) asks this user's password login for a
    # code: a setup to change, not a wait, and never a reason to replace the password.
    RocketChatLoginTwoFactorRequired: ErrorAnswer(
        502,
        "rocketchat_two_factor_required",
        "Rocket.Chat asks this user's password login for a two-factor code, which this site "
        "cannot give; an administrator must set ROCKETCHAT_SSO_LOGIN_METHOD = 'create_token' "
        "or turn off Rocket.Chat's e-mail two-factor (python manage.py rocketchat_sso_doctor).",
    ),
    RocketChatBadResponse: ErrorAnswer(
        502, "rocketchat_bad_response", "Rocket.Chat's answer could not be understood."
    ),
    RocketChatUserInactive: ErrorAnswer(403, "rocketchat_user_inactive", _own_message),
    RocketChatAccountConflict: ErrorAnswer(409, "rocketchat_account_conflict", _own_message),
    RocketChatAuthenticationFailed: ROCKETCHAT_MISCONFIGURED,
    RocketChatPermissionDenied: ROCKETCHAT_MISCONFIGURED,
    RocketChatError: ErrorAnswer(502, "rocketchat_error", "Rocket.Chat refused the request."),
}


def answer_of(error: BaseException) -> ErrorAnswer | None:
    """The answer :data:`ERROR_ANSWERS` gives ``error``, looked up along its class's MRO."""
    for cls in type(error).__mro__:
        rule = ERROR_ANSWERS.get(cls)
        if rule is not None:
            return rule if isinstance(rule, ErrorAnswer) else rule(error)
    return None


def answer_errors(logger: logging.Logger, message: str) -> Callable[[V], V]:
    """The exceptions of :data:`ERROR_ANSWERS` raised by the view become their JSON answers,
    logged (those whose answer says so) as ``message`` % (the user's pk, the detail)."""

    def decorator(view: V) -> V:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except Exception as error:
                answer = answer_of(error)
                if answer is None:
                    raise
                if answer.log is not None:
                    user_pk = getattr(request.user, "pk", None)
                    logger.warning(message, user_pk, answer.log.format(error=error))
                return answer.response(error)

        return guarded  # type: ignore[return-value]

    return decorator


# What Django answers with its HTML 400 page (``response_for_exception``), by class, looked up
# along the MRO like ERROR_ANSWERS; and the session store failing while the guards read the
# user (the first look at ``request.user`` loads the session).
BAD_REQUEST = ErrorAnswer(400, "bad_request", "The request is malformed.", log=None)
REQUEST_ANSWERS: dict[type[BaseException], ErrorAnswer] = {
    TooManyFieldsSent: ErrorAnswer(
        400,
        "too_many_fields",
        "The request has more parameters than the site accepts (DATA_UPLOAD_MAX_NUMBER_FIELDS).",
        log=None,
    ),
    RequestDataTooBig: ErrorAnswer(
        413,
        "request_too_big",
        "The request body is larger than the site accepts (DATA_UPLOAD_MAX_MEMORY_SIZE).",
        log=None,
    ),
    # SessionMiddleware's, should a save in a view race a logout (tokens.save_session).
    SessionInterrupted: SESSION_ENDED_ANSWER,
    UnreadablePostError: ErrorAnswer(
        400, "bad_request", "The request body could not be read.", log=None
    ),
    MultiPartParserError: ErrorAnswer(
        400, "bad_request", "The request body is not valid multipart data.", log=None
    ),
    SuspiciousOperation: BAD_REQUEST,
    BadRequest: BAD_REQUEST,
    OperationalError: DATABASE_UNAVAILABLE,
}


# Request data past Django's limits: the request cannot be read again for a report.
UNREADABLE_REQUEST = (TooManyFieldsSent, RequestDataTooBig)


def answer_bad_requests(logger: logging.Logger) -> Callable[[V], V]:
    """The exceptions of :data:`REQUEST_ANSWERS` raised anywhere in the view, its guards
    included, become their JSON answers; a ``SuspiciousOperation`` is logged to
    ``django.security.<class>`` as Django logs it, a database failure to ``logger``."""

    def decorator(view: V) -> V:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except Exception as error:
                answer = next(
                    (REQUEST_ANSWERS[c] for c in type(error).__mro__ if c in REQUEST_ANSWERS),
                    None,
                )
                if answer is None:
                    raise
                if isinstance(error, SuspiciousOperation):
                    security = logging.getLogger(f"django.security.{type(error).__name__}")
                    extra: dict[str, Any] = {"status_code": 400}
                    if not isinstance(error, UNREADABLE_REQUEST):
                        # The request goes with the record for the error report (mail_admins),
                        # unless reading its data again is what failed: Django 4.2's reporter
                        # reads request.GET unguarded, and would raise again inside logging.
                        extra["request"] = request
                    security.error(str(error), extra=extra)
                elif answer.log is not None:
                    logger.warning("Endpoint failed: %s", answer.log.format(error=error))
                return answer.response(error)

        return guarded  # type: ignore[return-value]

    return decorator
