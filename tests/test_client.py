from __future__ import annotations

import json
import logging
import socket
import time

import pytest
import requests
import responses
from django.test import override_settings

from rocketchat_sso.exceptions import (
    RocketChatAPIError,
    RocketChatAuthenticationFailed,
    RocketChatBadResponse,
    RocketChatFieldUnavailable,
    RocketChatPermissionDenied,
    RocketChatRateLimited,
    RocketChatTimeout,
    RocketChatUnavailable,
    RocketChatUserNotFound,
)
from rocketchat_sso.rocketchat import capabilities
from rocketchat_sso.rocketchat.client import LoginToken, RocketChatClient
from rocketchat_sso.testing import FakeResponse, FakeRocketChat, Fault, mock_rocketchat

URL = "https://chat.example.com"


def make_user(client: RocketChatClient, name: str = "bob") -> dict[str, object]:
    return client.create_user(
        username=name, email=f"{name}@example.com", name=name.title(), password="Secret-123!"
    )


def test_create_find_and_update_user(rocketchat: FakeRocketChat) -> None:
    client = RocketChatClient()
    created = make_user(client)
    assert client.user_info(user_id=str(created["_id"]))["username"] == "bob"
    assert client.user_info(username="bob")["_id"] == created["_id"]
    assert [u["_id"] for u in client.find_users_by_email("bob@example.com")] == [created["_id"]]
    assert client.find_users_by_email("nobody@example.com") == []
    updated = client.update_user(str(created["_id"]), {"name": "Robert"})
    assert updated["name"] == "Robert"


def test_create_sends_only_keys_rocketchat_accepts(rocketchat: FakeRocketChat) -> None:
    make_user(RocketChatClient())
    body = rocketchat.calls_to("/api/v1/users.create")[0].body
    assert b'"password"' in body
    assert rocketchat.user_by_username("bob") is not None


def test_unknown_user_is_typed(rocketchat: FakeRocketChat) -> None:
    with pytest.raises(RocketChatUserNotFound) as info:
        RocketChatClient().user_info(user_id="nope")
    assert info.value.status == 400


def test_duplicate_username_is_typed(rocketchat: FakeRocketChat) -> None:
    client = RocketChatClient()
    make_user(client)
    with pytest.raises(RocketChatFieldUnavailable) as info:
        client.create_user(
            username="bob", email="other@example.com", name="Other", password="Secret-123!"
        )
    assert info.value.error_type == "error-field-unavailable"


def test_password_login_and_revoke(rocketchat: FakeRocketChat) -> None:
    client = RocketChatClient()
    created = make_user(client)
    token = client.login(username="bob", password="Secret-123!")
    assert token.user_id == created["_id"]
    assert token.auth_token in rocketchat.tokens_of(token.user_id)
    assert client.token_is_valid(token)
    client.revoke_token(token)
    assert token.auth_token not in rocketchat.tokens_of(token.user_id)
    assert not client.token_is_valid(token)


def test_wrong_password_is_authentication_failed(rocketchat: FakeRocketChat) -> None:
    client = RocketChatClient()
    make_user(client)
    with pytest.raises(RocketChatAuthenticationFailed):
        client.login(username="bob", password="wrong")


def test_logout_everywhere_removes_every_token(rocketchat: FakeRocketChat) -> None:
    client = RocketChatClient()
    created = make_user(client)
    client.login(username="bob", password="Secret-123!")
    client.login(username="bob", password="Secret-123!")
    client.logout_user_everywhere(str(created["_id"]))
    assert rocketchat.tokens_of(str(created["_id"])) == []


def test_create_token_legacy_gate() -> None:
    """7.x: the env flag CREATE_TOKENS_FOR_USERS gates it; a refusal is a 400
    ``error-not-authorized``, mapped to a permission error."""
    with mock_rocketchat(URL, version="7.10", create_tokens_for_users=True) as fake:
        client = RocketChatClient()
        created = make_user(client)
        token = client.create_token(str(created["_id"]))
        assert token.auth_token in fake.tokens_of(str(created["_id"]))
    with mock_rocketchat(URL, version="7.10"), pytest.raises(RocketChatPermissionDenied) as refused:
        RocketChatClient().create_token(str(make_user(RocketChatClient())["_id"]))
    assert (refused.value.status, refused.value.error_type) == (400, "error-not-authorized")


