from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import caches
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rocketchat_sso import signals
from rocketchat_sso.models import IssuedToken, RocketChatAccount
from rocketchat_sso.rocketchat.client import LoginToken, RocketChatClient
from rocketchat_sso.sessions import tokens
from rocketchat_sso.testing import FakeRocketChat, mock_rocketchat
from tests.conftest import paths
from tests.testing.helpers import Clock

pytestmark = pytest.mark.django_db

TOKEN_URL = "/rocketchat/token/"


@pytest.fixture
def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def open_chat(browser: Client) -> str:
    response = browser.post(TOKEN_URL)
    assert response.status_code == 200, response.content
    return str(response.json()["loginToken"])


def rc_id(fake: FakeRocketChat, username: str = "alice") -> str:
    rc_user = fake.user_by_username(username)
    assert rc_user is not None
    return str(rc_user["_id"])


def test_fifty_openings_of_one_session_leave_one_token(
    rocketchat: FakeRocketChat, browser: Client
) -> None:
    first = open_chat(browser)
    rocketchat.reset_calls()
    handed_out = {open_chat(browser) for _ in range(49)}
    assert handed_out == {first}
    assert rocketchat.tokens_of(rc_id(rocketchat)) == [first]
    assert rocketchat.calls_to("/api/v1/login") == []
    assert paths(rocketchat) == ["GET me"] * 49  # one Rocket.Chat call per warm opening


def test_each_session_has_its_own_token(
    rocketchat: FakeRocketChat, browser: Client, user: Any
) -> None:
    other = Client()
    other.force_login(user)
    assert open_chat(browser) != open_chat(other)
    assert len(rocketchat.tokens_of(rc_id(rocketchat))) == 2


@pytest.mark.parametrize(
    "kill",
    [
        pytest.param(lambda c, t: c.revoke_token(t), id="logged-out-in-rocketchat"),
        pytest.param(lambda c, t: c.logout_user_everywhere(t.user_id), id="all-sessions-ended"),
    ],
)
def test_a_dead_token_is_replaced_not_handed_out_again(
    rocketchat: FakeRocketChat, browser: Client, kill: Any
) -> None:
    dead = open_chat(browser)
    kill(RocketChatClient(), LoginToken(user_id=rc_id(rocketchat), auth_token=dead))
    # Rocket.Chat answers /me with the same 401 whoever ended the token: taken for a logout
    # made in Rocket.Chat (RC #28006), so no new token until the user asks for one
    # (rocketchat_sso.sessions.signout; tests/test_signout.py).
    for _ in range(2):
        refused = browser.post(TOKEN_URL)
        assert refused.status_code == 403
        assert refused.json()["error"] == "rocketchat_signed_out"
    assert rocketchat.tokens_of(rc_id(rocketchat)) == []
    response = browser.post(TOKEN_URL + "?signin=1")
    assert response.status_code == 200, response.content
    fresh = str(response.json()["loginToken"])
    assert fresh != dead
    assert rocketchat.tokens_of(rc_id(rocketchat)) == [fresh]
    rocketchat.reset_calls()
    assert open_chat(browser) == fresh  # and the fresh one is reused in turn
    assert paths(rocketchat) == ["GET me"]


def test_an_expired_token_is_replaced(user: Any) -> None:
    clock = Clock()
    browser = Client()
    browser.force_login(user)
    with mock_rocketchat(settings.ROCKETCHAT_SSO_URL, now=clock) as fake:
        fake.set_setting("Accounts_LoginExpiration", 1)  # a day, like the cache timeout
        old = open_chat(browser)
        clock.advance(days=1, seconds=1)
        # The site's own record must say so too (ROCKETCHAT_SSO_LOGIN_EXPIRATION_DAYS): an
        # expiry it cannot see would be taken for a logout in Rocket.Chat (signout.py).
        IssuedToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        fresh = open_chat(browser)
        assert fresh != old
        assert fresh in fake.tokens_of(rc_id(fake))


