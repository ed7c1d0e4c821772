"""The contract: every request the app makes to Rocket.Chat, and each answer it relies on.

Marked ``contract``: ``pytest --rocketchat-url=...`` runs them against a live Rocket.Chat
(``tests/contract/plugin.py``); otherwise against the stand-in in its own process. Where a
release answers differently, the test says which release answers what, as the app expects it
(``rocketchat_sso.rocketchat.capabilities``). Calls with a user's credentials, per route, in the
whole subset: ``POST /api/v1/login`` 21 (22 with the admin's password; 11 of them in the
blocked-login test), ``GET /api/v1/me`` 8, ``POST /api/v1/logout`` 3, and 11 on ``GET
/api/v1/users.info`` in the rate-limiter test, its own bucket: the pacer waits for the login
route's next window once at Rocket.Chat's defaults (10 a minute per route), up to a minute.
"""

from __future__ import annotations

import pytest

from rocketchat_sso.accounts import signin
from rocketchat_sso.exceptions import (
    RocketChatAPIError,
    RocketChatAuthenticationFailed,
    RocketChatFieldUnavailable,
    RocketChatLoginBlocked,
    RocketChatPermissionDenied,
    RocketChatRateLimited,
    RocketChatUserNotFound,
)
from rocketchat_sso.operations import smoke
from rocketchat_sso.operations.doctor import FAIL
from rocketchat_sso.rocketchat import capabilities
from rocketchat_sso.rocketchat.client import (
    ERROR_INVALID_PARAMS,
    IDENTITY_UNAVAILABLE,
    INVALID_PARAMS,
    NOT_AUTHORIZED,
    RocketChatClient,
)
from rocketchat_sso.rocketchat.client import invalid_params as client_invalid_params
from rocketchat_sso.testing.model import TYPED_ROUTES_SINCE
from tests.contract.plugin import DOMAIN, Contract

pytestmark = pytest.mark.contract


# -- the server and its admin (doctor, configure, capabilities) -------------------------------


def test_server_version_anonymous_and_as_admin(contract: Contract) -> None:
    anonymous = RocketChatClient(contract.live.url, user_id="", auth_token="").server_info()
    # major.minor to anyone (getServerInfo.ts); the doctor copes with a proxy hiding it.
    if anonymous.get("version"):
        assert capabilities.Version(str(anonymous["version"])).parts == contract.version.parts
    assert contract.admin.server_version().known


def test_admin_me_is_an_administrator(contract: Contract) -> None:
    me = contract.admin.me()
    assert me["_id"] == contract.live.admin_user_id
    assert "admin" in me["roles"] and isinstance(me["username"], str)


def test_settings_read_and_written_back_unchanged(contract: Contract) -> None:
    # configure reads each iframe setting and writes only changes; written back as it was.
    value = contract.admin.get_setting("Accounts_iframe_url")
    assert isinstance(value, str)
    contract.admin.set_setting("Accounts_iframe_url", value)
    assert contract.admin.get_setting("Accounts_iframe_url") == value
    with pytest.raises(RocketChatAPIError):
        contract.admin.get_setting("Rocketchat_SSO_No_Such_Setting")


# -- users: create, find, update, deactivate, delete (signin, lifecycle, sync) -----------------


def test_create_answers_the_record_and_refuses_taken_fields(contract: Contract) -> None:
    user = contract.user()
    record = user.record
    assert record["_id"] and record["username"] == user.username
    assert record["emails"][0]["address"] == user.email
    assert record["emails"][0]["verified"] is False
    assert record["active"] is True and "user" in record["roles"]
    for username, email in ((user.username, f"other-{user.username}@{DOMAIN}"),
                            (contract.name(), user.email)):  # fmt: skip
        with pytest.raises(RocketChatFieldUnavailable):
            contract.admin.create_user(
                username=username, email=email, name="Taken", password=user.password + "x"
            )


