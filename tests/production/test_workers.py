"""The site as deployed: three worker processes, PostgreSQL, Redis, Rocket.Chat over HTTP.

What one process and SQLite hide: two workers creating the same Rocket.Chat user, a token
cache each process keeps to itself, a lock that holds only inside one process. Every test
sends each request to the worker it picks, so consecutive requests of one browser never meet
the same process twice in a row.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from rocketchat_sso.models import RocketChatAccount
from tests.production.harness import Answer, Browser, SiteWorkers, StandIn, logged_in_session

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]

USERS = 50
BROWSERS_AT_ONCE = 25
OPENINGS = 10
SIMULTANEOUS = 50


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
        with Browser(sessions[index], rocketchat.url) as browser:
            return [
                browser.open_chat(site_workers.urls[(index + opening) % len(site_workers)])
                for opening in range(OPENINGS)
            ]

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
    # Rocket.Chat at its defaults (10 calls a minute per route and address) refused nothing:
    # with create_token every sign-in call is the admin's, which bypasses the limiter.
    assert snapshot.refused == Counter(), snapshot.refused
    print(
        f"\n{USERS} users x {OPENINGS} openings over {len(site_workers)} workers: "
        f"{len(snapshot.users) - 1} Rocket.Chat users, {len(accounts)} account rows, "
        f"{sum(snapshot.user(name).tokens for name in usernames) / USERS:g} tokens per session, "
        f"{sum(a.status >= 500 for a in answers)} 5xx, "
        f"{snapshot.api_calls / len(answers):.2f} Rocket.Chat calls per request, "
        f"{sum(snapshot.refused.values())} refused by Rocket.Chat's rate limiter"
    )


def summary(answers: list[Answer]) -> str:
    """Answers by status and error code, e.g. ``48 x 200, 2 x 503 token_pending``."""
    counts = Counter(f"{a.status} {a.body.get('error', '')}".strip() for a in answers)
    return ", ".join(f"{n} x {kind}" for kind, n in sorted(counts.items()))


def simultaneous_first_requests(
    sessions: list[str], rocketchat: StandIn, site_workers: SiteWorkers
) -> list[Answer]:
    """``SIMULTANEOUS`` first openings released at once, spread over the workers in turn."""
    start = threading.Barrier(SIMULTANEOUS)

    def first_opening(index: int) -> Answer:
        with Browser(sessions[index % len(sessions)], rocketchat.url) as browser:
            start.wait()
            return browser.open_chat(site_workers.urls[index % len(site_workers)])

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
    print(f"\none session, {SIMULTANEOUS} first requests at once: {summary(answers)}")


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
    print(f"\n{SIMULTANEOUS} sessions of one user at once: {summary(answers)}")
