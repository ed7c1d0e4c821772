"""Rocket.Chat's blocking of repeated failed logins (``Block_Multiple_Failed_Logins_*``).

By username: 10 failures within 5 minutes block that username's logins, the right password's
too, until 5 minutes have passed or since a success; by address: 50 within 5 minutes block every
login from it. Each release the stand-in plays has it on (see ``testing/login_attempts.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rocketchat_sso.testing import RELEASES, FakeRocketChat, mock_rocketchat
from rocketchat_sso.testing.login_attempts import MSG_BLOCKED_FOR_IP, MSG_BLOCKED_FOR_USER
from tests.testing.helpers import BASE, PASSWORD, Api, Clock

BLOCKED_FOR_USER = {
    "status": "error",
    "error": "error-login-blocked-for-user",
    "message": MSG_BLOCKED_FOR_USER,
    "details": {"function": "Accounts.validateLoginAttempt"},
}


@pytest.fixture(params=sorted(RELEASES))
def stand_in(request: pytest.FixtureRequest) -> Iterator[tuple[FakeRocketChat, Clock]]:
    """Each release's stand-in at its defaults, with a clock the test moves."""
    clock = Clock()
    with mock_rocketchat(BASE, version=str(request.param), now=clock) as fake:
        yield fake, clock


@pytest.fixture
def fake(stand_in: tuple[FakeRocketChat, Clock]) -> FakeRocketChat:
    return stand_in[0]


@pytest.fixture
def clock(stand_in: tuple[FakeRocketChat, Clock]) -> Clock:
    return stand_in[1]


def login(api: Api, user: str, password: str = PASSWORD, **headers: str) -> Any:
    body = {"user": user, "password": password}
    return api.post("/api/v1/login", body, auth=headers or None)


def fail(api: Api, clock: Clock, user: str, times: int, **headers: str) -> None:
    """``times`` wrong passwords, ten a minute (the REST rate limiter's default)."""
    for done in range(times):
        if done % 10 == 0:
            clock.advance(seconds=60)
        assert login(api, user, "wrong", **headers).status_code == 401


def test_defaults_block_by_user_and_by_address(fake: FakeRocketChat) -> None:
    settings = fake.settings
    assert settings["Block_Multiple_Failed_Logins_Enabled"] is True
    assert settings["Block_Multiple_Failed_Logins_By_User"] is True
    assert settings["Block_Multiple_Failed_Logins_Attempts_Until_Block_by_User"] == 10
    assert settings["Block_Multiple_Failed_Logins_Time_To_Unblock_By_User_In_Minutes"] == 5
    assert settings["Block_Multiple_Failed_Logins_By_Ip"] is True
    assert settings["Block_Multiple_Failed_Logins_Attempts_Until_Block_By_Ip"] == 50
    assert settings["Block_Multiple_Failed_Logins_Time_To_Unblock_By_Ip_In_Minutes"] == 5
    assert settings["Block_Multiple_Failed_Logins_Ip_Whitelist"] == ""


def test_ten_failures_block_the_username_even_for_the_right_password(
    fake: FakeRocketChat, clock: Clock
) -> None:
    api = Api()
    api.create("bob")
    fail(api, clock, "bob", 9)
    clock.advance(seconds=60)
    assert login(api, "bob").status_code == 200  # nine: not yet, and a success starts over
    fail(api, clock, "bob", 10)
    clock.advance(seconds=60)
    refused = login(api, "bob")
    assert refused.status_code == 401
    assert refused.json() == {"success": False, **BLOCKED_FOR_USER}
    assert fake.login_attempts.failures("bob") == 19  # the blocked attempt is not recorded
    clock.advance(minutes=4, seconds=1)  # five minutes after the last failure
    assert login(api, "bob").status_code == 200


def test_an_unknown_username_is_counted_and_blocked_too(fake: FakeRocketChat, clock: Clock) -> None:
    api = Api()
    fail(api, clock, "nobody", 10)
    clock.advance(seconds=60)
    assert login(api, "nobody", "wrong").json()["error"] == "error-login-blocked-for-user"
    api.create("nobody")  # now someone takes the name: still blocked for the rest of the window
    assert login(api, "nobody").json()["error"] == "error-login-blocked-for-user"


def test_a_blocked_address_refuses_every_username(fake: FakeRocketChat, clock: Clock) -> None:
    api = Api()
    api.create("bob")
    api.create("carol")
    fake.set_setting("Block_Multiple_Failed_Logins_Attempts_Until_Block_By_Ip", 3)
    for name in ("x", "y", "z"):
        assert login(api, name, "wrong").status_code == 401
    refused = login(api, "carol")
    assert refused.status_code == 401
    assert refused.json()["error"] == "error-login-blocked-for-ip"
    assert refused.json()["message"] == MSG_BLOCKED_FOR_IP
    assert login(api, "carol", **{"X-Real-IP": "203.0.113.9"}).status_code == 200
    fake.set_setting("Block_Multiple_Failed_Logins_Ip_Whitelist", "10.0.0.1,127.0.0.1")
    assert login(api, "bob").status_code == 200


def test_resume_logins_meet_the_address_block(fake: FakeRocketChat, clock: Clock) -> None:
    api = Api()
    api.create("bob")
    token = login(api, "bob").json()["data"]["authToken"]
    fake.set_setting("Block_Multiple_Failed_Logins_Attempts_Until_Block_By_Ip", 2)
    for _ in range(2):
        assert api.post("/api/v1/login", {"resume": "unknown"}, auth=None).status_code == 401
    refused = api.post("/api/v1/login", {"resume": token}, auth=None)
    assert refused.json()["error"] == "error-login-blocked-for-ip"


def test_nothing_is_blocked_when_turned_off(fake: FakeRocketChat, clock: Clock) -> None:
    api = Api()
    api.create("bob")
    fake.set_setting("Block_Multiple_Failed_Logins_Enabled", False)
    fail(api, clock, "bob", 20)
    clock.advance(seconds=60)
    assert login(api, "bob").status_code == 200
    assert fake.login_attempts.failures("bob") == 0