def test_find_by_id_username_and_email_per_release(contract: Contract) -> None:
    user = contract.user()
    assert contract.admin.user_info(user_id=user.id)["username"] == user.username
    assert contract.admin.user_info(username=user.username)["_id"] == user.id
    with pytest.raises(RocketChatUserNotFound):
        contract.admin.user_info(user_id="rocketchat-sso-contract-none")
    if contract.version.at_least(capabilities.EMAIL_PARAM_SINCE):
        assert contract.admin.user_by_email(user.email.upper())["_id"] == user.id
    else:  # 7.x-8.5: "Invalid search query." (or a schema's invalid-params)
        with pytest.raises(RocketChatAPIError) as refused:
            contract.admin.user_by_email(user.email)
        assert "Invalid search query" in refused.value.message or (
            refused.value.error_type == INVALID_PARAMS
        )
    # The path sign-in takes on this release finds exactly this user.
    found = contract.admin.find_users_by_email(user.email)
    assert [record["_id"] for record in found] == [user.id]


def test_users_list_page(contract: Contract) -> None:
    page = contract.admin.list_users(count=1)
    assert len(page["users"]) <= 1
    assert all(isinstance(page[key], int) for key in ("count", "offset", "total"))


def test_update_profile_and_taken_username_or_address(contract: Contract) -> None:
    user, other = contract.user(), contract.user()
    updated = contract.admin.update_user(user.id, {"name": "Renamed by the contract"})
    assert updated["name"] == "Renamed by the contract"
    with pytest.raises(RocketChatFieldUnavailable) as taken:
        contract.admin.update_user(user.id, {"username": other.username})
    assert taken.value.error_type == IDENTITY_UNAVAILABLE
    with pytest.raises(RocketChatFieldUnavailable):
        contract.admin.update_user(user.id, {"email": other.email})


def test_delete(contract: Contract) -> None:
    user = contract.user()
    contract.admin.delete_user(user.id)
    with pytest.raises(RocketChatUserNotFound):
        contract.admin.user_info(user_id=user.id)


# -- tokens: login, /me, logout, createToken (tokens, revocation, lifecycle) -----------------


def test_login_me_and_logout_of_one_token(contract: Contract) -> None:
    user = contract.user()
    client = contract.client()
    token, me = client.login_user(username=user.username, password=user.password)
    assert token.user_id == user.id
    assert me is not None and me["_id"] == user.id and me["active"] is True
    assert (client.user_of_token(token) or {}).get("_id") == user.id
    client.revoke_token(token)
    assert client.user_of_token(token) is None  # a revoked token is refused with a 401


def test_wrong_password_is_refused_with_401(contract: Contract) -> None:
    user = contract.user()
    with pytest.raises(RocketChatAuthenticationFailed):
        contract.client().login(username=user.username, password=user.password + "-wrong")


def test_repeated_failed_logins_block_the_user_even_with_its_password(
    contract: Contract,
) -> None:
    # Block_Multiple_Failed_Logins_By_User at its defaults (10 failures in 5 minutes): the
    # login route answers 401 with the Meteor error's code as ``error``, before the password is
    # looked at (apps/meteor/app/authentication/server/startup/index.js validateLoginAttempt;
    # rocketchat_sso.testing.login_attempts). The app takes it for a wait (503
    # rocketchat_login_blocked), never for a wrong password. 11 user logins (the pacer waits
    # for the server's next window); the 10 failures also count against this runner's address
    # (50 in 5 minutes block it), so do not run the subset more than four times in 5 minutes.
    attempts = 10
    user = contract.user()
    client = contract.client()
    for _ in range(attempts):
        with pytest.raises(RocketChatAuthenticationFailed) as refused:
            client.login(username=user.username, password=user.password + "-wrong")
        assert not isinstance(refused.value, RocketChatLoginBlocked)
    with pytest.raises(RocketChatLoginBlocked) as blocked:
        client.login(username=user.username, password=user.password)
    assert blocked.value.status == 401
    assert blocked.value.error_type == "error-login-blocked-for-user"


def test_new_password_logs_out_every_device(contract: Contract) -> None:
    user = contract.user()
    client = contract.client()
    token = client.login(username=user.username, password=user.password)
    contract.admin.update_user(user.id, {"password": user.password + "-new"})
    assert client.user_of_token(token) is None


