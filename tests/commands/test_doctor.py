from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from rocketchat_sso.rocketchat import remote_settings as remote
from rocketchat_sso.rocketchat.client import RocketChatClient
from rocketchat_sso.testing import FakeResponse, FakeRocketChat, Fault, mock_rocketchat
from tests.commands.findings import finding_lines, hint_after, line

SITE = "https://www.example.com"
ADMIN_ID = "rcadmin0000000001"
ADMIN_TOKEN = "admin-personal-access-token"


def doctor(*args: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("rocketchat_sso_doctor", "--site-url", SITE, *args, stdout=out, no_color=True)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def healthy(fake: FakeRocketChat) -> FakeRocketChat:
    """Rocket.Chat set up as docs/rocketchat.rst says."""
    call_command("rocketchat_sso_configure", "--site-url", SITE, stdout=StringIO())
    fake.set_setting(remote.IFRAME_ENABLED, True)
    fake.set_setting(remote.RESTRICT_ACCESS, False)
    fake.set_setting(remote.RATE_LIMIT_CALLS, 600)
    fake.reset_calls()
    return fake


@pytest.fixture
def stand_in() -> Iterator[Callable[..., FakeRocketChat]]:
    """Start a stand-in with options: ``stand_in(admin_bypass_two_factor=False)``."""
    with ExitStack() as stack:
        yield lambda **kwargs: stack.enter_context(
            mock_rocketchat(settings.ROCKETCHAT_SSO_URL, **kwargs)
        )


def test_a_healthy_setup_passes(rocketchat: FakeRocketChat) -> None:
    healthy(rocketchat)
    out, error = doctor()
    assert error is None, out
    # 11 checks, token records (apps), rooms from groups, e-mail two-factor (issues 18-20)
    assert [text.split()[0] for text in finding_lines(out)] == ["OK"] * 14
    assert line(out, "Rooms from groups") == (
        "OK    Rooms from groups: no room mapped (ROCKETCHAT_SSO_GROUP_ROOMS)"
    )
    assert line(out, "This site's URL") == f"OK    This site's URL: {SITE}"
    assert line(out, "Rocket.Chat reachable").endswith(
        f"https://chat.example.com, {rocketchat.version.short}"
    )
    assert rocketchat.settings[remote.IFRAME_URL] == f"{SITE}/rocketchat/login/"  # changed nothing


def test_a_fresh_rocketchat_fails_with_hints(rocketchat: FakeRocketChat) -> None:
    out, error = doctor()
    assert error is not None and str(error) == "4 check(s) failed."
    failing = [text for text in finding_lines(out) if text.startswith("FAIL")]
    assert [text.split(":")[0] for text in failing] == [
        "FAIL  Iframe login points at this site",
        "FAIL  Iframe integration with this site",
        "FAIL  This site may frame Rocket.Chat",
        "FAIL  Rate limiter leaves room for logins",
    ]
    assert "Accounts_iframe_enabled is off" in line(out, "Iframe login")
    assert "rocketchat_sso_configure" in hint_after(out, "Iframe login")
    assert "X-Frame-Options: sameorigin" in line(out, "frame Rocket.Chat")
    assert "10 calls per 60000 ms: 10 per minute" in line(out, "Rate limiter")
    assert "at least 60" in hint_after(out, "Rate limiter")


def test_unreachable_rocketchat_skips_the_rest(rocketchat: FakeRocketChat) -> None:
    rocketchat.inject(Fault.CONNECTION_REFUSED, times=10)
    out, error = doctor()
    assert error is not None and str(error) == "1 check(s) failed."
    assert line(out, "Rocket.Chat reachable").startswith("FAIL")
    assert "ROCKETCHAT_SSO_URL" in hint_after(out, "Rocket.Chat reachable")
    assert line(out, "Admin credentials") == "SKIP  Admin credentials: needs: reachable"
    assert line(out, "Token reuse") == "SKIP  Token reuse: needs: admin"


@override_settings(ROCKETCHAT_SSO_ADMIN_TOKEN="wrong")
def test_refused_admin_credentials(rocketchat: FakeRocketChat) -> None:
    out, error = doctor()
    assert line(out, "Admin credentials").startswith("FAIL")
    assert "personal access token" in hint_after(out, "Admin credentials")
    assert str(error) == "1 check(s) failed."


def test_admin_credentials_of_a_non_admin(rocketchat: FakeRocketChat) -> None:
    bob = rocketchat.add_user("bob", "bob@example.com", name="Bob", password="pw")
    token = RocketChatClient().login(username="bob", password="pw")
    with override_settings(
        ROCKETCHAT_SSO_ADMIN_USER_ID=bob["_id"], ROCKETCHAT_SSO_ADMIN_TOKEN=token.auth_token
    ):
        out, _ = doctor()
    assert line(out, "Admin credentials") == "FAIL  Admin credentials: bob is not an administrator"


def test_token_without_2fa_bypass_is_detected(stand_in: Callable[..., FakeRocketChat]) -> None:
    fake = stand_in(admin_bypass_two_factor=False)
    out, _ = doctor()
    assert line(out, "2FA") == (
        "FAIL  Admin token needs no 2FA code: users.update asks for a 2FA code (totp-required)"
    )
    assert "Ignore Two Factor Authentication" in hint_after(out, "2FA")
    assert fake.calls_to("/api/v1/users.update")  # probed, on a user that cannot exist


# What users.createToken needs on each release, and what the doctor says to set when it is off.
CREATE_TOKEN_FIX = {"7.10": "CREATE_TOKENS_FOR_USERS=true", "8.0": "CREATE_TOKENS_FOR_USERS_SECRET"}
CREATE_TOKEN_FIX["8.8"] = CREATE_TOKEN_FIX["8.0"]


@pytest.mark.parametrize("version", ["7.10", "8.0", "8.8"])
@override_settings(ROCKETCHAT_SSO_LOGIN_METHOD="create_token")
def test_create_token_not_authorized_names_the_fix_for_the_version(
    stand_in: Callable[..., FakeRocketChat], version: str
) -> None:
    stand_in(version=version)
    out, _ = doctor()
    assert "users.createToken is not authorized" in line(out, "Login method")
    hint = hint_after(out, "Login method")
    assert CREATE_TOKEN_FIX[version] in hint
    assert f"Rocket.Chat {version}" in hint
    assert "user-generate-access-token" in hint and "Ignore Two Factor Authentication" in hint
    other = CREATE_TOKEN_FIX["7.10" if version != "7.10" else "8.0"]
    assert other not in hint


@pytest.mark.parametrize(
    ("version", "options", "secret"),
    [
        ("7.10", {"create_tokens_for_users": True}, ""),
        ("8.0", {"create_tokens_secret": "k"}, "k"),
        ("8.8", {"create_tokens_secret": "k"}, "k"),
    ],
)
def test_create_token_authorized_leaves_no_token(
    stand_in: Callable[..., FakeRocketChat],
    settings: Any,
    version: str,
    options: dict[str, Any],
    secret: str,
) -> None:
    settings.ROCKETCHAT_SSO_LOGIN_METHOD = "create_token"
    settings.ROCKETCHAT_SSO_CREATE_TOKEN_SECRET = secret
    fake = stand_in(version=version, **options)
    out, _ = doctor()
    assert line(out, "Login method").startswith("OK    Login method: create_token")
    assert fake.tokens_of(ADMIN_ID) == [ADMIN_TOKEN]


def test_password_method_says_whether_create_token_would_work(
    stand_in: Callable[..., FakeRocketChat],
) -> None:
    stand_in(version="8.8")
    out, _ = doctor()
    assert "create_token is not usable here" in line(out, "Login method")
    assert "CREATE_TOKENS_FOR_USERS_SECRET" in line(out, "Login method")


@pytest.mark.parametrize(
    ("version", "lookup"),
    [("7.10", "users.list pages"), ("8.0", "users.list pages"), ("8.8", "users.info?email=")],
)
def test_doctor_prints_the_version_and_the_signin_paths(
    stand_in: Callable[..., FakeRocketChat], version: str, lookup: str
) -> None:
    stand_in(version=version)
    out, _ = doctor()
    text = line(out, "Sign-in on this Rocket.Chat")
    assert text.startswith(f"OK    Sign-in on this Rocket.Chat: Rocket.Chat {version}")
    assert f"looked up with {lookup}" in text
    assert "POST /api/v1/login" in text and "1 Rocket.Chat call per new session" in text


def test_site_url_is_needed_for_the_iframe_checks(rocketchat: FakeRocketChat) -> None:
    out = StringIO()
    with pytest.raises(CommandError, match="2 check"):  # and the default rate limit
        call_command("rocketchat_sso_doctor", stdout=out, no_color=True)
    text = out.getvalue()
    assert line(text, "This site's URL") == "FAIL  This site's URL: unknown"
    assert "--site-url" in hint_after(text, "This site's URL")
    assert line(text, "Iframe login") == "SKIP  Iframe login points at this site: needs: site_url"
    assert line(text, "Rate limiter").startswith("FAIL")  # the rest still runs


def test_any_origin_is_not_accepted(rocketchat: FakeRocketChat) -> None:
    healthy(rocketchat)
    rocketchat.set_setting(remote.RECEIVE_ORIGIN, "*")
    out, _ = doctor()
    assert "must list 'https://www.example.com'" in line(out, "Iframe integration")


def test_min_calls_per_minute(rocketchat: FakeRocketChat) -> None:
    healthy(rocketchat)
    rocketchat.set_setting(remote.RATE_LIMIT_CALLS, 100)
    assert doctor()[1] is None
    out, _ = doctor("--min-calls-per-minute", "200")
    assert line(out, "Rate limiter").startswith("FAIL")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT": 0}, "off"),
        (
            {"CACHES": {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}},
            "does not keep values",
        ),
        ({"ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT": 50 * 86400}, "expires them after 90 day(s)"),
    ],
)
def test_token_reuse_problems(
    rocketchat: FakeRocketChat, overrides: dict[str, Any], expected: str
) -> None:
    healthy(rocketchat)
    with override_settings(**overrides):
        out, error = doctor()
    assert line(out, "Token reuse").startswith("FAIL")
    assert expected in line(out, "Token reuse")
    assert str(error) == "1 check(s) failed."


