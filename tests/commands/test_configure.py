from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from rocketchat_sso.rocketchat import remote_settings as remote
from rocketchat_sso.testing import FakeRocketChat, mock_rocketchat

SITE = "https://www.example.com"
WANTED = {
    remote.IFRAME_URL: f"{SITE}/rocketchat/login/",
    remote.IFRAME_API_URL: f"{SITE}/rocketchat/token/",
    remote.IFRAME_API_METHOD: "POST",
    remote.SEND_ENABLE: True,
    remote.SEND_TARGET_ORIGIN: SITE,
    remote.RECEIVE_ENABLE: True,
    remote.RECEIVE_ORIGIN: SITE,
}


def configure(*args: str) -> str:
    out = StringIO()
    call_command("rocketchat_sso_configure", *args, stdout=out, no_color=True)
    return out.getvalue()


def settings_posted(fake: FakeRocketChat) -> list[str]:
    return [c.path for c in fake.calls if c.method == "POST"]


def test_dry_run_shows_the_changes_and_changes_nothing(rocketchat: FakeRocketChat) -> None:
    out = configure("--site-url", SITE, "--dry-run")
    assert f"Accounts_iframe_url: '' -> '{SITE}/rocketchat/login/'" in out
    assert f"Iframe_Integration_receive_origin: '*' -> '{SITE}'" in out
    assert "Accounts_Iframe_api_method" not in out  # already POST
    assert "Dry run: 6 setting(s) would change; nothing was changed." in out
    assert settings_posted(rocketchat) == []
    assert rocketchat.settings[remote.IFRAME_URL] == ""


@override_settings(ROCKETCHAT_SSO_SITE_URL=SITE + "/")
def test_sets_the_iframe_settings_to_this_site(rocketchat: FakeRocketChat) -> None:
    out = configure()
    assert "6 setting(s) changed." in out
    assert {key: rocketchat.settings[key] for key in WANTED} == WANTED
    assert rocketchat.settings[remote.IFRAME_ENABLED] is False  # left to the operator
    assert "Accounts_iframe_enabled is off" in out
    rocketchat.reset_calls()
    assert "0 setting(s) changed." in configure()
    assert settings_posted(rocketchat) == []


def test_other_sites_allowed_to_send_commands_are_kept(rocketchat: FakeRocketChat) -> None:
    rocketchat.set_setting(remote.RECEIVE_ORIGIN, "https://intranet.example.com")
    configure("--site-url", SITE)
    assert rocketchat.settings[remote.RECEIVE_ORIGIN] == f"https://intranet.example.com,{SITE}"
    configure("--site-url", SITE)
    assert rocketchat.settings[remote.RECEIVE_ORIGIN] == f"https://intranet.example.com,{SITE}"


def test_the_site_url_is_required(rocketchat: FakeRocketChat) -> None:
    with pytest.raises(CommandError, match="ROCKETCHAT_SSO_SITE_URL"):
        configure()
    assert rocketchat.calls == []


def test_admin_token_asking_for_2fa_is_explained() -> None:
    with (
        mock_rocketchat("https://chat.example.com", admin_bypass_two_factor=False),
        pytest.raises(CommandError, match="Ignore Two Factor Authentication"),
    ):
        configure("--site-url", SITE)


def test_refused_credentials_are_a_command_error() -> None:
    with (
        override_settings(ROCKETCHAT_SSO_ADMIN_TOKEN="wrong"),
        mock_rocketchat("https://chat.example.com"),
        pytest.raises(CommandError, match="refused the credentials"),
    ):
        configure("--site-url", SITE)


def test_verbose_lists_unchanged_settings_too(rocketchat: FakeRocketChat) -> None:
    rocketchat.set_setting(remote.IFRAME_ENABLED, True)
    out = configure("--site-url", SITE, "-v", "2")
    assert "Accounts_Iframe_api_method: 'POST' (unchanged)" in out
    assert "Accounts_iframe_enabled is off" not in out
