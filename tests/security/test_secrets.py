"""Login tokens, derived passwords and the admin token never reach logs, errors or the admin."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rocketchat_sso.accounts.profiles import rocketchat_password
from rocketchat_sso.models import IssuedToken, RocketChatAccount
from rocketchat_sso.sessions import revocation, tokens
from rocketchat_sso.testing import FakeResponse, FakeRocketChat, Fault
from rocketchat_sso.testing.server import RocketChatServer

pytestmark = pytest.mark.django_db

TOKEN_URL = "/rocketchat/token/"
ADMIN_TOKEN = "admin-personal-access-token"
LOGIN = "/api/v1/login"


@pytest.fixture(params=["responses", "http"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeRocketChat]:
    """The stand-in through both transports: over HTTP, urllib3 logs its own lines too."""
    if request.param == "http":
        server: RocketChatServer = request.getfixturevalue("rocketchat_server")
        request.getfixturevalue("settings").ROCKETCHAT_SSO_TIMEOUT = 0.25
        yield server.fake
    else:
        yield request.getfixturevalue("rocketchat")


def whole_flow(fake: FakeRocketChat, client: Client) -> list[Any]:
    """A first request, warm ones, and each kind of failure, some after a token was minted.

    Each request after the first forgets the session's cached token first, so that it logs in
    again (the reused token's own check, ``/api/v1/me``, is covered by :func:`reuse_flow`).
    """
    responses = [client.post(TOKEN_URL), forgotten(client).get(TOKEN_URL)]
    unauthorized = FakeResponse(401, {"status": "error", "error": "Unauthorized"})
    fake.inject(unauthorized, path=LOGIN)  # the password is repaired and sent again
    responses.append(forgotten(client).post(TOKEN_URL))
    for fault in faults()[:-1] + (unauthorized,):
        fake.inject(fault, path=LOGIN, times=3)
        responses.append(forgotten(client).post(TOKEN_URL))
        fake.clear_faults()
    responses.append(forgotten(client).post(TOKEN_URL))
    return responses


def reuse_flow(fake: FakeRocketChat, client: Client) -> list[Any]:
    """A session's token, then each kind of failure while Rocket.Chat is asked to check it:
    the request that carries the user's token in its headers."""
    responses = [client.post(TOKEN_URL)]
    for fault in faults():
        fake.inject(fault, path="/api/v1/me", times=3)
        responses.append(client.post(TOKEN_URL))
        fake.clear_faults()
    responses.append(client.post(TOKEN_URL))
    return responses


def forgotten(client: Client) -> Client:
    """Forget the session's token, cached and stored, so that the next request logs in."""
    session_key = client.session.session_key
    assert session_key is not None
    tokens.forget(session_key)
    IssuedToken.objects.filter(session_hash=revocation.session_hash(session_key)).delete()
    return client


def faults() -> tuple[Fault | FakeResponse, ...]:
    """Built per use: the 429's window must still lie ahead when the test runs."""
    reset = {"x-ratelimit-reset": str(int(time.time() * 1000) + 60_000)}
    return (
        Fault.TIMEOUT,
        Fault.DROP_MID_BODY,
        Fault.NON_JSON_200,
        FakeResponse(500, {"success": False, "error": "boom"}),
        FakeResponse(429, {"success": False}, reset),
        FakeResponse(400, {"success": False, "error": "refused"}),
    )


def secrets_of(fake: FakeRocketChat, user: Any) -> list[str]:
    rc_user = fake.user_by_username("alice")
    assert rc_user is not None
    return [*fake.tokens_of(rc_user["_id"]), rocketchat_password(user), ADMIN_TOKEN]


def test_no_secret_in_logs_or_stored_errors(
    fake: FakeRocketChat, user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = Client()
    client.force_login(user)
    answers = whole_flow(fake, client)
    statuses = [response.status_code for response in answers]
    assert statuses.count(200) == 4 and len(statuses) == 10
    # Every token handed out, also those a repaired password revoked since (Meteor's
    # setPassword logs the user out everywhere): at least the 4 successful logins'.
    handed_out = {r.json()["loginToken"] for r in answers if r.status_code == 200}
    assert len(handed_out) == 4
    logged = caplog.text + "".join(repr(record.args) for record in caplog.records)
    stored = repr(list(RocketChatAccount.objects.values()) + list(IssuedToken.objects.values()))
    assert "POST /api/v1/users.create" in caplog.text  # the capture did see the flow
    for secret in [*secrets_of(fake, user), *handed_out]:
        assert secret not in logged
        assert secret not in stored


def test_no_secret_in_the_reuse_check(
    fake: FakeRocketChat, user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = Client()
    client.force_login(user)
    answers = reuse_flow(fake, client)
    # The first, the last, and the rate-limited check: the warm path hands out the cached token
    # when /me's bucket is empty (issue 11).
    assert [response.status_code for response in answers].count(200) == 3
    logged = caplog.text + "".join(repr(record.args) for record in caplog.records)
    stored = repr(list(RocketChatAccount.objects.values()) + list(IssuedToken.objects.values()))
    errors = [r.content.decode() for r in answers if r.status_code != 200]
    assert "GET /api/v1/me" in caplog.text
    for secret in secrets_of(fake, user):
        assert secret not in logged
        assert secret not in stored
        assert all(secret not in error for error in errors)


def test_no_secret_in_error_answers(fake: FakeRocketChat, user: Any) -> None:
    client = Client()
    client.force_login(user)
    errors = [r.content.decode() for r in whole_flow(fake, client) if r.status_code != 200]
    assert len(errors) == 6
    for secret in secrets_of(fake, user):
        assert all(secret not in error for error in errors)


def test_no_token_in_the_admin(rocketchat: FakeRocketChat, user: Any, admin_client: Client) -> None:
    client = Client()
    client.force_login(user)
    assert client.post(TOKEN_URL).status_code == client.post(TOKEN_URL).status_code == 200
    account = RocketChatAccount.objects.get(user=user)
    pages = [
        admin_client.get(reverse("admin:rocketchat_sso_rocketchataccount_changelist")),
        admin_client.get(
            reverse("admin:rocketchat_sso_rocketchataccount_change", args=[account.pk])
        ),
        admin_client.get(
            reverse("admin:rocketchat_sso_rocketchataccount_history", args=[account.pk])
        ),
        admin_client.get(reverse("admin:auth_user_change", args=[user.pk])),
    ]
    assert [page.status_code for page in pages] == [200] * 4
    assert account.rocketchat_user_id in pages[1].content.decode()  # the page shows the link
    for secret in secrets_of(rocketchat, user):
        assert all(secret not in page.content.decode() for page in pages)
