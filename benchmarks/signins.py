#!/usr/bin/env python
"""Sign-ins per minute against Rocket.Chat at its defaults, password vs ``create_token``.

A sign-in is a Django session's first chat opening (``POST /rocketchat/token/``), either of a
user Rocket.Chat already knows (*known*: a new session of a linked user) or of a brand-new
user (*new*: the Rocket.Chat user is created). The Rocket.Chat stand-in runs over HTTP in a
process of its own, at Rocket.Chat's defaults: its REST rate limiter on, 10 calls per 60 s per
route and client address, the admin's calls exempt. The site (``benchmarks/settings.py``) is
served by Django's threaded WSGI server in this process, on loopback.

Simulated browsers sign in one after the other, as many at once as ``--browsers``; a browser
told to wait (a JSON 503 or 429 with ``Retry-After``) waits that long and asks again, as the
loading page and the embed script do. Each run is bounded by ``--seconds`` and
``--max-signins``. Reported per Rocket.Chat version, login method and kind: sign-ins per
minute, the site's answers, the calls Rocket.Chat's limiter refused, and whether Rocket.Chat
still holds every token handed out.

    python benchmarks/signins.py                         # 8.8, both methods, both kinds
    python benchmarks/signins.py --versions 8.8 7.10 --seconds 60
    python benchmarks/signins.py --smoke --json          # seconds
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "example_project")]

from benchmarks.needs import BenchmarkFailed, describe, require, stop  # noqa: E402

os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"

RC_ORIGIN = "https://chat.example.com"
TOKEN_PATH = "/rocketchat/token/"
JSON_TYPE = "application/json"
KNOWN, NEW = "known", "new"
PASSWORD, CREATE_TOKEN = "password", "create_token"
WAIT_STATUSES = (429, 503)
# With --forward-client-address the site reads the browser's address from the header its
# proxy (here: the benchmark) sets, and forwards it to Rocket.Chat as X-Real-IP.
PROXY_HEADER = "HTTP_X_REAL_IP"


@dataclass
class Run:
    """One version x method x kind."""

    version: str
    method: str
    kind: str
    signins: int = 0
    seconds: float = 0.0
    answers: Counter[str] = field(default_factory=Counter)  # "503 rocketchat_rate_limited"
    retry_after: list[int] = field(default_factory=list)
    not_json: int = 0
    rocketchat_calls: Counter[str] = field(default_factory=Counter)  # "POST /api/v1/login"
    rocketchat_refused: Counter[str] = field(default_factory=Counter)  # 429s among them
    tokens_held: int = 0
    late: int = 0  # sign-ins answered just after the window (a waiting browser's retry)
    # Users the site linked to a Rocket.Chat user but handed no token: created (new), then
    # refused their first login by the site's share, their browser waiting past the window.
    linked_not_signed_in: int = 0
    rocketchat_users: int = 0  # new: the run's users Rocket.Chat holds (one each, none twice)

    @property
    def per_minute(self) -> float:
        return self.signins * 60 / self.seconds if self.seconds else 0.0


class _Tally:
    """Every Rocket.Chat call the site makes, and the 429s among them, by method and path."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        send = requests.Session.send
        tally = self

        def counted(session: requests.Session, request: Any, **kwargs: Any) -> Any:
            response = send(session, request, **kwargs)
            path = request.path_url.split("?")[0]
            if "/api/" in path:
                key = f"{request.method} {path}"
                with tally.lock:
                    tally.calls[key] += 1
                    if response.status_code == 429:
                        tally.refused[key] += 1
            return response

        requests.Session.send = counted  # type: ignore[method-assign]

    @contextmanager
    def into(self, run: Run) -> Iterator[None]:
        with self.lock:
            self.calls.clear()
            self.refused.clear()
        yield
        with self.lock:
            run.rocketchat_calls.update(self.calls)
            run.rocketchat_refused.update(self.refused)


def new_session(user: Any) -> str:
    """A new signed-in Django session of ``user``: its key."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return str(session.session_key)


def make_users(prefix: str, count: int, *, known: bool) -> list[Any]:
    """``count`` Django users; ``known``: created and linked in Rocket.Chat beforehand (admin
    calls only, which the limiter lets through), as users who signed in before."""
    from django.contrib.auth.models import User

    from rocketchat_sso.accounts import signin
    from rocketchat_sso.rocketchat.client import RocketChatClient

    users = []
    for n in range(count):
        user = User(username=f"{prefix}{n}", email=f"{prefix}{n}@example.com", first_name="Sign")
        user.set_unusable_password()
        user.save()
        users.append(user)
    if known:
        with RocketChatClient() as client:
            for user in users:
                signin.sync_user(user, client=client)
    return users


def address(index: int) -> str:
    """The address of the ``index``-th browser, as the site's proxy reports it."""
    return f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"


