"""JSON on every failure path of the endpoints (issue 19, item 6): token, logout, the apps'.

Django answers a malformed request (``SuspiciousOperation``, ``BadRequest``) with its HTML 400
page, and a session that a logout deleted during the request with ``SessionInterrupted`` (HTML
400) when SessionMiddleware saves it afterwards; the endpoints promise JSON with a reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import Client, override_settings
from django.urls import reverse

from rocketchat_sso.accounts import signin
from rocketchat_sso.models import IssuedToken, RocketChatAccount
from rocketchat_sso.sessions import tokens
from rocketchat_sso.testing import FakeRocketChat

pytestmark = pytest.mark.django_db

TOKEN_URL = "/rocketchat/token/"
CSRF = "s" * 32


def json_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:200]
    assert response["Content-Type"] == "application/json", response.content[:200]
    body: dict[str, Any] = response.json()
    assert body["error"] == code and body["message"]
    return body


def logout_browser(user: Any) -> Client:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.cookies[settings.CSRF_COOKIE_NAME] = CSRF
    return browser


def test_too_many_query_parameters_answer_json(
    rocketchat: FakeRocketChat, signed_in: Client
) -> None:
    query = "&".join(f"p{n}=1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    json_error(signed_in.post(f"{TOKEN_URL}?{query}"), 400, "too_many_fields")
    assert rocketchat.calls == []


def test_too_many_form_fields_at_logout_answer_json(
    rocketchat: FakeRocketChat, user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    fields = {f"p{n}": "1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = logout_browser(user).post(
        reverse("rocketchat_sso:logout"),
        fields,
        headers={"Origin": "http://testserver", "X-CSRFToken": CSRF},
    )
    json_error(response, 400, "too_many_fields")
    assert "django.security.TooManyFieldsSent" in [r.name for r in caplog.records]


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100)
def test_a_body_too_big_at_logout_answers_json(rocketchat: FakeRocketChat, user: Any) -> None:
    response = logout_browser(user).post(
        reverse("rocketchat_sso:logout"),
        {"padding": "x" * 1000},
        headers={"Origin": "http://testserver", "X-CSRFToken": CSRF},
    )
    json_error(response, 413, "request_too_big")


def test_a_session_store_that_fails_answers_json(
    rocketchat: FakeRocketChat, signed_in: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session is read on the first look at ``request.user``, inside the endpoint."""
    from django.contrib.sessions.backends.db import SessionStore

    def locked(self: Any) -> dict[str, Any]:
        raise OperationalError("database is locked")

    monkeypatch.setattr(SessionStore, "load", locked)
    body = json_error(signed_in.post(TOKEN_URL), 503, "database_unavailable")
    assert "locked" not in body["message"]


def test_a_logout_racing_a_mint_answers_json_and_revokes_the_token(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mint wrote the session (its token's slot) after a logout in another tab deleted it:
    Django's SessionInterrupted, an HTML 400, and the new token lived until the expiry sweep."""
    real = signin.issue_login_token

    def raced(user: Any, **kwargs: Any) -> Any:
        token = real(user, **kwargs)
        other_tab = Client()
        other_tab.cookies = signed_in.cookies
        other_tab.logout()  # deletes the session, revokes what it has recorded (nothing yet)
        return token

    monkeypatch.setattr(signin, "issue_login_token", raced)
    response = signed_in.post(TOKEN_URL)
    json_error(response, 401, "session_ended")
    assert "loginToken" not in response.json()
    rc_user_id = RocketChatAccount.objects.get(user=user).rocketchat_user_id
    assert rocketchat.tokens_of(rc_user_id) == []  # revoked at once
    assert IssuedToken.objects.filter(revoked_at__isnull=True).count() == 0


def test_a_mint_keeps_the_session_saved(rocketchat: FakeRocketChat, signed_in: Client) -> None:
    """Saving the session inside the endpoint keeps what the mint wrote into it."""
    first = signed_in.post(TOKEN_URL).json()["loginToken"]
    tokens.forget(signed_in.session.session_key)  # the cache forgot; the session's slot did not
    assert signed_in.post(TOKEN_URL).json()["loginToken"] == first


def test_a_malformed_multipart_body_at_logout_answers_json(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    response = logout_browser(user).post(
        reverse("rocketchat_sso:logout"),
        b"--x\r\nnot a part",
        content_type="multipart/form-data; boundary=",
        headers={"Origin": "http://testserver", "X-CSRFToken": CSRF},
    )
    json_error(response, 400, "bad_request")


@pytest.mark.parametrize(
    "url_name", ["rocketchat_sso:app_token", "rocketchat_sso:sign_out_everywhere"]
)
def test_too_many_form_fields_at_the_apps_endpoints_answer_json(
    rocketchat: FakeRocketChat, user: Any, url_name: str
) -> None:
    """The endpoints the mobile app's page and a site's account page call (issue 18) keep
    issue 19's promise too: JSON, and no Rocket.Chat call."""
    fields = {f"p{n}": "1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = logout_browser(user).post(
        reverse(url_name) + "?app=mobile",
        fields,
        headers={"Origin": "http://testserver", "X-CSRFToken": CSRF},
    )
    json_error(response, 400, "too_many_fields")
    assert rocketchat.calls == []