def test_a_refused_settings_read_fails_its_check_with_a_hint(rocketchat: FakeRocketChat) -> None:
    healthy(rocketchat)
    refused = FakeResponse(403, {"success": False, "error": "unauthorized"})
    rocketchat.inject(refused, f"/api/v1/settings/{remote.IFRAME_ENABLED}")
    out, _ = doctor()
    assert line(out, "Iframe login").startswith("FAIL  Iframe login points at this site: ")
    assert "lacks a permission" in hint_after(out, "Iframe login")


def test_admin_without_permission_to_edit_users(rocketchat: FakeRocketChat) -> None:
    healthy(rocketchat)
    refused = FakeResponse(
        400,
        {
            "success": False,
            "error": "Editing user is not allowed [error-action-not-allowed]",
            "errorType": "error-action-not-allowed",
        },
    )
    rocketchat.inject(refused, "/api/v1/users.update")
    out, _ = doctor()
    assert line(out, "2FA").startswith("FAIL")
    assert "lacks a permission" in hint_after(out, "2FA")


def test_an_api_method_rocketchat_cannot_use(rocketchat: FakeRocketChat) -> None:
    healthy(rocketchat)
    rocketchat.set_setting(remote.IFRAME_API_METHOD, "PUT")
    out, _ = doctor()
    assert "Accounts_Iframe_api_method is 'PUT', expected 'POST'" in line(out, "Iframe login")


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        (
            remote.RATE_LIMITER,
            False,
            "OK    Rate limiter leaves room for logins: API_Enable_Rate_Limiter is off",
        ),
        (
            remote.RATE_LIMIT_CALLS,
            0,
            "OK    Rate limiter leaves room for logins: no default limit set",
        ),
    ],
)
def test_rate_limiter_off(
    rocketchat: FakeRocketChat, setting: str, value: object, expected: str
) -> None:
    healthy(rocketchat)
    rocketchat.set_setting(setting, value)
    assert line(doctor()[0], "Rate limiter") == expected


