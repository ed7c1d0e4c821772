"""The one place that talks HTTP to Rocket.Chat's REST API.

Every call has a timeout; idempotent calls are retried by urllib3's ``Retry`` on connection
errors and 502/503/504; a call refused by Rocket.Chat's rate limiter (which acted on nothing)
is sent again after a bounded wait; every failure becomes a typed
:mod:`rocketchat_sso.exceptions` error.
Log lines carry the method, path and status only: never headers, bodies, tokens or passwords.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.views.decorators.debug import sensitive_variables
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from rocketchat_sso.conf import conf
from rocketchat_sso.exceptions import (
    RocketChatAPIError,
    RocketChatAuthenticationFailed,
    RocketChatBadResponse,
    RocketChatError,
    RocketChatFieldUnavailable,
    RocketChatLoginBlocked,
    RocketChatLoginTwoFactorRequired,
    RocketChatPermissionDenied,
    RocketChatRateLimited,
    RocketChatTimeout,
    RocketChatTwoFactorRequired,
    RocketChatUnavailable,
    RocketChatUserNotFound,
)
from rocketchat_sso.rocketchat import call_shares, capabilities
from rocketchat_sso.rocketchat.addresses import address_key, same_address
from rocketchat_sso.rocketchat.capabilities import Version
from rocketchat_sso.rocketchat.forwarding import client_address

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"
FIELD_UNAVAILABLE = "error-field-unavailable"
# users.update to a taken username fails in _setUsername with this (saveUserIdentity.ts).
IDENTITY_UNAVAILABLE = "error-could-not-save-identity"
# users.createToken refused (env flag/secret or permission): a 400, not a 403 (createToken.ts).
NOT_AUTHORIZED = "error-not-authorized"
# A request failing the route's schema, e.g. createToken without ``secret``: ``invalid-params``
# ("<ajv message> [invalid-params]") from ``validateParams`` (ApiClass.ts, 7.x and 8.0);
# ``error-invalid-params`` (the bare ajv message) from the typed router the users.* routes moved
# to later in 8.x (packages/http-router/src/Router.ts @3a8f6b5; one later Router answers body
# failures ``invalid-params`` again). Both mean the same: see :func:`invalid_params`.
INVALID_PARAMS = "invalid-params"
ERROR_INVALID_PARAMS = "error-invalid-params"
INVALID_PARAMS_TYPES = frozenset({INVALID_PARAMS, ERROR_INVALID_PARAMS})
# The login route's refusal while Rocket.Chat blocks an account or an address after repeated
# failed logins (apps/meteor/app/authentication/server/startup/index.js, validateLoginAttempt):
# the Meteor error's code arrives as the 401's ``error``. It lasts until the failures are older
# than Block_Multiple_Failed_Logins_Time_To_Unblock_*_In_Minutes (default 5).
LOGIN_BLOCKED = frozenset({"error-login-blocked-for-user", "error-login-blocked-for-ip"})
LOGIN_BLOCKED_RETRY_AFTER = 5 * 60.0
# The login route's refusal of a password login that needs a second factor: the 2fa
# onValidateLogin hook (apps/meteor/app/2fa/server/loginHandler.ts @2052ba6, checkCodeForUser in
# app/2fa/server/code/index.ts @14ba297) throws totp-required without a code (totp-invalid,
# totp-max-attempts with one); the route answers 401 with the Meteor error's code as ``error``.
LOGIN_TWO_FACTOR = frozenset({"totp-required", "totp-invalid", "totp-max-attempts"})
# users.info answers this to a search it cannot do: ``email=`` before 8.6.
INVALID_SEARCH = "Invalid search query."
# users.list's count is clamped to API_Upper_Count_Limit (100 by default).
LIST_PAGE_SIZE = 100
# Paging through users.list stops after this many pages (10,000 users), with a warning.
LIST_MAX_PAGES = 100
INVALID_USER = "error-invalid-user"
# A non-admin asking to create or edit users gets a 400 with this type, not a 403.
ACTION_NOT_ALLOWED = "error-action-not-allowed"
# Recent releases answer an unknown user with this message and no errorType: users.info's
# ``API.v1.failure('User not found.')`` (apps/meteor/app/api/server/v1/users.ts).
USER_NOT_FOUND_MESSAGE = "User not found."
# A twoFactorRequired route called with a token that does not bypass 2FA (ApiClass.ts).
TOTP_REQUIRED = "totp-required"
RETRY_STATUSES = (502, 503, 504)
# What Rocket.Chat's getRequestIP reads first for the client's address (api.ts, 7.x;
# remoteAddressMiddleware.ts, 8.x).
CLIENT_ADDRESS_HEADER = "X-Real-IP"
# Rocket.Chat's window ends at ``x-ratelimit-reset``: wait a little past it, a few times at most.
RATE_LIMIT_MARGIN = 0.05
RATE_LIMIT_MAX_WAITS = 3
JSONDict = dict[str, Any]


@dataclass(frozen=True)
class LoginToken:
    """A Rocket.Chat resume token: what Meteor's ``loginWithToken`` takes."""

    user_id: str
    auth_token: str

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return f"LoginToken(user_id={self.user_id!r}, auth_token='***')"


