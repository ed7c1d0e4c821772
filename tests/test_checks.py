from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from rocketchat_sso.operations.checks import (
    check_browser,
    check_cache,
    check_cors,
    check_lifecycle,
    check_settings,
    check_site_url,
    check_urls,
)

MIDDLEWARE_OK = [
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]


def ids(messages: list[object]) -> list[str]:
    return [m.id for m in messages]  # type: ignore[attr-defined]


@override_settings(ALLOWED_HOSTS=["www.example.com"])  # Django's test setup adds 'testserver'
def test_valid_settings_pass() -> None:
    assert check_settings() == []
    assert check_cors() == []
    assert check_browser() == []
    assert check_urls() == []
    assert check_lifecycle() == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"ROCKETCHAT_SSO_URL": ""}, ["rocketchat_sso.E001"]),
        ({"ROCKETCHAT_SSO_URL": "chat.example.com"}, ["rocketchat_sso.E002"]),
        ({"ROCKETCHAT_SSO_URL": "ftp://chat.example.com"}, ["rocketchat_sso.E002"]),
        ({"ROCKETCHAT_SSO_URL": "https://chat.example.com:99999"}, ["rocketchat_sso.E002"]),
        ({"ROCKETCHAT_SSO_PUBLIC_URL": "chat"}, ["rocketchat_sso.E003"]),
        ({"ROCKETCHAT_SSO_ADMIN_TOKEN": ""}, ["rocketchat_sso.E004"]),
        ({"ROCKETCHAT_SSO_ADMIN_USER_ID": ""}, ["rocketchat_sso.E004"]),
        ({"ROCKETCHAT_SSO_LOGIN_METHOD": "magic"}, ["rocketchat_sso.E005"]),
        ({"ROCKETCHAT_SSO_USER_MAPPER": "nowhere.mapper"}, ["rocketchat_sso.E008"]),
        ({"ROCKETCHAT_SSO_TIMEOUT": 0}, ["rocketchat_sso.E009"]),
        ({"ROCKETCHAT_SSO_TIMEOUT": "soon"}, ["rocketchat_sso.E009"]),
    ],
)
def test_bad_settings_are_reported(overrides: dict[str, object], expected: list[str]) -> None:
    with override_settings(**overrides):
        messages = check_settings()
    assert ids(messages) == expected
    assert all(m.hint for m in messages)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"INSTALLED_APPS": ["django.contrib.contenttypes", "rocketchat_sso"]},
            ["rocketchat_sso.E006"],
        ),
        ({"MIDDLEWARE": MIDDLEWARE_OK[1:]}, ["rocketchat_sso.E007"]),
        (
            {"MIDDLEWARE": [*MIDDLEWARE_OK[1:3], MIDDLEWARE_OK[0], *MIDDLEWARE_OK[3:]]},
            ["rocketchat_sso.W001"],
        ),
        ({"CORS_ALLOW_CREDENTIALS": False}, ["rocketchat_sso.E010"]),
    ],
)
def test_cors_mistakes_are_reported(overrides: dict[str, object], expected: list[str]) -> None:
    with override_settings(**overrides):
        messages = check_cors()
    assert ids(messages) == expected
    assert all(m.hint for m in messages)


LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
DUMMY = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"ROCKETCHAT_SSO_CACHE": "tokens"}, ["rocketchat_sso.E030"]),
        ({"CACHES": {"default": DUMMY}}, ["rocketchat_sso.W030"]),
        (
            {"CACHES": {"default": LOCMEM, "tokens": DUMMY}, "ROCKETCHAT_SSO_CACHE": "tokens"},
            ["rocketchat_sso.W030"],
        ),
        ({"ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT": -1}, ["rocketchat_sso.E031"]),
        ({"ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT": "a day"}, ["rocketchat_sso.E031"]),
        ({"ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT": 90 * 86400}, ["rocketchat_sso.W031"]),
        ({"ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT": 0}, []),
        ({"ROCKETCHAT_SSO_ON_USER_DELETE": "purge"}, ["rocketchat_sso.E032"]),
        ({"ROCKETCHAT_SSO_ON_USER_DELETE": "delete"}, []),
        ({"ROCKETCHAT_SSO_SITE_URL": "www.example.com"}, ["rocketchat_sso.E033"]),
        ({"ROCKETCHAT_SSO_SITE_URL": "https://www.example.com"}, []),
    ],
)
def test_lifecycle_mistakes_are_reported(overrides: dict[str, object], expected: list[str]) -> None:
    with override_settings(**overrides):
        messages = check_lifecycle()
    assert ids(messages) == expected
    assert all(m.hint for m in messages)


