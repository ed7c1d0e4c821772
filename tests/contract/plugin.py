"""The contract tests' harness: a live Rocket.Chat, or the stand-in in its own process.

``pytest --rocketchat-url=URL`` (or ``ROCKETCHAT_LIVE_URL``) with the admin's personal access
token (``--rocketchat-admin-user-id``/``--rocketchat-admin-token``) or password
(``--rocketchat-admin-user``/``--rocketchat-admin-password``) runs the tests marked
``contract`` against that server, and only those. Without a URL they run against the stand-in
served over HTTP from a process of its own, configured as the compose file configures a real
one (``tests/contract/standin.py``), so the harness itself is exercised on every run.

Rocket.Chat's rate limiter stays at its defaults: the admin's calls are exempt
(``api-bypass-rate-limit``), and every call made with a throwaway user's credentials goes through
one :class:`Pacer` per run, which keeps each route within the server's limit (read from its
settings) by waiting for the server's window to pass (its ``x-ratelimit-*`` headers say when:
Meteor's limiter resets on one clock, not from this run's first call), and waits once more if
Rocket.Chat still answers 429. At the defaults the subset waits for the login route's window
twice (21 user logins, 10 of them the failures that block a user; see ``test_contract.py``).
Every throwaway user is named ``rocketchat-sso-contract-<random>`` and deleted after its test;
one that cannot be deleted fails the test, naming it.
"""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from django.utils.crypto import get_random_string

from rocketchat_sso.exceptions import (
    RocketChatError,
    RocketChatRateLimited,
    RocketChatUserNotFound,
)
from rocketchat_sso.rocketchat.capabilities import Version
from rocketchat_sso.rocketchat.client import API_PREFIX, JSONDict, RocketChatClient
from rocketchat_sso.testing.versions import default_version

MARKER = "contract"
PREFIX = "rocketchat-sso-contract-"
DOMAIN = "rocketchat-sso-contract.invalid"  # RFC 2606: never delivered
STAND_IN_SECRET = "contract-create-tokens-secret"  # the stand-in's CREATE_TOKENS_FOR_USERS_SECRET
STAND_IN_ADMIN_ID = "rcadmin0000000001"
STAND_IN_ADMIN_TOKEN = "admin-personal-access-token"  # noqa: S105 - the stand-in's fixed PAT
ROOT = Path(__file__).resolve().parents[2]
# (option, environment variable, help)
OPTIONS = (
    ("--rocketchat-url", "ROCKETCHAT_LIVE_URL", "a live Rocket.Chat to run the contract tests on"),
    ("--rocketchat-admin-user-id", "ROCKETCHAT_LIVE_ADMIN_USER_ID", "its admin's user id"),
    ("--rocketchat-admin-token", "ROCKETCHAT_LIVE_ADMIN_TOKEN", "a personal access token of the "
     "admin, created with 'Ignore Two Factor Authentication'"),
    ("--rocketchat-admin-user", "ROCKETCHAT_LIVE_ADMIN_USER", "or the admin's username ..."),
    ("--rocketchat-admin-password", "ROCKETCHAT_LIVE_ADMIN_PASSWORD", "... and password"),
    ("--rocketchat-create-token-secret", "ROCKETCHAT_LIVE_CREATE_TOKEN_SECRET",
     "the server's CREATE_TOKENS_FOR_USERS_SECRET (8.x), if set"),
    ("--rocketchat-create-tokens", "ROCKETCHAT_LIVE_CREATE_TOKENS",
     "'true' if the server runs with CREATE_TOKENS_FOR_USERS=true (7.x)"),
)  # fmt: skip
DEFAULT_LIMIT = (10, 60_000)  # API_Enable_Rate_Limiter_Limit_Calls_Default / _Time_Default
MAX_WAIT = 70.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rocketchat-live", "contract tests against a live Rocket.Chat")
    for option, env, text in OPTIONS:
        group.addoption(option, help=f"{text} (${env})")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: a request the app makes and the answer it relies on; with "
        "--rocketchat-url it runs against that Rocket.Chat (docs/before-you-switch-on.rst)",
    )


