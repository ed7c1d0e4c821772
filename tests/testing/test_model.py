"""The stand-in's Rocket.Chat behaviour: statuses and bodies, driven over HTTP with ``requests``.

Behaviour common to every release played, run against the run's release (``--rocketchat-version``);
what differs between releases is in ``test_versions.py``, the rate limiter in
``test_rate_limiter.py``.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import pytest
import requests

from rocketchat_sso.testing import (
    FakeRequest,
    FakeResponse,
    FakeRocketChat,
    Fault,
    ajv,
    mock_rocketchat,
)
from rocketchat_sso.testing.model import ID_ALPHABET
from tests.testing.helpers import (
    ADMIN,
    ADMIN_ID,
    ADMIN_TOKEN,
    BASE,
    PASSWORD,
    Api,
    Clock,
    invalid_params,
)

NOT_LOGGED_IN = "You must be logged in to do this."
NO_PERMISSION = "User does not have the permissions required for this action [error-unauthorized]"
UNAUTHORIZED_LOGIN = {
    "success": False,
    "error": "Unauthorized",
    "status": "error",
    "message": "Unauthorized",
}


# -- auth, info, routing ----------------------------------------------------------------------


def test_admin_exists_with_its_personal_access_token(api: Api) -> None:
    response = api.get("/api/v1/me")
    assert response.status_code == 200
    me = response.json()
    assert (me["_id"], me["username"], me["roles"], me["success"]) == (
        ADMIN_ID,
        "admin",
        ["admin"],
        True,
    )


@pytest.mark.parametrize(
    "auth",
    [
        None,
        {"X-User-Id": ADMIN_ID},
        {"X-User-Id": ADMIN_ID, "X-Auth-Token": "wrong"},
        {"X-User-Id": "someone-else", "X-Auth-Token": ADMIN_TOKEN},
    ],
)
def test_bad_credentials_are_401(api: Api, auth: dict[str, str] | None) -> None:
    response = api.get("/api/v1/me", auth=auth)
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "error": NOT_LOGGED_IN,
        "status": "error",
        "message": NOT_LOGGED_IN,
    }


def test_unknown_route_is_404(api: Api) -> None:
    for response in (api.get("/api/v1/nope"), api.post("/api/v1/me"), api.get("/")):
        assert response.status_code == 404
        assert response.json() == {"success": False, "error": "Resource not found"}


# -- login and logout -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"user": "bob", "password": PASSWORD},
        {"user": "BOB@example.com", "password": PASSWORD},
        {"username": "bob", "password": PASSWORD},
        {"email": "bob@example.com", "password": PASSWORD},
        {"username": "bob", "password": PASSWORD, "code": ""},
    ],
)
def test_login_forms(fake: FakeRocketChat, api: Api, body: dict[str, str]) -> None:
    user_id = api.create().json()["user"]["_id"]
    response = api.post("/api/v1/login", body, auth=None)
    assert response.status_code == 200
    payload = response.json()
    assert (payload["status"], payload["success"]) == ("success", True)
    assert payload["data"]["userId"] == user_id
    assert payload["data"]["me"]["username"] == "bob"
    assert fake.tokens_of(user_id) == [payload["data"]["authToken"]]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", payload["data"]["authToken"])


def test_login_accepts_a_form_body(api: Api) -> None:
    api.create()
    response = requests.post(
        f"{BASE}/api/v1/login", data={"username": "bob", "password": PASSWORD}, timeout=5
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"user": "bob", "password": "wrong"},
        {"user": "nobody", "password": PASSWORD},
        {"username": "bob", "password": PASSWORD, "extra": 1},
        {"username": "bob"},
        {"password": PASSWORD},
        None,
    ],
)
def test_login_failures_are_401(api: Api, body: Any) -> None:
    api.create()
    response = api.post("/api/v1/login", body, auth=None)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED_LOGIN)


def test_inactive_user_cannot_log_in(fake: FakeRocketChat, api: Api) -> None:
    fake.add_user("carol", "carol@example.com", "Carol", password=PASSWORD, active=False)
    response = api.post("/api/v1/login", {"user": "carol", "password": PASSWORD}, auth=None)
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "error": "error-user-is-not-activated",
        "status": "error",
        "message": "User is not activated",
        "details": {"function": "Accounts.validateLoginAttempt"},
    }


def test_logout_revokes_only_the_calling_token(fake: FakeRocketChat, api: Api) -> None:
    api.create()
    first, second = api.login(), api.login()
    response = api.post("/api/v1/logout", auth=first)
    assert response.json() == {"status": "success", "data": {"message": "You've been logged out!"}}
    assert api.get("/api/v1/me", auth=first).status_code == 401
    assert api.get("/api/v1/me", auth=second).json()["username"] == "bob"
    assert fake.tokens_of(first["X-User-Id"]) == [second["X-Auth-Token"]]


def test_logging_out_the_last_session_leaves_the_user_offline(
    fake: FakeRocketChat, api: Api
) -> None:
    api.create()
    first, second = api.login(), api.login()
    fake.user_by_username("bob")["status"] = "online"  # type: ignore[index]  # signed in
    api.post("/api/v1/logout", auth=first)
    assert fake.user_by_username("bob")["status"] == "online"  # type: ignore[index]
    api.post("/api/v1/logout", auth=second)  # its last connection closes
    assert fake.user_by_username("bob")["status"] == "offline"  # type: ignore[index]


# -- users.info and users.list ----------------------------------------------------------------


def test_users_info_lookups(fake: FakeRocketChat, api: Api) -> None:
    user = api.create().json()["user"]
    fake.user_by_id(user["_id"])["importIds"] = ["imp-1"]  # type: ignore[index]
    for params in ({"userId": user["_id"]}, {"username": "bob"}, {"importId": "imp-1"}):
        response = api.get("/api/v1/users.info", params)
        assert response.status_code == 200
        assert response.json()["user"]["_id"] == user["_id"]
        assert response.json()["success"] is True


def test_users_info_errors(api: Api) -> None:
    unknown = api.get("/api/v1/users.info", {"userId": "nope"})
    assert (unknown.status_code, unknown.json()) == (
        400,
        {"success": False, "error": "User not found."},
    )
    nothing = api.get("/api/v1/users.info")
    assert nothing.status_code == 400
    lines = nothing.json()["error"].split("\n ")
    shape = invalid_params("{}")  # the run's release: with or without the "[invalid-params]"
    assert nothing.json()["errorType"] == shape["errorType"]
    assert lines[0] == "must have required property 'userId'"
    assert lines[-1] == shape["error"].format("must match a schema in anyOf")


def test_users_info_hides_private_fields_from_other_users(api: Api) -> None:
    api.create()
    api.create("carol")
    as_bob = api.login()
    other = api.get("/api/v1/users.info", {"username": "carol"}, auth=as_bob).json()["user"]
    assert "emails" not in other and "roles" not in other
    own = api.get("/api/v1/users.info", {"username": "bob"}, auth=as_bob).json()["user"]
    assert own["emails"][0]["address"] == "bob@example.com"


# -- users.create ------------------------------------------------------------------------------


def test_create_user(fake: FakeRocketChat, api: Api) -> None:
    response = api.create(verified=True, joinDefaultChannels=True, sendWelcomeEmail=False)
    assert response.status_code == 200
    user = response.json()["user"]
    assert response.json()["success"] is True
    assert re.fullmatch(f"[{ID_ALPHABET}]{{17}}", user["_id"])
    assert user["emails"] == [{"address": "bob@example.com", "verified": True}]
    assert (user["username"], user["name"], user["active"], user["roles"]) == (
        "bob",
        "Bob",
        True,
        ["user"],
    )
    assert fake.user_by_username("BOB") == user
    assert [doc["username"] for doc in fake.users()] == ["admin", "bob"]


def test_create_coerces_like_ajv(api: Api) -> None:
    response = api.create(active="false", verified=1)
    assert response.status_code == 200
    assert response.json()["user"]["active"] is False
    assert response.json()["user"]["emails"][0]["verified"] is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"extra": 1}, "must NOT have additional properties"),
        ({"email": None}, "must have required property 'email'"),
        ({"name": {"first": "Bob"}}, "must be string"),
        ({"active": "maybe"}, "must be boolean,null"),
        ({"roles": "user"}, "must be array"),
    ],
)
def test_create_schema_rejections(api: Api, change: dict[str, Any], message: str) -> None:
    body = {"username": "bob", "email": "bob@example.com", "name": "Bob", "password": PASSWORD}
    body = {k: v for k, v in {**body, **change}.items() if v is not None}
    response = api.post("/api/v1/users.create", body)
    assert (response.status_code, response.json()) == (400, invalid_params(message))


def test_ajv_coercion_rules() -> None:
    assert ajv.validate("GET /api/v1/users.list", {"count": "2", "offset": "1.5"}) == {
        "count": 2,
        "offset": 1.5,
    }
    body = {"email": 5, "name": None, "password": True, "username": "u", "active": 0}
    assert ajv.validate("POST /api/v1/users.create", {**body, "verified": None}) == {
        "email": "5",
        "name": "",
        "password": "true",
        "username": "u",
        "active": False,
        "verified": None,
    }
    update = ajv.validate("POST /api/v1/users.update", {"userId": "u", "data": {"name": 5}})
    assert update == {"userId": "u", "data": {"name": "5"}}
    with pytest.raises(ajv.InvalidParams, match="^must be object$"):
        ajv.validate("POST /api/v1/users.update", {"userId": "u", "data": "x"})
    assert ajv.validate("POST /api/v1/login", {"any": 1}) == {"any": 1}  # not enforced


def test_create_missing_key_wins_over_extra_key(api: Api) -> None:
    response = api.post("/api/v1/users.create", {"username": "bob", "name": "B", "x": 1})
    assert response.json() == invalid_params("must have required property 'email'")


@pytest.mark.parametrize(
    ("first", "second", "taken"),
    [
        ({}, {"email": "other@example.com"}, "bob"),
        ({}, {"username": "BOB", "email": "other@example.com"}, "BOB"),
        ({}, {"username": "robert", "email": "Bob@Example.com"}, "Bob@Example.com"),
    ],
)
def test_create_duplicates(
    api: Api, first: dict[str, str], second: dict[str, str], taken: str
) -> None:
    assert api.create(**first).status_code == 200
    response = api.create(**second)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": f"{taken} is already in use :( [error-field-unavailable]",
        "errorType": "error-field-unavailable",
        "details": {"method": "insertOrUpdateUser", "field": taken},
    }


def test_create_validates_username_name_and_email(api: Api) -> None:
    bad_username = api.create("<b>ob")
    assert bad_username.json()["error"] == (
        "&lt;b&gt;ob is not a valid username [error-input-is-not-a-valid-field]"
    )
    assert bad_username.json()["errorType"] == "error-input-is-not-a-valid-field"
    for name in ("<script>", "a/b", "a%2Fb"):
        response = api.create(name=name)
        assert response.json() == {"success": False, "error": "Name contains invalid characters"}
    assert api.create(name="  ").json()["errorType"] == "error-the-field-is-required"
    assert api.create(password="").json()["error"] == (
        "The field Password is required [error-the-field-is-required]"
    )
    assert api.create(email="not-an-email").json()["errorType"] == "error-invalid-email"
    assert api.create(roles=["superhero"]).json()["errorType"] == "error-action-not-allowed"


def test_username_rule_follows_the_setting(fake: FakeRocketChat, api: Api) -> None:
    assert api.create("José").status_code == 400
    fake.set_setting("UTF8_User_Names_Validation", r"[\w.-]+")
    assert api.create("José").status_code == 200
    fake.set_setting("UTF8_User_Names_Validation", "[unclosed")  # broken: the default applies
    assert api.create("a-b_c.d").status_code == 200
    assert api.create("a b").json()["errorType"] == "error-input-is-not-a-valid-field"


def test_non_admin_cannot_create_users(api: Api) -> None:
    api.create()
    body = {"username": "eve", "email": "e@example.com", "name": "Eve", "password": "x"}
    response = api.post("/api/v1/users.create", body, auth=api.login())
    assert response.status_code == 400  # validateUserData throws; it is not a 403
    assert response.json()["error"] == "Adding user is not allowed [error-action-not-allowed]"


# -- users.update, setActiveStatus, logout, delete --------------------------------------------


def test_update_user(fake: FakeRocketChat, api: Api) -> None:
    user_id = api.create().json()["user"]["_id"]
    data = {"name": "Robert", "email": "robert@example.com", "username": "robert"}
    response = api.post("/api/v1/users.update", {"userId": user_id, "data": data})
    assert response.status_code == 200
    user = response.json()["user"]
    assert (user["name"], user["username"]) == ("Robert", "robert")
    assert user["emails"] == [{"address": "robert@example.com", "verified": False}]
    api.post("/api/v1/users.update", {"userId": user_id, "data": {"password": "New-pass-1"}})
    assert api.login("robert", "New-pass-1")["X-User-Id"] == user_id


def test_update_errors(fake: FakeRocketChat, api: Api) -> None:
    user_id = api.create().json()["user"]["_id"]
    api.create("carol")
    taken = api.post(
        "/api/v1/users.update", {"userId": user_id, "data": {"email": "carol@example.com"}}
    )
    assert taken.json()["errorType"] == "error-field-unavailable"
    extra = api.post("/api/v1/users.update", {"userId": user_id, "data": {"nope": 1}})
    assert extra.json() == invalid_params("must NOT have additional properties")
    empty = api.post("/api/v1/users.update", {"userId": "", "data": {}})
    assert empty.json() == invalid_params("must NOT have fewer than 1 characters")
    unknown = api.post("/api/v1/users.update", {"userId": "nope", "data": {"name": "X"}})
    assert unknown.json() == {"success": False, "error": "User not found"}


def test_update_with_a_two_factor_token_asks_for_a_code() -> None:
    with mock_rocketchat(BASE, admin_bypass_two_factor=False) as fake:
        api = Api()
        bob = fake.add_user("bob", "bob@example.com", "Bob")
        response = api.post("/api/v1/users.update", {"userId": bob["_id"], "data": {"name": "R"}})
        assert response.status_code == 400
        assert response.json()["errorType"] == "totp-required"
        assert response.json()["error"] == "TOTP Required [totp-required]"
        assert api.create("carol").status_code == 200  # only twoFactorRequired routes ask


def test_deactivation_removes_tokens_and_blocks_login(fake: FakeRocketChat, api: Api) -> None:
    user_id = api.create().json()["user"]["_id"]
    token = api.login()
    body = {"userId": user_id, "activeStatus": False}
    response = api.post("/api/v1/users.setActiveStatus", body)
    assert response.json() == {"user": {"_id": user_id, "active": False}, "success": True}
    assert fake.tokens_of(user_id) == []
    assert api.get("/api/v1/me", auth=token).status_code == 401
    failed = api.post("/api/v1/login", {"user": "bob", "password": PASSWORD}, auth=None)
    assert failed.json()["error"] == "error-user-is-not-activated"
    api.post("/api/v1/users.setActiveStatus", {"userId": user_id, "activeStatus": True})
    assert api.login()["X-User-Id"] == user_id


def test_update_active_false_also_removes_tokens(fake: FakeRocketChat, api: Api) -> None:
    user_id = api.create().json()["user"]["_id"]
    api.login()
    api.post("/api/v1/users.update", {"userId": user_id, "data": {"active": False}})
    assert fake.tokens_of(user_id) == []


def test_set_active_status_errors(api: Api) -> None:
    api.create()
    as_bob = api.login()
    denied = api.post(
        "/api/v1/users.setActiveStatus", {"userId": ADMIN_ID, "activeStatus": False}, as_bob
    )
    assert (denied.status_code, denied.json()) == (403, {"success": False, "error": "unauthorized"})
    last_admin = api.post("/api/v1/users.setActiveStatus", {"userId": ADMIN_ID, "activeStatus": 0})
    assert last_admin.json()["error"] == (
        "Leaving the app without an active admin is not allowed [error-action-not-allowed]"
    )
    unknown = api.post("/api/v1/users.setActiveStatus", {"userId": "x", "activeStatus": True})
    assert unknown.json() == {"success": False, "error": "User not found"}
    missing = api.post("/api/v1/users.setActiveStatus", {"userId": "x"})
    assert missing.json() == invalid_params("must have required property 'activeStatus'")


def test_users_logout_removes_every_token(fake: FakeRocketChat, api: Api) -> None:
    user_id = api.create().json()["user"]["_id"]
    api.login()
    api.login()
    response = api.post("/api/v1/users.logout", {"userId": user_id})
    assert response.json() == {"message": f"User {user_id} has been logged out!", "success": True}
    assert fake.tokens_of(user_id) == []
    again = api.post("/api/v1/users.logout", {"userId": user_id})
    assert again.json() == {
        "success": False,
        "error": "Invalid user id [error-invalid-user-id]",
        "errorType": "error-invalid-user-id",
    }


def test_users_logout_of_others_needs_permission(fake: FakeRocketChat, api: Api) -> None:
    api.create()
    as_bob = api.login()
    denied = api.post("/api/v1/users.logout", {"userId": ADMIN_ID}, auth=as_bob)
    assert denied.status_code == 403
    own = api.post("/api/v1/users.logout", {}, auth=as_bob)
    assert own.status_code == 200
    assert fake.tokens_of(as_bob["X-User-Id"]) == []


def test_delete_user(fake: FakeRocketChat, api: Api) -> None:
    user_id = api.create().json()["user"]["_id"]
    denied = api.post("/api/v1/users.delete", {"userId": ADMIN_ID}, auth=api.login())
    assert denied.status_code == 403
    body = {"userId": user_id, "confirmRelinquish": True}
    assert api.post("/api/v1/users.delete", body).json() == {"success": True}
    assert fake.user_by_id(user_id) is None
    gone = api.post("/api/v1/users.delete", {"userId": user_id})
    assert gone.json()["errorType"] == "error-invalid-user"
    assert api.post("/api/v1/users.delete", {}).json()["errorType"] == (
        "error-user-param-not-provided"
    )


# -- settings ---------------------------------------------------------------------------------


def test_settings_defaults_and_update(fake: FakeRocketChat, api: Api) -> None:
    defaults = {
        "Accounts_iframe_enabled": False,
        "Accounts_Iframe_api_method": "POST",
        "Iframe_Integration_receive_origin": "*",
        "Accounts_LoginExpiration": 90,
        "UTF8_User_Names_Validation": "[0-9a-zA-Z-_.]+",
    }
    for setting_id, value in defaults.items():
        response = api.get(f"/api/v1/settings/{setting_id}")
        assert response.json() == {"_id": setting_id, "value": value, "success": True}
    url = "https://www.example.com/rocketchat/token/"
    response = api.post("/api/v1/settings/Accounts_Iframe_api_url", {"value": url})
    assert response.json() == {"success": True}
    assert fake.settings["Accounts_Iframe_api_url"] == url


def test_settings_errors(api: Api) -> None:
    assert api.get("/api/v1/settings/Nope").json() == {"success": False}
    assert api.post("/api/v1/settings/Nope", {"value": 1}).json() == {"success": False}
    missing = api.post("/api/v1/settings/Accounts_iframe_enabled", {"values": True})
    assert (missing.status_code, missing.json()) == (400, {"success": False})  # API.v1.failure()
    api.create()
    denied = api.get("/api/v1/settings/Accounts_iframe_enabled", auth=api.login())
    assert (denied.status_code, denied.json()) == (403, {"success": False, "error": NO_PERMISSION})


def test_settings_post_needs_two_factor_bypass() -> None:
    with mock_rocketchat(BASE, admin_bypass_two_factor=False):
        response = Api().post("/api/v1/settings/Accounts_iframe_enabled", {"value": True})
        assert response.json()["errorType"] == "totp-required"


# -- token lifetime and limits ----------------------------------------------------------------


def test_login_tokens_are_capped_oldest_first() -> None:
    clock = Clock()
    with mock_rocketchat(BASE, max_login_tokens=3, now=clock) as fake:
        api = Api()
        api.create()
        tokens = []
        for _ in range(5):
            clock.advance(minutes=1)
            tokens.append(api.login()["X-Auth-Token"])
        user_id = api.login()["X-User-Id"]
        assert fake.tokens_of(user_id)[:2] == tokens[3:]
        assert len(fake.tokens_of(user_id)) == 3
        assert fake.tokens_of(ADMIN_ID) == [ADMIN_TOKEN]  # personal tokens are not counted


def test_tokens_expire_after_the_login_expiration() -> None:
    clock = Clock()
    with mock_rocketchat(BASE, now=clock) as fake:
        api = Api()
        api.create()
        token = api.login()
        clock.advance(days=89)
        assert api.get("/api/v1/me", auth=token).status_code == 200
        clock.advance(days=2)
        assert api.get("/api/v1/me", auth=token).status_code == 401
        assert api.get("/api/v1/me").status_code == 200  # the admin's PAT does not expire
        fake.set_setting("Accounts_LoginExpiration", 1)
        fresh = api.login()
        clock.advance(days=1, seconds=1)
        assert api.get("/api/v1/me", auth=fresh).status_code == 401
        fake.set_setting("Accounts_LoginExpiration", 0)  # invalid: back to 90 days
        assert api.get("/api/v1/me", auth=fresh).status_code == 200


# -- model helpers, faults, thread safety -----------------------------------------------------


def test_helpers(fake: FakeRocketChat, api: Api) -> None:
    # A verified address would turn on Rocket.Chat's e-mail two-factor for dave's password
    # login (tests/testing/test_two_factor.py); this test is about the helpers.
    fake.set_setting("Accounts_TwoFactorAuthentication_By_Email_Auto_Opt_In", False)
    record = fake.add_user("dave", "dave@example.com", name="Dave", password="pw")
    assert fake.user_by_username("DAVE") is record
    assert fake.user_by_id(str(record["_id"])) is record
    record["emails"][0]["verified"] = True  # the record is live
    info = api.get("/api/v1/users.info", {"username": "dave"}).json()["user"]
    assert info["emails"][0]["verified"] is True
    assert fake.user_by_username("nobody") is None and fake.tokens_of("nobody") == []
    api.login("dave", "pw")
    assert [c.path for c in fake.calls] == ["/api/v1/users.info", "/api/v1/login"]
    assert len(fake.calls_to("/api/v1/login")) == 1
    assert fake.calls_to("/api/v1/login")[0].header("CONTENT-TYPE") == "application/json"
    fake.reset_calls()
    assert fake.calls == []


def test_passwords_are_stored_hashed(fake: FakeRocketChat, api: Api) -> None:
    api.create()
    fake.add_user("dave", "dave@example.com", password="Plain-text-pw")
    fake.reset_calls()  # the call log keeps request bodies verbatim; the user store must not
    state = repr(vars(fake))
    assert PASSWORD not in state and "Plain-text-pw" not in state


def test_injected_faults_are_consumed_in_order(fake: FakeRocketChat, api: Api) -> None:
    fake.inject(FakeResponse(503, {"success": False}), path="/api/v1/me", times=2)
    fake.inject(FakeResponse(500, {"success": False}))
    assert api.get("/api/info").status_code == 500  # the any-path fault
    assert [api.get("/api/v1/me").status_code for _ in range(3)] == [503, 503, 200]
    fake.inject(Fault.CONNECTION_REFUSED, times=5)
    fake.clear_faults()
    assert api.get("/api/v1/me").status_code == 200
    assert len(fake.calls_to("/api/v1/me")) == 4  # faulted calls are recorded too


def test_handle_without_a_transport() -> None:
    fake = FakeRocketChat()
    fake.inject(Fault.TIMEOUT)
    assert fake.handle(FakeRequest("GET", "/api/v1/me")) is Fault.TIMEOUT
    result = fake.handle(
        FakeRequest("GET", "/api/v1/me", headers={"x-user-id": ADMIN_ID, "X-AUTH-TOKEN": "x"})
    )
    assert isinstance(result, FakeResponse) and result.status == 401
    ok = fake.handle(FakeRequest("get", "/api/v1/me", headers=ADMIN))
    assert isinstance(ok, FakeResponse) and json.loads(ok.json_bytes())["_id"] == ADMIN_ID


def test_invalid_json_body_is_400(api: Api) -> None:
    response = requests.post(
        f"{BASE}/api/v1/users.create",
        data=b"{nope",
        headers={**ADMIN, "Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 400


def test_concurrent_creates_of_one_username(fake: FakeRocketChat, api: Api) -> None:
    results: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def create(index: int) -> None:
        barrier.wait()
        response = api.create("same", email=f"same{index}@example.com")
        with lock:
            results.append(response.status_code)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] + [400] * 19
    assert sum(1 for c in fake.calls if c.path == "/api/v1/users.create") == 20