def cache(backend: str) -> dict[str, dict[str, str]]:
    return {"default": {"BACKEND": f"django.core.cache.backends.{backend}"}}


@pytest.mark.parametrize(
    ("caches", "debug", "expected"),
    [
        (cache("locmem.LocMemCache"), False, ["rocketchat_sso.W040"]),
        (cache("locmem.LocMemCache"), True, []),  # development
        (cache("dummy.DummyCache"), False, []),  # W030's
        (cache("redis.RedisCache"), False, []),
        (cache("memcached.PyMemcacheCache"), False, []),
        (cache("db.DatabaseCache"), False, []),
    ],
)
def test_a_cache_of_one_process_is_reported_outside_development(
    caches: dict[str, object], debug: bool, expected: list[str]
) -> None:
    with override_settings(CACHES=caches, DEBUG=debug):
        messages = check_cache()
    assert ids(messages) == expected
    assert all("Redis" in m.hint for m in messages)  # type: ignore[attr-defined]


def test_the_token_cache_alias_is_the_one_checked() -> None:
    caches = {**cache("redis.RedisCache"), "tokens": LOCMEM}
    with override_settings(CACHES=caches, DEBUG=False, ROCKETCHAT_SSO_CACHE="tokens"):
        assert ids(check_cache()) == ["rocketchat_sso.W040"]
    with override_settings(CACHES=caches, DEBUG=False, ROCKETCHAT_SSO_CACHE="missing"):
        assert check_cache() == []  # E030's


@pytest.mark.django_db  # Django 6.1's check command may query the database
def test_checks_are_registered() -> None:
    call_command("check", stdout=StringIO())
    with override_settings(ROCKETCHAT_SSO_URL=""), pytest.raises(SystemCheckError) as info:
        call_command("check", stdout=StringIO(), stderr=StringIO())
    assert "rocketchat_sso.E001" in str(info.value)
    with override_settings(ROCKETCHAT_SSO_CACHE="nope"), pytest.raises(SystemCheckError) as info:
        call_command("check", stdout=StringIO(), stderr=StringIO())
    assert "rocketchat_sso.E030" in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # Browsers drop SameSite=None cookies that are not Secure.
        ({"SESSION_COOKIE_SAMESITE": "None"}, ["rocketchat_sso.E020"]),
        ({"SESSION_COOKIE_SAMESITE": "None", "SESSION_COOKIE_SECURE": True}, []),
        # Python's None sends no SameSite attribute (browsers treat it as Lax), as the doctor
        # says: not SameSite=None, so neither E020 nor the cross-site pass of W020.
        ({"SESSION_COOKIE_SAMESITE": None}, []),
        (
            {"SESSION_COOKIE_SAMESITE": None, "ALLOWED_HOSTS": ["www.example.org"]},
            ["rocketchat_sso.W020"],
        ),
        # Every host of the site is surely another site than Rocket.Chat's: Lax cannot work.
        ({"ALLOWED_HOSTS": ["www.example.org"]}, ["rocketchat_sso.W020"]),
        ({"ALLOWED_HOSTS": ["www.example.org", ".example.net"]}, ["rocketchat_sso.W020"]),
        (
            {
                "ALLOWED_HOSTS": ["localhost"],
                "ROCKETCHAT_SSO_PUBLIC_URL": "http://127.0.0.1:3000",
                "DEBUG": True,
            },
            ["rocketchat_sso.W020"],
        ),
        (
            {
                "ALLOWED_HOSTS": ["www.example.org"],
                "SESSION_COOKIE_SAMESITE": "None",
                "SESSION_COOKIE_SECURE": True,
            },
            [],
        ),
        # Same registrable domain, an undecidable host list, or one host on Rocket.Chat's site.
        ({"ALLOWED_HOSTS": ["www.example.com"]}, []),
        ({"ALLOWED_HOSTS": [".example.com"]}, []),
        ({"ALLOWED_HOSTS": ["*"]}, []),
        ({"ALLOWED_HOSTS": []}, []),
        ({"ALLOWED_HOSTS": ["localhost", "chat.example.com"]}, []),
        (
            {
                "ALLOWED_HOSTS": ["[::1]"],
                "ROCKETCHAT_SSO_PUBLIC_URL": "http://[::1]:3000",
                "DEBUG": True,
            },
            [],
        ),
        # HTTPS in production.
        ({"ROCKETCHAT_SSO_PUBLIC_URL": "http://chat.example.com"}, ["rocketchat_sso.W021"]),
        ({"ROCKETCHAT_SSO_PUBLIC_URL": "http://chat.example.com", "DEBUG": True}, []),
        ({"ROCKETCHAT_SSO_PUBLIC_URL": "http://chat.example.com:99999"}, []),  # that is E003
    ],
)
def test_browser_requirements_are_reported(
    overrides: dict[str, object], expected: list[str]
) -> None:
    with override_settings(**{"ALLOWED_HOSTS": ["www.example.com"], **overrides}):
        messages = check_browser()
    assert ids(messages) == expected
    assert all(m.hint for m in messages)


