"""Rocket.Chat's e-mail two-factor meets the ``password`` login method (issue 19).

On a default Rocket.Chat every new user is opted in to e-mail two-factor; a user whose address
is verified (``ROCKETCHAT_SSO_EMAIL_VERIFIED`` sends it so) is then refused ``totp-required`` on
every password login while Rocket.Chat e-mails them a code. The site cannot type that code: it
says so, plainly and once per opening, and never takes the refusal for a forgotten password
(replacing it would sign the user out of every device and e-mail another code).
``create_token`` mints resume tokens, which two-factor does not ask: it is unaffected.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from rocketchat_sso.accounts.signin import issue_login_token
from rocketchat_sso.exceptions import RocketChatLoginTwoFactorRequired
from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.testing import FakeRocketChat
from tests.conftest import paths

pytestmark = pytest.mark.django_db

TOKEN_URL = "/rocketchat/token/"
SECRET = "create-tokens-secret"
RC_ORIGIN = "https://chat.example.com"


@override_settings(ROCKETCHAT_SSO_EMAIL_VERIFIED=True)
def test_password_method_says_why_and_never_resets_the_password(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    browser = Client()
    browser.force_login(user)
    first = browser.post(TOKEN_URL, headers={"Origin": RC_ORIGIN})
    assert first.status_code == 502, first.content
    assert first["Content-Type"] == "application/json" and "Retry-After" not in first
    assert first["Access-Control-Allow-Origin"] == RC_ORIGIN  # Rocket.Chat's client reads it
    assert first.json()["error"] == "rocketchat_two_factor_required"
    assert "create_token" in first.json()["message"]
    assert paths(rocketchat) == ["POST users.create", "POST login"]  # 2 calls, no reset
    assert len(rocketchat.emails_to("alice@example.com")) == 1
    rocketchat.reset_calls()
    again = [browser.post(TOKEN_URL) for _ in range(2)]
    assert [(r.status_code, r.json()["error"]) for r in again] == [
        (502, "rocketchat_two_factor_required")
    ] * 2
    assert paths(rocketchat) == ["POST login", "POST login"]  # one call per opening, no loop
    assert len(rocketchat.emails_to("alice@example.com")) == 1  # Rocket.Chat's code still valid
    account = RocketChatAccount.objects.get(user=user)
    assert "create_token" in account.last_error  # shown to the administrator
    assert rocketchat.login_attempts.failures(account.rocketchat_username) == 0


@override_settings(ROCKETCHAT_SSO_EMAIL_VERIFIED=True)
def test_a_known_user_whose_address_gets_verified_keeps_the_password(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    """Signed in before the address was verified; then Rocket.Chat asks for a code."""
    with override_settings(ROCKETCHAT_SSO_EMAIL_VERIFIED=False):
        token = issue_login_token(user)
    doc = rocketchat.user_by_id(token.user_id)
    assert doc is not None
    doc["emails"][0]["verified"] = True  # e.g. verified in Rocket.Chat itself
    rocketchat.reset_calls()
    with pytest.raises(RocketChatLoginTwoFactorRequired):
        issue_login_token(user)
    assert paths(rocketchat) == ["POST login"]
    assert token.auth_token in rocketchat.tokens_of(token.user_id)  # not signed out anywhere


@pytest.mark.rocketchat(create_tokens_for_users=True, create_tokens_secret=SECRET)
@override_settings(
    ROCKETCHAT_SSO_EMAIL_VERIFIED=True,
    ROCKETCHAT_SSO_LOGIN_METHOD="create_token",
    ROCKETCHAT_SSO_CREATE_TOKEN_SECRET=SECRET,
)
def test_create_token_is_unaffected(rocketchat: FakeRocketChat, user: Any) -> None:
    browser = Client()
    browser.force_login(user)
    response = browser.post(TOKEN_URL)
    assert response.status_code == 200, response.content
    assert response.json()["loginToken"]
    doc = rocketchat.user_by_id(RocketChatAccount.objects.get(user=user).rocketchat_user_id)
    assert doc is not None and doc["emails"][0]["verified"] is True
    assert rocketchat.sent_emails == []
    assert "POST login" not in paths(rocketchat)
