"""Concurrent requests of one session: one of them gets the token, the others take it.

The lock is a key in the shared cache, so another worker process holding it looks exactly like
the lock held here by hand (tests/production proves it with real processes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.sessions.backends.db import SessionStore
from django.db import connections
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from rocketchat_sso.exceptions import CacheUnavailable
from rocketchat_sso.rocketchat.client import LoginToken
from rocketchat_sso.sessions import tokens
from rocketchat_sso.sessions.locks import CacheLock, GuardedCache
from rocketchat_sso.testing import FakeResponse, FakeRocketChat
from rocketchat_sso.web.views import LOADING_PAGE_REASONS
from tests.broken_cache import SECRET_URL, BrokenCache, CacheDown
from tests.conftest import paths

pytestmark = pytest.mark.django_db

TOKEN_URL = "/rocketchat/token/"
MINTED = LoginToken(user_id="rcuser00000000001", auth_token="minted-by-the-other-request")


@pytest.fixture
def session(signed_in: Client) -> SessionStore:
    session_key = signed_in.session.session_key
    assert session_key is not None
    return SessionStore(session_key)


@pytest.fixture
def holder(session: SessionStore) -> Iterator[CacheLock]:
    """The session's lock, held by "another request" (another worker, as far as we can tell)."""
    lock = tokens.session_lock(str(session.session_key))
    assert lock.acquire()
    yield lock
    lock.release()


def in_background(call: Callable[[], Any]) -> Callable[[], Any]:
    """Start ``call`` in a thread; the returned function joins it and returns (or raises)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except Exception as error:  # re-raised in the test's thread by join()
            outcome["error"] = error
        finally:
            connections.close_all()  # this thread's own; left open they block the test database

    thread = threading.Thread(target=run)
    thread.start()

    def join() -> Any:
        thread.join(10)
        assert not thread.is_alive()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    return join


def test_a_waiter_takes_the_token_the_holder_stored(
    rocketchat: FakeRocketChat,
    session: SessionStore,
    user: Any,
    holder: CacheLock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looked = threading.Event()
    poll = tokens.poll

    def poll_and_tell(check: Callable[[], Any], deadline: float) -> Any:
        looked.set()  # the waiter has read the session's entry and waits for a new one
        return poll(check, deadline)

    monkeypatch.setattr(tokens, "poll", poll_and_tell)
    join = in_background(lambda: tokens.session_login_token(session, user))
    assert looked.wait(5)
    tokens.store(str(session.session_key), user, MINTED)
    holder.release()
    assert join() == MINTED
    assert paths(rocketchat) == []  # not one Rocket.Chat call of its own


@pytest.mark.django_db(transaction=True)  # the waiter writes the account from its own thread
def test_a_waiter_takes_over_when_the_holder_stored_nothing(
    rocketchat: FakeRocketChat, session: SessionStore, user: Any, holder: CacheLock
) -> None:
    join = in_background(lambda: tokens.session_login_token(session, user))
    holder.release()  # the holder failed, e.g. Rocket.Chat was down
    token = join()
    assert rocketchat.tokens_of(token.user_id) == [token.auth_token]
    assert len(rocketchat.calls_to("/api/v1/login")) == 1
    assert not holder.locked()  # and the waiter released the lock it took over


@override_settings(ROCKETCHAT_SSO_TIMEOUT=0.2)
def test_a_waiter_gives_up_with_a_retryable_json_error(
    rocketchat: FakeRocketChat, signed_in: Client, holder: CacheLock
) -> None:
    response = signed_in.post(TOKEN_URL)
    assert response.status_code == 503
    assert response.json()["error"] == "token_pending"
    assert response["Retry-After"] == "1"
    assert rocketchat.calls == []
    assert holder.locked()  # the waiter never touched the holder's lock


def test_the_lock_is_released_when_rocketchat_fails(
    rocketchat: FakeRocketChat, signed_in: Client, session: SessionStore
) -> None:
    rocketchat.inject(FakeResponse(500, {"success": False}), times=10)
    assert signed_in.post(TOKEN_URL).status_code == 502
    assert not tokens.session_lock(str(session.session_key)).locked()
    rocketchat.clear_faults()
    assert signed_in.post(TOKEN_URL).status_code == 200


BROKEN_CACHE = {"default": {"BACKEND": "tests.broken_cache.BrokenCache"}}


@override_settings(CACHES=BROKEN_CACHE)
def test_a_cache_that_is_down_is_a_retryable_json_error(
    rocketchat: FakeRocketChat, signed_in: Client
) -> None:
    response = signed_in.post(TOKEN_URL)
    assert response.status_code == 503
    assert response.json()["error"] == "token_cache_unavailable"
    assert int(response["Retry-After"]) > 0
    assert SECRET_URL not in response.content.decode()
    assert rocketchat.calls == []  # nothing minted that could not be kept


@override_settings(CACHES=BROKEN_CACHE)
def test_logging_out_works_while_the_cache_is_down(
    rocketchat: FakeRocketChat, session: SessionStore, user: Any
) -> None:
    request = RequestFactory().post("/logout/")
    request.session = session
    request.user = user
    logout(request)  # the receiver cannot revoke the cached token: it says so and goes on
    assert request.user.is_anonymous


def test_guarded_cache_raises_one_type_without_the_backends_message() -> None:
    guarded = GuardedCache(BrokenCache("", {}))
    for call in (
        lambda: guarded.get("k"),
        lambda: guarded.set("k", 1),
        lambda: guarded.add("k", 1),
        lambda: guarded.delete("k"),
    ):
        with pytest.raises(CacheUnavailable) as info:
            call()
        assert str(info.value) == "The cache failed (CacheDown)."
        assert isinstance(info.value.__cause__, CacheDown)


@override_settings(CACHES=BROKEN_CACHE)
def test_the_logout_endpoint_answers_in_json_while_the_cache_is_down(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.cookies[settings.CSRF_COOKIE_NAME] = "s" * 32
    response = browser.post(
        reverse("rocketchat_sso:logout"),
        headers={"Origin": "http://testserver", "X-CSRFToken": "s" * 32},
    )
    assert response.status_code == 503
    assert response.json()["error"] == "token_cache_unavailable"


@pytest.mark.parametrize("code", ["token_pending", "token_cache_unavailable"])
def test_the_loading_page_explains_the_new_answers(code: str) -> None:
    assert LOADING_PAGE_REASONS[code] == LOADING_PAGE_REASONS["database_unavailable"]


@override_settings(ROCKETCHAT_SSO_TIMEOUT=0.2, ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL=300)
def test_a_recently_checked_token_needs_no_lock(
    rocketchat: FakeRocketChat, signed_in: Client, session: SessionStore, user: Any
) -> None:
    first = signed_in.post(TOKEN_URL).json()["loginToken"]
    lock = tokens.session_lock(str(session.session_key))
    assert lock.acquire()  # another request of the session is checking the token right now
    try:
        assert signed_in.post(TOKEN_URL).json()["loginToken"] == first
    finally:
        lock.release()