class RocketChatClient:
    """Rocket.Chat REST client authenticated as the configured admin.

    Build one per unit of work (a request, a command run): it owns a ``requests.Session``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        user_id: str | None = None,
        auth_token: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        rate_limit_wait: float | None = None,
    ) -> None:
        self.base_url = (base_url if base_url is not None else conf.ROCKETCHAT_SSO_URL).rstrip("/")
        self.user_id = user_id if user_id is not None else conf.ROCKETCHAT_SSO_ADMIN_USER_ID
        self.auth_token = auth_token if auth_token is not None else conf.ROCKETCHAT_SSO_ADMIN_TOKEN
        self.timeout = timeout if timeout is not None else conf.ROCKETCHAT_SSO_TIMEOUT
        self._version: Version | None = None
        self.calls = 0  # requests sent (retries not counted), for summaries and benchmarks
        retries = retries if retries is not None else conf.ROCKETCHAT_SSO_RETRIES
        if rate_limit_wait is None:
            rate_limit_wait = conf.ROCKETCHAT_SSO_RATE_LIMIT_WAIT
        # What this client may still spend waiting on the rate limiter: never past the timeout.
        self.rate_limit_budget = max(0.0, min(rate_limit_wait, self.timeout))
        self.session = requests.Session()
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            # Only safe methods are re-sent after a read error or a 5xx: a POST that reached
            # Rocket.Chat may have taken effect. Connection errors are retried for every
            # method, since nothing was sent.
            allowed_methods=frozenset({"GET", "HEAD", "OPTIONS"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=0.1,
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> RocketChatClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- transport ------------------------------------------------------------------------

    @sensitive_variables()
    def _admin_headers(self) -> dict[str, str]:
        return {"X-User-Id": self.user_id, "X-Auth-Token": self.auth_token}

    @sensitive_variables("body", "headers")
    def request(
        self,
        method: str,
        endpoint: str,
        *,
        params: dict[str, str] | None = None,
        body: JSONDict | None = None,
        headers: dict[str, str] | None = None,
        authenticated: bool = True,
    ) -> JSONDict:
        """Call ``endpoint`` (``"users.info"``, or a path from ``/api/``) and return its JSON.

        A 429 is sent again once the limiter's window has passed, if that is within
        :attr:`rate_limit_budget`; any method may be, since Rocket.Chat refused it unread.
        """
        path = endpoint if endpoint.startswith("/") else API_PREFIX + endpoint
        if not authenticated and path.startswith(API_PREFIX):
            # A user's own call: Rocket.Chat counts it in the site's bucket for the route.
            call_shares.take_call(path.removeprefix(API_PREFIX))
        for _ in range(RATE_LIMIT_MAX_WAITS):
            try:
                return self._request(method, path, params, body, headers, authenticated)
            except RocketChatRateLimited as error:
                if error.retry_after is None:
                    raise
                pause = error.retry_after + RATE_LIMIT_MARGIN
                if pause > self.rate_limit_budget:
                    raise
                logger.info("Rocket.Chat rate-limited %s %s; again in %.2f s", method, path, pause)
                self.rate_limit_budget -= pause
                time.sleep(pause)
        return self._request(method, path, params, body, headers, authenticated)

    @sensitive_variables("body", "headers", "all_headers")
    def _request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        body: JSONDict | None,
        headers: dict[str, str] | None,
        authenticated: bool,
    ) -> JSONDict:
        all_headers = {"Accept": "application/json"}
        if authenticated:
            all_headers.update(self._admin_headers())
        elif path.startswith(API_PREFIX) and (address := client_address()):
            # A user's own call (login, /me, logout): the browser's address, if forwarded
            # (rocketchat_sso.web.middleware), names the client to Rocket.Chat's rate limiter.
            all_headers[CLIENT_ADDRESS_HEADER] = address
        all_headers.update(headers or {})
        started = time.monotonic()
        self.calls += 1
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=body,
                headers=all_headers,
                timeout=(self.timeout, self.timeout),
            )
        except requests.RequestException as exc:
            if not _is_timeout(exc):
                logger.warning("Rocket.Chat %s %s failed: %s", method, path, type(exc).__name__)
                raise RocketChatUnavailable(
                    f"Rocket.Chat could not be reached for {method} {path} ({type(exc).__name__})"
                ) from exc
            logger.warning("Rocket.Chat %s %s timed out", method, path)
            raise RocketChatTimeout(
                f"Rocket.Chat did not answer {method} {path} within {self.timeout:g}s"
            ) from exc
        logger.debug(
            "Rocket.Chat %s %s -> %s in %.0f ms",
            method,
            path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return self._parse(method, path, response)

    def _parse(self, method: str, path: str, response: requests.Response) -> JSONDict:
        status = response.status_code
        where = f"{method} {path}"
        try:
            data = response.json()
        except (ValueError, requests.RequestException):
            data = None
        if status == 429:
            raise RocketChatRateLimited(
                f"Rocket.Chat rate-limited {where}", retry_after=_retry_after(response)
            )
        if status >= 500:
            error = RocketChatUnavailable(
                f"Rocket.Chat answered {status} to {where}", status=status
            )
            error.retry_after = _retry_after(response)
            raise error
        if not isinstance(data, dict):
            raise RocketChatBadResponse(
                f"Rocket.Chat answered {status} with a body that is not JSON to {where}",
                status=status,
            )
        message = str(data.get("error") or data.get("message") or "")
        error_type = data.get("errorType")
        error_type = str(error_type) if error_type is not None else None
        if status == 401 and message in LOGIN_BLOCKED:
            error = RocketChatLoginBlocked(
                f"Rocket.Chat has blocked logins ({message}) for {where}",
                status=status,
                error_type=message,
            )
            error.retry_after = LOGIN_BLOCKED_RETRY_AFTER
            raise error
        if status == 401 and message in LOGIN_TWO_FACTOR:
            details = data.get("details")
            factor = details.get("method") if isinstance(details, dict) else None
            raise RocketChatLoginTwoFactorRequired(
                f"Rocket.Chat asks {where} for a second factor ({message}, method "
                f"{factor or 'unknown'}): a password login cannot sign this user in. Use "
                "ROCKETCHAT_SSO_LOGIN_METHOD = 'create_token', or turn off Rocket.Chat's e-mail "
                "two-factor (docs/rocketchat.rst, 'E-mail two-factor')",
                status=status,
                error_type=message,
            )
        if status == 401:
            raise RocketChatAuthenticationFailed(
                f"Rocket.Chat refused the credentials for {where}: {message}",
                status=status,
                error_type=error_type,
            )
        if status == 403:
            raise RocketChatPermissionDenied(
                f"Rocket.Chat refused {where}: {message or 'forbidden'}",
                status=status,
                error_type=error_type,
            )
        if status >= 400 or data.get("success") is False or data.get("status") == "error":
            raise _api_error(where, status, message, error_type)
        return data

    # -- users ----------------------------------------------------------------------------

    def user_info(self, *, user_id: str | None = None, username: str | None = None) -> JSONDict:
        """The Rocket.Chat user by id or username; :class:`RocketChatUserNotFound` if none."""
        params = {"userId": user_id} if user_id is not None else {"username": str(username)}
        return _user_record(self.request("GET", "users.info", params=params).get("user"))

    def user_by_email(self, email: str) -> JSONDict:
        """``users.info?email=`` (Rocket.Chat 8.6+): :class:`RocketChatUserNotFound` if none.

        Older servers refuse the parameter (``"Invalid search query."``): a
        :class:`RocketChatAPIError` with that message.
        """
        return _user_record(self.request("GET", "users.info", params={"email": email}).get("user"))

    def list_users(
        self, *, offset: int = 0, count: int = LIST_PAGE_SIZE, query: str = ""
    ) -> JSONDict:
        """One page of ``users.list`` (by username); ``query`` only for servers before 7.0."""
        params = {"offset": str(offset), "count": str(count)}
        if query:
            params["query"] = query
        answer = self.request("GET", "users.list", params=params)
        users = answer.get("users")
        if not isinstance(users, list):
            raise RocketChatBadResponse("Rocket.Chat's users.list answer has no list of users")
        answer["users"] = [_user_record(user) for user in users]
        return answer

    def find_users_by_email(self, email: str, *, path: str | None = None) -> list[JSONDict]:
        """The users whose address is ``email`` (compared case-insensitively), by ``path``.

        ``path`` is one of :mod:`rocketchat_sso.rocketchat.capabilities`' lookup paths; by default
        the one for the server's version. Whatever the path, only users whose answer actually
        carries the address are returned: a server that ignores a filter cannot hand back someone
        else.
        """
        path = path or capabilities.email_lookup_path(self.version())
        if path in (capabilities.LOOKUP_USERS_INFO_EMAIL, capabilities.LOOKUP_PROBE):
            try:
                found = self.user_by_email(email)
            except RocketChatUserNotFound:
                return []
            except RocketChatAPIError as error:
                if path != capabilities.LOOKUP_PROBE or not _refused_search(error):
                    raise
                path = capabilities.LOOKUP_USERS_LIST_PAGES
            else:
                return [found] if has_address(found, email) else []
        if path == capabilities.LOOKUP_USERS_LIST_QUERY:
            # Mongo compares exactly: ask for the address as typed and lowercased.
            query = json.dumps({"emails.address": {"$in": sorted({email, address_key(email)})}})
            page = self.list_users(count=LIST_PAGE_SIZE, query=query)
            return [user for user in page["users"] if has_address(user, email)]
        return self._page_for_email(email)

    def _page_for_email(self, email: str) -> list[JSONDict]:
        """Page through ``users.list`` (Rocket.Chat 7.0-8.5 have no email lookup), bounded."""
        found: list[JSONDict] = []
        offset = 0
        for page_number in range(1, LIST_MAX_PAGES + 1):
            page = self.list_users(offset=offset, count=LIST_PAGE_SIZE)
            users = page["users"]
            found.extend(user for user in users if has_address(user, email))
            offset += len(users)
            total = page.get("total")
            if not users or (isinstance(total, int) and offset >= total):
                logger.info(
                    "Email lookup paged through %d users in %d users.list call(s)",
                    offset,
                    page_number,
                )
                return found
        logger.warning(
            "Email lookup stopped after %d users.list pages (%d users) without reaching the end; "
            "a user beyond them is not found (Rocket.Chat 8.6+ looks up by email directly)",
            LIST_MAX_PAGES,
            offset,
        )
        return found

    def version(self) -> Version:
        """Rocket.Chat's version, cached (see :mod:`rocketchat_sso.rocketchat.capabilities`)."""
        if self._version is None:
            self._version = capabilities.cached_version()
        if self._version is None:
            self._version = self.server_version()
            capabilities.remember_version(self._version)
        return self._version

    def server_version(self) -> Version:
        """``GET /api/info`` with the admin's headers: the full version (anonymous callers get
        major.minor, getServerInfo.ts)."""
        answer = self.request("GET", "/api/info")
        # Callers with view-statistics (the admin) get {"info": {"version": "8.8.0"}, "version":
        # "8.8.0"}, others {"version": "8.8"} (getServerInfo.ts, removePatchInfo).
        info = answer.get("info")
        version = info.get("version") if isinstance(info, dict) else None
        version = version or answer.get("version")
        return Version(str(version) if isinstance(version, str) else capabilities.UNKNOWN_VERSION)

    @sensitive_variables("password", "body")
    def create_user(
        self,
        *,
        username: str,
        email: str,
        name: str,
        password: str,
        join_default_channels: bool = True,
        verified: bool = False,
    ) -> JSONDict:
        body = {
            "username": username,
            "email": email,
            "name": name,
            "password": password,
            "verified": verified,
            "joinDefaultChannels": join_default_channels,
            "sendWelcomeEmail": False,
            "requirePasswordChange": False,
        }
        return _user_record(self.request("POST", "users.create", body=body).get("user"))

    @sensitive_variables("data", "body")
    def update_user(self, user_id: str, data: JSONDict) -> JSONDict:
        body = {"userId": user_id, "data": data}
        return _user_record(self.request("POST", "users.update", body=body).get("user"))

    def set_active_status(self, user_id: str, active: bool) -> None:
        self.request(
            "POST", "users.setActiveStatus", body={"userId": user_id, "activeStatus": active}
        )

    def delete_user(self, user_id: str) -> None:
        self.request("POST", "users.delete", body={"userId": user_id, "confirmRelinquish": True})

    def logout_user_everywhere(self, user_id: str) -> None:
        """Remove every login token of the user (all devices)."""
        self.request("POST", "users.logout", body={"userId": user_id})

    # -- tokens ---------------------------------------------------------------------------

    @sensitive_variables("password", "body")
    def login(self, *, username: str, password: str) -> LoginToken:
        """Log a user in with a password: ``POST /api/v1/login`` (not as the admin)."""
        return self.login_user(username=username, password=password)[0]

    @sensitive_variables("password", "body")
    def login_user(self, *, username: str, password: str) -> tuple[LoginToken, JSONDict | None]:
        """``POST /api/v1/login``: the token, and the answer's ``data.me`` (the user's own
        record: profile, ``active``, ``roles``) when Rocket.Chat sends it."""
        data = self.request(
            "POST",
            "login",
            body={"username": username, "password": password},
            authenticated=False,
        ).get("data")
        token = _login_token(data, "login")
        me = data.get("me") if isinstance(data, dict) else None
        if isinstance(me, dict) and me.get("_id") == token.user_id:
            try:
                return token, _user_record(me)
            except RocketChatBadResponse:
                pass
        return token, None

    @sensitive_variables("secret", "body")
    def create_token(self, user_id: str, *, secret: str = "") -> LoginToken:
        """``users.createToken`` as the admin: 7.x ``{userId}``, 8.x exactly ``{userId, secret}``
        (the secret being the server's ``CREATE_TOKENS_FOR_USERS_SECRET``)."""
        body = {"userId": user_id}
        if secret:
            body["secret"] = secret
        data = self.request("POST", "users.createToken", body=body)
        return _login_token(data.get("data"), "users.createToken")

    @sensitive_variables("token")
    def revoke_token(self, token: LoginToken) -> None:
        """Remove this one token: ``POST /api/v1/logout`` as the token's own user."""
        self.request(
            "POST",
            "logout",
            headers={"X-User-Id": token.user_id, "X-Auth-Token": token.auth_token},
            authenticated=False,
        )

    @sensitive_variables("token")
    def user_of_token(self, token: LoginToken) -> JSONDict | None:
        """The token's own user (``GET /api/v1/me`` as that user), ``None`` if it is refused.

        Revoked, expired and deactivated users' tokens are all refused with a 401.
        """
        try:
            return self.request(
                "GET",
                "me",
                headers={"X-User-Id": token.user_id, "X-Auth-Token": token.auth_token},
                authenticated=False,
            )
        except RocketChatAuthenticationFailed:
            return None

    def token_is_valid(self, token: LoginToken) -> bool:
        """Whether Rocket.Chat still accepts ``token`` (``GET /api/v1/me``)."""
        return self.user_of_token(token) is not None

    # -- server ---------------------------------------------------------------------------

    def server_info(self) -> JSONDict:
        return self.request("GET", "/api/info", authenticated=False)

    def me(self) -> JSONDict:
        """The admin's own user: proves the admin credentials."""
        return self.request("GET", "me")

    def get_setting(self, setting_id: str) -> Any:
        return self.request("GET", f"settings/{setting_id}").get("value")

    def set_setting(self, setting_id: str, value: Any) -> None:
        self.request("POST", f"settings/{setting_id}", body={"value": value})


