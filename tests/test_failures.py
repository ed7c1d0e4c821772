"""Failure injection at the token endpoint: Rocket.Chat down, slow, failing or refusing.

Each fault is played by the stand-in over real HTTP (real sockets, so urllib3's retries,
timeouts and cut connections behave as in production) at each call the endpoint makes, for a
brand-new user and for a linked one. Every case checks the answer (JSON, status, Retry-After),
how often the call was sent (retries bounded, and only for safe calls), Django's own data (no
half-made rows) and that the next request, once Rocket.Chat has recovered, succeeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rocketchat_sso.exceptions import RocketChatTimeout
from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.rocketchat.client import RocketChatClient
from rocketchat_sso.testing import FakeResponse, FakeRocketChat, Fault
from rocketchat_sso.testing.server import RocketChatServer

pytestmark = pytest.mark.django_db

TIMEOUT = 0.25  # seconds: short, so the timeout cases stay fast
RETRIES = 2
USERS_LIST = "/api/v1/users.list"
USERS_INFO = "/api/v1/users.info"
USERS_CREATE = "/api/v1/users.create"
LOGIN = "/api/v1/login"
ME = "/api/v1/me"


def _reset_in(seconds: float) -> dict[str, str]:
    """Rocket.Chat's rate-limit header: when the window resets, in epoch milliseconds."""
    return {"x-ratelimit-reset": str(int((time.time() + seconds) * 1000))}


@dataclass(frozen=True)
class Case:
    """A fault and what the endpoint must answer to it."""

    make: Callable[[], Fault | FakeResponse]
    status: int
    error: str
    retry_after: bool
    retried_if_safe: bool  # urllib3 re-sends a GET after it; a POST never


UNAVAILABLE, TIMED_OUT = "rocketchat_unavailable", "rocketchat_timeout"
RATE_LIMITED = "rocketchat_rate_limited"
BAD_RESPONSE, ERROR = "rocketchat_bad_response", "rocketchat_error"
FAILED = {"success": False, "error": "Something broke"}

CASES = {
    "dropped connection": Case(lambda: Fault.CONNECTION_REFUSED, 503, UNAVAILABLE, True, True),
    "timeout": Case(lambda: Fault.TIMEOUT, 504, TIMED_OUT, True, True),
    "dropped mid-body": Case(lambda: Fault.DROP_MID_BODY, 503, UNAVAILABLE, True, False),
    "non-JSON 200": Case(lambda: Fault.NON_JSON_200, 502, BAD_RESPONSE, False, False),
    "500": Case(lambda: FakeResponse(500, FAILED), 502, ERROR, False, False),
    "502": Case(lambda: FakeResponse(502, FAILED), 502, ERROR, False, True),
    "503": Case(lambda: FakeResponse(503, FAILED), 503, UNAVAILABLE, True, True),
    "429": Case(lambda: FakeResponse(429, FAILED, _reset_in(60)), 503, RATE_LIMITED, True, False),
    "200 success false": Case(lambda: FakeResponse(200, FAILED), 502, ERROR, False, False),
}

# The calls the endpoint makes: (path, method) for a brand-new user, then for a linked one.
# A new user is created first (the address is looked up only if Rocket.Chat says it is taken);
# a linked user's new session only logs in (the login's answer carries the profile).
COLD_CALLS = [(USERS_CREATE, "POST"), (LOGIN, "POST")]
WARM_CALLS = [(LOGIN, "POST")]


@pytest.fixture
def server(rocketchat_server: RocketChatServer, settings: Any) -> Iterator[RocketChatServer]:
    settings.ROCKETCHAT_SSO_TIMEOUT = TIMEOUT
    settings.ROCKETCHAT_SSO_RETRIES = RETRIES
    yield rocketchat_server


def token_of(client: Client) -> Any:
    return client.post(reverse("rocketchat_sso:token"))


def new_session(user: Any) -> Client:
    """Another browser of ``user``: it has no token yet, so its first request logs in (a
    session that already has one reuses it and calls only ``/api/v1/me``)."""
    client = Client()
    client.force_login(user)
    return client