def test_a_user_deactivated_in_rocketchat_gets_an_error_not_a_loop(
    rocketchat: FakeRocketChat, browser: Client
) -> None:
    open_chat(browser)
    RocketChatClient().set_active_status(rc_id(rocketchat), False)
    for _ in range(2):
        response = browser.post(TOKEN_URL)
        assert response.status_code == 403
        assert response.json()["error"] == "rocketchat_user_inactive"
    # A linked user's new session tries the login first (1 call when all is well); refused, it
    # asks users.info, which says deactivated: no password reset, no loop, no token. The first
    # reopening finds the token dead and asks users.info (signout.py), with no login at all.
    assert len(rocketchat.calls_to("/api/v1/login")) == 1 + 1
    assert len(rocketchat.calls_to("/api/v1/users.info")) == 2
    assert rocketchat.calls_to("/api/v1/users.update") == []
    assert rocketchat.tokens_of(rc_id(rocketchat)) == []


def test_rate_limited_recheck_hands_out_nothing(user: Any) -> None:
    browser = Client()
    browser.force_login(user)
    with mock_rocketchat(settings.ROCKETCHAT_SSO_URL) as fake:
        fake.set_setting("API_Enable_Rate_Limiter_Limit_Calls_Default", 1)  # one call a minute
        open_chat(browser)
        open_chat(browser)  # the one /me call of the window
        response = browser.post(TOKEN_URL + "?recheck=1")
        assert response.status_code == 503
        assert response.json()["error"] == "rocketchat_rate_limited"
        assert int(response["Retry-After"]) > 0
        assert len(fake.tokens_of(rc_id(fake))) == 1  # no token minted instead


def test_warm_path_rate_limited_hands_out_the_cached_token(user: Any) -> None:
    """Issue 11: an empty /me bucket is no reason to refuse a token that was fine; should it
    have died meanwhile, Rocket.Chat shows the loading page, whose recheck replaces it."""
    browser = Client()
    browser.force_login(user)
    with mock_rocketchat(settings.ROCKETCHAT_SSO_URL) as fake:
        fake.set_setting("API_Enable_Rate_Limiter_Limit_Calls_Default", 1)
        first = open_chat(browser)
        open_chat(browser)  # the one /me call of the window
        fake.reset_calls()
        assert open_chat(browser) == first
        assert paths(fake) == ["GET me"]  # asked, refused (429), handed out anyway
        assert fake.tokens_of(rc_id(fake)) == [first]


def test_a_cached_token_is_never_handed_to_another_user(
    rocketchat: FakeRocketChat, browser: Client, user: Any, django_user_model: Any
) -> None:
    alices = open_chat(browser)
    mallory = django_user_model.objects.create_user("mallory", "m@example.com", "pw")
    session_key = browser.session.session_key
    assert session_key is not None
    session = SessionStore(session_key)
    assert tokens.session_login_token(session, user).auth_token == alices
    theirs = tokens.session_login_token(session, mallory)
    assert theirs.auth_token != alices
    assert theirs.user_id == rc_id(rocketchat, "mallory")


def test_a_relinked_account_does_not_reuse_the_old_users_token(
    rocketchat: FakeRocketChat, browser: Client, user: Any
) -> None:
    old = open_chat(browser)
    other = rocketchat.add_user("alice2", "a2@example.com", name="A")
    RocketChatAccount.objects.filter(user=user).update(rocketchat_user_id=other["_id"])
    assert open_chat(browser) != old


@override_settings(ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL=300)
def test_a_relinked_account_is_noticed_within_the_recheck_interval(
    rocketchat: FakeRocketChat, browser: Client, user: Any
) -> None:
    """The warm path asks the database for the link on every request: relinking through
    ``QuerySet.update()`` (as sign-in does) sends no signal a remembered link could be
    dropped on."""
    old = open_chat(browser)
    assert open_chat(browser) == old
    other = rocketchat.add_user("alice2", "a2@example.com", name="A")
    RocketChatAccount.objects.filter(user=user).update(rocketchat_user_id=other["_id"])
    assert open_chat(browser) != old


