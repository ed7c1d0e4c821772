"""``rocketchat_sso_doctor --smoke``: a throwaway user signed in end to end, over real HTTP,
leaving nothing behind whatever fails; and ``configure --enable`` running it first."""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from rocketchat_sso.exceptions import RocketChatAuthenticationFailed
from rocketchat_sso.management.commands.rocketchat_sso_configure import Command as Configure
from rocketchat_sso.models import SettingsSnapshot
from rocketchat_sso.operations import smoke as smoke_module
from rocketchat_sso.rocketchat import remote_settings as remote
from rocketchat_sso.rocketchat.client import RocketChatClient
from rocketchat_sso.testing import FakeResponse, FakeRocketChat, Fault
from rocketchat_sso.testing.server import RocketChatServer
from tests.commands.findings import unwrapped
from tests.commands.test_enable import SITE, via_test_client
from tests.testing.helpers import Clock

ADMIN_ID = "rcadmin0000000001"
ADMIN_TOKEN = "admin-personal-access-token"
STEPS = [
    "Create the probe user",
    "Update its profile",
    "Sign it in",
    "Rocket.Chat accepts its token",
    "Revoke the token",
    "Delete the probe user",
]
SECRET = "create-tokens-secret-for-the-smoke-test"


def smoke() -> tuple[str, CommandError | None]:
    """The smoke test's output, each step's wrapped detail and hint read back as one line."""
    out = StringIO()
    try:
        call_command("rocketchat_sso_doctor", "--smoke", stdout=out, no_color=True)
    except CommandError as error:
        return unwrapped(out.getvalue()), error
    return unwrapped(out.getvalue()), None


def statuses(output: str) -> dict[str, str]:
    """``{step title: OK|FAIL|SKIP}`` of the smoke test's lines (the login method dropped)."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"^(OK|FAIL|SKIP) +([^:(]+?)(?: \([\w_]+\))?:", line)
        if match:
            found[match.group(2)] = match.group(1)
    return found


def hint_after(output: str, title: str) -> str:
    lines = output.splitlines()
    index = next(i for i, text in enumerate(lines) if re.match(rf"^\w+ +{re.escape(title)}", text))
    return lines[index + 1]


def play(server: RocketChatServer, **options: Any) -> FakeRocketChat:
    """A fresh stand-in behind the HTTP server, with a real user the smoke test must not touch."""
    server.fake = FakeRocketChat(**options)
    server.fake.add_user("alice", "alice@example.com", name="Alice", password="alice-pw")
    return server.fake


def snapshot_users(fake: FakeRocketChat) -> list[dict[str, Any]]:
    return copy.deepcopy(fake.users())


def assert_nothing_left(fake: FakeRocketChat, before: list[dict[str, Any]]) -> None:
    """Zero users and zero tokens behind: everyone as before, the admin's one token alone."""
    assert fake.users() == before
    assert fake.tokens_of(ADMIN_ID) == [ADMIN_TOKEN]
    assert not any(u["username"].startswith("rocketchat-sso-smoke-") for u in fake.users())
    alice = fake.user_by_username("alice")
    assert alice is not None and fake.tokens_of(alice["_id"]) == []


def test_passes_over_http_leaving_nothing_behind(rocketchat_server: RocketChatServer) -> None:
    fake = play(rocketchat_server)
    before = snapshot_users(fake)
    out, error = smoke()
    assert error is None, out
    assert statuses(out) == dict.fromkeys(STEPS, "OK")
    assert_nothing_left(fake, before)
    # Only the probe's id was ever acted on: no call names alice.
    assert all(b"alice" not in call.body for call in fake.calls)
    assert re.search(r"probe user rocketchat-sso-smoke-[a-z0-9]{12} on http://127\.0\.0\.1", out)
    calls = [f"{c.method} {c.path}" for c in fake.calls]
    assert calls == [
        "POST /api/v1/users.create",
        "POST /api/v1/users.update",
        "POST /api/v1/login",
        "GET /api/v1/me",
        "POST /api/v1/logout",
        "GET /api/v1/me",
        "POST /api/v1/users.delete",
        "GET /api/v1/users.info",
    ]
    assert (
        "Rocket.Chat calls: 8; 4 with the admin's token (exempt from the rate limiter), 4 with "
        "the probe user's credentials (counted per route against this server's address, like "
        "every sign-in from this site: POST /api/v1/login 1, GET /api/v1/me 2, "
        "POST /api/v1/logout 1)." in out
    )
    assert "  3. POST /api/v1/login (probe user's password)" in out
    assert "  4. GET /api/v1/me (probe user's token)" in out
    assert "  7. POST /api/v1/users.delete (admin)" in out


