"""The logout endpoint behind the embed script's ``logout()``: revoke the session's token."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from rocketchat_sso.testing import FakeResponse, FakeRocketChat

pytestmark = pytest.mark.django_db

CSRF_SECRET = "s" * 32  # what Django keeps in the cookie; pages send it (masked or not)
OWN_ORIGIN = "http://testserver"


@pytest.fixture
def browser(user: Any) -> Client:
    """A signed-in browser that enforces CSRF and holds the page's CSRF cookie."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    return client


def chat_token(browser: Client) -> str:
    response = browser.post(reverse("rocketchat_sso:token"), headers={"Origin": OWN_ORIGIN})
    assert response.status_code == 200
    token: str = response.json()["loginToken"]
    return token


def log_out(browser: Client, **headers: str) -> Any:
    headers = {"Origin": OWN_ORIGIN, "X-CSRFToken": CSRF_SECRET, **headers}
    return browser.post(reverse("rocketchat_sso:logout"), headers=headers)


def alive(rocketchat: FakeRocketChat, token: str) -> bool:
    rc_user = rocketchat.user_by_username("alice")
    assert rc_user is not None
    return token in rocketchat.tokens_of(rc_user["_id"])


def test_logout_revokes_the_sessions_token_in_rocketchat(
    rocketchat: FakeRocketChat, browser: Client
) -> None:
    token = chat_token(browser)
    response = log_out(browser)
    assert response.status_code == 200
    assert response.json() == {"revoked": True}
    assert "no-store" in response["Cache-Control"]
    assert not alive(rocketchat, token)
    # Still logged in to the site: the next chat gets a new token, not the dead one.
    assert chat_token(browser) != token


def test_without_the_csrf_token_nothing_is_revoked(
    rocketchat: FakeRocketChat, browser: Client
) -> None:
    token = chat_token(browser)
    response = log_out(browser, **{"X-CSRFToken": "t" * 32})
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    assert alive(rocketchat, token)


@pytest.mark.parametrize("origin", ["https://chat.example.com", "https://evil.example.com"])
def test_other_origins_may_not_log_out(
    rocketchat: FakeRocketChat, browser: Client, origin: str
) -> None:
    token = chat_token(browser)
    response = log_out(browser, Origin=origin)
    assert response.status_code == 403
    assert response.json()["error"] == "origin_not_allowed"
    assert alive(rocketchat, token)


def test_only_post(rocketchat: FakeRocketChat, browser: Client) -> None:
    response = browser.get(reverse("rocketchat_sso:logout"))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["error"] == "method_not_allowed"


def test_anonymous_has_nothing_to_revoke(rocketchat: FakeRocketChat) -> None:
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    response = log_out(client)
    assert response.status_code == 200
    assert response.json() == {"revoked": False}
    assert rocketchat.calls_to("/api/v1/logout") == []


def test_rocketchat_down_answers_not_revoked_and_forgets_the_token(
    rocketchat: FakeRocketChat, browser: Client
) -> None:
    token = chat_token(browser)
    rocketchat.inject(FakeResponse(503, {"success": False}), path="/api/v1/logout")
    response = log_out(browser)
    assert response.status_code == 200
    assert response.json() == {"revoked": False}
    assert len(rocketchat.calls_to("/api/v1/logout")) == 1  # the user waits: no retries
    assert chat_token(browser) != token  # not handed out again
