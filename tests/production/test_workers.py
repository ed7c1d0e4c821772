"""The site as deployed: three worker processes, PostgreSQL, Redis, Rocket.Chat over HTTP.

What one process and SQLite hide: two workers creating the same Rocket.Chat user, a token
cache each process keeps to itself, a lock that holds only inside one process. Every test
sends each request to the worker it picks, so consecutive requests of one browser never meet
the same process twice in a row.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from django.conf import settings
from django.test import Client

from rocketchat_sso.conf import origin_of
from rocketchat_sso.models import RocketChatAccount
from tests.production.harness import TOKEN_PATH, SiteWorkers, StandIn

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]

USERS = 50
BROWSERS_AT_ONCE = 25
OPENINGS = 10
SIMULTANEOUS = 50
REQUEST_TIMEOUT = 60
RETRYABLE_STATUS = 503


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

    def open_chat(self, worker: str) -> Answer:
        """What Rocket.Chat's web client does on opening: POST the token endpoint."""
        response = self.http.post(worker + TOKEN_PATH, timeout=REQUEST_TIMEOUT)
        body = response.json() if response.headers.get("Content-Type") == "application/json" else {}
        return Answer(worker, response.status_code, body, response.headers.get("Retry-After"))

    def close(self) -> None:
        self.http.close()


def logged_in_session(user: Any) -> str:
    """A session key of ``user``, stored in the database every worker reads."""
    client = Client()
    client.force_login(user)
    return str(client.cookies[settings.SESSION_COOKIE_NAME].value)


def new_user(django_user_model: Any, username: str) -> Any:
    return django_user_model.objects.create_user(username, f"{username}@example.com")


def describe(answers: list[Answer], workers: SiteWorkers) -> str:
    bad = [a for a in answers if a.status != 200]
    return f"{len(bad)} non-200 answers, e.g. {bad[:3]}\n{workers.logs()}"


def test_new_users_open_the_chat_on_a_different_worker_every_time(
    rocketchat: StandIn, site_workers: SiteWorkers, django_user_model: Any
) -> None:
    usernames = [f"user{index:02}" for index in range(USERS)]
    sessions = [logged_in_session(new_user(django_user_model, name)) for name in usernames]

    def browse(index: int) -> list[Answer]:
        browser = Browser(sessions[index], rocketchat.url)
        try:
            return [
                browser.open_chat(site_workers.urls[(index + opening) % len(site_workers)])
                for opening in range(OPENINGS)
            ]
        finally:
            browser.close()

    with ThreadPoolExecutor(BROWSERS_AT_ONCE) as pool:
        browsers = list(pool.map(browse, range(USERS)))

    answers = [answer for browser in browsers for answer in browser]
    assert [a for a in answers if a.status >= 500] == [], describe(answers, site_workers)
    assert {a.status for a in answers} == {200}, describe(answers, site_workers)
    snapshot = rocketchat.snapshot()
    assert sorted(u.username for u in snapshot.users if u.username != "admin") == usernames
    accounts = RocketChatAccount.objects.all()
    assert len(accounts) == USERS
    assert {a.rocketchat_user_id for a in accounts} == {
        u.user_id for u in snapshot.users if u.username != "admin"
    }
    # One token per browser session: the same one at every opening, the only one minted.
    assert [len({a.token for a in browser}) for browser in browsers] == [1] * USERS
    assert [snapshot.user(name).tokens for name in usernames] == [1] * USERS
    print(
        f"\n{USERS} users x {OPENINGS} openings over {len(site_workers)} workers: "
        f"{len(snapshot.users) - 1} Rocket.Chat users, {len(accounts)} account rows, "
        f"{sum(snapshot.user(name).tokens for name in usernames) / USERS:g} tokens per session, "
        f"{sum(a.status >= 500 for a in answers)} 5xx, "
        f"{snapshot.api_calls / len(answers):.2f} Rocket.Chat calls per request"
    )


def simultaneous_first_requests(
    sessions: list[str], rocketchat: StandIn, site_workers: SiteWorkers
) -> list[Answer]:
    """``SIMULTANEOUS`` first openings released at once, spread over the workers in turn."""
    start = threading.Barrier(SIMULTANEOUS)

    def first_opening(index: int) -> Answer:
        browser = Browser(sessions[index % len(sessions)], rocketchat.url)
        try:
            start.wait()
            return browser.open_chat(site_workers.urls[index % len(site_workers)])
        finally:
            browser.close()

    with ThreadPoolExecutor(SIMULTANEOUS) as pool:
        return list(pool.map(first_opening, range(SIMULTANEOUS)))


def assert_one_account(rocketchat: StandIn, username: str) -> int:
    """Exactly one Rocket.Chat user and one account row for ``username``; its token count."""
    snapshot = rocketchat.snapshot()
    assert [u.username for u in snapshot.users if u.username != "admin"] == [username]
    account = RocketChatAccount.objects.get()
    assert account.rocketchat_user_id == snapshot.user(username).user_id
    return snapshot.user(username).tokens


def test_one_session_fifty_simultaneous_first_requests(
    rocketchat: StandIn, site_workers: SiteWorkers, django_user_model: Any
) -> None:
    session = logged_in_session(new_user(django_user_model, "rush"))

    answers = simultaneous_first_requests([session], rocketchat, site_workers)

    assert all(a.status == 200 or a.retryable for a in answers), describe(answers, site_workers)
    tokens = {a.token for a in answers if a.status == 200}
    assert len(tokens) == 1, describe(answers, site_workers)
    assert assert_one_account(rocketchat, "rush") == 1


def test_fifty_sessions_of_one_new_user_at_once(
    rocketchat: StandIn, site_workers: SiteWorkers, django_user_model: Any
) -> None:
    user = new_user(django_user_model, "crowd")
    sessions = [logged_in_session(user) for _ in range(SIMULTANEOUS)]

    answers = simultaneous_first_requests(sessions, rocketchat, site_workers)

    assert all(a.status == 200 or a.retryable for a in answers), describe(answers, site_workers)
    served = [a.token for a in answers if a.status == 200]
    assert served, describe(answers, site_workers)
    assert len(set(served)) == len(served)  # one token per session
    assert assert_one_account(rocketchat, "crowd") == len(served)
