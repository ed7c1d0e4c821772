"""Many token requests at once, against the stand-in over real HTTP and a file SQLite database.

Each thread has its own database connection, as a threaded or multi-process server's workers
do, and the tests commit for real (``transaction=True``), so races between the check for a
Rocket.Chat user or an account row and its creation happen as they would in production.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import OperationalError, connection, connections
from django.test import Client
from django.urls import reverse

from rocketchat_sso.accounts import signin
from rocketchat_sso.accounts.signin import issue_login_token
from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.rocketchat.client import RocketChatClient
from rocketchat_sso.testing import FakeRocketChat
from rocketchat_sso.testing.server import RocketChatServer

pytestmark = pytest.mark.django_db(transaction=True)

RETRYABLE = {503, 504}  # a clean error the caller (Rocket.Chat's client, our script) may retry


def in_thread(work: Callable[[], Any]) -> Callable[[], Any]:
    """``work`` on a thread of its own, closing that thread's database connection after."""

    def run() -> Any:
        try:
            return work()
        finally:
            connections.close_all()

    return run


def answer(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.post(reverse("rocketchat_sso:token"))
    assert response["Content-Type"] == "application/json", response.content
    return response.status_code, response.json()


def rocketchat_user_count() -> int:
    """Rocket.Chat's users, as its admin sees them, less the admin."""
    listing = RocketChatClient().request("GET", "users.list", params={"count": "0"})
    return int(listing["total"]) - 1


def session_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_fifty_simultaneous_first_requests_make_one_user(
    rocketchat_server: RocketChatServer, user: Any
) -> None:
    fake = rocketchat_server.fake
    clients = [session_of(user) for _ in range(50)]
    start = threading.Barrier(len(clients))

    def ask(client: Client) -> tuple[int, dict[str, Any]]:
        start.wait()
        return answer(client)

    with ThreadPoolExecutor(len(clients)) as pool:
        futures = [pool.submit(in_thread(lambda c=c: ask(c))) for c in clients]
        answers = [future.result() for future in futures]

    statuses = Counter(status for status, _ in answers)
    assert set(statuses) <= {200} | RETRYABLE, statuses
    assert statuses[200] >= 1
    for status, body in answers:
        if status != 200:
            assert body["error"].startswith("rocketchat_") and body["message"]
    account = RocketChatAccount.objects.get(user=user)
    assert len(fake.calls_to("/api/v1/users.create")) >= 1
    assert rocketchat_user_count() == 1
    rc_user = fake.user_by_username("alice")
    assert rc_user is not None and rc_user["_id"] == account.rocketchat_user_id
    tokens = fake.tokens_of(account.rocketchat_user_id)
    assert all(body["loginToken"] in tokens for status, body in answers if status == 200)
    print(f"50 simultaneous first requests: {dict(statuses)}, {len(tokens)} tokens minted")


def test_five_hundred_requests_over_fifty_users(
    rocketchat_server: RocketChatServer, django_user_model: Any
) -> None:
    fake = rocketchat_server.fake
    users = [
        django_user_model.objects.create_user(f"user{n}", f"user{n}@example.com") for n in range(50)
    ]
    sessions = {user.pk: session_of(user) for user in users}
    work = [user for user in users for _ in range(10)]
    random.Random(5).shuffle(work)

    def ask(user: Any) -> tuple[Any, int, dict[str, Any]]:
        # A Django test client is not thread-safe: one per request, holding the user's session.
        client = Client()
        client.cookies = sessions[user.pk].cookies
        return (user, *answer(client))

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda u: in_thread(lambda: ask(u))(), work))

    statuses = Counter(status for _, status, _ in results)
    assert set(statuses) <= {200} | RETRYABLE, statuses
    accounts = {a.user_id: a for a in RocketChatAccount.objects.all()}
    assert len(accounts) == 50
    rc_ids = {a.rocketchat_user_id for a in accounts.values()}
    assert len(rc_ids) == 50
    assert all(fake.user_by_id(rc_id) is not None for rc_id in rc_ids)
    assert rocketchat_user_count() == 50
    # and no session ever got another user's token
    for user, status, body in results:
        if status == 200:
            assert body["loginToken"] in fake.tokens_of(accounts[user.pk].rocketchat_user_id)
    minted = sum(len(fake.tokens_of(rc_id)) for rc_id in rc_ids)
    print(
        f"500 requests over 50 users: {dict(statuses)}, {len(rc_ids)} Rocket.Chat users, "
        f"{minted} tokens minted, {len(fake.calls)} Rocket.Chat calls"
    )


def test_linking_waits_for_another_writer_instead_of_failing(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    """SQLite lets a transaction that has already read fail at once ("database is locked")
    rather than wait for the write lock; linking must write first, so it waits its turn."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's locking")
    other = sqlite3.connect(connection.settings_dict["NAME"], check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another request's write in progress...
    done = threading.Timer(0.3, other.commit)  # ...committed a moment later
    done.start()
    try:
        token = issue_login_token(user)
    finally:
        done.join()
        other.close()
    assert RocketChatAccount.objects.get(user=user).rocketchat_user_id == token.user_id


def test_a_locked_database_is_a_retryable_json_error(
    rocketchat: FakeRocketChat, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past SQLite's busy timeout (or a dropped PostgreSQL connection): 503, not an HTML 500."""

    def locked(user: Any, **kwargs: Any) -> Any:
        raise OperationalError("database is locked")

    monkeypatch.setattr(signin, "issue_login_token", locked)
    response = session_of(user).post(reverse("rocketchat_sso:token"))
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"
    assert response["Retry-After"] == "1"
