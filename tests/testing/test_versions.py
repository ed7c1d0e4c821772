"""What differs between the Rocket.Chat releases the stand-in plays: each behaviour per release.

Every test names the release(s) it plays, whatever ``--rocketchat-version`` the run uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from rocketchat_sso.testing import (
    NEWEST,
    RELEASES,
    FakeRocketChat,
    RocketChatVersion,
    default_version,
    mock_rocketchat,
    set_default_version,
)
from tests.testing.helpers import BASE, Api, invalid_params

ALL = sorted(RELEASES)  # "7.10", "8.0", "8.8"
NOT_LOGGED_IN = "You must be logged in to do this."
NOT_AUTHORIZED = "Not authorized [error-not-authorized]"


@pytest.fixture(params=ALL)
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake(version: str) -> Iterator[FakeRocketChat]:
    with mock_rocketchat(BASE, version=version) as rocketchat:
        yield rocketchat


@pytest.fixture
def api(fake: FakeRocketChat) -> Api:
    return Api()


# -- the version helper -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("8.8", RocketChatVersion(8, 8, 0)),
        ("8.8.x", RocketChatVersion(8, 8, 0)),
        ("7.10.3", RocketChatVersion(7, 10, 3)),
        (" v8.0.1 ", RocketChatVersion(8, 0, 1)),
    ],
)
def test_versions_parse_once(text: str, parsed: RocketChatVersion) -> None:
    assert RocketChatVersion.parse(text) == parsed
    assert RocketChatVersion.parse(parsed) is parsed


@pytest.mark.parametrize("text", ["8", "eight", "8.8.8.8", ""])
def test_bad_versions_say_what_is_played(text: str) -> None:
    with pytest.raises(ValueError, match=r"7\.10, 8\.0, 8\.8"):
        RocketChatVersion.parse(text)


def test_version_predicates_compare_numbers_not_strings() -> None:
    v7_10 = RocketChatVersion.parse("7.10")
    assert v7_10.since(7, 9) and v7_10.since(7, 10) and not v7_10.since(8)
    assert not RocketChatVersion.parse("7.9").since(7, 10)  # "7.9" > "7.10" as strings
    assert RocketChatVersion.parse("8.8.1").short == "8.8"
    assert str(RocketChatVersion.parse("8.8")) == "8.8.0"


def test_the_newest_release_is_the_default_and_a_run_may_choose_another() -> None:
    assert RELEASES["8.8"] == NEWEST
    chosen = default_version()
    try:
        assert set_default_version("7.10") == RELEASES["7.10"]
        assert FakeRocketChat().version == RELEASES["7.10"]
        assert set_default_version(None) == NEWEST
        assert FakeRocketChat().version == NEWEST
    finally:
        set_default_version(chosen)


# -- /api/info and error bodies ---------------------------------------------------------------


def test_info_gives_the_version_without_patch_to_everyone(api: Api, version: str) -> None:
    """getServerInfo.ts ``removePatchInfo``; the full version only with get-server-info."""
    api.create()
    for auth in (None, api.login()):
        response = api.get("/api/info", auth=auth)
        assert response.json() == {"version": version, "success": True}
    admin = api.get("/api/info").json()
    assert admin == {"info": {"version": f"{version}.0"}, "success": True}


def test_401_bodies_keep_status_and_message_before_9(api: Api) -> None:
    """ApiClass.ts applyBreakingChanges is shouldBreakInVersion('9.0.0') in 8.x."""
    assert api.get("/api/v1/me", auth=None).json() == {
        "success": False,
        "error": NOT_LOGGED_IN,
        "status": "error",
        "message": NOT_LOGGED_IN,
    }
    api.create()
    failed = api.post("/api/v1/login", {"user": "bob", "password": "x"}, auth=None)
    assert (failed.status_code, failed.json()) == (
        401,
        {"success": False, "error": "Unauthorized", "status": "error", "message": "Unauthorized"},
    )


def test_permission_errors_say_error_unauthorized(api: Api) -> None:
    api.create()
    response = api.get("/api/v1/settings/Accounts_iframe_enabled", auth=api.login())
    assert (response.status_code, response.json()) == (
        403,
        {
            "success": False,
            "error": "User does not have the permissions required for this action "
            "[error-unauthorized]",
        },
    )


def test_a_breaking_release_would_drop_them() -> None:
    """9.0 is not played, but the switch is one predicate: 401 without the old keys."""
    with mock_rocketchat(BASE, version="9.0"):
        assert Api().get("/api/v1/me", auth=None).json() == {
            "success": False,
            "error": NOT_LOGGED_IN,
        }


# -- email lookups ---------------------------------------------------------------------------


def test_users_info_by_email_from_8_6(api: Api, version: str) -> None:
    bob = api.create().json()["user"]["_id"]
    response = api.get("/api/v1/users.info", {"email": "BOB@example.COM"})
    if RocketChatVersion.parse(version).since(8, 6):
        assert response.status_code == 200
        assert response.json()["user"]["_id"] == bob
        unknown = api.get("/api/v1/users.info", {"email": "nobody@example.com"})
        assert unknown.json() == {"success": False, "error": "User not found."}
    else:  # the route has no email branch: "Invalid search query."
        assert (response.status_code, response.json()) == (
            400,
            {"success": False, "error": "Invalid search query."},
        )


def test_users_list_by_email_from_8_6(api: Api, version: str) -> None:
    bob = api.create().json()["user"]["_id"]
    api.create("carol")
    response = api.get("/api/v1/users.list", {"email": "Bob@Example.com"})
    assert response.status_code == 200
    found = [user["_id"] for user in response.json()["users"]]
    if RocketChatVersion.parse(version).since(8, 6):
        assert found == [bob]
        as_bob = api.login()
        refused = api.get("/api/v1/users.list", {"email": "bob@example.com"}, auth=as_bob)
        assert (refused.status_code, refused.json()) == (
            403,
            {"success": False, "error": "unauthorized"},
        )
    else:  # no email parameter: every user, sorted by username
        assert len(found) == 3


def test_users_list_ignores_query_from_7_0(api: Api) -> None:
    """parseJsonQuery.ts: query and fields only with ALLOW_UNSAFE_QUERY_AND_FIELDS_API_PARAMS."""
    api.create()
    api.create("carol")
    query = json.dumps({"emails.address": "carol@example.com"})
    response = api.get("/api/v1/users.list", {"query": query, "fields": '{"name": 1}'})
    assert response.status_code == 200
    assert [user["username"] for user in response.json()["users"]] == ["admin", "bob", "carol"]
    assert "emails" in response.json()["users"][0]  # fields ignored too


def test_users_list_query_with_the_unsafe_env(version: str) -> None:
    api = Api()
    with mock_rocketchat(BASE, version=version, allow_unsafe_query=True):
        bob = api.create().json()["user"]["_id"]
        carol = api.create("carol").json()["user"]["_id"]

        def ids(query: object, **params: str) -> list[str]:
            response = api.get("/api/v1/users.list", {"query": json.dumps(query), **params})
            assert response.status_code == 200, response.text
            return [u["_id"] for u in response.json()["users"]]

        assert ids({"emails.address": "bob@example.com"}) == [bob]
        assert ids({"emails.address": "nobody@example.com"}) == []
        assert ids({"$or": [{"username": "bob"}, {"username": "carol"}]}) == [bob, carol]
        assert ids({"$and": [{"username": "bob"}, {"emails.address": "carol@example.com"}]}) == []
        bad = api.get("/api/v1/users.list", {"query": "{nope"})
        assert (bad.status_code, bad.json()["errorType"]) == (400, "error-invalid-query")
        for query in ('{"username": {"$where": "1"}}', '{"$or": {}}', '{"$nor": []}', "[1]"):
            response = api.get("/api/v1/users.list", {"query": query})
            assert response.json()["errorType"] == "error-invalid-query", query


def test_users_list_paging_sorting_and_clamps(api: Api) -> None:
    for name in ("carol", "bob", "dave"):
        api.create(name)
    page = api.get("/api/v1/users.list", {"count": "2", "offset": "1"}).json()
    assert [u["username"] for u in page["users"]] == ["bob", "carol"]
    assert (page["count"], page["offset"], page["total"], page["success"]) == (2, 1, 4, True)
    backwards = api.get("/api/v1/users.list", {"sort": '{"username": -1}', "count": "1"}).json()
    assert [u["username"] for u in backwards["users"]] == ["dave"]
    bad = api.get("/api/v1/users.list", {"sort": '{"username": 2}'})
    assert (bad.status_code, bad.json()["errorType"]) == (400, "error-invalid-sort")
    assert api.get("/api/v1/users.list", {"count": "0"}).json()["count"] == 4  # 0: all


def test_users_list_clamps_count_to_the_upper_limit(fake: FakeRocketChat, api: Api) -> None:
    for n in range(120):
        fake.add_user(f"user{n:03}", f"user{n:03}@example.com")
    assert api.get("/api/v1/users.list", {"count": "500"}).json()["count"] == 100
    assert api.get("/api/v1/users.list").json()["count"] == 50


def test_users_list_validates_its_params_from_8_6(api: Api, version: str) -> None:
    extra = api.get("/api/v1/users.list", {"nope": "1"})
    if RocketChatVersion.parse(version).since(8, 6):
        assert extra.json() == invalid_params("must NOT have additional properties", version)
    else:
        assert extra.status_code == 200


# -- users.createToken ------------------------------------------------------------------------


def test_create_token_is_refused_by_default(api: Api, version: str) -> None:
    user_id = api.create().json()["user"]["_id"]
    body: dict[str, str] = {"userId": user_id}
    if RocketChatVersion.parse(version).since(8):
        body["secret"] = "guess"
    response = api.post("/api/v1/users.createToken", body)
    assert response.status_code == 400  # a 400, not a 403
    assert response.json()["error"] == NOT_AUTHORIZED
    assert response.json()["errorType"] == "error-not-authorized"


def test_create_token_7x_needs_the_env_and_takes_a_username() -> None:
    with mock_rocketchat(BASE, version="7.10", create_tokens_for_users=True) as fake:
        api = Api()
        user_id = api.create().json()["user"]["_id"]
        response = api.post("/api/v1/users.createToken", {"username": "bob"})
        assert response.status_code == 200
        data = response.json()["data"]
        assert data["userId"] == user_id
        assert fake.tokens_of(user_id) == [data["authToken"]]
        missing = api.post("/api/v1/users.createToken", {"userId": "nope"})
        assert missing.json()["errorType"] == "error-invalid-user"
        secret_is_ignored = api.post(
            "/api/v1/users.createToken", {"userId": user_id, "secret": "x"}
        )
        assert secret_is_ignored.status_code == 200


@pytest.mark.parametrize("version", ["8.0", "8.8"])
def test_create_token_8x_takes_exactly_user_id_and_secret(version: str) -> None:
    with mock_rocketchat(BASE, version=version, create_tokens_secret="s3cret") as fake:
        api = Api()
        user_id = api.create().json()["user"]["_id"]
        ok = api.post("/api/v1/users.createToken", {"userId": user_id, "secret": "s3cret"})
        assert ok.status_code == 200
        assert fake.tokens_of(user_id) == [ok.json()["data"]["authToken"]]
        wrong = api.post("/api/v1/users.createToken", {"userId": user_id, "secret": "wrong"})
        assert (wrong.status_code, wrong.json()["errorType"]) == (400, "error-not-authorized")
        for body, message in (
            ({"userId": user_id}, "must have required property 'secret'"),
            ({"username": "bob", "secret": "s3cret"}, "must have required property 'userId'"),
            (
                {"userId": user_id, "secret": "s3cret", "x": 1},
                "must NOT have additional properties",
            ),
            ({"userId": user_id, "secret": ""}, "must NOT have fewer than 1 characters"),
        ):
            response = api.post("/api/v1/users.createToken", body)
            assert response.json() == invalid_params(message, version), body


@pytest.mark.parametrize("version", ["8.0", "8.8"])
def test_create_token_8x_ignores_the_7x_env(version: str) -> None:
    with mock_rocketchat(BASE, version=version, create_tokens_for_users=True):
        api = Api()
        user_id = api.create().json()["user"]["_id"]
        response = api.post("/api/v1/users.createToken", {"userId": user_id, "secret": "x"})
        assert response.json()["errorType"] == "error-not-authorized"


def test_create_token_and_create_ask_no_two_factor_code_in_the_releases_played(
    version: str,
) -> None:
    """twoFactorRequired came to both routes with PR #41388, after the releases played."""
    options = {"create_tokens_for_users": True, "create_tokens_secret": "k"}
    with mock_rocketchat(BASE, version=version, admin_bypass_two_factor=False, **options):
        api = Api()
        user_id = api.create().json()["user"]["_id"]
        response = api.post("/api/v1/users.createToken", {"userId": user_id, "secret": "k"})
        assert response.status_code == 200
    with mock_rocketchat(BASE, version="9.0", admin_bypass_two_factor=False, **options):
        refused = Api().create()
        assert (refused.status_code, refused.json()["errorType"]) == (400, "totp-required")