def _is_timeout(exc: requests.RequestException) -> bool:
    """A timeout, also when urllib3's Retry gave up on one (requests calls that ConnectionError).

    A refused connection or an unknown host is not one, though urllib3 files its
    ``NewConnectionError`` under its timeouts.
    """
    if isinstance(exc, requests.Timeout):
        return True
    reason = exc.args[0] if exc.args else None
    return (
        isinstance(reason, MaxRetryError)
        and isinstance(reason.reason, Urllib3Timeout)
        and not isinstance(reason.reason, NewConnectionError)
    )


def _retry_after(response: requests.Response) -> float | None:
    """Seconds to wait, from ``Retry-After`` or Rocket.Chat's ``x-ratelimit-reset`` (epoch ms)."""
    header = response.headers.get("Retry-After")
    if header and header.strip().isdigit():
        return float(header)
    reset = response.headers.get("x-ratelimit-reset")
    if reset:
        try:
            return max(0.0, float(reset) / 1000 - time.time())
        except ValueError:
            return None
    return None


def _api_error(where: str, status: int, message: str, error_type: str | None) -> RocketChatError:
    text = f"Rocket.Chat refused {where}: {message}"
    if error_type == FIELD_UNAVAILABLE or (error_type is None and FIELD_UNAVAILABLE in message):
        return RocketChatFieldUnavailable(text, status=status, error_type=FIELD_UNAVAILABLE)
    if error_type == IDENTITY_UNAVAILABLE or (
        error_type is None and IDENTITY_UNAVAILABLE in message
    ):
        return RocketChatFieldUnavailable(text, status=status, error_type=IDENTITY_UNAVAILABLE)
    if error_type == NOT_AUTHORIZED:
        return RocketChatPermissionDenied(text, status=status, error_type=error_type)
    if error_type == TOTP_REQUIRED:
        return RocketChatTwoFactorRequired(text, status=status, error_type=error_type)
    if error_type == ACTION_NOT_ALLOWED:
        return RocketChatPermissionDenied(text, status=status, error_type=error_type)
    if error_type == INVALID_USER or message.rstrip(".") == USER_NOT_FOUND_MESSAGE.rstrip("."):
        return RocketChatUserNotFound(text, status=status, error_type=error_type)
    return RocketChatAPIError(text, status=status, error_type=error_type)


