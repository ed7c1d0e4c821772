"""``rocketchat_sso_configure --enable/--disable``: switch iframe login on only when it will work,
record what it changes, and put it back exactly."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from io import StringIO
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings

from rocketchat_sso.management.commands.rocketchat_sso_configure import Command
from rocketchat_sso.models import SettingsSnapshot
from rocketchat_sso.operations.doctor import SiteResponse
from rocketchat_sso.rocketchat import remote_settings as remote
from rocketchat_sso.testing import FakeRocketChat, Fault
from tests.commands.findings import finding_lines, unwrapped
from tests.commands.findings import line as finding

pytestmark = pytest.mark.django_db

SITE = "https://www.example.com"
CHECK_TITLES = [
    "This site's URL",
    "Rocket.Chat reachable",
    "Admin credentials",
    "Admin token needs no 2FA code",
    "Login method",
    "Password logins need no e-mailed code",
    "Token endpoint answers Rocket.Chat's preflight",
    "Rocket.Chat may frame the loading page",
    "Session cookie reaches Rocket.Chat's calls",
]


def via_test_client(method: str, url: str, headers: Mapping[str, str]) -> SiteResponse:
    """This site answering at its public URL, through Django's test client."""
    parts = urlsplit(url)
    response = Client().generic(
        method,
        parts.path,
        secure=parts.scheme == "https",
        headers={**headers, "Host": parts.netloc},
    )
    return SiteResponse(response.status_code, {k.lower(): v for k, v in response.items()})


def with_header(name: str, value: str) -> Callable[[str, str, Mapping[str, str]], SiteResponse]:
    """The site behind a proxy that adds a header to every answer."""

    def fetch(method: str, url: str, headers: Mapping[str, str]) -> SiteResponse:
        answer = via_test_client(method, url, headers)
        return SiteResponse(answer.status, {**answer.headers, name: value})

    return fetch


@pytest.fixture(autouse=True)
def site(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Command, "site_fetch", staticmethod(via_test_client))


def configure(*args: str) -> str:
    out = StringIO()
    call_command("rocketchat_sso_configure", *args, stdout=out, no_color=True)
    return unwrapped(out.getvalue())


def failing(*args: str) -> tuple[str, str]:
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("rocketchat_sso_configure", *args, stdout=out, no_color=True)
    return unwrapped(out.getvalue()), str(error.value)


def status_of(output: str, title: str) -> str:
    (line,) = [text for text in finding_lines(output) if f" {title}" in text]
    return line.split()[0]


def settings_posted(fake: FakeRocketChat) -> list[str]:
    return [c.path for c in fake.calls if c.method == "POST" and "/settings/" in c.path]


def dump(settings: dict[str, Any]) -> str:
    return json.dumps(settings, sort_keys=True)


def test_enable_then_disable_restores_every_setting_byte_for_byte(
    rocketchat: FakeRocketChat,
) -> None:
    rocketchat.set_setting(remote.IFRAME_URL, "https://old.example.com/sso ")
    rocketchat.set_setting(remote.IFRAME_API_METHOD, "GET")
    rocketchat.set_setting(remote.RECEIVE_ORIGIN, "https://intranet.example.com")
    rocketchat.set_setting(remote.SEND_ENABLE, False)
    before = dump(copy.deepcopy(rocketchat.settings))
    out = configure("--enable", "--site-url", SITE)
    assert [status_of(out, title) for title in CHECK_TITLES] == ["OK"] * len(CHECK_TITLES)
    assert "Accounts_iframe_enabled: False -> True" in out
    assert "Accounts_Iframe_api_method: 'GET' -> 'POST'" in out
    snapshot = SettingsSnapshot.objects.get()
    assert (
        f"To restore them:\n    python manage.py rocketchat_sso_configure --disable "
        f"--snapshot {snapshot.pk}\n" in out
    )
    assert rocketchat.settings[remote.IFRAME_ENABLED] is True
    assert rocketchat.settings[remote.IFRAME_URL] == f"{SITE}/rocketchat/login/"
    assert rocketchat.settings[remote.RECEIVE_ORIGIN] == f"https://intranet.example.com,{SITE}"
    # Iframe login goes on last, once its URLs are right.
    assert settings_posted(rocketchat)[-1] == f"/api/v1/settings/{remote.IFRAME_ENABLED}"

    rocketchat.reset_calls()
    out = configure("--disable", "--snapshot", str(snapshot.pk))
    assert dump(rocketchat.settings) == before
    assert (
        settings_posted(rocketchat)[0] == f"/api/v1/settings/{remote.IFRAME_ENABLED}"
    )  # off first
    assert "8 setting(s) changed." in out  # all eight --enable changed, and only those
    assert len(snapshot.values) == 8
    assert "Accounts_iframe_url: 'https://www.example.com/rocketchat/login/' -> " in out
    snapshot.refresh_from_db()
    assert snapshot.restored_at is not None
    with pytest.raises(CommandError, match="No recorded settings to restore"):
        configure("--disable")  # the latest not yet restored: none left