def test_create_token_for_someone_else_needs_the_permission(version: str) -> None:
    options = {"create_tokens_for_users": True, "create_tokens_secret": "k"}
    with mock_rocketchat(BASE, version=version, **options):
        api = Api()
        api.create()
        carol = api.create("carol").json()["user"]["_id"]
        as_bob = api.login()
        response = api.post(
            "/api/v1/users.createToken", {"userId": carol, "secret": "k"}, auth=as_bob
        )
        assert (response.status_code, response.json()["error"]) == (400, NOT_AUTHORIZED)


def test_create_token_with_the_admin_token_is_not_rate_limited(version: str) -> None:
    options = {"create_tokens_for_users": True, "create_tokens_secret": "k"}
    with mock_rocketchat(BASE, version=version, **options):
        api = Api()
        user_id = api.create().json()["user"]["_id"]
        statuses = {
            api.post("/api/v1/users.createToken", {"userId": user_id, "secret": "k"}).status_code
            for _ in range(15)
        }
        assert statuses == {200}


# -- users.update and users.create ------------------------------------------------------------


def test_update_to_a_taken_username_saves_nothing(fake: FakeRocketChat, api: Api) -> None:
    bob = api.create().json()["user"]["_id"]
    api.create("carol")
    data = {"username": "Carol", "name": "Robert", "email": "robert@example.com"}
    response = api.post("/api/v1/users.update", {"userId": bob, "data": data})
    assert (response.status_code, response.json()) == (
        400,
        {
            "success": False,
            "error": "Could not save user identity [error-could-not-save-identity]",
            "errorType": "error-could-not-save-identity",
            "details": {"method": "saveUser"},
        },
    )
    record = fake.user_by_id(bob)
    assert record is not None
    assert (record["username"], record["name"]) == ("bob", "Bob")
    assert record["emails"][0]["address"] == "bob@example.com"