def assert_consistent(fake: FakeRocketChat, user: Any) -> None:
    """Django's rows point at Rocket.Chat users that exist; no second Rocket.Chat user."""
    accounts = list(RocketChatAccount.objects.filter(user=user))
    assert len(accounts) <= 1
    for account in accounts:
        rc_user = fake.user_by_id(account.rocketchat_user_id)
        assert rc_user is not None
        assert rc_user["username"] == account.rocketchat_username
    assert fake.user_by_username(f"alice.{user.pk}") is None


def assert_recovers(fake: FakeRocketChat, client: Client, user: Any) -> str:
    """Once Rocket.Chat is healthy again the next request gets the user's own token."""
    fake.clear_faults()
    response = token_of(client)
    assert response.status_code == 200, response.content
    account = RocketChatAccount.objects.get(user=user)
    assert response.json()["loginToken"] in fake.tokens_of(account.rocketchat_user_id)
    assert account.last_error == ""
    assert_consistent(fake, user)
    return account.rocketchat_user_id


def assert_answer(response: Any, case: Case) -> None:
    assert response.status_code == case.status, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == case.error
    if case.retry_after:
        assert int(response["Retry-After"]) >= 1
    else:
        assert "Retry-After" not in response


def expected_sends(case: Case, method: str) -> int:
    return 1 + RETRIES if case.retried_if_safe and method == "GET" else 1


@pytest.mark.parametrize(("path", "method"), COLD_CALLS)
@pytest.mark.parametrize("name", CASES)
def test_fault_for_a_new_user(
    server: RocketChatServer, signed_in: Client, user: Any, name: str, path: str, method: str
) -> None:
    fake, case = server.fake, CASES[name]
    fake.inject(case.make(), path=path, times=1 + RETRIES)
    started = time.monotonic()
    assert_answer(token_of(signed_in), case)
    sends = expected_sends(case, method)
    assert time.monotonic() - started < sends * TIMEOUT + 1  # bounded: timeouts plus backoff
    assert len(fake.calls_to(path)) == sends
    assert_consistent(fake, user)
    assert_recovers(fake, signed_in, user)
    assert fake.user_by_username("alice") is not None


@pytest.mark.parametrize(("path", "method"), WARM_CALLS)
@pytest.mark.parametrize("name", CASES)
def test_fault_for_a_linked_user(
    server: RocketChatServer, signed_in: Client, user: Any, name: str, path: str, method: str
) -> None:
    fake, case = server.fake, CASES[name]
    assert token_of(signed_in).status_code == 200
    linked = RocketChatAccount.objects.get(user=user).rocketchat_user_id
    fake.reset_calls()
    fake.inject(case.make(), path=path, times=1 + RETRIES)
    browser = new_session(user)
    assert_answer(token_of(browser), case)
    assert len(fake.calls_to(path)) == expected_sends(case, method)
    account = RocketChatAccount.objects.get(user=user)  # the link survives the failure
    assert account.rocketchat_user_id == linked
    assert account.last_error and account.last_error_at is not None
    assert assert_recovers(fake, browser, user) == linked


@pytest.mark.parametrize("name", CASES)
def test_fault_while_checking_a_reused_token(
    server: RocketChatServer, signed_in: Client, user: Any, name: str
) -> None:
    """A session's second request only asks Rocket.Chat whether its token still works
    (``GET /api/v1/me``); a failure there hands out nothing and mints nothing.

    Asked for a recheck (the loading page): with an empty ``/me`` bucket (429) the warm path
    hands out the cached token instead (test_warm_path_rate_limited_hands_out_the_cached_token).
    """
    fake, case = server.fake, CASES[name]
    first = token_of(signed_in).json()["loginToken"]
    fake.reset_calls()
    fake.inject(case.make(), path=ME, times=1 + RETRIES)
    assert_answer(signed_in.post(reverse("rocketchat_sso:token") + "?recheck=1"), case)
    assert len(fake.calls_to(ME)) == expected_sends(case, "GET")
    assert fake.calls_to(LOGIN) == []
    account = RocketChatAccount.objects.get(user=user)
    assert account.last_error and account.last_error_at is not None
    assert_recovers(fake, signed_in, user)
    assert fake.tokens_of(account.rocketchat_user_id) == [first]


