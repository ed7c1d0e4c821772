"""The stand-in's REST for a web client: resume login, public settings (the package's model)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from rocketchat_sso.testing import FakeRocketChat, mock_rocketchat
from tests.testing.helpers import BASE, Api


def resume(api: Api, token: str) -> tuple[int, dict[str, object]]:
    response = api.post("/api/v1/login", {"resume": token}, auth=None)
    return response.status_code, response.json()


# -- resume login: what Meteor.loginWithToken does ---------------------------------------------


def test_resume_login_answers_with_the_same_token(fake: FakeRocketChat, api: Api) -> None:
    api.create()
    auth = api.login()
    status, body = resume(api, auth["X-Auth-Token"])
    assert status == 200
    data = body["data"]
    assert isinstance(data, dict)
    assert (data["userId"], data["authToken"]) == (auth["X-User-Id"], auth["X-Auth-Token"])
    assert data["me"]["username"] == "bob"
    assert fake.tokens_of(auth["X-User-Id"]) == [auth["X-Auth-Token"]]  # no new token


def test_resume_login_with_an_unknown_token_is_401(api: Api) -> None:
    assert resume(api, "not-a-token") == (
        401,
        {
            "success": False,
            "status": "error",
            "error": 403,
            "message": "You've been logged out by the server. Please log in again.",
        },
    )


def test_resume_login_with_an_expired_token_is_401() -> None:
    moment = [datetime(2025, 1, 1, tzinfo=timezone.utc)]
    with mock_rocketchat(BASE, now=lambda: moment[0]):
        api = Api()
        api.create()
        token = api.login()["X-Auth-Token"]
        moment[0] += timedelta(days=91)
        status, body = resume(api, token)
    assert (status, body["message"]) == (401, "Your session has expired. Please log in again.")


def test_resume_beside_a_password_is_not_a_resume_login(api: Api) -> None:
    api.create()
    token = api.login()["X-Auth-Token"]
    response = api.post("/api/v1/login", {"resume": token, "password": "x"}, auth=None)
    assert response.status_code == 401


# -- settings.public ---------------------------------------------------------------------------


def test_public_settings_need_no_auth_and_hide_private_ones(fake: FakeRocketChat, api: Api) -> None:
    fake.set_setting("Accounts_iframe_enabled", True)
    wanted = "Accounts_iframe_enabled, Iframe_Restrict_Access,Iframe_Integration_receive_origin"
    response = api.get("/api/v1/settings.public", {"_id": wanted}, auth=None)
    assert response.json() == {
        "settings": [
            {"_id": "Accounts_iframe_enabled", "value": True},
            {"_id": "Iframe_Integration_receive_origin", "value": "*"},
        ],
        "count": 2,
        "offset": 0,
        "total": 2,
        "success": True,
    }
    every = api.get("/api/v1/settings.public", auth=None).json()
    assert "Accounts_Iframe_api_url" in {s["_id"] for s in every["settings"]}


# -- users.setStatus ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/subscriptions.get"), ("POST", "/api/v1/chat.postMessage")],
)
def test_the_packages_model_has_no_chat(api: Api, method: str, path: str) -> None:
    """Rooms and messages are the demo's (example.standin.chat), not the installed package's."""
    api.create()
    auth = api.login()
    response = api.get(path, auth=auth) if method == "GET" else api.post(path, {}, auth)
    assert (response.status_code, response.json()) == (
        404,
        {"success": False, "error": "Resource not found"},
    )
