from __future__ import annotations

import pytest
from django.test import override_settings

from rocketchat_sso.conf import conf, origin_of


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://chat.example.com/", "https://chat.example.com"),
        ("https://Chat.Example.com:443/path?q=1", "https://chat.example.com"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
        ("http://localhost:80", "http://localhost"),
        ("https://[::1]:8443/x", "https://[::1]:8443"),
    ],
)
def test_origin_of(url: str, origin: str) -> None:
    assert origin_of(url) == origin


def test_public_url_defaults_to_the_api_url() -> None:
    with override_settings(ROCKETCHAT_SSO_URL="http://rc:3000/"):
        assert conf.ROCKETCHAT_SSO_PUBLIC_URL == "http://rc:3000"
        assert conf.public_origin == "http://rc:3000"
    with override_settings(ROCKETCHAT_SSO_PUBLIC_URL="https://chat.example.org/"):
        assert conf.public_origin == "https://chat.example.org"


def test_defaults() -> None:
    assert conf.ROCKETCHAT_SSO_LOGIN_METHOD == "password"
    assert conf.ROCKETCHAT_SSO_TIMEOUT == 5
    assert conf.ROCKETCHAT_SSO_CREATE_TOKEN_SECRET == ""
    assert conf.ROCKETCHAT_SSO_PASSWORD_KEY == "tests-not-secret"
    assert conf.ROCKETCHAT_SSO_JOIN_DEFAULT_CHANNELS is True
