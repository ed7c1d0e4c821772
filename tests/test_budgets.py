"""No user can spend the site's Rocket.Chat rate limit (issue 12, finding 3).

To Rocket.Chat the whole site is one client: 10 calls a minute per route by default. Twelve
``?recheck=1`` from one session used to cost twelve ``/me`` calls (the 11th and 12th refused,
everyone else's loading page answered 503 for the rest of the minute).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client, override_settings

from rocketchat_sso.conf import (
    DEFAULT_RATE_LIMIT_CALLS,
    DEFAULT_RATE_LIMIT_WINDOW,
    DEFAULT_RECHECK_MIN_INTERVAL,
    DEFAULT_USER_CALL_SHARE,
    DEFAULT_USER_MINT_LIMIT,
    DEFAULT_USER_MINT_WINDOW,
)
from rocketchat_sso.testing import FakeRocketChat
from tests.conftest import paths

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_budgets")]

TOKEN_URL = "/rocketchat/token/"


@pytest.fixture
def default_budgets() -> Any:
    with override_settings(
        ROCKETCHAT_SSO_RECHECK_MIN_INTERVAL=DEFAULT_RECHECK_MIN_INTERVAL,
        ROCKETCHAT_SSO_USER_MINT_LIMIT=DEFAULT_USER_MINT_LIMIT,
        ROCKETCHAT_SSO_USER_MINT_WINDOW=DEFAULT_USER_MINT_WINDOW,
        ROCKETCHAT_SSO_RATE_LIMIT_CALLS=DEFAULT_RATE_LIMIT_CALLS,
        ROCKETCHAT_SSO_RATE_LIMIT_WINDOW=DEFAULT_RATE_LIMIT_WINDOW,
        ROCKETCHAT_SSO_USER_CALL_SHARE=DEFAULT_USER_CALL_SHARE,
    ):
        yield


def new_session(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_defaults_are_safe() -> None:
    assert DEFAULT_RECHECK_MIN_INTERVAL >= 10
    assert 0 < DEFAULT_USER_MINT_LIMIT <= 5 and DEFAULT_USER_MINT_WINDOW >= 60


def test_twelve_rechecks_from_one_session_cost_at_most_one_call(
    rocketchat: FakeRocketChat, signed_in: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rocketchat_sso.sessions import budgets, tokens

    first = signed_in.post(TOKEN_URL).json()["loginToken"]
    later = tokens.time.time() + DEFAULT_RECHECK_MIN_INTERVAL + 1  # the mint's check is old
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    monkeypatch.setattr(budgets.time, "time", lambda: later)
    rocketchat.reset_calls()
    answers = [signed_in.post(TOKEN_URL + "?recheck=1") for _ in range(12)]
    print(f"\n12 rechecks from one session: {len(rocketchat.calls)} Rocket.Chat calls")
    assert paths(rocketchat) == ["GET me"]
    assert answers[0].json()["loginToken"] == first
    for refused in answers[1:]:
        # A recheck is never answered with an unchecked token (issue 19, item 7): wait in line.
        assert refused.status_code == 429, refused.content
        assert refused.json()["error"] == "token_recheck_budget"
        assert "loginToken" not in refused.json()
        assert 1 <= int(refused["Retry-After"]) <= DEFAULT_RECHECK_MIN_INTERVAL


def test_a_token_dropped_moments_after_the_mint_is_never_handed_out_again(
    rocketchat: FakeRocketChat, signed_in: Client
) -> None:
    """Issue 19, item 7: a recheck within the interval of the last check used to hand back the
    cached token unchecked, however often the loading page asked."""
    from rocketchat_sso.rocketchat.client import RocketChatClient

    first = signed_in.post(TOKEN_URL).json()["loginToken"]
    rc_user = rocketchat.user_by_username("alice")
    assert rc_user is not None
    RocketChatClient().logout_user_everywhere(rc_user["_id"])  # Rocket.Chat drops it at once
    answers = [signed_in.post(TOKEN_URL + "?recheck=1") for _ in range(5)]
    tokens = [a.json().get("loginToken") for a in answers]
    assert first not in tokens
    # A token Rocket.Chat dropped reads as a logout in Rocket.Chat (RC #28006): the session
    # stays out, and no token is minted behind the user's back (rocketchat_sso.sessions.signout).
    assert answers[0].status_code == 403 and answers[0].json()["error"] == "rocketchat_signed_out"
    assert tokens == [None] * 5
    for later in answers[1:]:
        assert later.status_code in (403, 429)
    again = signed_in.post(TOKEN_URL + "?signin=1")  # the user's one click
    assert again.status_code == 200, again.content
    assert again.json()["loginToken"] != first
    assert again.json()["loginToken"] in rocketchat.tokens_of(rc_user["_id"])


def test_rechecks_of_a_token_that_failed_its_check_wait_in_line(
    rocketchat: FakeRocketChat, signed_in: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rocketchat_sso.sessions import budgets, tokens
    from rocketchat_sso.testing import FakeResponse

    signed_in.post(TOKEN_URL)
    later = tokens.time.time() + DEFAULT_RECHECK_MIN_INTERVAL + 1
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    monkeypatch.setattr(budgets.time, "time", lambda: later)
    rocketchat.inject(FakeResponse(500, {"success": False}), path="/api/v1/me", times=10)
    rocketchat.reset_calls()
    answers = [signed_in.post(TOKEN_URL + "?recheck=1") for _ in range(12)]
    assert len(rocketchat.calls_to("/api/v1/me")) <= 3  # one, and urllib3's retries of it
    assert answers[0].status_code == 502
    for refused in answers[1:]:
        assert refused.status_code == 429
        assert refused.json()["error"] == "token_recheck_budget"
        assert 1 <= int(refused["Retry-After"]) <= DEFAULT_RECHECK_MIN_INTERVAL


def test_mints_per_user_are_bounded(rocketchat: FakeRocketChat, user: Any) -> None:
    sessions = [new_session(user) for _ in range(DEFAULT_USER_MINT_LIMIT + 2)]
    answers = [session.post(TOKEN_URL) for session in sessions]
    assert [a.status_code for a in answers] == [200] * DEFAULT_USER_MINT_LIMIT + [429, 429]
    refused = answers[-1]
    assert refused.json()["error"] == "token_mint_budget"
    assert str(DEFAULT_USER_MINT_LIMIT) in refused.json()["message"]
    assert 1 <= int(refused["Retry-After"]) <= DEFAULT_USER_MINT_WINDOW
    assert len(rocketchat.calls_to("/api/v1/login")) == DEFAULT_USER_MINT_LIMIT


def test_one_users_budget_is_not_anothers(
    rocketchat: FakeRocketChat, user: Any, django_user_model: Any
) -> None:
    for _ in range(DEFAULT_USER_MINT_LIMIT + 1):
        new_session(user).post(TOKEN_URL)
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "pw")
    assert new_session(bob).post(TOKEN_URL).status_code == 200


@override_settings(ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT=0)
def test_without_reuse_one_session_still_cannot_mint_without_bound(
    rocketchat: FakeRocketChat, signed_in: Client
) -> None:
    statuses = [signed_in.post(TOKEN_URL).status_code for _ in range(10)]
    assert statuses.count(200) == DEFAULT_USER_MINT_LIMIT
    assert len(rocketchat.calls_to("/api/v1/login")) == DEFAULT_USER_MINT_LIMIT


# -- the shared buckets: per user across sessions, and room for everyone else (issue 19, item 1)


class Clock:
    """One clock for Django's cache, the budgets and the stand-in's rate limiter."""

    def __init__(self) -> None:
        import time as real_time

        self.now = real_time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, rocketchat: FakeRocketChat, settings: Any) -> Clock:
    import time
    from datetime import datetime, timezone

    # The simulated clock moves the expiry of a local-memory cache (it reads time.time()); a
    # Redis server's expiry runs on its own clock, so the budgets' minute would not pass there.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "rocketchat-sso-simulated-clock",
        }
    }
    caches["default"].clear()  # a local-memory cache outlives the test that made it
    clock = Clock()
    monkeypatch.setattr(time, "time", clock)
    rocketchat.now = lambda: datetime.fromtimestamp(clock.now, timezone.utc)
    return clock


def _hammer_rechecks(clock: Clock, sessions: list[Client], seconds: int, every: int) -> list[int]:
    statuses = []
    for _ in range(0, seconds, every):
        clock.now += every
        statuses += [s.post(TOKEN_URL + "?recheck=1").status_code for s in sessions]
    return statuses


def test_one_user_with_five_sessions_spends_at_most_their_share_of_me(
    rocketchat: FakeRocketChat, user: Any, django_user_model: Any, clock: Clock
) -> None:
    """Five sessions hammering ``?recheck=1`` every 5 s for a minute: before, 1 check per session
    per 15 s, 20 ``/me`` calls (Rocket.Chat refused 10 of them, and everyone else's check with
    them); now the user's share of the bucket, over all sessions."""
    sessions = [new_session(user) for _ in range(5)]
    for session in sessions[:DEFAULT_USER_MINT_LIMIT]:
        assert session.post(TOKEN_URL).status_code == 200
    clock.now += 61  # the mints' calls are out of the window
    for session in sessions[DEFAULT_USER_MINT_LIMIT:]:
        assert session.post(TOKEN_URL).status_code == 200
    clock.now += 61
    rocketchat.reset_calls()
    statuses = _hammer_rechecks(clock, sessions, 60, 5)
    me_calls = len(rocketchat.calls_to("/api/v1/me"))
    print(f"\none user, 5 sessions, a minute of rechecks: {me_calls} /me calls")
    assert me_calls <= DEFAULT_USER_CALL_SHARE
    assert set(statuses) <= {200, 429}
    assert 0 < statuses.count(200) <= DEFAULT_USER_CALL_SHARE
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "pw")
    bobs = new_session(bob)
    assert bobs.post(TOKEN_URL).status_code == 200
    rocketchat.reset_calls()
    answer = bobs.post(TOKEN_URL + "?recheck=1")
    assert answer.status_code == 200, answer.content  # checked, not refused
    assert paths(rocketchat) == ["GET me"]


