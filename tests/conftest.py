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

from rocketchat_sso.testing import (
    RELEASES,
    FakeRocketChat,
    RocketChatVersion,
    default_version,
    mock_rocketchat,
    set_default_version,
)
from rocketchat_sso.testing.server import RocketChatServer

# The Rocket.Chat release every stand-in of the run plays: the option wins over the variable
# (tox's rc710/rc80/rc88 factors set the variable); neither means the newest.
VERSION_OPTION = "--rocketchat-version"
VERSION_ENV = "ROCKETCHAT_TEST_VERSION"
# @pytest.mark.rocketchat(**options): FakeRocketChat options for the ``rocketchat`` and
# ``rocketchat_server`` fixtures; turning the rate limiter off needs ``reason="..."``.
ROCKETCHAT_MARKER = "rocketchat"
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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        VERSION_OPTION,
        metavar="X.Y",
        help=(
            f"Rocket.Chat release the stand-in plays: {', '.join(RELEASES)} (default: "
            f"${VERSION_ENV}, else the newest)"
        ),
    )


def pytest_configure(config: pytest.Config) -> None:
    chosen = config.getoption(VERSION_OPTION) or os.environ.get(VERSION_ENV) or None
    try:
        version = RocketChatVersion.parse(chosen) if chosen else None
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    set_default_version(version)
    config.addinivalue_line(
        "markers",
        f"{ROCKETCHAT_MARKER}(**options): FakeRocketChat options for the rocketchat and "
        "rocketchat_server fixtures (rate_limiter=False needs reason=...)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"Rocket.Chat stand-in plays: {default_version()} ({VERSION_OPTION} / ${VERSION_ENV})"


def stand_in_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The test's ``@pytest.mark.rocketchat(...)`` options; turning the limiter off needs a why."""
    marker = request.node.get_closest_marker(ROCKETCHAT_MARKER)
    options = dict(marker.kwargs) if marker else {}
    reason = options.pop("reason", None)
    if options.get("rate_limiter") is False and not reason:
        pytest.fail(
            "@pytest.mark.rocketchat(rate_limiter=False) needs reason='...': Rocket.Chat runs "
            "with its rate limiter on",
            pytrace=False,
        )
    return options


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
def rocketchat(request: pytest.FixtureRequest) -> Iterator[FakeRocketChat]:
    """The Rocket.Chat stand-in answering at ``ROCKETCHAT_SSO_URL`` through ``responses``.

    It plays the run's release at Rocket.Chat's defaults, changed by the test's
    ``@pytest.mark.rocketchat(...)``.
    """
    with mock_rocketchat(settings.ROCKETCHAT_SSO_URL, **stand_in_options(request)) as fake:
        yield fake


@pytest.fixture(scope="session")
def _http_server() -> Iterator[RocketChatServer]:
    server = RocketChatServer(FakeRocketChat()).start()
    yield server
    server.stop()


@pytest.fixture
def rocketchat_server(
    _http_server: RocketChatServer, settings: Any, request: pytest.FixtureRequest
) -> RocketChatServer:
    """The stand-in over real HTTP, a fresh Rocket.Chat per test, ``ROCKETCHAT_SSO_URL`` on it.

    Real sockets give real retries, timeouts and dropped connections; browsers still see
    Rocket.Chat at ``https://chat.example.com`` (``ROCKETCHAT_SSO_PUBLIC_URL``). One server
    serves the whole session: stopping one takes half a second.
    """
    _http_server.fake = FakeRocketChat(**stand_in_options(request))
    settings.ROCKETCHAT_SSO_PUBLIC_URL = settings.ROCKETCHAT_SSO_URL
    settings.ROCKETCHAT_SSO_URL = _http_server.url
    return _http_server


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
