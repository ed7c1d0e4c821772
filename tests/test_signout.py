"""Rocket.Chat's own logout, respected at the token endpoint (rocketchat_sso.sessions.signout).

A session whose token Rocket.Chat refuses is signed out of the chat until the user asks back in
(``?signin=1``) or logs in to the site anew; what the site can tell apart (expiry, deactivation,
deletion) is not taken for a logout. Each answer's Rocket.Chat calls are counted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from rocketchat_sso.models import IssuedToken
from rocketchat_sso.rocketchat.client import LoginToken, RocketChatClient
from rocketchat_sso.testing import FakeRocketChat
from tests.conftest import paths

pytestmark = pytest.mark.django_db

TOKEN_URL = "/rocketchat/token/"


def rc_id(fake: FakeRocketChat) -> str:
    rc_user = fake.user_by_username("alice")
    assert rc_user is not None
    return str(rc_user["_id"])


def open_chat(browser: Client, query: str = "") -> Any:
    return browser.post(TOKEN_URL + query)


def token_of(response: Any) -> str:
    assert response.status_code == 200, response.content
    return str(response.json()["loginToken"])


def log_out_in_rocketchat(fake: FakeRocketChat, token: str) -> None:
    """The user's "Log out" in Rocket.Chat: its logout method removes that one token."""
    RocketChatClient().revoke_token(LoginToken(user_id=rc_id(fake), auth_token=token))


def test_logged_out_in_rocketchat_the_endpoint_refuses_without_calls_until_asked(
    rocketchat: FakeRocketChat, signed_in: Client
) -> None:
    log_out_in_rocketchat(rocketchat, token_of(open_chat(signed_in)))
    rocketchat.reset_calls()
    first = open_chat(signed_in, "?recheck=1")  # the loading page, after Rocket.Chat's tryLogin
    assert first.status_code == 403
    assert first.json() == {
        "error": "rocketchat_signed_out",
        "message": "You signed out of the chat.",
    }
    # One check finds it dead, one admin call (exempt) tells a logout from a deactivation.
    assert paths(rocketchat) == ["GET me", "GET users.info"]
    rocketchat.reset_calls()
    for query in ("", "?recheck=1", ""):  # every later opening: no Rocket.Chat call at all
        again = open_chat(signed_in, query)
        assert again.status_code == 403
        assert again.json()["error"] == "rocketchat_signed_out"
    assert paths(rocketchat) == []
    assert rocketchat.tokens_of(rc_id(rocketchat)) == []


def test_one_click_signs_in_again_and_the_token_is_reused_after(
    rocketchat: FakeRocketChat, signed_in: Client
) -> None:
    log_out_in_rocketchat(rocketchat, token_of(open_chat(signed_in)))
    assert open_chat(signed_in).status_code == 403
    rocketchat.reset_calls()
    fresh = token_of(open_chat(signed_in, "?recheck=1&signin=1"))  # "Sign in to the chat"
    assert paths(rocketchat) == ["POST login"]  # one login (the "password" method), no check
    assert rocketchat.tokens_of(rc_id(rocketchat)) == [fresh]
    assert token_of(open_chat(signed_in)) == fresh  # the mark is gone for good


def test_a_new_login_to_the_site_signs_in_without_a_click(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any
) -> None:
    log_out_in_rocketchat(rocketchat, token_of(open_chat(signed_in)))
    assert open_chat(signed_in).status_code == 403
    signed_in.force_login(user)  # login() cycles the session key: a new session
    token_of(open_chat(signed_in))


def test_the_mark_is_the_sessions_own(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any
) -> None:
    phone = Client()
    phone.force_login(user)
    phone_token = token_of(open_chat(phone))
    log_out_in_rocketchat(rocketchat, token_of(open_chat(signed_in)))
    assert open_chat(signed_in).status_code == 403
    assert token_of(open_chat(phone)) == phone_token  # the other device stays signed in


def test_an_expired_token_is_replaced_without_a_click(
    rocketchat: FakeRocketChat, signed_in: Client
) -> None:
    old = token_of(open_chat(signed_in))
    log_out_in_rocketchat(rocketchat, old)  # as Rocket.Chat drops it at Accounts_LoginExpiration
    IssuedToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert token_of(open_chat(signed_in)) != old


def test_a_user_deactivated_in_rocketchat_is_told_so(
    rocketchat: FakeRocketChat, signed_in: Client
) -> None:
    token_of(open_chat(signed_in))
    RocketChatClient().set_active_status(rc_id(rocketchat), False)
    refused = open_chat(signed_in)
    assert refused.status_code == 403
    assert refused.json()["error"] == "rocketchat_user_inactive"


def test_a_user_deleted_in_rocketchat_gets_a_new_account_not_a_logout(
    rocketchat: FakeRocketChat, signed_in: Client
) -> None:
    token_of(open_chat(signed_in))
    RocketChatClient().delete_user(rc_id(rocketchat))
    token_of(open_chat(signed_in))
    assert rocketchat.user_by_username("alice") is not None