def has_address(rc_user: JSONDict, email: str) -> bool:
    """Whether the Rocket.Chat user's record carries ``email`` (:mod:`.addresses`: ASCII case
    aside; a server that folds more, as a case-insensitive regex may, is not followed)."""
    return any(
        same_address(str(entry.get("address", "")), email) for entry in rc_user.get("emails") or []
    )


def invalid_params(error_type: str | None) -> bool:
    """Whether Rocket.Chat refused the request's parameters against the route's schema, in
    either release's words (:data:`INVALID_PARAMS_TYPES`)."""
    return error_type in INVALID_PARAMS_TYPES


def _refused_search(error: RocketChatAPIError) -> bool:
    """``users.info`` refusing ``email=`` (before 8.6), or a schema refusing the parameter."""
    return invalid_params(error.error_type) or INVALID_SEARCH.rstrip(".") in error.message


def _user_record(value: object) -> JSONDict:
    """A user as Rocket.Chat sends it, with the types the services rely on; else the answer
    is not Rocket.Chat's (a proxy, another version): :class:`RocketChatBadResponse`."""
    if (
        isinstance(value, dict)
        and isinstance(value.get("_id"), str)
        and value["_id"]
        and all(isinstance(value.get(key, ""), str) for key in ("username", "name"))
        and all(isinstance(value.get(key) or [], list) for key in ("emails", "roles"))
        and all(isinstance(entry, dict) for entry in value.get("emails") or [])
    ):
        return dict(value)
    raise RocketChatBadResponse("Rocket.Chat's answer does not hold a user record")


def _login_token(data: object, where: str) -> LoginToken:
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("authToken"), str)
        or not isinstance(data.get("userId"), str)
        or not data["authToken"]
        or not data["userId"]
    ):
        raise RocketChatBadResponse(f"Rocket.Chat's {where} answer has no authToken")
    return LoginToken(user_id=str(data["userId"]), auth_token=str(data["authToken"]))
