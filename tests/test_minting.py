"""Session storage mints through the accounts layer it is handed, never by importing it.

``sessions/`` sits below ``accounts/`` (docs/architecture.rst): the token cache asks for a
mint and a profile brought in step through :mod:`rocketchat_sso.sessions.minting`, which
``AppConfig.ready()`` gives the accounts layer (:mod:`rocketchat_sso.accounts.signin`).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from rocketchat_sso.accounts import signin
from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.rocketchat.client import LoginToken, RocketChatClient
from rocketchat_sso.sessions import minting, tokens
from rocketchat_sso.testing import FakeRocketChat

pytestmark = pytest.mark.django_db


class CountingAccounts:
    """The real accounts layer, counting what session storage asks of it."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def issue_login_token(self, user: Any, *, client: RocketChatClient | None = None) -> LoginToken:
        self.asked.append("issue_login_token")
        return signin.issue_login_token(user, client=client)

    def sync_drift(
        self, user: Any, account: RocketChatAccount, rc_user: dict[str, Any], *, client: Any
    ) -> dict[str, Any]:
        self.asked.append("sync_drift")
        return signin.sync_drift(user, account, rc_user, client=client)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingAccounts:
    accounts = CountingAccounts()
    monkeypatch.setattr(minting._Holder, "accounts", accounts)
    return accounts


def test_the_app_hands_session_storage_the_sign_in_module() -> None:
    assert minting.accounts() is signin


def test_a_first_opening_mints_through_the_accounts_layer_and_a_recheck_syncs_through_it(
    rocketchat: FakeRocketChat, user: Any, counting: CountingAccounts
) -> None:
    browser = Client()
    browser.force_login(user)
    first = browser.post("/rocketchat/token/")
    assert first.status_code == 200, first.content
    assert counting.asked == ["issue_login_token"]
    assert rocketchat.user_by_username(user.username) is not None  # created by signin

    tokens.forget(str(browser.session.session_key))  # the cache forgot it: the record is checked
    again = browser.post("/rocketchat/token/")
    assert again.json()["loginToken"] == first.json()["loginToken"]
    assert counting.asked == ["issue_login_token", "sync_drift"]


def test_session_storage_used_before_the_app_is_ready_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, user: Any
) -> None:
    monkeypatch.setattr(minting._Holder, "accounts", None)
    session = SessionStore()
    with pytest.raises(ImproperlyConfigured, match="INSTALLED_APPS"):
        tokens.session_login_token(session, user)
