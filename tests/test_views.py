from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from rocketchat_sso.testing import FakeResponse, FakeRocketChat, Fault

pytestmark = pytest.mark.django_db

RC_ORIGIN = "https://chat.example.com"


@pytest.fixture
def token_url() -> str:
    return reverse("rocketchat_sso:token")


@pytest.fixture
def browser(user: Any) -> Client:
    """A browser with the user's session that enforces CSRF like a real one."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.mark.parametrize("method", ["get", "post"])
def test_rocketchat_gets_a_login_token(
    rocketchat: FakeRocketChat, browser: Client, token_url: str, method: str
) -> None:
    response = getattr(browser, method)(
        token_url, headers={"Origin": RC_ORIGIN}, content_type="application/json"
    )
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["loginToken"]  # never a "token" key: Rocket.Chat would log in twice
    rc_user = rocketchat.user_by_username("alice")
    assert rc_user is not None
    assert body["loginToken"] in rocketchat.tokens_of(rc_user["_id"])
    assert response["Access-Control-Allow-Origin"] == RC_ORIGIN
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "no-store" in response["Cache-Control"]
    assert "origin" in response["Vary"].lower()


def test_same_origin_request_without_origin_header(
    rocketchat: FakeRocketChat, browser: Client, token_url: str
) -> None:
    response = browser.get(token_url)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_same_origin_post_with_own_origin(
    rocketchat: FakeRocketChat, browser: Client, token_url: str
) -> None:
    response = browser.post(token_url, headers={"Origin": "http://testserver"})
    assert response.status_code == 200


def test_preflight_allows_rocketchat_with_credentials(client: Client, token_url: str) -> None:
    response = client.options(
        token_url,
        headers={
            "Origin": RC_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == RC_ORIGIN
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "content-type" in response["Access-Control-Allow-Headers"]
    assert "POST" in response["Access-Control-Allow-Methods"]


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.com",
        "https://chat.example.com.evil.test",
        "https://chat.example.com:8443",
        "http://chat.example.com",
        "null",
    ],
)
def test_foreign_origins_get_no_token_and_no_cors(
    rocketchat: FakeRocketChat, browser: Client, token_url: str, origin: str
) -> None:
    response = browser.post(token_url, headers={"Origin": origin})
    assert response.status_code == 403
    assert response.json()["error"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response
    assert rocketchat.calls == []
    preflight = browser.options(
        token_url, headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in preflight


@override_settings(ROCKETCHAT_SSO_URL="http://rocketchat:3000", ROCKETCHAT_SSO_PUBLIC_URL=RC_ORIGIN)
def test_public_url_decides_the_origin(browser: Client, token_url: str) -> None:
    ok = browser.options(
        token_url, headers={"Origin": RC_ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert ok["Access-Control-Allow-Origin"] == RC_ORIGIN
    internal = browser.post(token_url, headers={"Origin": "http://rocketchat:3000"})
    assert internal.status_code == 403


def test_cors_only_on_the_token_endpoint(client: Client) -> None:
    response = client.get(reverse("rocketchat_sso:login"), headers={"Origin": RC_ORIGIN})
    assert "Access-Control-Allow-Origin" not in response


def test_anonymous_gets_401_json(
    rocketchat: FakeRocketChat, client: Client, token_url: str
) -> None:
    response = client.post(token_url, headers={"Origin": RC_ORIGIN})
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "not_authenticated"
    assert response["Access-Control-Allow-Origin"] == RC_ORIGIN  # so Rocket.Chat can read it
    assert rocketchat.calls == []


def test_inactive_users_session_is_anonymous(
    rocketchat: FakeRocketChat, browser: Client, user: Any, token_url: str
) -> None:
    user.is_active = False
    user.save()
    response = browser.post(token_url)
    assert response.status_code == 401
    assert rocketchat.calls == []


def test_inactive_user_with_permissive_backend(
    rocketchat: FakeRocketChat, user: Any, token_url: str
) -> None:
    user.is_active = False
    user.save()
    with override_settings(
        AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.AllowAllUsersModelBackend"]
    ):
        client = Client()
        client.force_login(user)
        response = client.post(token_url)
    assert response.status_code == 403
    assert response.json()["error"] == "user_inactive"


def test_each_session_gets_its_own_users_token(
    rocketchat: FakeRocketChat, django_user_model: Any, token_url: str
) -> None:
    tokens = {}
    for name in ("ann", "ben"):
        person = django_user_model.objects.create_user(name, f"{name}@example.com", "pw")
        client = Client()
        client.force_login(person)
        tokens[name] = client.post(token_url).json()["loginToken"]
    for name, login_token in tokens.items():
        rc_user = rocketchat.user_by_username(name)
        assert rc_user is not None
        assert rocketchat.tokens_of(rc_user["_id"]) == [login_token]


def test_other_methods_are_refused(browser: Client, token_url: str) -> None:
    assert browser.put(token_url).status_code == 405
    assert browser.delete(token_url).status_code == 405


@pytest.mark.parametrize(
    ("fault", "status", "code", "retry_after"),
    [
        (Fault.CONNECTION_REFUSED, 503, "rocketchat_unavailable", True),
        (Fault.TIMEOUT, 504, "rocketchat_timeout", True),
        (Fault.NON_JSON_200, 502, "rocketchat_bad_response", False),
        (FakeResponse(500, {"success": False}, {}), 502, "rocketchat_error", False),
        (FakeResponse(503, {"success": False}, {}), 503, "rocketchat_unavailable", True),
        (FakeResponse(429, {"success": False}, {}), 503, "rocketchat_rate_limited", True),
        (
            FakeResponse(
                401, {"status": "error", "message": "You must be logged in to do this."}, {}
            ),
            502,
            "rocketchat_misconfigured",
            False,
        ),
    ],
)
def test_rocketchat_failures_become_json_errors(
    rocketchat: FakeRocketChat,
    browser: Client,
    token_url: str,
    fault: Any,
    status: int,
    code: str,
    retry_after: bool,
) -> None:
    rocketchat.inject(fault, times=20)
    response = browser.post(token_url, headers={"Origin": RC_ORIGIN})
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == code
    assert ("Retry-After" in response) is retry_after
    assert response["Access-Control-Allow-Origin"] == RC_ORIGIN
    # and once Rocket.Chat recovers, the next request succeeds
    rocketchat.clear_faults()
    assert browser.post(token_url).status_code == 200


def test_token_never_logged(
    rocketchat: FakeRocketChat, browser: Client, token_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    login_token = browser.post(token_url).json()["loginToken"]
    assert login_token not in caplog.text


def test_login_page_route_exists(client: Client) -> None:
    assert client.get(reverse("rocketchat_sso:login")).status_code == 200


def test_error_body_is_json_with_message(client: Client, token_url: str) -> None:
    body = json.loads(client.get(token_url).content)
    assert set(body) == {"error", "message"}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND"])
def test_other_methods_are_refused_in_json(client: Client, token_url: str, method: str) -> None:
    """Found by fuzzing: require_http_methods answered these with an empty text/html 405."""
    response = client.generic(method, token_url)
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "GET, POST"
    if method != "HEAD":
        assert response.json()["error"] == "method_not_allowed"
