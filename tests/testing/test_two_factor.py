"""Rocket.Chat's e-mail two-factor at its defaults (``testing/two_factor.py``).

Every new user is opted in; once the user has a verified address, a password login is refused
``totp-required`` (method ``email``) and Rocket.Chat e-mails a code, at most one an hour. Resume
logins, and so tokens from ``users.createToken``, are not asked. Each release played.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from rocketchat_sso.testing import RELEASES, FakeRocketChat, mock_rocketchat
from rocketchat_sso.testing.two_factor import AUTO_OPT_IN, BY_EMAIL, CODE_EXPIRATION, ENABLED
from tests.testing.helpers import ADMIN, BASE, PASSWORD, Api, Clock

SECRET = "create-tokens-secret"


@pytest.fixture(params=sorted(RELEASES))
def stand_in(request: pytest.FixtureRequest) -> Iterator[tuple[FakeRocketChat, Clock]]:
    clock = Clock()
    with mock_rocketchat(
        BASE,
        version=str(request.param),
        now=clock,
        create_tokens_for_users=True,
        create_tokens_secret=SECRET,
    ) as fake:
        yield fake, clock


@pytest.fixture
def fake(stand_in: tuple[FakeRocketChat, Clock]) -> FakeRocketChat:
    return stand_in[0]


@pytest.fixture
def clock(stand_in: tuple[FakeRocketChat, Clock]) -> Clock:
    return stand_in[1]


def login(api: Api, user: str = "bob", **extra: str) -> Any:
    return api.post("/api/v1/login", {"user": user, "password": PASSWORD, **extra}, auth=None)


def test_defaults_all_on_two_of_them_public(fake: FakeRocketChat) -> None:
    api = Api()
    assert [fake.settings[key] for key in (ENABLED, BY_EMAIL, AUTO_OPT_IN)] == [True] * 3
    assert fake.settings[CODE_EXPIRATION] == 3600
    public = api.get("/api/v1/settings.public", {"_id": f"{ENABLED},{BY_EMAIL},{AUTO_OPT_IN}"})
    assert {s["_id"]: s["value"] for s in public.json()["settings"]} == {
        ENABLED: True,
        BY_EMAIL: True,
    }
    assert api.get(f"/api/v1/settings/{AUTO_OPT_IN}").json()["value"] is True  # the admin


def test_a_verified_users_password_login_asks_for_an_emailed_code(
    fake: FakeRocketChat, clock: Clock
) -> None:
    api = Api()
    assert api.create("bob", verified=True).status_code == 200
    refused = login(api)
    assert refused.status_code == 401
    assert refused.json() == {
        "success": False,
        "status": "error",
        "error": "totp-required",
        "message": "TOTP Required",
        "details": {
            "method": "email",
            "emailOrUsername": "bob",
            "codeGenerated": True,
            "availableMethods": ["email"],
        },
    }
    [mail] = fake.emails_to("bob@example.com")
    assert mail.subject == "Authentication code" and re.fullmatch(r"\d{6}", mail.code)
    # Within the code's hour no new e-mail: the same code is still valid.
    again = login(api).json()["details"]
    assert again["codeGenerated"] is False and again["codeExpires"].startswith("2025-01-01T01:00")
    assert len(fake.emails_to("bob@example.com")) == 1
    assert fake.login_attempts.failures("bob") == 0  # totp-required is not a failed login
    wrong = login(api, code="000000" if mail.code != "000000" else "111111")
    assert wrong.status_code == 401 and wrong.json()["error"] == "totp-invalid"
    assert login(api, code=f"{mail.code[:3]}-{mail.code[3:]}").status_code == 200
    clock.advance(seconds=60)  # the limiter's minute
    assert login(api).json()["details"]["codeGenerated"] is True  # the used code is gone
    assert len(fake.emails_to("bob@example.com")) == 2


def test_an_unverified_address_asks_nothing_until_it_is_verified(fake: FakeRocketChat) -> None:
    api = Api()
    user_id = api.create("bob").json()["user"]["_id"]
    assert login(api).status_code == 200
    update = {"userId": user_id, "data": {"verified": True}}
    assert api.post("/api/v1/users.update", update).status_code == 200
    assert login(api).json()["error"] == "totp-required"
    assert len(fake.emails_to("bob@example.com")) == 1


def test_the_settings_turn_it_off(fake: FakeRocketChat) -> None:
    api = Api()
    fake.set_setting(AUTO_OPT_IN, False)
    api.create("carol", verified=True)  # created while auto opt-in is off: never opted in
    assert login(api, "carol").status_code == 200
    fake.set_setting(AUTO_OPT_IN, True)
    api.create("bob", verified=True)
    fake.set_setting(BY_EMAIL, False)  # no e-mail method for anyone: bob logs in
    assert login(api).status_code == 200
    fake.set_setting(BY_EMAIL, True)
    fake.set_setting(ENABLED, False)
    assert login(api).status_code == 200
    fake.set_setting(ENABLED, True)
    assert login(api).json()["error"] == "totp-required"
    assert fake.sent_emails and all(mail.to == "bob@example.com" for mail in fake.sent_emails)


def test_resume_and_create_token_are_not_asked(fake: FakeRocketChat) -> None:
    api = Api()
    user_id = api.create("bob", verified=True).json()["user"]["_id"]
    body = (
        {"userId": user_id, "secret": SECRET} if fake.version.since(8, 0) else {"userId": user_id}
    )
    minted = api.post("/api/v1/users.createToken", body, auth=ADMIN)
    assert minted.status_code == 200, minted.text
    token = minted.json()["data"]["authToken"]
    resumed = api.post("/api/v1/login", {"resume": token}, auth=None)
    assert resumed.status_code == 200
    headers = {"X-User-Id": user_id, "X-Auth-Token": token}
    assert api.get("/api/v1/me", auth=headers).json()["username"] == "bob"
    assert fake.sent_emails == []
