"""Django's user lifecycle reaches Rocket.Chat, and Rocket.Chat failures never break it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from rocketchat_sso import signals
from rocketchat_sso.accounts.signin import issue_login_token
from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.rocketchat.client import RocketChatClient
from rocketchat_sso.sessions import tokens
from rocketchat_sso.testing import FakeRocketChat, Fault
from tests.conftest import paths

pytestmark = pytest.mark.django_db

TOKEN_URL = "/rocketchat/token/"
Commit = Callable[..., Any]


@pytest.fixture
def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def linked(rocketchat: FakeRocketChat, user: Any) -> dict[str, Any]:
    """Alice, synced to Rocket.Chat; returns her live Rocket.Chat record."""
    issue_login_token(user)
    rc_user = rocketchat.user_by_username("alice")
    assert rc_user is not None
    rocketchat.reset_calls()
    return rc_user


def account_of(user: Any) -> RocketChatAccount:
    return RocketChatAccount.objects.get(user=user)


def break_rocketchat(fake: FakeRocketChat) -> None:
    fake.inject(Fault.CONNECTION_REFUSED, times=50)


# -- logout ----------------------------------------------------------------------------------


def test_logout_revokes_that_sessions_token_only(
    rocketchat: FakeRocketChat, browser: Client, user: Any
) -> None:
    other = Client()
    other.force_login(user)
    mine = browser.post(TOKEN_URL).json()["loginToken"]
    theirs = other.post(TOKEN_URL).json()["loginToken"]
    browser.logout()
    rc_id = account_of(user).rocketchat_user_id
    assert rocketchat.tokens_of(rc_id) == [theirs]
    assert mine not in rocketchat.tokens_of(rc_id)


def test_logout_without_a_chat_token_calls_nothing(
    rocketchat: FakeRocketChat, browser: Client
) -> None:
    browser.logout()
    assert rocketchat.calls == []


@override_settings(ROCKETCHAT_SSO_LOGOUT_EVERYWHERE=True)
def test_logout_everywhere(
    rocketchat: FakeRocketChat, browser: Client, user: Any, linked: dict[str, Any]
) -> None:
    phone = issue_login_token(user)
    browser.post(TOKEN_URL)
    browser.logout()
    assert phone.auth_token not in rocketchat.tokens_of(linked["_id"])
    assert rocketchat.tokens_of(linked["_id"]) == []
    assert account_of(user).last_error == ""


@override_settings(ROCKETCHAT_SSO_LOGOUT_EVERYWHERE=True)
def test_logout_everywhere_with_no_session_left_is_not_an_error(
    rocketchat: FakeRocketChat, browser: Client, user: Any, linked: dict[str, Any]
) -> None:
    browser.logout()  # users.logout answers 400 error-invalid-user-id: nothing to end
    assert paths(rocketchat) == ["POST users.logout"]
    assert account_of(user).last_error == ""


def test_logout_survives_rocketchat_being_down(
    rocketchat: FakeRocketChat, browser: Client, user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    token = browser.post(TOKEN_URL).json()["loginToken"]
    break_rocketchat(rocketchat)
    with caplog.at_level(logging.WARNING):
        browser.logout()
    assert "_auth_user_id" not in browser.session
    account = account_of(user)
    assert "could not be reached" in account.last_error
    assert account.last_error_at is not None
    assert "revoke" in caplog.text
    assert token not in caplog.text


# -- active state ----------------------------------------------------------------------------


def test_deactivating_and_reactivating_the_django_user(
    rocketchat: FakeRocketChat,
    user: Any,
    linked: dict[str, Any],
    django_capture_on_commit_callbacks: Commit,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()
    assert linked["active"] is False
    assert account_of(user).deactivated_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = True
        user.save()
    assert linked["active"] is True
    assert account_of(user).deactivated_at is None


def test_nothing_happens_before_the_commit(
    rocketchat: FakeRocketChat,
    user: Any,
    linked: dict[str, Any],
    django_capture_on_commit_callbacks: Commit,
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        user.is_active = False
        user.save()
    assert linked["active"] is True  # a rolled-back save would never reach Rocket.Chat
    assert len(callbacks) == 1


def test_a_moderators_deactivation_is_not_undone(
    rocketchat: FakeRocketChat,
    user: Any,
    linked: dict[str, Any],
    django_capture_on_commit_callbacks: Commit,
) -> None:
    linked["active"] = False  # deactivated by a Rocket.Chat moderator
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()
    assert account_of(user).deactivated_at is None  # not ours
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = True
        user.save()
    assert linked["active"] is False


def test_deactivation_failure_does_not_break_the_save(
    rocketchat: FakeRocketChat,
    user: Any,
    linked: dict[str, Any],
    django_capture_on_commit_callbacks: Commit,
) -> None:
    break_rocketchat(rocketchat)
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()
    user.refresh_from_db()
    assert user.is_active is False
    account = account_of(user)
    assert account.deactivated_at is None  # still to do: the sync command retries
    assert "could not be reached" in account.last_error


def test_saves_of_unrelated_fields_cost_no_rocketchat_call(
    rocketchat: FakeRocketChat,
    user: Any,
    linked: dict[str, Any],
    django_capture_on_commit_callbacks: Commit,
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        user.first_name = "Alicia"
        user.save()
        user.save(update_fields=["last_login"])
    assert callbacks == []
    assert rocketchat.calls == []


def test_unlinked_users_cost_nothing(
    rocketchat: FakeRocketChat, user: Any, django_capture_on_commit_callbacks: Commit
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        user.is_active = False
        user.save()
    assert callbacks == []
    assert rocketchat.calls == []


# -- profile on save -------------------------------------------------------------------------


@override_settings(ROCKETCHAT_SSO_SYNC_ON_SAVE=True)
def test_profile_changes_on_save_when_enabled(
    rocketchat: FakeRocketChat,
    user: Any,
    linked: dict[str, Any],
    django_capture_on_commit_callbacks: Commit,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        user.first_name, user.email = "Alicia", "alicia@example.com"
        user.save()
    assert linked["name"] == "Alicia Liddell"
    assert linked["emails"][0]["address"] == "alicia@example.com"
    rocketchat.reset_calls()
    with django_capture_on_commit_callbacks(execute=True):
        user.save()  # nothing changed: the stored digest says so, no call
    assert rocketchat.calls == []


@override_settings(ROCKETCHAT_SSO_SYNC_ON_SAVE=True)
def test_profile_sync_failure_on_save_is_recorded(
    rocketchat: FakeRocketChat,
    user: Any,
    linked: dict[str, Any],
    django_capture_on_commit_callbacks: Commit,
) -> None:
    break_rocketchat(rocketchat)
    with django_capture_on_commit_callbacks(execute=True):
        user.first_name = "Alicia"
        user.save()
    assert "could not be reached" in account_of(user).last_error


# -- deletion --------------------------------------------------------------------------------


def test_deleted_user_is_deactivated_by_default(
    rocketchat: FakeRocketChat,
    user: Any,
    linked: dict[str, Any],
    django_capture_on_commit_callbacks: Commit,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()
    assert rocketchat.user_by_id(linked["_id"]) is linked
    assert linked["active"] is False
    assert not RocketChatAccount.objects.exists()


@override_settings(ROCKETCHAT_SSO_ON_USER_DELETE="delete")
def test_deleted_user_can_be_deleted_in_rocketchat(
    rocketchat: FakeRocketChat,
    user: Any,
    linked: dict[str, Any],
    django_capture_on_commit_callbacks: Commit,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()
    assert rocketchat.user_by_id(linked["_id"]) is None
    assert not RocketChatAccount.objects.exists()


def test_deletion_failure_keeps_the_account_for_a_retry(
    rocketchat: FakeRocketChat,
    user: Any,
    linked: dict[str, Any],
    django_capture_on_commit_callbacks: Commit,
) -> None:
    break_rocketchat(rocketchat)
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()
    account = RocketChatAccount.objects.get()
    assert account.user is None
    assert account.rocketchat_user_id == linked["_id"]
    assert "could not be reached" in account.last_error
    assert linked["active"] is True


# -- our signals -----------------------------------------------------------------------------


@pytest.fixture
def received() -> Iterator[dict[str, list[dict[str, Any]]]]:
    log: dict[str, list[dict[str, Any]]] = {"created": [], "synced": []}

    def on_created(sender: object, **kwargs: Any) -> None:
        log["created"].append(kwargs)

    def on_synced(sender: object, **kwargs: Any) -> None:
        log["synced"].append(kwargs)

    signals.user_created.connect(on_created)
    signals.user_synced.connect(on_synced)
    yield log
    signals.user_created.disconnect(on_created)
    signals.user_synced.disconnect(on_synced)


def test_user_created_and_user_synced(
    rocketchat: FakeRocketChat, user: Any, received: dict[str, list[dict[str, Any]]]
) -> None:
    issue_login_token(user)
    user.first_name = "Alicia"
    user.save()
    issue_login_token(user)
    assert [c["rocketchat_user"]["username"] for c in received["created"]] == ["alice"]
    assert [(s["created"], s["changes"]) for s in received["synced"]] == [
        (True, ()),
        (False, ("name",)),
    ]
    assert all(s["user"] == user and s["account"].user == user for s in received["synced"])


# -- edges -----------------------------------------------------------------------------------


def test_logging_out_an_anonymous_session_calls_nothing(
    rocketchat: FakeRocketChat, client: Client
) -> None:
    client.logout()
    assert rocketchat.calls == []


def test_logout_after_rocketchat_already_dropped_the_token(
    rocketchat: FakeRocketChat, browser: Client, user: Any
) -> None:
    browser.post(TOKEN_URL)
    RocketChatClient().logout_user_everywhere(account_of(user).rocketchat_user_id)
    rocketchat.reset_calls()
    browser.logout()  # the revocation is refused with a 401: the token is dead, as wanted
    assert paths(rocketchat) == ["POST logout"]
    assert account_of(user).last_error == ""


@override_settings(ROCKETCHAT_SSO_LOGOUT_EVERYWHERE=True)
def test_logout_everywhere_failure_is_recorded(
    rocketchat: FakeRocketChat, browser: Client, user: Any, linked: dict[str, Any]
) -> None:
    break_rocketchat(rocketchat)
    browser.logout()
    assert "_auth_user_id" not in browser.session
    assert "could not be reached" in account_of(user).last_error


def test_deactivating_a_user_gone_from_rocketchat(
    rocketchat: FakeRocketChat,
    user: Any,
    linked: dict[str, Any],
    django_capture_on_commit_callbacks: Commit,
) -> None:
    RocketChatClient().delete_user(linked["_id"])
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()
    account = account_of(user)
    assert account.last_error == ""
    assert account.deactivated_at is None


def test_deleting_a_user_gone_from_rocketchat(
    rocketchat: FakeRocketChat,
    user: Any,
    linked: dict[str, Any],
    django_capture_on_commit_callbacks: Commit,
) -> None:
    RocketChatClient().delete_user(linked["_id"])
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()
    assert not RocketChatAccount.objects.exists()


def test_logout_does_not_wait_for_retries(
    rocketchat: FakeRocketChat, browser: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user waits for the logout: one attempt per call, a failure is recorded."""
    seen: list[int] = []
    real = tokens.revoke_session_token

    def spy(session_key: str, user: Any, *, client: RocketChatClient) -> bool:
        seen.append(client.session.get_adapter("https://").max_retries.total)
        return real(session_key, user, client=client)

    browser.post(TOKEN_URL)
    monkeypatch.setattr(tokens, "revoke_session_token", spy)
    browser.logout()
    assert seen == [0]