def option(config: pytest.Config, name: str) -> str:
    env = next(env for opt, env, _ in OPTIONS if opt == name)
    return str(config.getoption(name) or os.environ.get(env) or "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Against a live server only the contract tests run: the rest assume the stand-in."""
    if not option(config, "--rocketchat-url"):
        return
    keep = [item for item in items if item.get_closest_marker(MARKER)]
    dropped = [item for item in items if not item.get_closest_marker(MARKER)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_report_header(config: pytest.Config) -> str:
    url = option(config, "--rocketchat-url")
    where = url or f"the stand-in ({default_version()}) in its own process"
    return f"Contract tests (-m {MARKER}) run against: {where}"


LIVE_KEY = pytest.StashKey["Live"]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """What the run spent on the limiter: user calls per route, and any wait for a window."""
    live = config.stash.get(LIVE_KEY, None)
    if live is None:
        return
    routes = ", ".join(f"{route} {count:g}" for route, (_, count) in live.pacer.windows.items())
    terminalreporter.write_line(
        f"contract: user calls per route in the last window: {routes or 'none'}; "
        f"waited {live.pacer.waited:.1f} s for the rate limiter (limit {live.pacer.limit})"
    )


@dataclass
class Pacer:
    """Keeps the calls made with user credentials within the limiter's calls per window, per
    route.

    Meteor's RateLimiter resets a route's counters on one clock, from the server's start, not
    when this run's first call came (meteor/meteor packages/rate-limit/rate-limit.js @03f21b3,
    as the stand-in plays it): only the server knows when its window ends. So each answer's
    ``x-ratelimit-remaining`` (``numInvocationsLeft``) and ``x-ratelimit-reset`` (epoch ms:
    now + ``timeToReset``), which ``enforceRateLimit`` sets on every counted call
    (RocketChat/Rocket.Chat apps/meteor/app/api/server/ApiClass.ts @019378e), decide when to
    wait; the run's own count, from its first call, decides only where the server sent none.
    """

    limit: tuple[int, int] | None
    windows: dict[str, list[float]] = field(default_factory=dict)
    waited: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: Callable[[], float] = time.time  # epoch seconds, as x-ratelimit-reset is
    sleep: Callable[[float], None] = time.sleep
    # route -> (calls left, when the server's window resets), from its last answer
    server: dict[str, tuple[int, float]] = field(default_factory=dict)

    def before(self, route: str) -> None:
        if self.limit is None:
            return
        calls, window_ms = self.limit
        window = window_ms / 1000
        with self.lock:
            now = self.clock()
            start, count = self.windows.get(route, [now, 0.0])
            if now - start >= window:
                start, count = now, 0.0
            if route in self.server:
                left, reset = self.server[route]
                full = left <= 0 and now < reset
                until = reset
            else:
                full, until = count >= calls, start + window
            if full:
                pause = until - now + 0.5
                self.waited += pause
                self.sleep(pause)
                start, count = self.clock(), 0.0
                self.server.pop(route, None)
            self.windows[route] = [start, count + 1]

    def note(self, route: str, headers: Mapping[str, str]) -> None:
        """The server's count after a call, if it sent one."""
        try:
            left = int(headers["x-ratelimit-remaining"])
            reset = float(headers["x-ratelimit-reset"]) / 1000
        except (KeyError, ValueError):
            return
        with self.lock:
            self.server[route] = (left, reset)


class PacedClient(RocketChatClient):
    """The app's client, its calls with user credentials paced; one 429 is waited out."""

    pacer: Pacer

    def request(self, method: str, endpoint: str, **kwargs: Any) -> JSONDict:
        path = endpoint if endpoint.startswith("/") else API_PREFIX + endpoint
        if kwargs.get("authenticated", True) is False:
            route = f"{method} {path}"
            self.pacer.before(route)
            hook = self._noter(route)
            self.session.hooks["response"].append(hook)
            try:
                return self._paced(method, endpoint, **kwargs)
            finally:
                self.session.hooks["response"].remove(hook)
        return self._paced(method, endpoint, **kwargs)

    def _paced(self, method: str, endpoint: str, **kwargs: Any) -> JSONDict:
        try:
            return super().request(method, endpoint, **kwargs)
        except RocketChatRateLimited as error:
            if error.retry_after is None or error.retry_after > MAX_WAIT:
                raise
            self.pacer.waited += error.retry_after
            self.pacer.sleep(error.retry_after + 0.5)
            return super().request(method, endpoint, **kwargs)

    def _noter(self, route: str) -> Callable[..., None]:
        def note(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            self.pacer.note(route, response.headers)

        return note


@dataclass
class Live:
    """The Rocket.Chat the contract tests run against, and how it is configured."""

    url: str
    admin_user_id: str
    admin_token: str
    version: Version
    stand_in: bool
    create_tokens: bool  # 7.x: CREATE_TOKENS_FOR_USERS=true
    create_token_secret: str  # 8.x: CREATE_TOKENS_FOR_USERS_SECRET
    pacer: Pacer

    def client(self, **kwargs: Any) -> PacedClient:
        kwargs.setdefault("user_id", self.admin_user_id)
        kwargs.setdefault("auth_token", self.admin_token)
        client = PacedClient(self.url, **kwargs)
        client.pacer = self.pacer
        return client

    @property
    def create_token_configured(self) -> bool:
        if self.version.before((8, 0)):
            return self.create_tokens
        return bool(self.create_token_secret)


def _start_stand_in(admin_user: str, admin_password: str) -> tuple[subprocess.Popen[str], str]:
    # Isolated (-I): neither the working directory nor PYTHONPATH comes first on sys.path, so
    # rocketchat_sso is the one installed (tox: the wheel); the repository root goes last, for
    # tests.contract.standin alone.
    code = (
        f"import sys; sys.path.append({str(ROOT)!r}); "
        "from tests.contract.standin import main; main()"
    )
    command = [
        sys.executable, "-I", "-c", code,
        "--rocketchat-version", str(default_version()),
        "--create-tokens-secret", STAND_IN_SECRET,
    ]  # fmt: skip
    if admin_user:
        command += ["--admin-user", admin_user, "--admin-password", admin_password]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("Rocket.Chat stand-in"):
        process.kill()
        raise RuntimeError(f"the stand-in did not start: {line!r}")
    return process, line.split()[-1]  # serve()'s announcement ends with the URL


def _admin_login(url: str, user: str, password: str, pacer: Pacer) -> tuple[str, str]:
    """The admin's login token from its password: one /login call, paced like a user's."""
    client = PacedClient(url, user_id="", auth_token="")
    client.pacer = pacer
    with client:
        token = client.login(username=user, password=password)
    return token.user_id, token.auth_token


def _rate_limit(client: RocketChatClient) -> tuple[int, int] | None:
    """The server's default limit (the admin may read settings); Rocket.Chat's if unreadable."""
    try:
        if client.get_setting("API_Enable_Rate_Limiter") is False:
            return None
        calls = int(client.get_setting("API_Enable_Rate_Limiter_Limit_Calls_Default"))
        window = int(client.get_setting("API_Enable_Rate_Limiter_Limit_Time_Default"))
    except (RocketChatError, TypeError, ValueError):
        return DEFAULT_LIMIT
    return calls, window


@pytest.fixture(scope="session")
def live(pytestconfig: pytest.Config) -> Iterator[Live]:
    url = option(pytestconfig, "--rocketchat-url")
    admin_user = option(pytestconfig, "--rocketchat-admin-user")
    admin_password = option(pytestconfig, "--rocketchat-admin-password")
    process = None
    if not url:
        process, url = _start_stand_in(admin_user, admin_password)
    pacer = Pacer(DEFAULT_LIMIT)
    logged_in = False
    try:
        if admin_user:
            user_id, token = _admin_login(url, admin_user, admin_password, pacer)
            logged_in = True
        elif process is not None:
            user_id, token = STAND_IN_ADMIN_ID, STAND_IN_ADMIN_TOKEN
        else:
            user_id = option(pytestconfig, "--rocketchat-admin-user-id")
            token = option(pytestconfig, "--rocketchat-admin-token")
            if not (user_id and token):
                raise pytest.UsageError(
                    "--rocketchat-url needs the admin's --rocketchat-admin-user-id and "
                    "--rocketchat-admin-token, or --rocketchat-admin-user and "
                    "--rocketchat-admin-password"
                )
        with RocketChatClient(url, user_id=user_id, auth_token=token) as admin:
            version = admin.server_version()
            pacer.limit = _rate_limit(admin)
        found = Live(
            url=url,
            admin_user_id=user_id,
            admin_token=token,
            version=version,
            stand_in=process is not None,
            create_tokens=process is not None
            or option(pytestconfig, "--rocketchat-create-tokens").lower() in ("1", "true", "yes"),
            create_token_secret=STAND_IN_SECRET
            if process is not None
            else option(pytestconfig, "--rocketchat-create-token-secret"),
            pacer=pacer,
        )
        pytestconfig.stash[LIVE_KEY] = found
        yield found
        if logged_in:  # the admin's session of this run, not its other ones
            with RocketChatClient(url, user_id=user_id, auth_token=token) as admin:
                admin.request("POST", "logout")
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)


@dataclass
class Throwaway:
    """A Rocket.Chat user a contract test created (and the clean-up deletes)."""

    id: str
    username: str
    email: str
    password: str
    record: JSONDict


class Contract:
    """One test's view of the server: the admin's client, throwaway users, their clean-up."""

    def __init__(self, live: Live) -> None:
        self.live = live
        self.version = live.version
        self.admin = live.client()
        self.usernames: list[str] = []

    def name(self) -> str:
        """A fresh throwaway username, remembered for the clean-up."""
        username = PREFIX + get_random_string(12, string.ascii_lowercase + string.digits)
        self.usernames.append(username)
        return username

    def email(self, username: str) -> str:
        return f"{username}@{DOMAIN}"

    def user(self, *, verified: bool = False) -> Throwaway:
        """A plain user, not verified by default (a verified address would get e-mail 2FA at
        every password login on a default Rocket.Chat), in no channel."""
        username = self.name()
        password = secrets.token_urlsafe(18) + "aA1!"
        record = self.admin.create_user(
            username=username,
            email=self.email(username),
            name="Contract test",
            password=password,
            join_default_channels=False,
            verified=verified,
        )
        return Throwaway(str(record["_id"]), username, self.email(username), password, record)

    def client(self, **kwargs: Any) -> PacedClient:
        return self.live.client(**kwargs)

    def clean_up(self) -> None:
        """Delete every throwaway user of the test, found by its exact random username."""
        leftovers = []
        for username in self.usernames:
            try:
                record = self.admin.user_info(username=username)
            except RocketChatUserNotFound:
                continue
            except RocketChatError as error:
                leftovers.append(f"{username} (not looked up: {error.message})")
                continue
            try:
                self.admin.delete_user(str(record["_id"]))
            except RocketChatError as error:
                leftovers.append(f"{username}, id {record['_id']} ({error.message})")
        self.admin.close()
        if leftovers:
            pytest.fail("Delete these throwaway users by hand: " + "; ".join(leftovers))


@pytest.fixture
def contract(live: Live, settings: Any) -> Iterator[Contract]:
    """The live server (or the stand-in's process) for one test; the app's settings point at
    it, so the app's own code can be run against it too."""
    settings.ROCKETCHAT_SSO_URL = live.url
    settings.ROCKETCHAT_SSO_PUBLIC_URL = live.url
    settings.ROCKETCHAT_SSO_ADMIN_USER_ID = live.admin_user_id
    settings.ROCKETCHAT_SSO_ADMIN_TOKEN = live.admin_token
    settings.ROCKETCHAT_SSO_JOIN_DEFAULT_CHANNELS = False  # no "joined" line in anyone's channel
    settings.ROCKETCHAT_SSO_CREATE_TOKEN_SECRET = (
        "" if live.version.before((8, 0)) else live.create_token_secret
    )
    contract = Contract(live)
    try:
        yield contract
    finally:
        contract.clean_up()