@pytest.mark.parametrize("version", ["8.0", "8.8"])
def test_create_token_with_secret(version: str) -> None:
    with mock_rocketchat(URL, version=version, create_tokens_secret="s3cret") as fake:
        client = RocketChatClient()
        user_id = str(make_user(client)["_id"])
        with pytest.raises(RocketChatPermissionDenied):
            client.create_token(user_id, secret="wrong")
        token = client.create_token(user_id, secret="s3cret")
        assert token.auth_token in fake.tokens_of(user_id)
        body = json.loads(fake.calls_to("/api/v1/users.createToken")[-1].body)
        assert body == {"userId": user_id, "secret": "s3cret"}  # exactly these keys on 8.x


def test_bad_admin_token_is_authentication_failed() -> None:
    with mock_rocketchat(URL), pytest.raises(RocketChatAuthenticationFailed):
        RocketChatClient(auth_token="wrong").me()


def test_not_admin_is_permission_denied(rocketchat: FakeRocketChat) -> None:
    client = RocketChatClient()
    make_user(client)
    token = client.login(username="bob", password="Secret-123!")
    as_bob = RocketChatClient(user_id=token.user_id, auth_token=token.auth_token)
    with pytest.raises(RocketChatPermissionDenied):
        as_bob.create_user(username="eve", email="eve@example.com", name="Eve", password="x-Y-1")


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.CONNECTION_REFUSED, RocketChatUnavailable),
        (Fault.TIMEOUT, RocketChatTimeout),
        (Fault.DROP_MID_BODY, RocketChatUnavailable),
        (Fault.NON_JSON_200, RocketChatBadResponse),
        (FakeResponse(500, {"success": False}, {}), RocketChatUnavailable),
        (FakeResponse(200, {"success": False, "error": "nope"}, {}), RocketChatAPIError),
    ],
)
def test_failures_become_typed_errors(
    rocketchat: FakeRocketChat, fault: Fault | FakeResponse, error: type[Exception]
) -> None:
    rocketchat.inject(fault, path="/api/v1/me", times=10)
    with pytest.raises(error):
        RocketChatClient(retries=0).me()


def test_rate_limit_carries_retry_after(rocketchat: FakeRocketChat) -> None:

    reset_ms = str(int((time.time() + 30) * 1000))
    rocketchat.inject(
        FakeResponse(429, {"success": False, "error": "too many"}, {"x-ratelimit-reset": reset_ms}),
        path="/api/v1/me",
    )
    with pytest.raises(RocketChatRateLimited) as info:
        RocketChatClient().me()
    assert info.value.retry_after is not None
    assert 25 < info.value.retry_after <= 30