@pytest.mark.parametrize(
    ("version", "options", "secret"),
    [
        ("7.10", {"create_tokens_for_users": True}, ""),
        ("8.0", {"create_tokens_secret": SECRET}, SECRET),
        ("8.8", {"create_tokens_secret": SECRET}, SECRET),
    ],
)
def test_create_token_method_passes_on_each_release(
    rocketchat_server: RocketChatServer, version: str, options: dict[str, Any], secret: str
) -> None:
    fake = play(rocketchat_server, version=version, **options)
    before = snapshot_users(fake)
    with override_settings(
        ROCKETCHAT_SSO_LOGIN_METHOD="create_token", ROCKETCHAT_SSO_CREATE_TOKEN_SECRET=secret
    ):
        out, error = smoke()
    assert error is None, out
    assert "OK    Sign it in (create_token): users.createToken as the admin" in out
    assert_nothing_left(fake, before)
    assert "3 with the probe user's credentials" in out  # no /login: /me twice, /logout once


NEEDS_ENV_7 = "needs the server environment variable CREATE_TOKENS_FOR_USERS=true"
NEEDS_SECRET_8 = "needs the server environment variable CREATE_TOKENS_FOR_USERS_SECRET="


@pytest.mark.parametrize(
    ("version", "server", "site_secret", "refusal", "fix"),
    [
        ("7.10", {}, "", "Not authorized [error-not-authorized]", f"7.10.0 {NEEDS_ENV_7}"),
        ("8.0", {"create_tokens_secret": SECRET}, "wrong", "[error-not-authorized]",
         f"8.0.0 {NEEDS_SECRET_8}"),
        ("8.8", {"create_tokens_secret": SECRET}, "wrong", "[error-not-authorized]",
         f"8.8.0 {NEEDS_SECRET_8}"),
        # 8.0 without the secret: validateParams' Meteor error (ApiClass.ts), as 7.x words it.
        ("8.0", {}, "", "must have required property 'secret' [invalid-params]",
         f"8.0.0 {NEEDS_SECRET_8}"),
        # 8.8: the typed router's words, no suffix (rocketchat_sso.testing.model
        # TYPED_ROUTES_SINCE): {"errorType": "error-invalid-params", "error": "<ajv message>"}
        ("8.8", {}, "", "users.createToken: must have required property 'secret'\n",
         f"8.8.0 {NEEDS_SECRET_8}"),
    ],
)  # fmt: skip
@override_settings(ROCKETCHAT_SSO_LOGIN_METHOD="create_token")
def test_create_token_not_authorized_names_the_fix_for_the_release(
    rocketchat_server: RocketChatServer,
    version: str,
    server: dict[str, Any],
    site_secret: str,
    refusal: str,
    fix: str,
) -> None:
    fake = play(rocketchat_server, version=version, **server)
    before = snapshot_users(fake)
    with override_settings(ROCKETCHAT_SSO_CREATE_TOKEN_SECRET=site_secret):
        out, error = smoke()
    assert error is not None and str(error) == "The smoke test failed (1 step(s))."
    assert statuses(out) == {
        "Create the probe user": "OK",
        "Update its profile": "OK",
        "Sign it in": "FAIL",
        "Rocket.Chat accepts its token": "SKIP",
        "Revoke the token": "SKIP",
        "Delete the probe user": "SKIP",
        "Clean-up": "OK",
    }
    assert refusal in out
    assert f"Rocket.Chat {fix}" in hint_after(out, "Sign it in")
    assert_nothing_left(fake, before)