def test_rocketchat_not_listening_then_restarted(
    server: RocketChatServer, signed_in: Client, user: Any, settings: Any
) -> None:
    """Connection refused (nothing on the port) is retried, then answered 503; a restarted
    Rocket.Chat on the same address serves the next request."""
    fake = server.fake
    gone = RocketChatServer(fake).start()
    settings.ROCKETCHAT_SSO_URL = gone.url
    address = gone.server_address
    gone.stop()
    started = time.monotonic()
    response = token_of(signed_in)
    assert_answer(response, CASES["dropped connection"])
    assert time.monotonic() - started < 3 * TIMEOUT + 1
    assert not RocketChatAccount.objects.filter(user=user).exists()
    restarted = RocketChatServer(fake, (str(address[0]), int(address[1]))).start()
    try:
        assert_recovers(fake, signed_in, user)
    finally:
        restarted.stop()


def test_revoked_admin_token(
    server: RocketChatServer, signed_in: Client, user: Any, settings: Any
) -> None:
    """A revoked admin token is the site's misconfiguration: 502, no retry, nothing stored."""
    settings.ROCKETCHAT_SSO_ADMIN_TOKEN = "revoked-personal-access-token"
    response = token_of(signed_in)
    assert response.status_code == 502
    assert response.json()["error"] == "rocketchat_misconfigured"
    assert "Retry-After" not in response
    assert len(server.fake.calls) == 1
    assert not RocketChatAccount.objects.filter(user=user).exists()
    settings.ROCKETCHAT_SSO_ADMIN_TOKEN = "admin-personal-access-token"  # the operator fixes it
    assert_recovers(server.fake, signed_in, user)


def test_admin_token_revoked_after_linking(
    server: RocketChatServer, signed_in: Client, user: Any, settings: Any
) -> None:
    assert token_of(signed_in).status_code == 200
    settings.ROCKETCHAT_SSO_ADMIN_TOKEN = "revoked-personal-access-token"
    assert token_of(signed_in).status_code == 200  # reusing a token needs no admin
    server.fake.reset_calls()
    # Nor does a linked user's new session with the password method: it only logs in.
    assert token_of(new_session(user)).status_code == 200
    assert [call.path for call in server.fake.calls] == [LOGIN]
    settings.ROCKETCHAT_SSO_LOGIN_METHOD = "create_token"  # this one needs the admin
    browser = new_session(user)
    response = token_of(browser)
    assert response.status_code == 502
    assert response.json()["error"] == "rocketchat_misconfigured"
    assert RocketChatAccount.objects.filter(user=user).exists()
    settings.ROCKETCHAT_SSO_ADMIN_TOKEN = "admin-personal-access-token"
    settings.ROCKETCHAT_SSO_LOGIN_METHOD = "password"
    assert_recovers(server.fake, browser, user)


@pytest.mark.parametrize("method", ["create_user", "login"])
@pytest.mark.parametrize("login_method", ["password", "create_token"])
def test_answer_lost_after_rocketchat_acted(
    server: RocketChatServer,
    signed_in: Client,
    user: Any,
    settings: Any,
    method: str,
    login_method: str,
) -> None:
    """Rocket.Chat created the user (or issued a token) but the answer never came back: the
    next request adopts the created user rather than failing on the taken name and email (it
    proves the user is its own with the derived password every created user gets)."""
    if login_method == "create_token":
        if method == "login":
            pytest.skip("create_token issues tokens without /login")
        version = server.fake.version
        server.fake = FakeRocketChat(
            version=version, create_tokens_for_users=True, create_tokens_secret="k"
        )
        settings.ROCKETCHAT_SSO_LOGIN_METHOD = "create_token"
        settings.ROCKETCHAT_SSO_CREATE_TOKEN_SECRET = "k" if version.since(8, 0) else ""
    original = getattr(RocketChatClient, method)

    def acted_then_lost(self: RocketChatClient, *args: Any, **kwargs: Any) -> Any:
        original(self, *args, **kwargs)
        raise RocketChatTimeout("Rocket.Chat did not answer in time")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RocketChatClient, method, acted_then_lost)
        assert token_of(signed_in).status_code == 504
    rc_user = server.fake.user_by_username("alice")
    assert rc_user is not None
    assert assert_recovers(server.fake, signed_in, user) == rc_user["_id"]


