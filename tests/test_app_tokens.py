"""Tokens for Rocket.Chat's apps: minted apart from the session, ended only by the user's fate.

A phone keeps its token for weeks; the WebView session that minted it lives minutes. The token
must survive that session's logout, expiry and the sweep, and end with a password change, a
deactivation, a deletion and "sign out of all devices" (docs/apps.rst).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rocketchat_sso.models import IssuedToken, RocketChatAccount
from rocketchat_sso.testing import FakeRocketChat, mock_rocketchat
from tests.conftest import paths
from tests.test_signin import EXPECTED_CALLS, RELEASES, SETUP, URL

pytestmark = pytest.mark.django_db

CSRF_SECRET = "s" * 32
OWN_ORIGIN = "http://testserver"
APP_TOKEN_URL = "/rocketchat/app-token/?app=mobile"


@pytest.fixture
def browser(user: Any) -> Client:
    """The WebView's browser: signed in to the site, with the page's CSRF cookie."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    return client


def post(client: Client, url: str, **headers: str) -> Any:
    headers = {"Origin": OWN_ORIGIN, "X-CSRFToken": CSRF_SECRET, **headers}
    return client.post(url, headers=headers)


def app_token(browser: Client) -> str:
    answer = post(browser, APP_TOKEN_URL)
    assert answer.status_code == 200, answer.content
    token: str = answer.json()["loginToken"]
    return token


def alive(rocketchat: FakeRocketChat, token: str) -> bool:
    rc_user = rocketchat.user_by_username("alice")
    assert rc_user is not None
    return token in rocketchat.tokens_of(rc_user["_id"])


def session_token(browser: Client) -> str:
    answer = browser.post(reverse("rocketchat_sso:token"), headers={"Origin": OWN_ORIGIN})
    token: str = answer.json()["loginToken"]
    return token


# -- the app's token endpoint ------------------------------------------------------------------


def test_an_app_token_is_new_and_tied_to_no_session(
    rocketchat: FakeRocketChat, browser: Client
) -> None:
    web = session_token(browser)
    calls = len(rocketchat.calls_to())
    phone = app_token(browser)
    assert phone != web and alive(rocketchat, phone)
    # Known user: users.info + users.createToken, or one /login (password method).
    assert len(rocketchat.calls_to()) - calls <= 2
    row = IssuedToken.objects.get(app="mobile")
    assert (row.session_hash, row.encrypted_session_key, row.ended_at) == ("", "", None)
    assert phone not in row.encrypted_token  # kept encrypted, like every issued token
    assert session_token(browser) == web  # the session keeps its own


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [
        ({"Origin": "https://chat.example.com"}, 403, "origin_not_allowed"),
        ({"X-CSRFToken": "wrong" * 8}, 403, "csrf_failed"),
    ],
)
def test_only_the_sites_own_pages_get_an_app_token(
    rocketchat: FakeRocketChat, browser: Client, headers: dict[str, str], status: int, error: str
) -> None:
    answer = post(browser, APP_TOKEN_URL, **headers)
    assert (answer.status_code, answer.json()["error"]) == (status, error)
    assert not IssuedToken.objects.exists()
    assert rocketchat.calls_to() == []


def test_app_token_refusals_are_json(rocketchat: FakeRocketChat, browser: Client) -> None:
    assert browser.get(APP_TOKEN_URL).status_code == 405
    unknown = post(browser, "/rocketchat/app-token/?app=watch")
    assert (unknown.status_code, unknown.json()["error"]) == (400, "unknown_app")
    anonymous = Client(enforce_csrf_checks=True)
    anonymous.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    assert post(anonymous, APP_TOKEN_URL).json()["error"] == "not_authenticated"
    assert rocketchat.calls_to() == []


# -- what the app's token outlives -------------------------------------------------------------


def test_the_app_token_outlives_logout_expiry_and_the_sweep(
    rocketchat: FakeRocketChat, browser: Client
) -> None:
    phone, web = app_token(browser), session_token(browser)
    post(browser, reverse("rocketchat_sso:logout"))
    assert not alive(rocketchat, web) and alive(rocketchat, phone)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    call_command("clearsessions")
    call_command("rocketchat_sso_revoke", "--expired")
    assert alive(rocketchat, phone)
    assert IssuedToken.objects.get(app="mobile").ended_at is None


def test_the_sweep_still_ends_a_session_token_after_expiry(
    rocketchat: FakeRocketChat, browser: Client
) -> None:
    web = session_token(browser)
    Session.objects.all().delete()
    call_command("rocketchat_sso_revoke", "--expired")
    assert not alive(rocketchat, web)


# -- what ends it --------------------------------------------------------------------------------


def test_a_password_change_ends_the_app_token(
    rocketchat: FakeRocketChat, browser: Client, user: Any
) -> None:
    phone = app_token(browser)
    user.set_password("another password")
    user.save()
    assert not alive(rocketchat, phone)


