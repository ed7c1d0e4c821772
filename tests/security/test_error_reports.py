"""Django's error reports (the 500 page with DEBUG, the mail to ADMINS) never show a token.

``sensitive_variables`` hides the locals that hold one in the frames of this app's token code;
``SafeExceptionReporterFilter`` does the rest (issue 12: secrets in error reports).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.views.debug import ExceptionReporter

from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.sessions import revocation, tokens
from rocketchat_sso.testing import FakeRocketChat

pytestmark = pytest.mark.django_db

TOKEN_URL = "/rocketchat/token/"


class Boom(Exception):
    pass


def report_of(raised: BaseException, request: Any = None) -> str:
    reporter = ExceptionReporter(request, type(raised), raised, raised.__traceback__)
    return reporter.get_traceback_text() + reporter.get_traceback_html()


def frames_showing(secret: str, raised: BaseException) -> list[str]:
    reporter = ExceptionReporter(None, type(raised), raised, raised.__traceback__)
    return [
        f"{frame['filename']}:{frame['function']}"
        for frame in reporter.get_traceback_frames()
        # The test's own frames (and its stand-in failure) hold the token themselves, and so
        # does Django's test client: on Django 4.2 its frame keeps the context of the templates
        # rendered during the request, the logged error report with the test's frames in it.
        if secret in repr(frame["vars"])
        and "/tests/" not in frame["filename"]
        and "/django/test/" not in frame["filename"]
    ]


@pytest.mark.parametrize("where", ["store", "record"])
def test_a_failure_after_the_mint_does_not_show_the_token(
    rocketchat: FakeRocketChat,
    signed_in: Client,
    user: Any,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise Boom("after the token was minted")  # as a cache or database that fails

    if where == "store":
        monkeypatch.setattr(tokens._cache().__class__, "set", boom)
    else:
        monkeypatch.setattr(revocation.IssuedToken.objects, "create", boom)
    with pytest.raises(Boom) as raised:
        signed_in.post(TOKEN_URL)
    rc_id = RocketChatAccount.objects.get(user=user).rocketchat_user_id
    (token,) = rocketchat.tokens_of(rc_id)
    report = report_of(raised.value)
    assert "tokens.py" in report  # the report does show the frames
    assert frames_showing(token, raised.value) == []


def test_a_failure_while_revoking_does_not_show_the_token(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = signed_in.post(TOKEN_URL).json()["loginToken"]
    session_key = signed_in.session.session_key
    assert session_key is not None

    def boom(*args: Any, **kwargs: Any) -> None:
        raise Boom("while revoking")

    monkeypatch.setattr(revocation.RocketChatClient, "revoke_token", boom)
    with pytest.raises(Boom) as raised:
        tokens.revoke_session_token(session_key, user)
    report = report_of(raised.value)
    assert "revocation.py" in report
    assert frames_showing(token, raised.value) == []