def test_a_non_positive_login_expiration_means_90_days(rocketchat: FakeRocketChat) -> None:
    healthy(rocketchat)
    rocketchat.set_setting(remote.LOGIN_EXPIRATION_DAYS, 0)
    assert "expires them after 90 day(s)" in line(doctor()[0], "Token reuse")


def test_token_records_shorter_than_rocketchats_expiry_fail(rocketchat: FakeRocketChat) -> None:
    # A phone's token would outlive the record a password change revokes it with.
    healthy(rocketchat)
    rocketchat.set_setting(remote.LOGIN_EXPIRATION_DAYS, 180)
    out, error = doctor()
    assert line(out, "Token records") == (
        "FAIL  Token records outlast Rocket.Chat's: kept 90 day(s); Rocket.Chat expires tokens "
        "after 180 day(s)"
    )
    assert "ROCKETCHAT_SSO_LOGIN_EXPIRATION_DAYS = 180" in hint_after(out, "Token records")
    assert str(error) == "1 check(s) failed."
    with override_settings(ROCKETCHAT_SSO_LOGIN_EXPIRATION_DAYS=180):
        assert line(doctor()[0], "Token records").startswith("OK")


TWO_FACTOR_TITLE = "Password logins need no e-mailed code"


@pytest.mark.parametrize(
    ("version", "fix"),
    [
        ("7.10", "CREATE_TOKENS_FOR_USERS=true"),
        ("8.0", "CREATE_TOKENS_FOR_USERS_SECRET"),
        ("8.8", "CREATE_TOKENS_FOR_USERS_SECRET"),
    ],
)
@override_settings(ROCKETCHAT_SSO_EMAIL_VERIFIED=True)
def test_email_two_factor_fails_the_password_method_with_vouched_addresses(
    stand_in: Callable[..., FakeRocketChat], version: str, fix: str
) -> None:
    """At Rocket.Chat's defaults every user the site creates is opted in, and the site sends
    their address as verified: each password login would be refused totp-required."""
    fake = healthy(stand_in(version=version))
    out, error = doctor()
    assert error is not None
    assert line(out, TWO_FACTOR_TITLE).startswith("FAIL")
    assert "totp-required" in line(out, TWO_FACTOR_TITLE)
    hint = hint_after(out, TWO_FACTOR_TITLE)
    assert "ROCKETCHAT_SSO_LOGIN_METHOD = 'create_token'" in hint and fix in hint
    assert "Accounts_TwoFactorAuthentication_By_Email_Enabled" in hint
    assert fake.calls_to("/api/v1/login") == []  # read as the admin, nobody logged in
    fake.set_setting("Accounts_TwoFactorAuthentication_By_Email_Enabled", False)
    out, _ = doctor()
    assert line(out, TWO_FACTOR_TITLE).startswith("OK")
    assert "off" in line(out, TWO_FACTOR_TITLE)


