"""The site as deployed, on loopback: separate worker processes, one Rocket.Chat stand-in.

Each site worker is its own gunicorn (one worker process, a few threads) on its own port, so a
test can send every request to the worker it chooses. They share what production shares:
PostgreSQL, Redis and one Rocket.Chat, the stand-in served over HTTP from a process of its own
(inspected through a pipe, so its REST API stays exactly Rocket.Chat's). Used by the
production-shaped tests and by ``benchmarks/multiworker.py``.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.test import Client

from rocketchat_sso.conf import LOGIN_METHOD_CREATE_TOKEN, origin_of
from rocketchat_sso.testing import FakeRocketChat, default_version
from rocketchat_sso.testing.model import FakeRequest, FakeResponse, Fault
from rocketchat_sso.testing.server import RocketChatServer
from rocketchat_sso.testing.versions import RocketChatVersion

ROOT = Path(__file__).resolve().parents[2]
WORKER_SETTINGS = "tests.production.settings"
WSGI_APP = "django.core.wsgi:get_wsgi_application()"
READY_PATH = "/rocketchat/login/"
TOKEN_PATH = "/rocketchat/token/"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 60.0
RETRYABLE_STATUS = 503
TOO_MANY_REQUESTS = 429
JSON_TYPE = "application/json"
# Environment of the workers that the harness sets itself; the rest is inherited.
ENV_DATABASE_URL = "DATABASE_URL"
ENV_REDIS_URL = "REDIS_URL"
ENV_CACHE_PREFIX = "TEST_CACHE_KEY_PREFIX"
ENV_ROCKETCHAT_URL = "ROCKETCHAT_SSO_URL"
ENV_LOGIN_METHOD = "ROCKETCHAT_SSO_LOGIN_METHOD"
ENV_CREATE_TOKEN_SECRET = "ROCKETCHAT_SSO_CREATE_TOKEN_SECRET"
ENV_RECHECK_INTERVAL = "ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL"
# The stand-in's CREATE_TOKENS_FOR_USERS_SECRET (8.x); 7.x gets CREATE_TOKENS_FOR_USERS=true.
CREATE_TOKEN_SECRET = "production-tests-create-token-secret"  # noqa: S105


# Set by tox for the test process; a deployed site runs without them.
TEST_ONLY_ENV = ("PYTHONDEVMODE", "DJANGO_ALLOW_ASYNC_UNSAFE")


def deployed_env() -> dict[str, str]:
    """This process's environment less what only the test process should run with."""
    return {key: value for key, value in os.environ.items() if key not in TEST_ONLY_ENV}


def database_url(settings_dict: dict[str, Any]) -> str:
    """A ``DATABASE_URL`` for the database this test process uses (pytest-django's test one)."""
    user, password = (quote(str(settings_dict[key] or ""), safe="") for key in ("USER", "PASSWORD"))
    host, port = settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or "5432"
    return f"postgres://{user}:{password}@{host}:{port}/{quote(settings_dict['NAME'])}"


def worker_env(
    rocketchat_url: str, *, stand_in: StandIn | None = None, recheck_interval: int | None = None
) -> dict[str, str]:
    """What the workers need to share this process's database and cache keys, and Rocket.Chat.

    With ``stand_in`` the workers sign users in with ``create_token`` against it (the secret
    on 8.x, none on 7.x); without, with the password method. ``recheck_interval``:
    ``ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL``, the app's default (300 s) unless given.
    """
    from django.db import connection

    cache = settings.CACHES["default"]
    env = {
        ENV_DATABASE_URL: database_url(connection.settings_dict),
        ENV_REDIS_URL: cache["LOCATION"],
        ENV_CACHE_PREFIX: cache["KEY_PREFIX"],
        ENV_ROCKETCHAT_URL: rocketchat_url,
    }
    if recheck_interval is not None:
        env[ENV_RECHECK_INTERVAL] = str(recheck_interval)
    if stand_in is not None:
        env[ENV_LOGIN_METHOD] = LOGIN_METHOD_CREATE_TOKEN
        env[ENV_CREATE_TOKEN_SECRET] = stand_in.create_token_secret
    return env


@dataclass(frozen=True)
class RocketChatUser:
    user_id: str
    username: str
    tokens: int  # login tokens stored for the user (personal access tokens included)


