from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client

from rocketchat_sso.testing import FakeRocketChat

# The fixtures ``rocketchat`` and ``rocketchat_server``, ``--rocketchat-version`` (tox's
# rc710/rc80/rc88 factors set ``ROCKETCHAT_TEST_VERSION``) and ``@pytest.mark.rocketchat``: the
# plugin adopters use (docs/testing.rst).
# tests.contract.plugin: --rocketchat-url and the ``contract`` tests' harness (a live Rocket.Chat,
# else the stand-in in its own process).
pytest_plugins = ["rocketchat_sso.testing.pytest_plugin", "tests.contract.plugin"]

PRODUCTION_MARKER = "production"
# Set where a skipped production-shaped test would hide a broken setup (CI): skips become failures.
REQUIRE_SERVICES = "TEST_REQUIRE_SERVICES"
SERVICES_HINT = 'start PostgreSQL and Redis with: exports="$(.ci/services)" && eval "$exports"'
SERVICE_PACKAGES = ("psycopg", "redis", "gunicorn")


@functools.cache
def missing_services() -> str | None:
    """Why the production-shaped tests cannot run here, or None when they can."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return f"needs PostgreSQL: DATABASE_URL is not set; {SERVICES_HINT}"
    cache = settings.CACHES["default"]
    if cache["BACKEND"] != "django.core.cache.backends.redis.RedisCache":
        return f"needs Redis: REDIS_URL is not set; {SERVICES_HINT}"
    for package in SERVICE_PACKAGES:
        if importlib.util.find_spec(package) is None:
            return f"needs the Python package {package!r} (dependency group 'production')"
    import redis

    try:
        redis.Redis.from_url(cache["LOCATION"], socket_timeout=2).ping()
    except redis.RedisError as error:
        return f"Redis at {cache['LOCATION']} is not reachable ({error}); {SERVICES_HINT}"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Run ``production`` tests where PostgreSQL and Redis are up, else skip them and say why."""
    if item.get_closest_marker(PRODUCTION_MARKER) is None:
        return
    reason = missing_services()
    if reason is None:
        return
    if os.environ.get(REQUIRE_SERVICES):
        pytest.fail(f"{REQUIRE_SERVICES} is set, but this test {reason}", pytrace=False)
    pytest.skip(f"production-shaped test {reason}")


@pytest.fixture(autouse=True)
def _empty_caches() -> Iterator[None]:
    """Cached session tokens must not leak from one test into the next."""
    yield
    for cache in caches.all():
        cache.clear()


@pytest.fixture
def email_two_factor_off(rocketchat: FakeRocketChat) -> FakeRocketChat:
    """Rocket.Chat's e-mail two-factor turned off by its administrator, as docs/rocketchat.rst
    ("E-mail two-factor") tells a site that vouches addresses and logs users in with the
    ``password`` method: for tests of linking rules, not of the login method (on by default,
    it refuses every password login of a verified user: tests/test_email_two_factor.py)."""
    rocketchat.set_setting("Accounts_TwoFactorAuthentication_By_Email_Enabled", False)
    return rocketchat


@pytest.fixture
def signed_in(user: Any) -> Client:
    """A browser holding ``user``'s session."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(
        username="alice",
        email="alice@example.com",
        password="pw",
        first_name="Alice",
        last_name="Liddell",
    )


def paths(fake: FakeRocketChat) -> list[str]:
    """The Rocket.Chat endpoints called so far, in order (``"POST login"``)."""
    return [f"{call.method} {call.path.removeprefix('/api/v1/')}" for call in fake.calls]