def test_email_two_factor_is_no_failure_without_vouching_or_with_create_token(
    rocketchat: FakeRocketChat,
) -> None:
    healthy(rocketchat)
    out, _ = doctor()
    assert line(out, TWO_FACTOR_TITLE).startswith("OK")
    assert "verified in Rocket.Chat" in line(out, TWO_FACTOR_TITLE)
    with override_settings(
        ROCKETCHAT_SSO_EMAIL_VERIFIED=True, ROCKETCHAT_SSO_LOGIN_METHOD="create_token"
    ):
        out, _ = doctor()
    assert line(out, TWO_FACTOR_TITLE).startswith("OK")
    assert "never asks" in line(out, TWO_FACTOR_TITLE)


def test_every_line_is_short_and_details_go_on_indented(
    stand_in: Callable[..., FakeRocketChat],
) -> None:
    stand_in(version="8.8")  # the password method, create_token refused: the longest finding
    out, _ = doctor()
    assert max(len(text) for text in out.splitlines()) <= 100, out
    lines = out.splitlines()
    first = next(i for i, text in enumerate(lines) if text.startswith("OK    Login method: "))
    assert lines[first + 1].startswith(" " * 8) and lines[first + 1].strip()  # goes on, indented
    assert "to use it: Rocket.Chat 8.8" in line(out, "Login method")