@dataclass(frozen=True)
class Snapshot:
    """What the stand-in holds and was asked, at one moment."""

    users: list[RocketChatUser]
    calls: Counter[str]  # "POST /api/v1/login": how many
    refused: Counter[str]  # of those, refused by the rate limiter (429)

    def user(self, username: str) -> RocketChatUser:
        return next(user for user in self.users if user.username == username)

    @property
    def api_calls(self) -> int:
        return sum(self.calls.values())


class _CountingRocketChat(FakeRocketChat):
    """The stand-in, counting what its rate limiter refused (429), by method and path."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.refused: Counter[str] = Counter()

    def handle(self, request: FakeRequest) -> FakeResponse | Fault:
        result = super().handle(request)
        if isinstance(result, FakeResponse) and result.status == TOO_MANY_REQUESTS:
            self.refused[f"{request.method} {request.path}"] += 1
        return result


def _fake(version: str, latency: float) -> _CountingRocketChat:
    """Rocket.Chat at its defaults (rate limiter on), with users.createToken allowed by the
    server's environment as an administrator following the doctor's advice would set it."""
    return _CountingRocketChat(
        version=version,
        latency=latency,
        create_tokens_for_users=True,
        create_tokens_secret=CREATE_TOKEN_SECRET,
    )


def _serve_stand_in(conn: Connection, latency: float, version: str) -> None:
    """The stand-in's process: serve over HTTP, answer the pipe until told to stop."""
    server = RocketChatServer(_fake(version, latency)).start()
    conn.send(server.url)
    try:
        while True:
            command, *args = conn.recv()
            if command == "reset":
                server.fake = _fake(version, args[0])
                conn.send(None)
            elif command == "live":  # which of these (user id, token) does Rocket.Chat hold
                fake = server.fake
                conn.send([token in fake.tokens_of(user_id) for user_id, token in args[0]])
            elif command == "snapshot":
                fake = server.fake
                assert isinstance(fake, _CountingRocketChat)
                users = [
                    (str(doc["_id"]), str(doc["username"]), len(fake.tokens_of(str(doc["_id"]))))
                    for doc in fake.users()
                ]
                calls = Counter(f"{call.method} {call.path}" for call in fake.calls_to())
                conn.send((users, dict(calls), dict(fake.refused)))
            else:
                break
    finally:
        server.stop()