def test_the_sweep_ends_the_app_token_of_a_deleted_or_deactivated_user(
    rocketchat: FakeRocketChat, browser: Client, user: Any
) -> None:
    app_token(browser)
    # As if Rocket.Chat had been unreachable when the user was deactivated: the sweep catches up.
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    call_command("rocketchat_sso_revoke", "--expired")
    row = IssuedToken.objects.get(app="mobile")
    assert row.ended_at is not None and row.revoked_at is not None


def test_sign_out_everywhere_view_json(rocketchat: FakeRocketChat, browser: Client) -> None:
    phone, web = app_token(browser), session_token(browser)
    calls = len(rocketchat.calls_to())
    answer = post(browser, "/rocketchat/sign-out-everywhere/", Accept="application/json")
    assert answer.json() == {"signedOut": True}
    assert len(rocketchat.calls_to()) - calls == 1  # users.logout, with the admin's token
    assert not alive(rocketchat, phone) and not alive(rocketchat, web)
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()
    # Still logged in to the site: the next chat opening gets a new token, not the dead one.
    assert session_token(browser) != web


def test_sign_out_everywhere_view_redirects_a_form_and_needs_csrf(
    rocketchat: FakeRocketChat, browser: Client
) -> None:
    phone = app_token(browser)
    url = "/rocketchat/sign-out-everywhere/"
    refused = browser.post(url, {"next": "/account/"}, headers={"Origin": OWN_ORIGIN})
    assert (refused.status_code, refused.json()["error"]) == (403, "csrf_failed")
    assert alive(rocketchat, phone)
    form = {"next": "/account/", "csrfmiddlewaretoken": CSRF_SECRET}
    answer = browser.post(url, form, headers={"Origin": OWN_ORIGIN})
    assert (answer.status_code, answer["Location"]) == (302, "/account/")
    assert not alive(rocketchat, phone)
    elsewhere = {"next": "https://evil.example.com/", "csrfmiddlewaretoken": CSRF_SECRET}
    answer = browser.post(url, elsewhere, headers={"Origin": OWN_ORIGIN})
    assert answer["Location"] == settings.LOGIN_REDIRECT_URL


def test_sign_out_everywhere_command_option(
    rocketchat: FakeRocketChat, browser: Client, capsys: Any
) -> None:
    phone = app_token(browser)
    call_command("rocketchat_sso_revoke", "--sign-out-everywhere", "alice")
    assert "alice: signed out of Rocket.Chat on every device" in capsys.readouterr().out
    assert not alive(rocketchat, phone)
    with pytest.raises(CommandError, match="No such user: nobody"):
        call_command("rocketchat_sso_revoke", "--sign-out-everywhere", "nobody")


def test_the_admin_action_signs_the_phone_out_too(
    rocketchat: FakeRocketChat, browser: Client, admin_client: Client
) -> None:
    app_token(browser)
    account = RocketChatAccount.objects.get()
    admin_client.post(
        reverse("admin:rocketchat_sso_rocketchataccount_changelist"),
        {"action": "log_out_everywhere", "_selected_action": [account.pk]},
    )
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()


def test_deleting_the_user_ends_the_app_token(
    rocketchat: FakeRocketChat,
    browser: Client,
    user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    phone = app_token(browser)
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()  # deactivated in Rocket.Chat (ROCKETCHAT_SSO_ON_USER_DELETE's default)
    assert not alive(rocketchat, phone)
    call_command("rocketchat_sso_revoke", "--expired")  # the row, its user gone, is ended
    assert not IssuedToken.objects.filter(ended_at__isnull=True).exists()


def test_a_site_logout_leaves_the_phone_unless_logout_everywhere_is_on(
    rocketchat: FakeRocketChat, browser: Client, settings: Any
) -> None:
    phone, web = app_token(browser), session_token(browser)
    browser.logout()  # Django's logout: the session's token goes, the phone's stays
    assert not alive(rocketchat, web) and alive(rocketchat, phone)
    settings.ROCKETCHAT_SSO_LOGOUT_EVERYWHERE = True
    user = IssuedToken.objects.get(app="mobile").user
    browser.force_login(user)
    browser.logout()
    assert not alive(rocketchat, phone)
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()


@pytest.mark.parametrize("method", sorted(EXPECTED_CALLS))
@pytest.mark.parametrize("version", RELEASES)
def test_calls_per_app_token_on_each_release(
    user: Any, settings: Any, version: str, method: str
) -> None:
    """A phone's sign-in costs the site what a new session costs: 2 calls for a new user, 1
    (password: ``/login``, the user's bucket) or 2 (create_token: the admin's) for a known one."""
    settings.ROCKETCHAT_SSO_LOGIN_METHOD = method
    settings.ROCKETCHAT_SSO_CREATE_TOKEN_SECRET = "k" if version != "7.10" else ""
    new_user, known_user = EXPECTED_CALLS[method]
    with mock_rocketchat(URL, version=version, **SETUP[version]) as fake:
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
        app_token(client)
        assert paths(fake) == new_user
        fake.reset_calls()
        app_token(client)
        assert paths(fake) == known_user