def sign_in(
    site: str, session_key: str, run: Run, deadline: float, client_address: str | None
) -> str | None:
    """One browser's sign-in: ask, and while told to wait (and time remains), wait and ask
    again. Returns the token, or None."""
    http = requests.Session()
    http.cookies.set("sessionid", session_key)
    if client_address:  # the benchmark plays the site's proxy, which sets X-Real-IP
        http.headers["X-Real-IP"] = client_address
    try:
        while True:
            response = http.post(site + TOKEN_PATH, headers={"Origin": RC_ORIGIN}, timeout=60)
            is_json = response.headers.get("Content-Type", "").startswith(JSON_TYPE)
            body = response.json() if is_json else {}
            run.answers[f"{response.status_code} {body.get('error', '')}".strip()] += 1
            if not is_json:
                run.not_json += 1
                raise BenchmarkFailed(
                    f"POST {TOKEN_PATH}: not JSON: {describe(response.status_code, response.text)}"
                )
            if response.status_code == 200:
                return str(body["loginToken"])
            retry_after = response.headers.get("Retry-After", "")
            if response.status_code not in WAIT_STATUSES or not retry_after.isdigit():
                # Told neither to wait nor why: a failure, not Rocket.Chat's limit at work.
                raise BenchmarkFailed(
                    f"POST {TOKEN_PATH}: {describe(response.status_code, response.text)}"
                )
            run.retry_after.append(int(retry_after))
            pause = int(retry_after)
            if time.monotonic() + pause >= deadline:
                return None
            time.sleep(pause)
    finally:
        http.close()


