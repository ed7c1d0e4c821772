"""The endpoints' error table (``rocketchat_sso.web.decorators.ERROR_ANSWERS``), looked up along
each exception's MRO, and the guards' JSON answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from rocketchat_sso.exceptions import (
    RocketChatCreateTokenRefused,
    RocketChatError,
    RocketChatRateLimited,
    RocketChatTimeout,
    RocketChatTwoFactorRequired,
    RocketChatUnavailable,
)
from rocketchat_sso.sessions import tokens
from rocketchat_sso.web.decorators import ERROR_ANSWERS, answer_of


def answer(error: BaseException) -> tuple[int, dict[str, Any], str | None]:
    found = answer_of(error)
    assert found is not None
    response = found.response(error)
    return response.status_code, json.loads(response.content), response.get("Retry-After")


class SlowerTimeout(RocketChatTimeout):
    """Not in the table: answered as its closest listed base class."""


def test_a_subclass_gets_its_nearest_base_class_answer() -> None:
    status, body, retry_after = answer(SlowerTimeout("slow"))
    assert (status, body["error"], retry_after) == (504, "rocketchat_timeout", "10")
    assert answer(RocketChatTwoFactorRequired("totp"))[1]["error"] == "rocketchat_error"
    assert answer(RocketChatCreateTokenRefused("no"))[1]["error"] == "rocketchat_misconfigured"


def test_exceptions_outside_the_table_are_not_answered() -> None:
    assert answer_of(ValueError("a bug")) is None
    assert all(issubclass(cls, Exception) for cls in ERROR_ANSWERS)


def test_rocketchat_unavailable_depends_on_its_status() -> None:
    assert answer(RocketChatUnavailable("down", status=None))[:1] == (503,)
    status, body, retry_after = answer(RocketChatUnavailable("oops", status=500))
    assert (status, body["error"], retry_after) == (502, "rocketchat_error", None)
    assert body["message"] == "Rocket.Chat answered with an error."
    assert answer(RocketChatError("no"))[1]["message"] == "Rocket.Chat refused the request."


def test_retry_after_policies() -> None:
    assert answer(RocketChatRateLimited("busy", retry_after=30))[2] == "30"
    assert answer(RocketChatRateLimited("busy", retry_after=None))[2] == "10"
    assert answer(RocketChatRateLimited("busy", retry_after=0))[2] == "1"
    unavailable = RocketChatUnavailable("down", status=503)
    unavailable.retry_after = 0
    assert answer(unavailable)[2] == "10"
    assert answer(OperationalError("database is locked"))[:1] == (503,)
    assert answer(OperationalError("database is locked"))[2] == "1"


@pytest.mark.django_db
def test_a_database_error_at_logout_answers_json(
    user: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Was an HTML 500: the logout endpoint answers its failures like the token endpoint."""

    def locked(*args: Any, **kwargs: Any) -> bool:
        raise OperationalError("database is locked")

    monkeypatch.setattr(tokens, "revoke_session_token", locked)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.cookies[settings.CSRF_COOKIE_NAME] = "s" * 32
    response = browser.post(
        reverse("rocketchat_sso:logout"),
        headers={"Origin": "http://testserver", "X-CSRFToken": "s" * 32},
    )
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"
    assert response["Retry-After"] == "1"
    assert "Could not revoke the Rocket.Chat token of user" in caplog.text


@pytest.mark.django_db
def test_a_csrf_refusal_is_json_and_logged_as_django_logs_it(
    user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    response = browser.post(reverse("rocketchat_sso:logout"))
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    assert "Forbidden (CSRF cookie not set.)" in caplog.text