def test_users_create_refused_names_the_permission(rocketchat_server: RocketChatServer) -> None:
    fake = play(rocketchat_server)
    admin = fake.user_by_id(ADMIN_ID)
    assert admin is not None
    admin["roles"] = ["user"]  # a token whose user lacks create-user (validateUserData.ts)
    before = snapshot_users(fake)
    out, error = smoke()
    assert error is not None
    assert statuses(out)["Create the probe user"] == "FAIL"
    assert "Adding user is not allowed" in out
    assert "permission 'create-user'" in hint_after(out, "Create the probe user")
    assert "Clean-up" not in out  # nothing was created, nothing to clean
    assert_nothing_left(fake, before)
    assert [c.path for c in fake.calls] == ["/api/v1/users.create"]


def test_admin_token_needing_2fa(rocketchat_server: RocketChatServer) -> None:
    fake = play(rocketchat_server, admin_bypass_two_factor=False)
    before = snapshot_users(fake)
    out, error = smoke()
    assert error is not None
    assert statuses(out)["Update its profile"] == "FAIL"
    assert "totp-required" in out
    assert "'Ignore Two Factor Authentication'" in hint_after(out, "Update its profile")
    assert statuses(out)["Clean-up"] == "OK"
    assert_nothing_left(fake, before)


def fail_logins(url: str, clock: Clock, usernames: list[str], *, first: timedelta) -> None:
    """Failed password logins from this server's address, through the stand-in's rate limiter
    at its defaults (10 a minute per route and address; one clock per route, from the server's
    start): ten at ``first`` after the clock's start, then ten at each further minute, when the
    limiter has reset. Each is recorded by the stand-in's Accounts.onLoginFailure
    (:mod:`rocketchat_sso.testing.login_attempts`)."""
    client = RocketChatClient(url, user_id="", auth_token="", rate_limit_wait=0)
    start = clock.moment
    for window, at in enumerate(range(0, len(usernames), 10)):
        clock.moment = start + (timedelta(minutes=window) if window else first)
        for username in usernames[at : at + 10]:
            with pytest.raises(RocketChatAuthenticationFailed):
                client.login(username=username, password="not-the-password")


def blocked_login(reason: str = "IP") -> FakeResponse:
    """Rocket.Chat's answer to a login while Block_Multiple_Failed_Logins blocks it.

    ``validateLoginAttemptAsync`` throws ``Meteor.Error('error-login-blocked-for-ip', 'Login has
    been temporarily blocked For IP', {function: 'Accounts.validateLoginAttempt'})`` (or ``-for-
    user``), before it looks at the password (RocketChat/Rocket.Chat
    apps/meteor/app/authentication/server/startup/index.ts @0548e40); the REST login route answers
    a failed login 401 with the error's code, reason and details until the breaking version
    (ApiClass.ts ``_initAuth``, as the stand-in's ``_login_failed``): every release played.
    """
    code = "error-login-blocked-for-ip" if reason == "IP" else "error-login-blocked-for-user"
    body = {
        "success": False,
        "status": "error",
        "error": code,
        "message": f"Login has been temporarily blocked For {reason}",
        "details": {"function": "Accounts.validateLoginAttempt"},
    }
    return FakeResponse(401, body)


PROBE = "rocketchat-sso-smoke-blockedprobe"