def test_dry_run_checks_and_shows_but_changes_and_records_nothing(
    rocketchat: FakeRocketChat,
) -> None:
    out = configure("--enable", "--dry-run", "--site-url", SITE)
    assert status_of(out, "Token endpoint answers Rocket.Chat's preflight") == "OK"
    assert "Accounts_iframe_enabled: False -> True" in out
    assert "Dry run: 7 setting(s) would change; nothing was changed." in out
    assert settings_posted(rocketchat) == []
    assert SettingsSnapshot.objects.count() == 0


@pytest.mark.rocketchat(version="8.8")
def test_enable_says_create_token_is_not_usable_and_what_to_set(
    rocketchat: FakeRocketChat,
) -> None:
    out = configure("--enable", "--dry-run", "--site-url", SITE)
    line = finding(out, " Login method")
    assert line.startswith("OK    Login method: password")
    assert "create_token is not usable here" in line
    assert "CREATE_TOKENS_FOR_USERS_SECRET" in line and "ROCKETCHAT_SSO_CREATE_TOKEN_SECRET" in line


@pytest.mark.rocketchat(version="7.10", create_tokens_for_users=True)
def test_enable_says_create_token_would_work(rocketchat: FakeRocketChat) -> None:
    out = configure("--enable", "--dry-run", "--site-url", SITE)
    line = finding(out, " Login method")
    assert "create_token would work here" in line
    assert "ROCKETCHAT_SSO_LOGIN_METHOD = 'create_token'" in line
    assert rocketchat.tokens_of("rcadmin0000000001") == ["admin-personal-access-token"]


@pytest.mark.rocketchat(version="8.8")
@override_settings(ROCKETCHAT_SSO_LOGIN_METHOD="create_token")
def test_enable_refuses_while_create_token_is_refused(rocketchat: FakeRocketChat) -> None:
    out, error = failing("--enable", "--site-url", SITE)
    assert status_of(out, "Login method") == "FAIL"
    assert "CREATE_TOKENS_FOR_USERS_SECRET=<a long random secret>" in out
    assert_nothing_changed(rocketchat, error)


@override_settings(ROCKETCHAT_SSO_EMAIL_VERIFIED=True)
def test_enable_refuses_while_email_two_factor_would_refuse_vouched_users(
    rocketchat: FakeRocketChat,
) -> None:
    """Iframe login replaces Rocket.Chat's login form: with the password method and vouched
    addresses, Rocket.Chat's default e-mail two-factor would keep every such user out."""
    out, error = failing("--enable", "--site-url", SITE)
    assert status_of(out, "Password logins need no e-mailed code") == "FAIL"
    assert "ROCKETCHAT_SSO_LOGIN_METHOD = 'create_token'" in out
    assert_nothing_changed(rocketchat, error)


def assert_nothing_changed(rocketchat: FakeRocketChat, error: str) -> None:
    assert "nothing was changed" in error
    assert settings_posted(rocketchat) == []
    assert SettingsSnapshot.objects.count() == 0


def test_rocketchat_unreachable(rocketchat: FakeRocketChat) -> None:
    rocketchat.inject(Fault.CONNECTION_REFUSED, times=10)
    out, error = failing("--enable", "--site-url", SITE)
    assert status_of(out, "Rocket.Chat reachable") == "FAIL"
    assert status_of(out, "Admin credentials") == "SKIP"
    assert_nothing_changed(rocketchat, error)


@override_settings(ROCKETCHAT_SSO_ADMIN_TOKEN="wrong")
def test_admin_credentials_refused(rocketchat: FakeRocketChat) -> None:
    out, error = failing("--enable", "--site-url", SITE)
    assert status_of(out, "Admin credentials") == "FAIL"
    assert "ROCKETCHAT_SSO_ADMIN_TOKEN are refused" in out
    assert_nothing_changed(rocketchat, error)


