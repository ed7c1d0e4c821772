"""A pytest plugin: the Rocket.Chat stand-in as fixtures for a Django site's tests.

Enable it in the project's top ``conftest.py`` (it needs pytest-django and ``responses``, the
``[testing]`` extra)::

    pytest_plugins = ["rocketchat_sso.testing.pytest_plugin"]

Fixtures: ``rocketchat`` (a fresh stand-in answering at ``ROCKETCHAT_SSO_URL`` through
``responses``), ``rocketchat_rooms`` (its private groups, room changes made inline) and
``rocketchat_server`` (the stand-in over real HTTP, ``ROCKETCHAT_SSO_URL`` pointed at it). Both
play the run's Rocket.Chat release, ``--rocketchat-version X.Y`` or the
environment variable ``ROCKETCHAT_TEST_VERSION`` (the option wins; neither means the newest),
at Rocket.Chat's defaults, changed per test by ``@pytest.mark.rocketchat(**options)``
(:class:`~rocketchat_sso.testing.FakeRocketChat`'s options; ``rate_limiter=False`` needs a
``reason="..."``, since Rocket.Chat runs with its limiter on).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings

from rocketchat_sso.testing.model import FakeRocketChat
from rocketchat_sso.testing.responses_transport import mock_rocketchat
from rocketchat_sso.testing.server import RocketChatServer
from rocketchat_sso.testing.versions import (
    RELEASES,
    RocketChatVersion,
    default_version,
    set_default_version,
)

VERSION_OPTION = "--rocketchat-version"
VERSION_ENV = "ROCKETCHAT_TEST_VERSION"
MARKER = "rocketchat"


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
        f"{MARKER}(**options): FakeRocketChat options for the rocketchat and "
        "rocketchat_server fixtures (rate_limiter=False needs reason=...)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"Rocket.Chat stand-in plays: {default_version()} ({VERSION_OPTION} / ${VERSION_ENV})"


def stand_in_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The test's ``@pytest.mark.rocketchat(...)`` options; turning the limiter off needs a why."""
    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker else {}
    reason = options.pop("reason", None)
    if options.get("rate_limiter") is False and not reason:
        pytest.fail(
            "@pytest.mark.rocketchat(rate_limiter=False) needs reason='...': Rocket.Chat runs "
            "with its rate limiter on",
            pytrace=False,
        )
    return options


@pytest.fixture
def rocketchat(request: pytest.FixtureRequest) -> Iterator[FakeRocketChat]:
    """The Rocket.Chat stand-in answering at ``ROCKETCHAT_SSO_URL`` through ``responses``.

    It plays the run's release at Rocket.Chat's defaults, changed by the test's
    ``@pytest.mark.rocketchat(...)``.
    """
    url = django_settings.ROCKETCHAT_SSO_URL
    with mock_rocketchat(url, **stand_in_options(request)) as fake:
        yield fake


@pytest.fixture
def rocketchat_rooms(rocketchat: FakeRocketChat, settings: Any) -> Any:
    """The stand-in's private groups (``rocketchat.rooms``), with room changes made in the
    test's thread once the transaction commits (``ROCKETCHAT_SSO_ROOMS_RUN = "inline"``):
    ``rocketchat_rooms.members_of("staff")``. Wrap group changes in pytest-django's
    ``django_capture_on_commit_callbacks(execute=True)``, since tests never commit."""
    settings.ROCKETCHAT_SSO_ROOMS_RUN = "inline"
    return rocketchat.rooms


@pytest.fixture(scope="session")
def _rocketchat_http_server() -> Iterator[RocketChatServer]:
    server = RocketChatServer(FakeRocketChat()).start()
    yield server
    server.stop()


@pytest.fixture
def rocketchat_server(
    _rocketchat_http_server: RocketChatServer, settings: Any, request: pytest.FixtureRequest
) -> RocketChatServer:
    """The stand-in over real HTTP, a fresh Rocket.Chat per test, ``ROCKETCHAT_SSO_URL`` on it.

    Real sockets give real retries, timeouts and dropped connections; browsers still see
    Rocket.Chat where ``ROCKETCHAT_SSO_URL`` was (it becomes ``ROCKETCHAT_SSO_PUBLIC_URL``). One
    server serves the whole session: stopping one takes half a second. Needs pytest-django
    (its ``settings`` fixture).
    """
    server = _rocketchat_http_server
    server.fake = FakeRocketChat(**stand_in_options(request))
    settings.ROCKETCHAT_SSO_PUBLIC_URL = settings.ROCKETCHAT_SSO_URL
    settings.ROCKETCHAT_SSO_URL = server.url
    return server