def test_refused_password_is_repaired_once_not_in_a_loop(
    server: RocketChatServer, signed_in: Client, user: Any
) -> None:
    """A 401 from the login makes the app set the derived password and log in again, once."""
    assert token_of(signed_in).status_code == 200
    fake = server.fake
    fake.reset_calls()
    unauthorized = FakeResponse(401, {"status": "error", "error": "Unauthorized"})
    fake.inject(unauthorized, path=LOGIN, times=10)
    response = token_of(new_session(user))
    assert response.status_code == 502
    assert len(fake.calls_to(LOGIN)) == 2
    assert len(fake.calls_to("/api/v1/users.update")) == 1
    fake.clear_faults()
    fake.inject(unauthorized, path=LOGIN, times=1)
    assert token_of(new_session(user)).status_code == 200


# -- Rocket.Chat's rate limiter against the password method ------------------------------------
# Every session's first request logs in over /api/v1/login, which Rocket.Chat rate-limits per
# client address (default: 10 calls a minute); the admin's own calls bypass the limiter. Each
# request below comes from a new session, as many users' would.


class Clock:
    """Rocket.Chat's clock, started at real time, moved on by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def limited(server: RocketChatServer, calls: int, window_ms: int, clock: Any = None) -> None:
    server.fake = FakeRocketChat(now=clock)  # the limiter is on by default
    server.fake.set_setting("API_Enable_Rate_Limiter_Limit_Calls_Default", calls)
    server.fake.set_setting("API_Enable_Rate_Limiter_Limit_Time_Default", window_ms)


def test_default_rate_limit_answers_a_clear_503_without_waiting(
    server: RocketChatServer, signed_in: Client, user: Any
) -> None:
    clock = Clock()
    limited(server, 10, 60_000, clock)
    for _ in range(10):
        assert token_of(new_session(user)).status_code == 200
    started = time.monotonic()
    response = token_of(signed_in)
    assert time.monotonic() - started < 1  # a minute is past any sane wait: no sleeping
    assert_answer(response, CASES["429"])
    assert 55 <= int(response["Retry-After"]) <= 60
    assert len(server.fake.calls_to(LOGIN)) == 11
    assert RocketChatAccount.objects.get(user=user).last_error
    clock.now += timedelta(minutes=1)  # the window has passed
    assert_recovers(server.fake, signed_in, user)


def test_short_rate_limit_window_is_waited_out(
    server: RocketChatServer, signed_in: Client, user: Any, settings: Any
) -> None:
    settings.ROCKETCHAT_SSO_TIMEOUT = 5
    limited(server, 1, 600)
    assert token_of(signed_in).status_code == 200
    started = time.monotonic()
    response = token_of(new_session(user))
    waited = time.monotonic() - started
    assert response.status_code == 200
    assert 0.3 < waited < 2
    assert len(server.fake.calls_to(LOGIN)) == 3  # the refused one was sent again, once


@pytest.mark.parametrize(
    ("wait_setting", "timeout"),
    [(0, 5), (2, 0.25)],
    ids=["waiting switched off", "timeout is shorter than the window"],
)
def test_rate_limit_wait_is_bounded(
    server: RocketChatServer,
    signed_in: Client,
    user: Any,
    settings: Any,
    wait_setting: float,
    timeout: float,
) -> None:
    settings.ROCKETCHAT_SSO_RATE_LIMIT_WAIT = wait_setting
    settings.ROCKETCHAT_SSO_TIMEOUT = timeout
    limited(server, 1, 600)
    assert token_of(signed_in).status_code == 200
    started = time.monotonic()
    response = token_of(new_session(user))
    assert time.monotonic() - started < 0.3
    assert_answer(response, CASES["429"])
    assert len(server.fake.calls_to(LOGIN)) == 2


def test_rate_limiter_that_keeps_refusing_is_given_up_on(
    server: RocketChatServer, signed_in: Client, user: Any
) -> None:
    """However short each window claims to be, a request waits a bounded number of times."""
    assert token_of(signed_in).status_code == 200
    server.fake.reset_calls()
    started = time.monotonic()
    for _ in range(10):
        server.fake.inject(
            FakeResponse(429, {"success": False}, _reset_in(0.05)), path=LOGIN, times=1
        )
    response = token_of(new_session(user))
    assert_answer(response, CASES["429"])
    assert len(server.fake.calls_to(LOGIN)) == 4
    assert time.monotonic() - started < 2