@override_settings(CORS_ALLOW_CREDENTIALS=False)
def test_preflight_without_credentials(rocketchat: FakeRocketChat) -> None:
    out, error = failing("--enable", "--site-url", SITE)
    assert status_of(out, "Token endpoint answers Rocket.Chat's preflight") == "FAIL"
    assert "Access-Control-Allow-Credentials is None, expected 'true'" in out
    assert "CORS_ALLOW_CREDENTIALS = True" in out
    assert_nothing_changed(rocketchat, error)


@override_settings(ROCKETCHAT_SSO_PUBLIC_URL="https://chat.example.com")
def test_preflight_from_another_origin_than_rocketchats(
    rocketchat: FakeRocketChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy answering every preflight with '*' (credentials are then refused by browsers).
    monkeypatch.setattr(
        Command, "site_fetch", staticmethod(with_header("access-control-allow-origin", "*"))
    )
    out, error = failing("--enable", "--site-url", SITE)
    assert "Access-Control-Allow-Origin is '*', expected 'https://chat.example.com'" in out
    assert_nothing_changed(rocketchat, error)


@pytest.mark.parametrize(
    ("header", "value", "detail"),
    [
        ("x-frame-options", "DENY", "X-Frame-Options: DENY"),
        (
            "content-security-policy",
            "default-src 'self'; frame-ancestors 'self'",
            "frame-ancestors 'self' leaves out https://chat.example.com",
        ),
    ],
)
def test_loading_page_that_rocketchat_may_not_frame(
    rocketchat: FakeRocketChat,
    monkeypatch: pytest.MonkeyPatch,
    header: str,
    value: str,
    detail: str,
) -> None:
    monkeypatch.setattr(Command, "site_fetch", staticmethod(with_header(header, value)))
    out, error = failing("--enable", "--site-url", SITE)
    assert status_of(out, "Rocket.Chat may frame the loading page") == "FAIL"
    assert detail in out
    assert_nothing_changed(rocketchat, error)


def test_session_cookie_that_cannot_cross_sites(rocketchat: FakeRocketChat) -> None:
    out, error = failing("--enable", "--site-url", "https://www.example.org")
    assert status_of(out, "Session cookie reaches Rocket.Chat's calls") == "FAIL"
    assert "SESSION_COOKIE_SAMESITE is 'Lax'" in out
    assert_nothing_changed(rocketchat, error)


@override_settings(SESSION_COOKIE_SAMESITE="None", SESSION_COOKIE_SECURE=True)
def test_session_cookie_across_sites_with_samesite_none(rocketchat: FakeRocketChat) -> None:
    out = configure("--enable", "--dry-run", "--site-url", "https://www.example.org")
    assert status_of(out, "Session cookie reaches Rocket.Chat's calls") == "OK"
    assert "browsers blocking third-party cookies" in out


def test_site_unreachable_from_this_server(
    rocketchat: FakeRocketChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.undo()  # the real network: nothing listens on port 1
    out, error = failing("--enable", "--site-url", "http://127.0.0.1:1")
    assert status_of(out, "Token endpoint answers Rocket.Chat's preflight") == "FAIL"
    assert "must reach the site at its public URL" in out
    assert_nothing_changed(rocketchat, error)


def test_force_changes_anyway_and_says_so(rocketchat: FakeRocketChat) -> None:
    out = configure("--enable", "--force", "--site-url", "https://www.example.org")
    assert "--force: changing Rocket.Chat's settings although 1 check(s) failed." in out
    assert rocketchat.settings[remote.IFRAME_ENABLED] is True
    assert SettingsSnapshot.objects.count() == 1


def test_options_that_go_together(rocketchat: FakeRocketChat) -> None:
    with pytest.raises(CommandError, match="--force goes with --enable"):
        configure("--force", "--site-url", SITE)
    with pytest.raises(CommandError, match="--snapshot goes with --disable"):
        configure("--snapshot", "1", "--enable", "--site-url", SITE)
    with pytest.raises(CommandError, match="No snapshot 42"):
        configure("--disable", "--snapshot", "42")
    assert rocketchat.calls == []


@pytest.mark.django_db(transaction=True)
@override_settings(ROCKETCHAT_SSO_PUBLIC_URL="http://localhost:3000")
def test_checks_the_site_over_http_at_its_public_url(
    rocketchat: FakeRocketChat, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.undo()  # the command's own HTTP client, against a running site
    out = configure("--enable", "--dry-run", "--site-url", live_server.url)
    assert [status_of(out, title) for title in CHECK_TITLES] == ["OK"] * len(CHECK_TITLES)
    assert f"{live_server.url}/rocketchat/token/ allows http://localhost:3000" in out