def test_missing_urls_are_reported() -> None:
    with override_settings(ROOT_URLCONF="tests.test_checks"):
        assert ids(check_urls()) == ["rocketchat_sso.E021"]


urlpatterns: list[object] = []  # an URLconf without the app's URLs, for the test above


@pytest.mark.django_db  # Django 6.1's check command may query the database
def test_browser_checks_are_registered() -> None:
    with (
        override_settings(SESSION_COOKIE_SAMESITE="None", ROOT_URLCONF="tests.test_checks"),
        pytest.raises(SystemCheckError) as info,
    ):
        call_command("check", stdout=StringIO(), stderr=StringIO())
    assert "rocketchat_sso.E020" in str(info.value)
    assert "rocketchat_sso.E021" in str(info.value)


@pytest.mark.django_db  # Django 6.1's check command may query the database
def test_cache_check_is_registered() -> None:
    out = StringIO()
    with override_settings(CACHES=cache("locmem.LocMemCache"), DEBUG=False):
        call_command("check", stdout=out, stderr=out)
    assert "rocketchat_sso.W040" in out.getvalue()


def vouch_everyone(user: object) -> bool:
    return True


NOT_CALLABLE = 42


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (False, []),
        (True, []),
        ("tests.test_checks.vouch_everyone", []),
        ("tests.test_checks.missing", ["rocketchat_sso.E011"]),
        ("tests.test_checks.NOT_CALLABLE", ["rocketchat_sso.E011"]),
        (1, ["rocketchat_sso.E011"]),
        (None, ["rocketchat_sso.E011"]),
    ],
)
def test_email_verified_setting(value: object, expected: list[str]) -> None:
    from rocketchat_sso.operations.checks import check_linking

    with override_settings(ROCKETCHAT_SSO_EMAIL_VERIFIED=value):
        found = check_linking()
    assert ids(found) == expected
    assert all(message.hint for message in found)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["user"], []),
        (["user", "guest"], []),
        ("user", ["rocketchat_sso.E012"]),
        ([1], ["rocketchat_sso.E012"]),
        (["user", "admin"], ["rocketchat_sso.W012"]),
        (["livechat-agent"], ["rocketchat_sso.W012"]),
    ],
)
def test_linkable_roles_setting(value: object, expected: list[str]) -> None:
    from rocketchat_sso.operations.checks import check_linking

    with override_settings(ROCKETCHAT_SSO_LINKABLE_ROLES=value):
        assert ids(check_linking()) == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"ROCKETCHAT_SSO_RECHECK_MIN_INTERVAL": -1}, "rocketchat_sso.E050"),
        ({"ROCKETCHAT_SSO_RECHECK_MIN_INTERVAL": "soon"}, "rocketchat_sso.E050"),
        ({"ROCKETCHAT_SSO_RECHECK_MIN_INTERVAL": 5}, "rocketchat_sso.W050"),
        ({"ROCKETCHAT_SSO_USER_MINT_LIMIT": -1}, "rocketchat_sso.E051"),
        ({"ROCKETCHAT_SSO_USER_MINT_WINDOW": 0}, "rocketchat_sso.E051"),
        ({"ROCKETCHAT_SSO_USER_MINT_LIMIT": 0}, "rocketchat_sso.W051"),
        ({"ROCKETCHAT_SSO_USER_CALL_SHARE": -1}, "rocketchat_sso.E130"),
        ({"ROCKETCHAT_SSO_RATE_LIMIT_CALLS": "ten"}, "rocketchat_sso.E130"),
        (
            {"ROCKETCHAT_SSO_RATE_LIMIT_CALLS": 10, "ROCKETCHAT_SSO_USER_CALL_SHARE": 0},
            "rocketchat_sso.W130",
        ),
        ({"ROCKETCHAT_SSO_LOGIN_EXPIRATION_DAYS": 0}, "rocketchat_sso.E052"),
        ({"ROCKETCHAT_SSO_TOKEN_KEY_FALLBACKS": "old-key"}, "rocketchat_sso.E053"),
    ],
)
def test_revocation_and_budget_settings(overrides: dict[str, Any], expected: str) -> None:
    from rocketchat_sso.operations.checks import check_revocation

    defaults = {"ROCKETCHAT_SSO_RECHECK_MIN_INTERVAL": 15, "ROCKETCHAT_SSO_USER_MINT_LIMIT": 3}
    with override_settings(**{**defaults, **overrides}):
        found = check_revocation()
    assert [message.id for message in found] == [expected]
    assert all(message.hint for message in found)


