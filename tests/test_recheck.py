"""The default reuse: a token Rocket.Chat accepted recently is handed out without asking again.

Rocket.Chat rate-limits ``/me`` per client address (the whole site is one), so the warm path
asks it at most once per ``ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL``; the loading page, shown only
when Rocket.Chat is not signed in, always asks for a recheck, which breaks any dead-token loop.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from rocketchat_sso.conf import DEFAULT_TOKEN_RECHECK_INTERVAL, conf
from rocketchat_sso.rocketchat.client import RocketChatClient
from rocketchat_sso.sessions import tokens
from rocketchat_sso.testing import FakeRocketChat
from tests.conftest import paths

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("default_interval"),
]

TOKEN_URL = "/rocketchat/token/"


@pytest.fixture
def default_interval() -> Any:
    with override_settings(ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL=DEFAULT_TOKEN_RECHECK_INTERVAL):
        yield


@pytest.fixture
def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def open_chat(browser: Client, query: str = "") -> str:
    response = browser.post(TOKEN_URL + query)
    assert response.status_code == 200, response.content
    return str(response.json()["loginToken"])


def test_default_interval_is_documented_value() -> None:
    assert conf.ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL == 300


def test_fifty_openings_cost_no_call_after_the_first(
    rocketchat: FakeRocketChat, browser: Client
) -> None:
    first = open_chat(browser)
    rocketchat.reset_calls()
    assert {open_chat(browser) for _ in range(49)} == {first}
    assert paths(rocketchat) == []
    rc_user = rocketchat.user_by_username("alice")
    assert rc_user is not None and rocketchat.tokens_of(rc_user["_id"]) == [first]


def test_after_the_interval_rocketchat_is_asked_again(
    rocketchat: FakeRocketChat, browser: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = open_chat(browser)
    rocketchat.reset_calls()
    later = tokens.time.time() + DEFAULT_TOKEN_RECHECK_INTERVAL + 1
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    assert open_chat(browser) == first
    assert paths(rocketchat) == ["GET me"]
    rocketchat.reset_calls()
    assert open_chat(browser) == first  # the answer restarted the interval
    assert paths(rocketchat) == []


def test_recheck_replaces_a_token_rocketchat_no_longer_accepts(
    rocketchat: FakeRocketChat, browser: Client, user: Any
) -> None:
    first = open_chat(browser)
    rc_user = rocketchat.user_by_username("alice")
    assert rc_user is not None
    RocketChatClient().logout_user_everywhere(rc_user["_id"])  # e.g. logged out in Rocket.Chat
    assert open_chat(browser) == first  # within the interval nobody asked Rocket.Chat...
    rocketchat.reset_calls()
    # ...the loading page does; the token is dead, taken for a logout in Rocket.Chat
    # (RC #28006): no new token until the user asks (rocketchat_sso.sessions.signout).
    refused = browser.post(TOKEN_URL + "?recheck=1")
    assert refused.status_code == 403
    assert refused.json()["error"] == "rocketchat_signed_out"
    assert paths(rocketchat)[0] == "GET me"
    fresh = open_chat(browser, "?recheck=1&signin=1")  # the user's "Sign in to the chat"
    assert fresh != first
    assert rocketchat.tokens_of(rc_user["_id"]) == [fresh]
    assert open_chat(browser) == fresh


def test_recheck_of_a_good_token_keeps_it(rocketchat: FakeRocketChat, browser: Client) -> None:
    first = open_chat(browser)
    rocketchat.reset_calls()
    assert open_chat(browser, "?recheck=1") == first
    assert paths(rocketchat) == ["GET me"]


def test_the_cached_token_follows_the_link(
    rocketchat: FakeRocketChat, browser: Client, user: Any
) -> None:
    """A relinked account (the Rocket.Chat user was replaced) never gets the old user's token."""
    first = open_chat(browser)
    user.rocketchat_account.rocketchat_user_id = "someoneelse000001"
    user.rocketchat_account.save()
    assert open_chat(browser) != first


def test_the_loading_page_asks_for_a_recheck() -> None:
    from pathlib import Path

    import rocketchat_sso

    script = Path(rocketchat_sso.__file__).parent / "static" / "rocketchat_sso" / "login.js"
    assert "recheck=1" in script.read_text()