@pytest.mark.parametrize(
    ("reason", "failures", "fix"),
    [
        # 50 failed logins by address within 5 minutes (Block_Multiple_Failed_Logins_*_By_Ip's
        # defaults): at 10 a minute, the limiter's default, the smoke test's login is refused
        # in the fifth minute. Any usernames: the address is what counts.
        ("IP", [f"someone-{n}" for n in range(50)], "Block_Multiple_Failed_Logins_Ip_Whitelist"),
        # 10 failed logins naming the probe's username (onLoginFailure records the name a login
        # gave, for no existing user too), then the smoke test's in the next limiter window.
        ("User", [PROBE] * 10, "_By_User_In_Minutes"),
    ],
)
def test_login_blocked(
    rocketchat_server: RocketChatServer,
    monkeypatch: pytest.MonkeyPatch,
    reason: str,
    failures: list[str],
    fix: str,
) -> None:
    clock = Clock()
    fake = play(rocketchat_server, now=clock)
    monkeypatch.setattr(smoke_module, "probe_username", lambda: PROBE)
    started = clock.moment
    # The first ten in the last second of the limiter's first window, so that all are within
    # the 5 minutes when the smoke test's login comes, at the start of the next free window.
    fail_logins(rocketchat_server.url, clock, failures, first=timedelta(seconds=59))
    clock.moment = started + timedelta(minutes=len(failures) // 10)
    before = snapshot_users(fake)
    out, error = smoke()
    assert error is not None
    assert statuses(out)["Sign it in"] == "FAIL"
    assert f"Rocket.Chat has blocked logins (error-login-blocked-for-{reason.lower()})" in out
    assert fix in hint_after(out, "Sign it in")
    assert statuses(out)["Clean-up"] == "OK"
    assert_nothing_left(fake, before)
    # Refused before its password was looked at; the blocked attempt itself went through the
    # limiter (the 429 would have been a different failure, with a different fix).
    assert [c.path for c in fake.calls].count("/api/v1/login") == len(failures) + 1
    assert fake.calls[-1].path != "/api/v1/login"  # the clean-up came after


def test_clean_up_that_fails_names_what_to_delete(
    rocketchat_server: RocketChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    fake = play(rocketchat_server, now=clock)
    monkeypatch.setattr(smoke_module, "probe_username", lambda: PROBE)
    fail_logins(rocketchat_server.url, clock, [PROBE] * 10, first=timedelta(0))
    clock.advance(minutes=1)  # the probe's login is blocked for the user, the limiter reset
    fake.inject(Fault.CONNECTION_REFUSED, path="/api/v1/users.delete", times=5)
    out, error = smoke()
    assert error is not None
    (probe,) = [u for u in fake.users() if u["username"].startswith("rocketchat-sso-smoke-")]
    assert statuses(out)["Clean-up"] == "FAIL"
    hint = hint_after(out, "Clean-up")
    assert f"username {probe['username']}, id {probe['_id']}" in hint
    assert f'POST /api/v1/users.delete {{"userId": "{probe["_id"]}"}}' in hint
    assert fake.tokens_of(probe["_id"]) == []  # never signed in: no token of it exists


def test_a_token_left_by_a_failed_step_is_revoked_when_deletion_fails(
    rocketchat_server: RocketChatServer,
) -> None:
    fake = play(rocketchat_server)
    fake.inject(FakeResponse(200, {"success": True, "_id": "someone-else"}), path="/api/v1/me")
    fake.inject(Fault.CONNECTION_REFUSED, path="/api/v1/users.delete", times=5)
    out, _ = smoke()
    assert statuses(out)["Rocket.Chat accepts its token"] == "FAIL"
    assert "its login token was revoked" in out
    (probe,) = [u for u in fake.users() if u["username"].startswith("rocketchat-sso-smoke-")]
    assert fake.tokens_of(probe["_id"]) == []


# -- configure --enable runs it first ---------------------------------------------------------


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Configure, "site_fetch", staticmethod(via_test_client))


@pytest.mark.django_db
@pytest.mark.usefixtures("site")
def test_enable_runs_the_smoke_test_before_switching_on(rocketchat: FakeRocketChat) -> None:
    out = StringIO()
    call_command("rocketchat_sso_configure", "--enable", "--site-url", SITE, stdout=out)
    text = out.getvalue()
    assert text.index("Smoke test with the probe user") < text.index("Accounts_iframe_enabled")
    assert statuses(text)["Delete the probe user"] == "OK"
    assert rocketchat.settings[remote.IFRAME_ENABLED] is True
    assert [u["_id"] for u in rocketchat.users()] == [ADMIN_ID]


@pytest.mark.django_db
@pytest.mark.usefixtures("site")
def test_enable_changes_nothing_when_the_smoke_test_fails(
    rocketchat: FakeRocketChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The probe's logins blocked by the stand-in's own rule (login_attempts): ten failures
    # naming it, then the smoke test a minute later, when the limiter has reset. The clock
    # starts after the stand-in's limiter did, within its first window.
    clock = Clock()
    clock.moment = rocketchat.now()
    rocketchat.now = clock
    monkeypatch.setattr(smoke_module, "probe_username", lambda: PROBE)
    fail_logins(settings.ROCKETCHAT_SSO_URL, clock, [PROBE] * 10, first=timedelta(0))
    clock.advance(minutes=1)
    out = StringIO()
    with pytest.raises(CommandError, match="1 check\\(s\\) failed: nothing was changed"):
        call_command("rocketchat_sso_configure", "--enable", "--site-url", SITE, stdout=out)
    assert "Rocket.Chat has blocked logins (error-login-blocked-for-user)" in out.getvalue()
    assert "Block_Multiple_Failed_Logins_By_User" in out.getvalue()
    assert rocketchat.settings[remote.IFRAME_ENABLED] is False
    assert SettingsSnapshot.objects.count() == 0
    assert [u["_id"] for u in rocketchat.users()] == [ADMIN_ID]


@pytest.mark.django_db
@pytest.mark.usefixtures("site")
def test_enable_skip_smoke(rocketchat: FakeRocketChat) -> None:
    out = StringIO()
    call_command(
        "rocketchat_sso_configure", "--enable", "--skip-smoke", "--site-url", SITE, stdout=out
    )
    assert "Smoke test" not in out.getvalue()
    assert not rocketchat.calls_to("/api/v1/users.create")
    with pytest.raises(CommandError, match="--skip-smoke goes with --enable"):
        call_command("rocketchat_sso_configure", "--skip-smoke", "--site-url", SITE)


@pytest.mark.django_db
@pytest.mark.usefixtures("site")
@override_settings(ROCKETCHAT_SSO_ADMIN_TOKEN="wrong")
def test_enable_skips_the_smoke_test_after_a_failed_prerequisite(
    rocketchat: FakeRocketChat,
) -> None:
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("rocketchat_sso_configure", "--enable", "--site-url", SITE, stdout=out)
    assert "SKIP  Smoke test: needs: admin" in out.getvalue()
    assert not rocketchat.calls_to("/api/v1/users.create")


class AnswerLost(FakeRocketChat):
    """users.create takes effect, but its answer never arrives (a proxy's page instead)."""

    def _users_create(self, call: Any) -> FakeResponse:
        super()._users_create(call)
        return FakeResponse(200, "<html>Bad gateway</html>")


def test_a_lost_creation_answer_is_cleaned_up_by_the_exact_probe_name(
    rocketchat_server: RocketChatServer,
) -> None:
    rocketchat_server.fake = fake = AnswerLost()
    fake.add_user("rocketchat-sso-smoke-someone", "someone@example.com", name="Not ours")
    before = snapshot_users(fake)
    out, error = smoke()
    assert error is not None
    assert statuses(out)["Create the probe user"] == "FAIL"
    assert statuses(out)["Clean-up"] == "OK"
    assert fake.users() == before  # the probe found by its exact name and deleted; no other
    lookups = [c.query for c in fake.calls if c.path == "/api/v1/users.info"]
    assert len(lookups) == 1 and re.fullmatch(
        r"rocketchat-sso-smoke-[a-z0-9]{12}", lookups[0]["username"]
    )


def test_a_new_user_left_inactive_is_named(rocketchat_server: RocketChatServer) -> None:
    fake = play(rocketchat_server)
    inactive = blocked_login()
    inactive.body.update(error="error-user-is-not-activated", message="User is not activated")
    fake.inject(inactive, path="/api/v1/login")
    before = snapshot_users(fake)
    out, _ = smoke()
    assert "Accounts_ManuallyApproveNewUsers" in hint_after(out, "Sign it in")
    assert_nothing_left(fake, before)