def test_a_few_users_cannot_empty_the_login_bucket(
    rocketchat: FakeRocketChat, django_user_model: Any, clock: Clock
) -> None:
    """Four users with three sessions each used to fill ``/login`` (3 mints each, 12 > 10): the
    second and later calls of a window never take the bucket's last half, so six users with all
    the sessions they like leave room for a seventh's sign-in."""
    users = [
        django_user_model.objects.create_user(f"u{n}", f"u{n}@example.com", "pw") for n in range(6)
    ]
    for heavy in users:
        for _ in range(DEFAULT_USER_MINT_LIMIT):
            new_session(heavy).post(TOKEN_URL)
            clock.now += 1
    logins = len(rocketchat.calls_to("/api/v1/login"))
    print(f"\n6 users x {DEFAULT_USER_MINT_LIMIT} sessions: {logins} /login calls")
    assert logins <= 10 - 1
    late = django_user_model.objects.create_user("late", "late@example.com", "pw")
    answer = new_session(late).post(TOKEN_URL)
    assert answer.status_code == 200, answer.content
    assert len(rocketchat.calls_to("/api/v1/login")) <= 10


def test_a_refused_call_answers_429_with_retry_after(
    rocketchat: FakeRocketChat, user: Any, clock: Clock
) -> None:
    sessions = [new_session(user) for _ in range(DEFAULT_USER_CALL_SHARE + 1)]
    for session in sessions[:DEFAULT_USER_MINT_LIMIT]:
        session.post(TOKEN_URL)
    clock.now += 61
    for session in sessions[DEFAULT_USER_MINT_LIMIT:]:
        session.post(TOKEN_URL)
    clock.now += 61
    answers = [session.post(TOKEN_URL + "?recheck=1") for session in sessions]
    refused = answers[-1]
    assert refused.status_code == 429, refused.content
    assert refused.json()["error"] == "rocketchat_user_share"
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert "loginToken" not in refused.json()