def measure(
    site: str, stand_in: Any, tally: _Tally, method: str, kind: str, args: argparse.Namespace
) -> Run:
    from django.conf import settings
    from django.core.cache import cache

    from rocketchat_sso.models import RocketChatAccount

    forward = args.forward_client_address
    run = Run(stand_in.version, method + (" + X-Real-IP" if forward else ""), kind)
    stand_in.reset()  # a brand-new Rocket.Chat: every bucket full
    cache.clear()
    settings.ROCKETCHAT_SSO_LOGIN_METHOD = method
    settings.ROCKETCHAT_SSO_CREATE_TOKEN_SECRET = stand_in.create_token_secret
    settings.ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS = PROXY_HEADER if forward else ""
    prefix = f"v{stand_in.version.replace('.', '_')}{method[0]}{kind[0]}{int(time.time())}u"
    users = make_users(prefix, args.max_signins, known=kind == KNOWN)
    sessions = [new_session(user) for user in users]
    tokens: list[tuple[Any, str]] = []
    next_index = iter(range(len(sessions)))
    lock = threading.Lock()
    last_signin = [0.0]
    in_window = [0]
    started = time.monotonic()
    deadline = started + args.seconds

    def browser(_: int) -> None:
        while time.monotonic() < deadline:
            with lock:
                index = next(next_index, None)
            if index is None:
                return
            token = sign_in(
                site, sessions[index], run, deadline, address(index) if forward else None
            )
            finished = time.monotonic()
            if token is not None:
                with lock:
                    tokens.append((users[index], token))
                    if finished <= deadline:  # one answered after the window is not counted
                        in_window[0] += 1
                        last_signin[0] = finished

    with tally.into(run), ThreadPoolExecutor(args.browsers) as pool:
        list(pool.map(browser, range(args.browsers)))
    run.signins = in_window[0]
    run.late = len(tokens) - in_window[0]
    # The rate up to the last sign-in if every user signed in early, else over the whole
    # window: browsers told to wait past its end stop asking, and could get no more in it.
    everyone = run.signins == len(sessions)
    run.seconds = (last_signin[0] - started) if everyone else args.seconds
    links = dict(
        RocketChatAccount.objects.filter(user__in=[u for u, _ in tokens]).values_list(
            "user_id", "rocketchat_user_id"
        )
    )
    held = stand_in.live([(links.get(user.pk, ""), token) for user, token in tokens])
    run.tokens_held = sum(held)
    if kind == NEW:
        linked = RocketChatAccount.objects.filter(user__in=users).count()
        run.linked_not_signed_in = linked - len(links)
        held_users = stand_in.snapshot().users
        run.rocketchat_users = sum(user.username.startswith(prefix) for user in held_users)
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", nargs="+", default=["8.8"], help="releases to play")
    parser.add_argument("--methods", nargs="+", default=[PASSWORD, CREATE_TOKEN])
    parser.add_argument("--kinds", nargs="+", default=[KNOWN, NEW])
    parser.add_argument("--seconds", type=float, default=60, help="each run's time bound")
    parser.add_argument("--max-signins", type=int, default=300, help="each run's count bound")
    parser.add_argument("--browsers", type=int, default=4, help="browsers signing in at once")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per API call")
    parser.add_argument(
        "--forward-client-address",
        action="store_true",
        help="ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS on: each browser from its own address",
    )
    parser.add_argument("--smoke", action="store_true", help="seconds: tiny bounds")
    parser.add_argument("--json", action="store_true", help="print JSON, not a table")
    args = parser.parse_args(argv)
    if args.smoke:
        args.seconds, args.max_signins, args.browsers = 3, 12, 2
    # The site is benchmarks/settings.py's, whose URLconf has the comparison's view too.
    require("benchmarks/signins.py", {"rocketchat_API": "bench"})
    load = os.getloadavg()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.token_endpoint import serve_django
    from rocketchat_sso.operations.checks import CLIENT_ADDRESS_MIDDLEWARE
    from tests.production.harness import StandIn

    settings.MIDDLEWARE = [*settings.MIDDLEWARE, CLIENT_ADDRESS_MIDDLEWARE]  # before serving
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=WAL")
    tally = _Tally()
    site = serve_django()
    runs: list[Run] = []
    try:
        for version in args.versions:
            with StandIn(latency=args.latency, version=version) as stand_in:
                settings.ROCKETCHAT_SSO_URL = stand_in.url
                for method in args.methods:
                    for kind in args.kinds:
                        runs.append(measure(site, stand_in, tally, method, kind, args))
    except BenchmarkFailed as failure:
        return stop(failure)
    finally:
        connection.close()
        database = str(settings.DATABASES["default"]["NAME"])
        for suffix in ("", "-wal", "-shm"):
            Path(database + suffix).unlink(missing_ok=True)
    if args.json:
        rows = [{**vars(run), "per_minute": round(run.per_minute, 1)} for run in runs]
        print(json.dumps({"settings": vars(args), "load": load, "runs": rows}, indent=2))
    else:
        print(table(runs, args, load))
    bad = any(run.not_json or run.tokens_held != run.signins + run.late for run in runs)
    return 1 if bad else 0


def table(runs: list[Run], args: argparse.Namespace, load: tuple[float, ...]) -> str:
    lines = [
        f"{os.cpu_count()} CPUs (load average before: {', '.join(f'{x:.1f}' for x in load)}); "
        f"{args.browsers} browsers at once; each run at most {args.seconds:g} s and "
        f"{args.max_signins} sign-ins; stand-in latency {args.latency * 1000:g} ms",
    ]
    for run in runs:
        refused = ", ".join(f"{n} x {k}" for k, n in sorted(run.rocketchat_refused.items()))
        answers = ", ".join(f"{n} x {k}" for k, n in sorted(run.answers.items()))
        waits = (
            f"Retry-After {min(run.retry_after)}-{max(run.retry_after)} s"
            if run.retry_after
            else "no waits"
        )
        calls = sum(run.rocketchat_calls.values())
        lines.append(
            f"Rocket.Chat {run.version} {run.method:<12} {run.kind:<5}: {run.signins} sign-ins "
            f"in {run.seconds:.1f} s = {run.per_minute:.1f}/min; "
            f"{calls / max(run.signins + run.late, 1):.2f} Rocket.Chat calls per sign-in; "
            f"answers: {answers}; {waits}; not JSON: {run.not_json}; "
            f"limiter refused: {refused or 'nothing'}; "
            f"tokens Rocket.Chat holds: {run.tokens_held}/{run.signins + run.late} "
            f"({run.late} answered after the window); "
            f"linked, not signed in: {run.linked_not_signed_in}; "
            f"Rocket.Chat users made: {run.rocketchat_users}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
