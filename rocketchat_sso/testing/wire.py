"""The stand-in's vocabulary, shared by its routes: requests and replies, Rocket.Chat's words for
its errors, and the records of users, tokens, calls and routes.

:mod:`rocketchat_sso.testing.model` (users, tokens, settings) and
:mod:`rocketchat_sso.testing.rooms` (private groups) both build on it, so that the model can make
its groups without the two importing each other. Sources as in :mod:`rocketchat_sso.testing.model`.
"""

from __future__ import annotations

import enum
import json
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from rocketchat_sso.testing import two_factor

API = "/api/v1"
ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"  # Meteor Random.id()
TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"  # Meteor Random.secret()
ID_LENGTH, TOKEN_LENGTH = 17, 43
FORM_TYPE = "application/x-www-form-urlencoded"

INVALID_PARAMS = "invalid-params"
ERROR_INVALID_PARAMS = "error-invalid-params"
FIELD_UNAVAILABLE = "error-field-unavailable"
ACTION_NOT_ALLOWED = "error-action-not-allowed"
FIELD_REQUIRED = "error-the-field-is-required"
INVALID_FIELD = "error-input-is-not-a-valid-field"
INVALID_EMAIL = "error-invalid-email"
INVALID_USER = "error-invalid-user"
INVALID_USER_ID = "error-invalid-user-id"
INVALID_QUERY = "error-invalid-query"
INVALID_SORT = "error-invalid-sort"
NOT_AUTHORIZED = "error-not-authorized"
COULD_NOT_SAVE_IDENTITY = "error-could-not-save-identity"
USER_PARAM_MISSING = "error-user-param-not-provided"
TOO_MANY_REQUESTS = "error-too-many-requests"
TOTP_REQUIRED = "totp-required"
NOT_ACTIVATED = "error-user-is-not-activated"
SAVE_USER_METHOD = "insertOrUpdateUser"

MSG_NOT_LOGGED_IN = "You must be logged in to do this."
MSG_NO_PERMISSION = "User does not have the permissions required for this action"
MSG_USER_NOT_FOUND = "User not found"
MSG_LOGGED_OUT = "You've been logged out!"
MSG_BAD_USER_PARAM = 'The required "userId" or "username" param provided does not match any users'
MSG_NO_USER_PARAM = 'The required "userId" or "username" param was not provided'
MSG_LAST_ADMIN = "Leaving the app without an active admin is not allowed"
# Meteor's resume login handler (accounts-base accounts_server.js, defaultResumeLoginHandler).
MSG_RESUME_UNKNOWN = "You've been logged out by the server. Please log in again."
MSG_RESUME_EXPIRED = "Your session has expired. Please log in again."


LIST_DEFAULT_COUNT, LIST_MAX_COUNT = 50, 100  # settings API_Default_Count, API_Upper_Count_Limit


class Fault(enum.Enum):
    """Transport-level failures; each transport turns them into its own exception or reply."""

    CONNECTION_REFUSED = "connection-refused"
    TIMEOUT = "timeout"  # the call hangs past the client's timeout
    DROP_MID_BODY = "drop-mid-body"
    NON_JSON_200 = "non-json-200"  # a proxy's HTML page with status 200


@dataclass
class FakeRequest:
    """What a transport received; header names are stored lower-case (HTTP is case-blind)."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    client: str = "127.0.0.1"  # rate limits count per client address

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self.headers = {key.lower(): value for key, value in self.headers.items()}

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class FakeResponse:
    """A reply: status, JSON-serialisable body and extra headers."""

    status: int
    body: object
    headers: dict[str, str] = field(default_factory=dict)

    def json_bytes(self) -> bytes:
        return json.dumps(self.body).encode()


class Reply(Exception):
    """Answer at once from deep inside a handler, as a thrown Meteor.Error does in Rocket.Chat."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(status)
        self.response = FakeResponse(status, body, dict(headers or {}))
        self.error_type = ""  # the Meteor error of a refused login, whatever the body shows


def ok(**fields: Any) -> FakeResponse:
    """``API.v1.success(fields)``: 200 with ``success: true`` added (ApiClass.ts)."""
    return FakeResponse(200, {**fields, "success": True})


def failure(message: str) -> Reply:
    """``API.v1.failure('text')``: 400 without errorType (ApiClass.ts)."""
    return Reply(400, {"success": False, "error": message})


def meteor_error(error_type: str, reason: str, details: dict[str, Any] | None = None) -> Reply:
    """A Meteor.Error caught by the route wrapper: 400, text ends ``[type]`` (ApiClass.ts)."""
    body: dict[str, Any] = {"success": False, "error": f"{reason} [{error_type}]"}
    body["errorType"] = error_type
    if details:
        body["details"] = details
    return Reply(400, body)


def random_string(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def iso_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(eq=False)
class _Token:
    token: str
    when: datetime
    personal: bool = False  # a personal access token: never expires, not capped
    bypass_two_factor: bool = False


@dataclass(eq=False)
class User:
    doc: dict[str, Any]  # the public record, returned live by the test helpers
    password_hash: str | None = None
    tokens: list[_Token] = field(default_factory=list)
    email2fa: bool = False  # services.email2fa.enabled (:mod:`.two_factor`)
    email_code: two_factor.EmailCode | None = None  # services.emailCode


@dataclass
class Call:
    request: FakeRequest
    params: dict[str, Any] = field(default_factory=dict)
    user: User | None = None
    token: _Token | None = None
    arg: str = ""  # the ``:_id`` of ``settings/:_id``


@dataclass
class Route:
    handler: Callable[[Call], FakeResponse]
    auth: bool = True
    permission: str | None = None  # ``permissionsRequired``: 403 ``[error-unauthorized]``
    two_factor: bool = False
    key: str = ""  # the rate limiter's route name: ``/api/v1/<route pattern><method>``
