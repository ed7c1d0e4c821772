"""``ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS``: the browser's address as ``X-Real-IP`` on the
calls made with a user's token, so Rocket.Chat's rate limiter counts each browser apart.

The stand-in names the client as Rocket.Chat's ``getRequestIP`` does (``X-Real-IP`` if sent,
else the socket), so what it lets through here is what Rocket.Chat would, reached directly.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.test import Client, override_settings

from rocketchat_sso.operations.checks import CLIENT_ADDRESS_MIDDLEWARE
from rocketchat_sso.testing import FakeRocketChat

pytestmark = pytest.mark.django_db

TOKEN_URL = "/rocketchat/token/"
LOGIN_LIMIT = 10  # Rocket.Chat's default: 10 calls a minute per route and client address
FORWARDING = {
    "ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS": "REMOTE_ADDR",
    "MIDDLEWARE": [*settings.MIDDLEWARE, CLIENT_ADDRESS_MIDDLEWARE],
}


def open_chat(user: Any, address: str, **headers: str) -> Any:
    browser = Client(REMOTE_ADDR=address)
    browser.force_login(user)
    return browser.post(TOKEN_URL, headers=headers)


def new_users(django_user_model: Any, count: int) -> list[Any]:
    return [
        django_user_model.objects.create_user(f"far{n:02}", f"far{n:02}@example.com")
        for n in range(count)
    ]


def real_ips(fake: FakeRocketChat, path: str) -> list[str | None]:
    return [call.header("x-real-ip") for call in fake.calls_to(path)]


@override_settings(**FORWARDING)
def test_user_token_calls_carry_the_browsers_address_and_admin_calls_do_not(
    rocketchat: FakeRocketChat, django_user_model: Any
) -> None:
    (user,) = new_users(django_user_model, 1)
    assert open_chat(user, "203.0.113.7").status_code == 200
    assert real_ips(rocketchat, "/api/v1/login") == ["203.0.113.7"]
    assert real_ips(rocketchat, "/api/v1/users.create") == [None]


def test_off_by_default(rocketchat: FakeRocketChat, django_user_model: Any) -> None:
    (user,) = new_users(django_user_model, 1)
    assert open_chat(user, "203.0.113.7").status_code == 200
    assert real_ips(rocketchat, "/api/v1/login") == [None]


@override_settings(**{**FORWARDING, "ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS": "HTTP_X_REAL_IP"})
def test_only_one_address_is_forwarded(rocketchat: FakeRocketChat, django_user_model: Any) -> None:
    first, second = new_users(django_user_model, 2)
    assert open_chat(first, "10.0.0.2", **{"X-Real-IP": "198.51.100.4"}).status_code == 200
    assert open_chat(second, "10.0.0.2", **{"X-Real-IP": "1.2.3.4, 5.6.7.8"}).status_code == 200
    assert real_ips(rocketchat, "/api/v1/login") == ["198.51.100.4", None]


@override_settings(**FORWARDING)
def test_each_browser_has_its_own_share_of_the_login_limit(
    rocketchat: FakeRocketChat, django_user_model: Any
) -> None:
    users = new_users(django_user_model, LOGIN_LIMIT + 2)
    answers = [open_chat(user, f"198.51.100.{n + 1}") for n, user in enumerate(users)]
    assert [a.status_code for a in answers] == [200] * len(users)


@override_settings(**{**FORWARDING, "ROCKETCHAT_SSO_RATE_LIMIT_WAIT": 0})
def test_one_address_still_has_one_share(
    rocketchat: FakeRocketChat, django_user_model: Any
) -> None:
    users = new_users(django_user_model, LOGIN_LIMIT + 1)
    answers = [open_chat(user, "198.51.100.1") for user in users]
    assert [a.status_code for a in answers] == [200] * LOGIN_LIMIT + [503]
    assert answers[-1].json()["error"] == "rocketchat_rate_limited"
    assert answers[-1]["Retry-After"]


@override_settings(ROCKETCHAT_SSO_RATE_LIMIT_WAIT=0)
def test_without_it_the_whole_site_has_one_share(
    rocketchat: FakeRocketChat, django_user_model: Any
) -> None:
    users = new_users(django_user_model, LOGIN_LIMIT + 1)
    answers = [open_chat(user, f"198.51.100.{n + 1}") for n, user in enumerate(users)]
    assert [a.status_code for a in answers] == [200] * LOGIN_LIMIT + [503]


def ids(**overrides: Any) -> set[str]:
    with override_settings(**overrides):
        return {message.id or "" for message in run_checks() if "rocketchat_sso" in str(message.id)}


@pytest.mark.django_db  # Django 6.1's model checks may query the database (JSONField)
def test_checks() -> None:
    assert not {"rocketchat_sso.E060", "rocketchat_sso.W060", "rocketchat_sso.W061"} & ids()
    assert "rocketchat_sso.E060" in ids(ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS=True)
    assert "rocketchat_sso.W060" in ids(ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS="REMOTE_ADDR")
    forwarding = ids(**FORWARDING)
    assert not {"rocketchat_sso.W060", "rocketchat_sso.W061"} & forwarding
    header = ids(**{**FORWARDING, "ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS": "HTTP_X_REAL_IP"})
    assert "rocketchat_sso.W061" in header