class StandIn:
    """One Rocket.Chat stand-in in its own process, shared by every site worker.

    It plays ``version`` (default: this process's default, the one the test run chose), at
    Rocket.Chat's defaults (rate limiter on): the child is spawned, so nothing is inherited.
    Its environment allows ``users.createToken`` (:data:`CREATE_TOKEN_SECRET` on 8.x,
    ``CREATE_TOKENS_FOR_USERS=true`` on 7.x); the site chooses its login method.
    """

    def __init__(self, latency: float = 0.0, version: str | None = None) -> None:
        self.latency = latency
        self.version = version or str(default_version())
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve_stand_in,
            args=(child, latency, self.version),
            name="rocketchat-stand-in",
            daemon=True,
        )
        self._process.start()
        child.close()
        if not self._conn.poll(START_TIMEOUT):
            self._process.kill()
            raise RuntimeError("The Rocket.Chat stand-in did not start.")
        self.url: str = self._conn.recv()

    def _ask(self, *command: Any) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    def reset(self, latency: float | None = None) -> None:
        """Forget every user, token and call: a brand-new Rocket.Chat."""
        self._ask("reset", self.latency if latency is None else latency)

    @property
    def create_token_secret(self) -> str:
        """What the site sets as ``ROCKETCHAT_SSO_CREATE_TOKEN_SECRET``: empty for 7.x."""
        return CREATE_TOKEN_SECRET if RocketChatVersion.parse(self.version).since(8, 0) else ""

    def live(self, tokens: list[tuple[str, str]]) -> list[bool]:
        """For each (Rocket.Chat user id, token): whether Rocket.Chat still holds the token."""
        return list(self._ask("live", tokens))

    def snapshot(self) -> Snapshot:
        users, calls, refused = self._ask("snapshot")
        return Snapshot([RocketChatUser(*user) for user in users], Counter(calls), Counter(refused))

    def stop(self) -> None:
        if self._process.is_alive():
            self._conn.send(("stop",))
            self._process.join(STOP_TIMEOUT)
        if self._process.is_alive():
            self._process.kill()
        self._conn.close()

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@dataclass
class SiteWorker:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class SiteWorkers:
    """``count`` gunicorn processes of the site, each with one worker, on their own ports.

    The listening socket is bound here and handed to gunicorn, so each port is known before
    the process starts and requests queue until it is ready.
    """

    def __init__(
        self, count: int, env: Mapping[str, str], log_dir: Path, *, threads: int = 4
    ) -> None:
        self.workers: list[SiteWorker] = []
        base_env = {**deployed_env(), "DJANGO_SETTINGS_MODULE": WORKER_SETTINGS, **env}
        # Import what this process imports (pytest's ``pythonpath`` included).
        base_env["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
        try:
            for index in range(count):
                self.workers.append(self._spawn(index, base_env, log_dir, threads))
            for worker in self.workers:
                self._wait_ready(worker)
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _spawn(index: int, env: dict[str, str], log_dir: Path, threads: int) -> SiteWorker:
        listener = socket.create_server(("127.0.0.1", 0), backlog=2048)
        with listener:
            listener.set_inheritable(True)
            host, port = listener.getsockname()[:2]
            log = log_dir / f"worker-{index}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [
                        *(sys.executable, "-m", "gunicorn", WSGI_APP),
                        *("--bind", f"fd://{listener.fileno()}"),
                        *("--workers", "1", "--worker-class", "gthread", "--threads", str(threads)),
                        *("--chdir", str(ROOT), "--timeout", "60", "--graceful-timeout", "5"),
                        *("--log-level", "warning", "--error-logfile", "-"),
                    ],
                    pass_fds=(listener.fileno(),),
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
        return SiteWorker(f"http://{host}:{port}", process, log)

    @staticmethod
    def _wait_ready(worker: SiteWorker) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            try:
                if requests.get(worker.url + READY_PATH, timeout=remaining).ok:
                    return
            except requests.RequestException:
                pass
            if worker.process.poll() is not None or remaining <= 0:
                raise RuntimeError(f"Site worker {worker.url} did not start:\n{worker.log_tail()}")
            time.sleep(0.05)  # the worker died mid-boot or answered early: look again soon

    @property
    def urls(self) -> list[str]:
        return [worker.url for worker in self.workers]

    def __len__(self) -> int:
        return len(self.workers)

    def logs(self) -> str:
        return "\n".join(f"--- {w.url}\n{w.log_tail()}" for w in self.workers)

    def stop(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.terminate()
        for worker in self.workers:
            try:
                worker.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()

    def __enter__(self) -> SiteWorkers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def logged_in_session(user: Any) -> str:
    """A session key of ``user``, stored in the database every worker reads."""
    client = Client()
    client.force_login(user)
    return str(client.cookies[settings.SESSION_COOKIE_NAME].value)


@dataclass(frozen=True)
class Answer:
    """One answer of the token endpoint, as a browser saw it."""

    worker: str
    status: int
    body: dict[str, Any]
    retry_after: str | None

    @property
    def token(self) -> str | None:
        return self.body.get("loginToken")

    @property
    def retryable(self) -> bool:
        """A clean "try again": 503, a JSON error code and a Retry-After."""
        return (
            self.status == RETRYABLE_STATUS
            and isinstance(self.body.get("error"), str)
            and self.retry_after is not None
        )


class Browser:
    """One browser session: its session cookie on every request, as Rocket.Chat's fetch sends."""

    def __init__(self, session_key: str, rocketchat_url: str) -> None:
        self.http = requests.Session()
        self.http.headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={session_key}"
        self.http.headers["Origin"] = origin_of(rocketchat_url)
        # A connection per opening: a kept-alive one may be closed by the worker (gunicorn's
        # 2 s keep-alive) just as the next opening is sent on it, a reset no site bug causes.
        self.http.headers["Connection"] = "close"

    def open_chat(self, worker: str) -> Answer:
        """What Rocket.Chat's web client does on opening: POST the token endpoint."""
        response = self.http.post(worker + TOKEN_PATH, timeout=REQUEST_TIMEOUT)
        body = response.json() if response.headers.get("Content-Type") == JSON_TYPE else {}
        return Answer(worker, response.status_code, body, response.headers.get("Retry-After"))

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.http.close()