@override_settings(ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL=300)
def test_a_warm_opening_reads_the_session_the_user_and_the_link_only(
    rocketchat: FakeRocketChat, browser: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No write, no Rocket.Chat client built: what the site's floor pays, plus one lookup."""
    first = open_chat(browser)
    built: list[object] = []
    monkeypatch.setattr(tokens, "RocketChatClient", lambda *args, **kwargs: built.append(args))
    rocketchat.reset_calls()
    with CaptureQueriesContext(connection) as queries:
        assert open_chat(browser) == first
    assert built == [] and rocketchat.calls == []
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 3, statements  # the session, the user, the link
    assert all(sql.startswith("SELECT") for sql in statements), statements
    assert RocketChatAccount._meta.db_table in statements[-1]


def test_the_cache_holds_no_session_key(rocketchat: FakeRocketChat, browser: Client) -> None:
    open_chat(browser)
    session_key = browser.session.session_key
    assert session_key is not None
    key = tokens.cache_key(session_key)
    assert session_key not in key
    assert caches["default"].get(key)["user_pk"] == str(browser.session["_auth_user_id"])


def test_a_session_without_a_key_gets_one(rocketchat: FakeRocketChat, user: Any) -> None:
    session = SessionStore()
    first = tokens.session_login_token(session, user)
    assert session.session_key
    assert tokens.session_login_token(session, user) == first


@override_settings(ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT=0)
def test_reuse_can_be_turned_off(rocketchat: FakeRocketChat, browser: Client) -> None:
    assert open_chat(browser) != open_chat(browser)


@override_settings(
    CACHES={
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "tokens": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"},
    },
    ROCKETCHAT_SSO_CACHE="tokens",
)
def test_the_cache_alias_is_a_setting(rocketchat: FakeRocketChat, browser: Client) -> None:
    open_chat(browser)
    session_key = browser.session.session_key
    assert session_key is not None
    assert caches["tokens"].get(tokens.cache_key(session_key)) is not None


def test_profile_drift_is_synced_on_the_warm_path(
    rocketchat: FakeRocketChat, browser: Client, user: Any
) -> None:
    open_chat(browser)
    user.first_name = "Alicia"
    user.save()
    rocketchat.reset_calls()
    open_chat(browser)
    assert paths(rocketchat) == ["GET me", "POST users.update"]
    rc_user = rocketchat.user_by_username("alice")
    assert rc_user is not None and rc_user["name"] == "Alicia Liddell"
    rc_user["name"] = "Renamed in Rocket.Chat"
    rocketchat.reset_calls()
    open_chat(browser)
    assert rc_user["name"] == "Alicia Liddell"
    rocketchat.reset_calls()
    open_chat(browser)
    assert paths(rocketchat) == ["GET me"]


@pytest.fixture
def issued() -> Iterator[list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []

    def receiver(sender: object, **kwargs: Any) -> None:
        sent.append(kwargs)

    signals.token_issued.connect(receiver)
    yield sent
    signals.token_issued.disconnect(receiver)


def test_token_issued_is_sent_for_new_tokens_only(
    rocketchat: FakeRocketChat, browser: Client, user: Any, issued: list[dict[str, Any]]
) -> None:
    for _ in range(3):
        open_chat(browser)
    assert len(issued) == 1
    assert issued[0]["user"] == user
    assert issued[0]["account"].rocketchat_user_id == rc_id(rocketchat)


def test_accounts_linked_before_digests_get_one_without_a_call(
    rocketchat: FakeRocketChat, browser: Client, user: Any
) -> None:
    open_chat(browser)
    RocketChatAccount.objects.filter(user=user).update(profile_digest="")
    rocketchat.reset_calls()
    open_chat(browser)
    assert paths(rocketchat) == ["GET me"]
    assert RocketChatAccount.objects.get(user=user).profile_digest


def test_a_profile_rocketchat_refuses_does_not_cost_the_token(
    rocketchat: FakeRocketChat, browser: Client, user: Any
) -> None:
    token = open_chat(browser)
    rocketchat.add_user("taken", "alicia@example.com", name="Someone Else")
    user.email = "alicia@example.com"
    user.save()
    assert open_chat(browser) == token
    # The taken address is kept as a conflict on the account (the admin shows it).
    assert "alicia@example.com" in RocketChatAccount.objects.get(user=user).sync_conflict