def test_revocation_defaults_pass() -> None:
    from rocketchat_sso.operations.checks import check_revocation

    with override_settings(
        ROCKETCHAT_SSO_RECHECK_MIN_INTERVAL=15, ROCKETCHAT_SSO_USER_MINT_LIMIT=3
    ):
        assert check_revocation() == []


@pytest.mark.parametrize(
    ("login_url", "expected"),
    [
        ("/accounts/login/", []),
        ("login", []),  # a URL name
        ("https://sso.example.com/login", []),  # another host: nothing to resolve here
        ("/nowhere/", ["rocketchat_sso.W022"]),
        ("no-such-url-name", ["rocketchat_sso.W022"]),
    ],
)
def test_a_login_url_that_does_not_resolve_is_reported(login_url: str, expected: list[str]) -> None:
    with override_settings(LOGIN_URL=login_url):
        messages = check_urls()
    assert ids(messages) == expected
    if messages:
        assert "LOGIN_URL" in (messages[0].hint or "")
    if login_url == "/nowhere/":
        assert "'Log in' link" in messages[0].msg
    if login_url == "no-such-url-name":
        assert "cannot render" in messages[0].msg


def test_a_login_url_under_force_script_name_resolves() -> None:
    with override_settings(LOGIN_URL="/site/accounts/login/", FORCE_SCRIPT_NAME="/site"):
        assert check_urls() == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"ROCKETCHAT_SSO_SITE_URL": "", "DEBUG": False}, ["rocketchat_sso.W034"]),
        (
            {"ROCKETCHAT_SSO_SITE_URL": "", "DEBUG": True},
            [],
        ),  # development: the doctor's --site-url
        ({"ROCKETCHAT_SSO_SITE_URL": "https://www.example.com", "DEBUG": False}, []),
    ],
)
def test_a_missing_site_url_is_reported_outside_development(
    overrides: dict[str, object], expected: list[str]
) -> None:
    with override_settings(**overrides):
        messages = check_site_url()
    assert ids(messages) == expected
    if messages:
        assert "ROCKETCHAT_SSO_SITE_URL" in (messages[0].hint or "")


@pytest.mark.django_db
def test_new_checks_are_registered() -> None:
    out = StringIO()
    with override_settings(LOGIN_URL="/nowhere/", ROCKETCHAT_SSO_SITE_URL=""):
        call_command("check", stdout=out, stderr=out)
    assert "rocketchat_sso.W022" in out.getvalue()
    assert "rocketchat_sso.W034" in out.getvalue()


@pytest.mark.django_db  # Django 6.1's check command may query the database
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, []),  # nothing vouched: Rocket.Chat holds no verified address from this site
        ({"ROCKETCHAT_SSO_EMAIL_VERIFIED": True}, ["rocketchat_sso.W140"]),
        (
            {"ROCKETCHAT_SSO_EMAIL_VERIFIED": "tests.test_checks.vouch_everyone"},
            ["rocketchat_sso.W140"],
        ),
        (
            {"ROCKETCHAT_SSO_EMAIL_VERIFIED": True, "ROCKETCHAT_SSO_LOGIN_METHOD": "create_token"},
            [],
        ),
        ({"ROCKETCHAT_SSO_EMAIL_VERIFIED": 1}, []),  # E011's business
    ],
)
def test_password_method_with_vouched_addresses_warns_of_email_two_factor(
    overrides: dict[str, object], expected: list[str]
) -> None:
    from rocketchat_sso.operations.checks import check_two_factor

    with override_settings(**overrides):
        found = check_two_factor()
        assert ids(found) == expected
        assert all("create_token" in message.hint for message in found)  # type: ignore[attr-defined]
    with (
        override_settings(ROCKETCHAT_SSO_EMAIL_VERIFIED=True),
        pytest.raises(SystemCheckError) as info,
    ):
        call_command("check", "--fail-level", "WARNING", stdout=StringIO(), stderr=StringIO())
    assert "rocketchat_sso.W140" in str(info.value)  # registered