def test_one_users_logouts_spend_at_most_their_share_of_logout(
    rocketchat: FakeRocketChat, user: Any, clock: Clock
) -> None:
    """Five sessions logged out within a minute: the revocations beyond the user's share stay
    pending (retried by ``rocketchat_sso_revoke``), not sent into a full bucket."""
    from rocketchat_sso.models import IssuedToken

    sessions = [new_session(user) for _ in range(5)]
    for n, session in enumerate(sessions):
        if n == DEFAULT_USER_MINT_LIMIT:
            clock.now += 61
        assert session.post(TOKEN_URL).status_code == 200
    clock.now += 61
    rocketchat.reset_calls()
    for session in sessions:
        session.logout()
    logouts = len(rocketchat.calls_to("/api/v1/logout"))
    print(f"\none user, 5 logouts in a minute: {logouts} /logout calls")
    assert logouts == DEFAULT_USER_CALL_SHARE
    pending = IssuedToken.objects.filter(ended_at__isnull=False, revoked_at__isnull=True)
    assert pending.count() == 5 - DEFAULT_USER_CALL_SHARE


def test_no_window_of_rocketchats_sees_more_than_the_bucket(
    rocketchat: FakeRocketChat, clock: Clock
) -> None:
    """Sliding, not fixed windows: Rocket.Chat's window starts at its own first call, so ten
    calls just before a minute turns and ten just after would all land in one of its windows."""
    from rocketchat_sso.exceptions import CallShareExhausted
    from rocketchat_sso.rocketchat import call_shares

    clock.now = (clock.now // 60 + 1) * 60 - 5  # five seconds before a minute turns
    for n in range(DEFAULT_RATE_LIMIT_CALLS):
        with call_shares.spending_for(f"user{n}"):
            call_shares.take_call("me")
    clock.now += 6
    with call_shares.spending_for("late"), pytest.raises(CallShareExhausted) as refused:
        call_shares.take_call("me")
    assert refused.value.code == call_shares.SITE_SHARE
    assert DEFAULT_RATE_LIMIT_WINDOW - 6 <= refused.value.retry_after <= DEFAULT_RATE_LIMIT_WINDOW
    with call_shares.spending_for("late"):
        call_shares.take_call("login")  # another route, another bucket
    clock.now += DEFAULT_RATE_LIMIT_WINDOW - 6 + 1
    with call_shares.spending_for("late"):
        call_shares.take_call("me")


def test_the_sites_own_calls_leave_half_the_bucket_to_users(
    rocketchat: FakeRocketChat, clock: Clock
) -> None:
    """Commands and password changes revoke tokens for no user: they never take the last half."""
    from rocketchat_sso.exceptions import CallShareExhausted
    from rocketchat_sso.rocketchat import call_shares

    for _ in range(DEFAULT_RATE_LIMIT_CALLS // 2):
        call_shares.take_call("logout")
    with pytest.raises(CallShareExhausted):
        call_shares.take_call("logout")
    for n in range(DEFAULT_RATE_LIMIT_CALLS // 2):
        with call_shares.spending_for(f"user{n}"):
            call_shares.take_call("logout")


def test_a_cache_that_is_down_lets_the_call_through_unlogged_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Commands revoking tokens keep working; Rocket.Chat's own limiter still stands behind."""
    from django.conf import settings

    from rocketchat_sso.rocketchat import call_shares
    from tests.broken_cache import SECRET_URL

    caches = {**settings.CACHES, "broken": {"BACKEND": "tests.broken_cache.BrokenCache"}}
    with (
        override_settings(CACHES=caches, ROCKETCHAT_SSO_CACHE="broken"),
        call_shares.spending_for("alice"),
    ):
        call_shares.take_call("logout")
    assert "not counted" in caplog.text and "CacheDown" in caplog.text
    assert SECRET_URL not in caplog.text


def test_a_sign_in_that_could_not_log_in_creates_no_rocketchat_user(
    rocketchat: FakeRocketChat, django_user_model: Any, clock: Clock
) -> None:
    """With ``/login``'s bucket spent, a new user's sign-in used to create the Rocket.Chat user
    (the admin's ``users.create``) and then be refused the login, on every attempt."""
    for n in range(DEFAULT_RATE_LIMIT_CALLS):
        user = django_user_model.objects.create_user(f"u{n}", f"u{n}@example.com", "pw")
        assert new_session(user).post(TOKEN_URL).status_code == 200
    late = django_user_model.objects.create_user("late", "late@example.com", "pw")
    rocketchat.reset_calls()
    answers = [new_session(late).post(TOKEN_URL) for _ in range(3)]
    assert [a.status_code for a in answers] == [429] * 3
    assert answers[0].json()["error"] == "rocketchat_site_share"
    assert rocketchat.calls == []