def test_every_call_has_a_timeout() -> None:
    seen: list[object] = []

    def record(request: requests.PreparedRequest, **kwargs: object) -> None:
        seen.append(kwargs.get("timeout"))

    with responses.RequestsMock() as rsps:
        rsps.get(f"{URL}/api/v1/me", json={"success": True})
        client = RocketChatClient(timeout=2.5)
        original = client.session.send

        def send(request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
            record(request, **kwargs)
            return original(request, **kwargs)  # type: ignore[arg-type]

        client.session.send = send  # type: ignore[method-assign]
        client.me()
    assert seen == [(2.5, 2.5)]


def test_safe_calls_are_retried_and_posts_are_not(rocketchat: FakeRocketChat) -> None:
    client = RocketChatClient(retries=2)
    rocketchat.inject(FakeResponse(503, {"success": False}, {}), path="/api/v1/me", times=2)
    client.me()  # two 503s, then success
    assert len(rocketchat.calls_to("/api/v1/me")) == 3
    rocketchat.reset_calls()
    rocketchat.inject(FakeResponse(503, {"success": False}, {}), path="/api/v1/users.create")
    with pytest.raises(RocketChatUnavailable):
        make_user(client)
    assert len(rocketchat.calls_to("/api/v1/users.create")) == 1


def test_no_secret_in_logs_or_errors(
    rocketchat: FakeRocketChat, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = RocketChatClient()
    make_user(client)
    token = client.login(username="bob", password="Secret-123!")
    rocketchat.inject(Fault.CONNECTION_REFUSED, path="/api/v1/logout", times=5)
    with pytest.raises(RocketChatUnavailable) as info:
        client.revoke_token(token)
    text = caplog.text + str(info.value) + repr(token)
    for secret in (token.auth_token, "Secret-123!", "admin-personal-access-token"):
        assert secret not in text
    assert "POST /api/v1/login" in caplog.text or "login" in caplog.text


def test_login_token_repr_hides_token() -> None:
    assert "abc" not in repr(LoginToken(user_id="u", auth_token="abc"))


@pytest.mark.parametrize("retries", [0, 2])
def test_refused_connection_is_unavailable_not_a_timeout(retries: int) -> None:
    """urllib3 files a refused connection under its timeouts; it must not read as a 504."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = RocketChatClient(f"http://127.0.0.1:{port}", retries=retries)
    with pytest.raises(RocketChatUnavailable) as info:
        client.me()
    assert not isinstance(info.value, RocketChatTimeout)
    assert "could not be reached" in str(info.value)


def test_rate_limited_call_is_sent_again_after_a_short_window(
    rocketchat: FakeRocketChat,
) -> None:
    """Rocket.Chat's limiter refuses before acting, so even a POST may be sent again."""
    reset = {"x-ratelimit-reset": str(int((time.time() + 0.2) * 1000))}
    rocketchat.inject(FakeResponse(429, {"success": False}, reset), path="/api/v1/users.create")
    client = RocketChatClient(rate_limit_wait=1)
    make_user(client)
    assert len(rocketchat.calls_to("/api/v1/users.create")) == 2
    assert client.rate_limit_budget < 1


@override_settings(ROCKETCHAT_SSO_RATE_LIMIT_WAIT=30, ROCKETCHAT_SSO_TIMEOUT=1)
def test_rate_limit_budget_never_exceeds_the_timeout() -> None:
    assert RocketChatClient().rate_limit_budget == 1


@override_settings(ROCKETCHAT_SSO_RATE_LIMIT_WAIT=-1)
def test_negative_rate_limit_wait_means_no_waiting() -> None:
    assert RocketChatClient().rate_limit_budget == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/users.info", {"success": True}),
        ("/api/v1/users.info", {"success": True, "user": ["not", "a", "record"]}),
        ("/api/v1/users.info", {"success": True, "user": {"username": "no id"}}),
        ("/api/v1/users.info", {"success": True, "user": {"_id": "x", "emails": [None]}}),
        ("/api/v1/users.info", {"success": True, "user": {"_id": "x", "roles": "admin"}}),
        ("/api/v1/users.list", {"success": True, "users": None}),
        ("/api/v1/users.list", {"success": True, "users": [{"_id": 7}]}),
        ("/api/v1/login", {"status": "success", "data": {"userId": "x", "authToken": {}}}),
    ],
    ids=lambda value: str(value)[:40],
)
def test_answers_of_the_wrong_shape_are_bad_responses(
    rocketchat: FakeRocketChat, path: str, body: object
) -> None:
    """Found by fuzzing: a 200 of another shape (a proxy, another version) was a KeyError,
    TypeError or ValueError, so an HTML 500 at the token endpoint."""
    rocketchat.inject(FakeResponse(200, body), path=path)
    client = RocketChatClient()
    calls = {
        "/api/v1/users.info": lambda: client.user_info(user_id="x"),
        "/api/v1/users.list": lambda: client.find_users_by_email(
            "a@example.com", path=capabilities.LOOKUP_USERS_LIST_PAGES
        ),
        "/api/v1/login": lambda: client.login(username="a", password="b"),
    }
    with pytest.raises(RocketChatBadResponse):
        calls[path]()