def test_admin_and_reachable_say_what_they_checked(rocketchat: FakeRocketChat) -> None:
    out, _ = doctor()
    assert line(out, "Admin credentials") == (
        f"OK    Admin credentials: the token of ROCKETCHAT_SSO_ADMIN_USER_ID = {ADMIN_ID} is "
        "accepted (/api/v1/me): user 'admin', with the admin role"
    )
    assert line(out, "Rocket.Chat reachable").startswith(
        "OK    Rocket.Chat reachable: ROCKETCHAT_SSO_URL = https://chat.example.com, "
    )


def test_unreachable_names_the_setting_that_says_where(rocketchat: FakeRocketChat) -> None:
    rocketchat.inject(Fault.CONNECTION_REFUSED, times=10)
    out, _ = doctor()
    assert "ROCKETCHAT_SSO_URL = https://chat.example.com" in line(out, "Rocket.Chat reachable")


@pytest.mark.parametrize(
    ("version", "options", "secret"),
    [
        ("7.10", {"create_tokens_for_users": True}, ""),
        ("8.8", {"create_tokens_secret": "k"}, "k"),
    ],
)
def test_create_token_passes_at_rocketchats_default_rate_limit(
    stand_in: Callable[..., FakeRocketChat],
    settings: Any,
    version: str,
    options: dict[str, Any],
    secret: str,
) -> None:
    """Sign-ins are the admin's calls, which the limiter lets through: 10 a minute on the
    users' own routes leaves sign-in whole; the doctor says what the limit does cover."""
    settings.ROCKETCHAT_SSO_LOGIN_METHOD = "create_token"
    settings.ROCKETCHAT_SSO_CREATE_TOKEN_SECRET = secret
    stand_in(version=version, **options)
    out, _ = doctor()
    assert line(out, "Rate limiter") == (
        "OK    Rate limiter leaves room for logins: sign-ins are the admin's users.createToken "
        "calls, not rate-limited token rechecks (/api/v1/me): 10 calls per 60000 ms: 10 per "
        "minute, for all users of this site together"
    )


def test_the_sites_call_count_must_not_allow_more_than_rocketchats_bucket(
    rocketchat: FakeRocketChat,
) -> None:
    """The site counts the users' calls (call_shares.take_call) to keep one user from spending
    everyone's: a count above Rocket.Chat's limit lets through what Rocket.Chat refuses."""
    healthy(rocketchat)
    with override_settings(ROCKETCHAT_SSO_RATE_LIMIT_CALLS=10, ROCKETCHAT_SSO_RATE_LIMIT_WINDOW=60):
        assert line(doctor()[0], "Rate limiter").startswith("OK")  # Rocket.Chat's defaults
        rocketchat.set_setting(remote.RATE_LIMIT_CALLS, 5)
        out, error = doctor()
    assert line(out, "Rate limiter") == (
        "FAIL  Rate limiter leaves room for logins: this site counts 10 calls per 60 s; "
        "Rocket.Chat allows 5 per 60000 ms"
    )
    assert "ROCKETCHAT_SSO_RATE_LIMIT_CALLS = 5 and ROCKETCHAT_SSO_RATE_LIMIT_WINDOW = 60" in (
        hint_after(out, "Rate limiter")
    )
    assert str(error) == "1 check(s) failed."
    with override_settings(ROCKETCHAT_SSO_RATE_LIMIT_CALLS=5, ROCKETCHAT_SSO_RATE_LIMIT_WINDOW=30):
        assert line(doctor()[0], "Rate limiter").startswith("FAIL")  # 5 per 30 s: twice as many
    with override_settings(ROCKETCHAT_SSO_RATE_LIMIT_CALLS=5, ROCKETCHAT_SSO_RATE_LIMIT_WINDOW=60):
        finding = line(doctor()[0], "Rate limiter")
    # The count agrees; what is left is the password method's 5 sign-ins a minute.
    assert "this site counts" not in finding and "5 per minute on /api/v1/login" in finding