def test_deactivation_ends_sessions_and_refuses_login(contract: Contract) -> None:
    user = contract.user()
    client = contract.client()
    token = client.login(username=user.username, password=user.password)
    contract.admin.set_active_status(user.id, False)
    assert client.user_of_token(token) is None
    with pytest.raises(RocketChatAuthenticationFailed) as refused:
        client.login(username=user.username, password=user.password)
    assert "error-user-is-not-activated" in refused.value.message
    contract.admin.set_active_status(user.id, True)


def test_logout_everywhere(contract: Contract) -> None:
    user = contract.user()
    client = contract.client()
    token = client.login(username=user.username, password=user.password)
    contract.admin.logout_user_everywhere(user.id)
    assert client.user_of_token(token) is None


def test_create_token_per_release(contract: Contract) -> None:
    user = contract.user()
    live = contract.live
    secret = "" if contract.version.before((8, 0)) else live.create_token_secret
    if live.create_token_configured:
        token = contract.admin.create_token(user.id, secret=secret)
        assert token.user_id == user.id
        assert (contract.client().user_of_token(token) or {}).get("_id") == user.id
        contract.client().revoke_token(token)
    if contract.version.at_least((8, 0)):
        # 8.x: exactly {userId, secret}; a wrong secret is a 400 error-not-authorized.
        with pytest.raises(RocketChatPermissionDenied) as refused:
            contract.admin.create_token(user.id, secret="not-the-servers-secret")
        assert refused.value.error_type == NOT_AUTHORIZED
        with pytest.raises(RocketChatAPIError) as invalid:
            contract.admin.create_token(user.id)
        missing = "must have required property 'secret'"
        if contract.version.at_least(TYPED_ROUTES_SINCE):
            # The typed router: {errorType: 'error-invalid-params', error: <ajv message>}, no
            # suffix (packages/http-router/src/Router.ts @3a8f6b5). The first release with it
            # was not read per tag: the stand-in plays it from 8.6, which a live run checks.
            assert invalid.value.error_type == ERROR_INVALID_PARAMS
            assert invalid.value.message.endswith(f"users.createToken: {missing}")
        else:  # 8.0: validateParams' Meteor error (ApiClass.ts), "<ajv message> [invalid-params]"
            assert invalid.value.error_type == INVALID_PARAMS
            assert invalid.value.message.endswith(f"users.createToken: {missing} [invalid-params]")
        assert client_invalid_params(invalid.value.error_type)  # what the app relies on
    elif not live.create_token_configured:
        with pytest.raises(RocketChatPermissionDenied) as refused:
            contract.admin.create_token(user.id)
        assert refused.value.error_type == NOT_AUTHORIZED


# -- the limiter, the app's sign-in, the smoke test ------------------------------------------


def test_rate_limiter_answers_429_with_its_reset(contract: Contract) -> None:
    limit = contract.live.pacer.limit
    if limit is None or limit[0] > 20:
        pytest.skip(f"the server's limiter is {limit}: too many calls to reach here")
    user = contract.user()
    token = contract.client().login(username=user.username, password=user.password)
    raw = RocketChatClient(contract.live.url, user_id=user.id, auth_token=token.auth_token,
                           rate_limit_wait=0)  # fmt: skip
    with pytest.raises(RocketChatRateLimited) as limited:
        for _ in range(limit[0] + 1):  # users.info: no other test calls it as a user
            raw.user_info(user_id=user.id)
    retry_after = limited.value.retry_after
    assert retry_after is not None and 0 <= retry_after <= limit[1] / 1000


@pytest.mark.django_db
def test_the_apps_sign_in_new_then_known_user(contract: Contract, django_user_model: type) -> None:
    username = contract.name()
    user = django_user_model.objects.create_user(
        username=username, email=contract.email(username), first_name="Contract"
    )
    client = contract.client()
    first = signin.issue_login_token(user, client=client)  # users.create, then the login
    again = signin.issue_login_token(user, client=client)  # the login alone
    assert first.user_id == again.user_id
    assert first.auth_token != again.auth_token


def test_the_smoke_test_passes(contract: Contract) -> None:
    result = smoke.run(contract.client())
    assert [f for f in result.findings if f.status == FAIL] == []
    with pytest.raises(RocketChatUserNotFound):
        contract.admin.user_info(username=result.username)