def test_update_to_a_taken_email_is_field_unavailable(fake: FakeRocketChat, api: Api) -> None:
    bob = api.create().json()["user"]["_id"]
    api.create("carol")
    data = {"email": "carol@example.com", "name": "Robert"}
    response = api.post("/api/v1/users.update", {"userId": bob, "data": data})
    assert response.status_code == 400
    assert response.json()["errorType"] == "error-field-unavailable"
    assert response.json()["error"] == (
        "carol@example.com is already in use :( [error-field-unavailable]"
    )
    same = api.post("/api/v1/users.update", {"userId": bob, "data": {"email": "bob@example.com"}})
    assert same.status_code == 200  # one's own address is not taken


def test_setting_a_password_logs_out_every_device(fake: FakeRocketChat, api: Api) -> None:
    bob = api.create().json()["user"]["_id"]
    first, second = api.login(), api.login()
    assert len(fake.tokens_of(bob)) == 2
    data = {"password": "New-pass-1"}
    assert api.post("/api/v1/users.update", {"userId": bob, "data": data}).status_code == 200
    assert fake.tokens_of(bob) == []
    for device in (first, second):
        assert api.get("/api/v1/me", auth=device).status_code == 401
    name_only = api.post("/api/v1/users.update", {"userId": bob, "data": {"name": "Bobby"}})
    assert name_only.status_code == 200
    assert api.login("bob", "New-pass-1")


# -- the test run's choice --------------------------------------------------------------------


def run_pytest(*args: str, env_version: str | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "ROCKETCHAT_TEST_VERSION"}
    if env_version is not None:
        env["ROCKETCHAT_TEST_VERSION"] = env_version
    command = [sys.executable, "-m", "pytest", "--collect-only", *args, __file__ + "::x"]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_the_run_picks_the_release_option_over_variable() -> None:
    """``--rocketchat-version`` wins over ``ROCKETCHAT_TEST_VERSION``; the header says which."""
    both = run_pytest("--rocketchat-version", "7.10", env_version="8.0")
    assert "Rocket.Chat stand-in plays: 7.10.0" in both.stdout
    variable = run_pytest(env_version="8.0")
    assert "Rocket.Chat stand-in plays: 8.0.0" in variable.stdout


# -- schema failures: validateParams, then the typed router -----------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (
            "7.10",
            {
                "success": False,
                "error": "must have required property 'email' [invalid-params]",
                "errorType": "invalid-params",
            },
        ),
        (
            "8.0",
            {
                "success": False,
                "error": "must have required property 'email' [invalid-params]",
                "errorType": "invalid-params",
            },
        ),
        (
            "8.8",
            {
                "success": False,
                "errorType": "error-invalid-params",
                "error": "must have required property 'email'",
            },
        ),
    ],
)
def test_schema_failures_in_each_releases_words(version: str, expected: dict[str, Any]) -> None:
    with mock_rocketchat(BASE, version=version):
        api = Api()
        body = {"username": "bob", "name": "Bob", "password": "x"}
        response = api.post("/api/v1/users.create", body)
        assert (response.status_code, response.json()) == (400, expected)
